/**
 * Property-based: valid flag files mutated at random (bytes, YAML constructs such as anchors, tags,
 * flow collections and deep nesting, sizes) never make the pipeline throw, and every problem is a
 * finding at `file:line:col` that prints as one printable line. And flag files generated from what
 * they mean (test/support/flag-file-writer.ts), written in the many valid styles of YAML, are read
 * as exactly that: the same flags, states, rollouts and audit fields. Time is bounded by the tests'
 * timeouts, not by timing assertions.
 *
 * The seed: FLAGOPS_FUZZ_SEED when set; under CI a fixed one (a failure there is reproducible);
 * otherwise a new one each run. A failure prints it, with the command that runs the same cases
 * again. FLAGOPS_FUZZ_RUNS widens a run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatFinding } from '../common/text/format.ts';
import type { EnvironmentSettings } from '../model/environments.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import type { ProjectModel } from '../model/flags.ts';
import { overlay } from '../lib/workspace/workspace.ts';
import { checkChangeRules } from '../policies/change-rules.ts';
import type { Finding } from '../model/findings.ts';
import { checkStateRules } from '../policies/state-rules.ts';
import { NOW, REPO_ROOT, flagopsProcess, read, tempProject } from './helpers.ts';
import { writtenStatesFile } from './support/flag-file-writer.ts';
import { underCi } from './support/requirements.ts';

const FILES = ['environments/catalog.yaml', 'environments/production/flags.yaml', 'environments/dev/flags.yaml'] as const;
/** The seed under CI ({@link underCi}), when FLAGOPS_FUZZ_SEED is not set. */
const CI_SEED = 23;
const seed = chosenSeed(process.env.FLAGOPS_FUZZ_SEED);
const numRuns = Number(process.env.FLAGOPS_FUZZ_RUNS ?? 150);

function chosenSeed(given: string | undefined): number {
  if (given === undefined || given === '') return underCi() ? CI_SEED : Math.floor(Math.random() * 0x7fffffff);
  if (!/^-?\d+$/.test(given)) throw new Error(`FLAGOPS_FUZZ_SEED must be an integer (the seed a failure printed), not ${JSON.stringify(given)}`);
  return Number(given);
}

/** How to run the same cases again, for a failure's message. */
const AGAIN = `seed ${seed}; run the same cases again: FLAGOPS_FUZZ_SEED=${seed} npx vitest run test/flag-file-fuzz.test.ts`;

/**
 * Runs `property` with the file's seed; a failure's message is fast-check's report (the seed and
 * the counterexample, shrunk unless `shrink` is false), the error it gave, and the command that runs
 * the same cases again.
 */
function assertProperty<T>(property: fc.IProperty<T>, runs: number, { shrink }: { shrink: boolean }): void {
  const details = fc.check(property, { numRuns: runs, seed, endOnFailure: !shrink });
  if (!details.failed) return;
  const e = details.errorInstance as { message?: unknown; actual?: unknown; expected?: unknown } | undefined;
  const values = e && 'actual' in e ? `\nactual: ${JSON.stringify(e.actual)}\nexpected: ${JSON.stringify(e.expected)}` : '';
  throw new Error(`${fc.defaultReportMessage(details)}\n\n${String(e?.message ?? e)}${values}\n\n${AGAIN}`);
}

/** Raw control characters, escape sequences or invisible characters in one printed line. */
const RAW = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
/** The same in a whole output, whose lines end in newlines. */
const RAW_OUTPUT = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
/** How a finding about a file's content must read. */
const FINDING_LINE = /^(environments\/[^:]+):(\d+):(\d+): (error|warning): .+ \[[a-z0-9-]+\]$/;
/** How the count of the findings of one rule left out of a file prints: about the whole file. */
const OMITTED_LINE = /^(environments\/[^:]+): (error|warning): .+ \[[a-z0-9-]+\]$/;

/** Bits of YAML that change how a file reads, and hostile characters. */
const CONSTRUCTS = [
  '&a ', '*a', '&entry\n', ' *entry', '!!str ', '!!int ', '!t ', '<<: *a\n', '%YAML 1.1\n---\n', '%TAG !e! tag:e.com,2000:\n---\n',
  '{', '}', '[', ']', '{a: 1, a: 2}', '? ', '- ', '"', "'", '|\n', '>-\n', '#', ': ', '\t', '\\', '0x19', '2.5e1', '.inf', '+25', '025',
  '\x1b[2J', '\u202e', '\u200b', '\x00', '\x07', '\x9b', '\uFEFF', '\ud800', '---\n', '...\n', '\r\n', '\n', '  ', '    enabled: true\n', 'rollout: 25\n',
  'flags: *i\n', 'a: &x [*x]\n',
] as const;

/** One mutation of a text, positions as fractions of its length so they stay meaningful as it changes. */
type Mutation =
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'repeat'; readonly at: number; readonly length: number; readonly times: number }
  | { readonly kind: 'nest'; readonly at: number; readonly open: string; readonly depth: number }
  | { readonly kind: 'truncate'; readonly at: number };

