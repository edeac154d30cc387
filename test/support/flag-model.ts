/**
 * Small hand-written flag projects for the in-process tests of the policies (test/state-rules.test.ts,
 * test/identity-rules.test.ts): a catalog and flag files written from a few fields, parsed into the
 * model the policies read, and the exact place of a text in them for the expected findings.
 */
import { expect } from 'vitest';
import { resolveEnvironmentSettings, type EnvironmentSettings } from '../../model/environments.ts';
import type { FlagState } from '../../model/flag-schemas.ts';
import type { Finding, Location, Severity } from '../../model/findings.ts';
import type { ProjectModel } from '../../model/flags.ts';
import { parseProject } from '../../lib/workspace/project.ts';

export const CATALOG = 'environments/catalog.yaml';
export const statesPath = (env: string): string => `environments/${env}/flags.yaml`;

export const DEV = resolveEnvironmentSettings('dev', { namespace: 'pms-dev' });
export const STAGING = resolveEnvironmentSettings('staging', { namespace: 'pms-staging', promotesFrom: 'dev', requireTicket: true });
export const PRODUCTION = resolveEnvironmentSettings('production', { namespace: 'pms', promotesFrom: 'staging', requireTicket: true, requireApproval: true });
export const ALL: readonly EnvironmentSettings[] = [DEV, STAGING, PRODUCTION];

export interface Definition {
  readonly requires?: readonly string[];
  readonly created?: string;
  readonly expires?: string;
}

/** A catalog of ops flags (which need no `expires`), each as given. */
export function catalog(flags: Readonly<Record<string, Definition>>): string {
  const lines = ['flags:'];
  for (const [name, d] of Object.entries(flags)) {
    lines.push(`  ${name}:`, `    description: ${name} turns something on.`, '    owner: team-platform', '    type: ops', `    created: ${d.created ?? '2026-01-01'}`);
    if (d.expires) lines.push(`    expires: ${d.expires}`);
    if (d.requires) lines.push(`    requires: [${d.requires.join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

/** A field set to `undefined` is left out of the entry. */
export type Entry = { readonly [K in keyof FlagState]?: FlagState[K] | undefined };
export const SAM = 'sam.lee@pms.example.com';
export const LEAD = 'lead@pms.example.com';

/**
 * A flag file of `environment` (none: no `environment:` line) with `entries`, each a valid entry
 * (off, 0%, a ticket, changed by {@link SAM}) but for the fields given.
 */
export function flags(environment: string | undefined, entries: Readonly<Record<string, Entry>>): string {
  const lines = environment === undefined ? [] : [`environment: ${environment}`];
  lines.push(Object.keys(entries).length === 0 ? 'flags: {}' : 'flags:');
  for (const [name, e] of Object.entries(entries)) {
    const state: Entry = { enabled: false, rollout: 0, reason: 'Planned', ticket: 'OPS-1', changed_by: SAM, changed_at: '2026-11-01T10:00:00Z', ...e };
    lines.push(`  ${name}:`);
    for (const [field, value] of Object.entries(state)) if (value !== undefined) lines.push(`    ${field}: ${String(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The model of `texts` (by path) for the environments of `settings`. Unless `clean` is false, the
 * parse itself must find nothing: the test input is valid, so only the policy under test speaks.
 */
export function model(texts: Readonly<Record<string, string>>, settings: readonly EnvironmentSettings[] = ALL, clean = true): ProjectModel {
  const parsed = parseProject(settings, { read: (path) => texts[path] });
  if (clean) expect(parsed.findings, 'the test input itself is valid').toEqual([]);
  return parsed.model;
}

/** The place of the first `needle` after the first `after` in `texts[path]`, 1-based. */
export function at(texts: Readonly<Record<string, string>>, path: string, needle: string, after = ''): Location {
  const text = texts[path] ?? '';
  const start = text.indexOf(after);
  const offset = text.indexOf(needle, start);
  if (start < 0 || offset < 0) throw new Error(`'${needle}' after '${after}' is not in ${path}`);
  const lines = text.slice(0, offset).split('\n');
  return { file: path, line: lines.length, col: lines.at(-1)!.length + 1 };
}

export const finding = (where: Location, severity: Severity, rule: string, message: string): Finding => ({ ...where, severity, rule, message });
