/**
 * Hostile but well-formed inputs of a given size (issue 21): flag files a pull request could carry
 * that are made of as many problems as fit. test/memory-bound.test.ts checks that each is judged in
 * bounded memory; bench/hostile-bench.ts times them at two sizes, to show the time is linear.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countValues } from '../../common/yaml/yaml-source.ts';

export interface HostileInput {
  readonly name: string;
  /** The file it replaces or grows, relative to the project root. */
  readonly file: string;
  /**
   * Writes the input into the project at `dir`: `bytes` long (give or take one line), or shorter
   * where its estimated values would pass `values` (common/yaml/yaml-source.ts' countValues).
   */
  readonly make: (dir: string, bytes: number, values?: number) => void;
}

const PROD = 'environments/production/flags.yaml';
const CATALOG = 'environments/catalog.yaml';

/** Lines from `line(i)` until `bytes` is reached, or the next line would pass `values`. */
function lines(bytes: number, values: number, line: (i: number) => string): string {
  const parts: string[] = [];
  let size = 0;
  let count = 0;
  for (let i = 0; size < bytes; i++) {
    const l = line(i);
    count += countValues(l).count;
    if (count > values) break;
    parts.push(l);
    size += l.length;
  }
  return parts.join('');
}

/** Replaces `file` with `head` and lines up to `bytes` (or `values`) in all. */
const replaced = (file: string, head: string, line: (i: number) => string) => (dir: string, bytes: number, values = Infinity) =>
  writeFileSync(join(dir, file), head + lines(bytes - head.length, values - countValues(head).count, line));

/** Appends lines to `file` until it is `bytes` long (or holds `values`). */
const grown = (file: string, line: (i: number) => string) => (dir: string, bytes: number, values = Infinity) => {
  const text = readFileSync(join(dir, file), 'utf8');
  appendFileSync(join(dir, file), lines(bytes - Buffer.byteLength(text), values - countValues(text).count, line));
};

const NESTED = 60; // allowed: the limit is 64 levels

export const HOSTILE_INPUTS: readonly HostileInput[] = [
  // Each an unknown flag with five missing fields: six findings per 28 bytes.
  { name: 'unknown flags with empty entries in an environment file', file: PROD, make: replaced(PROD, 'environment: production\nflags:\n', (i) => `  ghost_${i}_enabled: {}\n`) },
  // Schema errors: an unknown field of the wrong type, missing fields, an unknown flag.
  { name: 'broken entries in an environment file', file: PROD, make: grown(PROD, (i) => `  e${i}_enabled: {rolout: x}\n`) },
  // Each a wrong type, three missing fields, and missing from every environment.
  { name: 'broken flags in the catalog', file: CATALOG, make: grown(CATALOG, (i) => `  c${i}_enabled: {owner: 1}\n`) },
  // Each an invalid name and a wrong type: the most entries per byte.
  { name: 'invalid flag names in the catalog', file: CATALOG, make: grown(CATALOG, (i) => `  B${i}: 1\n`) },
  // Numbers YAML reads otherwise and unsafe characters, two per entry.
  { name: 'hexadecimal numbers and escape characters', file: PROD, make: grown(PROD, (i) => `  h${i}_enabled: {rollout: 0x19, reason: "a\\e[2J"}\n`) },
  // The same key again and again.
  { name: 'duplicate keys', file: PROD, make: grown(PROD, () => '  telehealth_appointments_enabled: {}\n') },
  // Deep but allowed nesting in every entry.
  { name: 'nesting 60 levels deep', file: PROD, make: grown(PROD, (i) => `  d${i}_enabled: {reason: ${'['.repeat(NESTED)}x${']'.repeat(NESTED)}}\n`) },
  // One reason as long as the file.
  { name: 'one 10 MB line', file: PROD, make: (dir, bytes) => writeFileSync(join(dir, PROD), `environment: production\nflags:\n  long_enabled:\n    reason: ${'a'.repeat(bytes - 60)}\n`) },
  // Flags the catalog declares, complete and valid, but unknown to every environment: findings that carry positions.
  { name: 'complete catalog entries no environment has', file: CATALOG, make: grown(CATALOG, (i) => `  x${i}_enabled:\n    description: A flag no environment has.\n    owner: team-platform\n    type: ops\n    created: 2026-01-01\n`) },
];