const position = fc.double({ min: 0, max: 1, noNaN: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: position, text: fc.constantFrom(...CONSTRUCTS) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, text: fc.string({ unit: 'binary', maxLength: 12 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: position, length: fc.integer({ min: 1, max: 200 }), times: fc.integer({ min: 2, max: 3000 }) }),
  fc.record({ kind: fc.constant('nest' as const), at: position, open: fc.constantFrom('[', '{', '- ', '{a: ', '? '), depth: fc.integer({ min: 10, max: 5000 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

function apply(text: string, m: Mutation): string {
  const at = Math.floor(m.at * text.length);
  switch (m.kind) {
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'repeat':
      return text.slice(0, at) + text.slice(at, at + m.length).repeat(m.times) + text.slice(at + m.length);
    case 'nest':
      return text.slice(0, at) + m.open.repeat(m.depth) + text.slice(at);
    case 'truncate':
      return text.slice(0, at);
  }
}

const mutated = fc.record({ file: fc.constantFrom(...FILES), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) });

let settings: EnvironmentSettings[];
let base: ProjectModel;
const disk = diskReader(REPO_ROOT);
beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
  base = parseProject(settings, disk).model;
});

/** The parse and rule steps of `flagops check` (synthesis aside) on the sample with one file replaced. */
function pipeline(file: string, text: string): { findings: readonly Finding[]; model: ProjectModel } {
  const parsed = parseProject(settings, overlay(disk, new Map([[file, text]])));
  const findings = [...parsed.findings, ...checkStateRules(parsed.model, { now: new Date(NOW) }), ...checkChangeRules(base, parsed.model)];
  return { findings, model: parsed.model };
}

describe('randomly mutated flag files (property-based)', () => {
  it('never throw; every problem is a finding at file:line:col that prints as one printable line', { timeout: 240_000 }, () => {
    assertProperty(
      fc.property(mutated, ({ file, mutations }) => {
        const text = mutations.reduce(apply, disk.read(file)!);
        // WHEN the mutated file goes through parsing and every rule (an exception fails the property)
        const { findings, model } = pipeline(file, text);
        const here = findings.filter((f) => f.file === file);
        // THEN each of its findings points at a line and column, and prints on one printable line
        for (const f of here) {
          // (a count of the findings left out of one rule in one file is about the whole file)
          expect(f.line, f.message).toBeGreaterThanOrEqual(f.omitted === undefined ? 1 : 0);
          expect(f.col, f.message).toBeGreaterThanOrEqual(f.omitted === undefined ? 1 : 0);
          const printed = formatFinding(f, false);
          expect(printed).toMatch(f.omitted === undefined ? FINDING_LINE : OMITTED_LINE);
          expect(printed).not.toMatch(RAW);
        }
        // ... and a file the parser rejected (not read as a flag file) says why, at a place in it
        const read = file === FILES[0] ? model.catalog : model.environments.find((e) => e.file === file)!;
        if (!read.readable) expect(here.some((f) => f.severity === 'error')).toBe(true);
      }),
      numRuns,
      { shrink: false }, // a mutated file can be large: shrinking it would take minutes
    );
  });

  it('the real executable exits 0 or 1 with findings, never 70 or a stack trace', { timeout: 240_000 }, () => {
    const samples = fc.sample(fc.tuple(mutated, fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }), position), { numRuns: 6, seed });
    for (const [{ file, mutations }, bytes, at] of samples) {
      const dir = tempProject();
      // Text mutations, then raw bytes (not necessarily UTF-8) spliced in.
      const buffer = Buffer.from(mutations.reduce(apply, read(dir, file)), 'utf8');
      const cut = Math.floor(at * buffer.length);
      writeFileSync(join(dir, file), Buffer.concat([buffer.subarray(0, cut), Buffer.from(bytes), buffer.subarray(cut)]));
      const r = flagopsProcess(dir, ['check']);
      const what = `${file} after ${JSON.stringify(mutations)} and bytes ${JSON.stringify(bytes)} (${AGAIN})`;
      expect([0, 1], `${what}\n${r.stderr}`).toContain(r.code);
      expect(r.stdout + r.stderr, what).not.toMatch(/internal error|\n\s+at |RangeError|TypeError/);
      expect(r.stdout + r.stderr, what).not.toMatch(RAW_OUTPUT);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith(`${file}:`));
      for (const l of lines) expect(l, what).toMatch(FINDING_LINE);
      if (r.code === 1) expect(r.stdout, what).toMatch(/^(environments|dist)\/\S+(:\d+:\d+)?: error: /m);
    }
  });
});

describe('flag files generated from what they mean (property-based)', () => {
  it('a file written in any valid style parses without an error and means what it was written from: the same flags in order, states, rollouts and audit fields', { timeout: 240_000 }, () => {
    assertProperty(
      fc.property(writtenStatesFile, ({ meaning, text }) => {
        // GIVEN one environment's flag file written from its meaning (the reference reading)
        const file = `environments/${meaning.environment}/flags.yaml`;
        // WHEN flagops parses it in place of the sample's
        const parsed = parseProject(settings, overlay(disk, new Map([[file, text]])));
        // THEN it is a valid flag file (every style written is one) ...
        expect(parsed.findings.filter((f) => f.file === file && f.severity === 'error').map((f) => formatFinding(f, false))).toEqual([]);
        // ... and it means exactly what it was written from
        const read = parsed.model.environments.find((e) => e.file === file)!;
        expect(read.declaredName).toBe(meaning.environment);
        expect(read.names).toEqual(meaning.flags.map(([name]) => name));
        expect(read.states).toStrictEqual(Object.fromEntries(meaning.flags));
      }),
      numRuns,
      { shrink: true },
    );
  });
});
