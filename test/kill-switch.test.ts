/**
 * The kill switch parses only what it needs (issue 21): `flagops disable` reads its flag's catalog
 * entry, its own entry in the flag file and the flag ConfigMap it rewrites, so whatever is broken
 * elsewhere (a duplicate key, a git conflict, an anchor, a tag, a schema error, an unreadable file)
 * is reported and tolerated. Only a problem in its own entry blocks it, and then nothing is written.
 * Concrete cases with real git (a bare server, clones, pushes), the real executable once, `monitor
 * --rollback`, and two properties over random breakages (FLAGOPS_FUZZ_SEED / FLAGOPS_FUZZ_RUNS).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compareDist } from '../lib/rollout/drill.ts';
import { flagops, flagopsProcess, git, NOW, read, replaceIn, tempProject, write, type CliResult } from './helpers.ts';
import { healthy, startFakePrometheus, type FakePrometheus } from './support/fake-prometheus.ts';
import { cloneOf, gitServer } from './support/git-server.ts';

const FLAG = 'telehealth_appointments_enabled';
const CATALOG = 'environments/catalog.yaml';
const PROD = 'environments/production/flags.yaml';
const CM = 'dist/production/configmap-feature-flags-config.yaml';
const KILL = ['--env', 'production', '--reason', 'Kill switch: video provider outage', '--ticket', 'INC-2291', '--by', 'oncall@pms.example.com'];
/** The flags on in production in the sample: each has a kill switch to pull. */
const ON_IN_PRODUCTION = [
  'telehealth_appointments_enabled',
  'e_prescribing_enabled',
  'patient_portal_messaging_enabled',
  'secure_document_upload_enabled',
  'online_bill_pay_enabled',
  'billing_export_v2_enabled',
  'read_replica_reporting_enabled',
  'audit_log_streaming_enabled',
  'break_glass_chart_access_enabled',
] as const;

const disable = (dir: string, flag: string = FLAG): Promise<CliResult> => flagops(dir, 'disable', flag, ...KILL);

/** sha256 of every file under environments/ and dist/ (folders and missing files included), by path. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = `${rel}/${name}`;
      if (statSync(join(dir, path)).isDirectory()) {
        out[path] = 'folder';
        walk(path);
      } else out[path] = createHash('sha256').update(readFileSync(join(dir, path))).digest('hex');
    }
  };
  walk('environments');
  walk('dist');
  return out;
}

/**
 * The 1-based lines of the entry `name` in a flag file of the sample's layout (key at two spaces,
 * fields deeper), found the plain way: from its key line to its last indented line.
 */
function entryRange(text: string, name: string): [number, number] {
  const lines = text.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  expect(start, `no entry '${name}'`).toBeGreaterThanOrEqual(0);
  let end = start;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^\s*(#.*)?$/.test(lines[i]!)) continue;
    if (!/^ {3,}\S/.test(lines[i]!)) break;
    end = i;
  }
  return [start + 1, end + 1];
}

/** The entry `name` of a flag file's text, parsed on its own. */
function entryOf(text: string, name: string): Record<string, unknown> {
  const [from, to] = entryRange(text, name);
  return (parse(text.split('\n').slice(from - 1, to).join('\n')) as Record<string, Record<string, unknown>>)[name]!;
}

/** Every line of `after` outside the entry `name` is the line of `before`, byte for byte. */
function expectOnlyEntryChanged(before: string, after: string, name: string): void {
  const [from, to] = entryRange(before, name);
  const [from2, to2] = entryRange(after, name);
  expect(from2).toBe(from);
  const b = before.split('\n');
  const a = after.split('\n');
  expect(a.slice(0, from - 1).join('\n')).toBe(b.slice(0, from - 1).join('\n'));
  expect(a.slice(to2).join('\n')).toBe(b.slice(to).join('\n'));
}

/** The objects of dist/production by path. */
function distObjects(dir: string): Map<string, object> {
  const out = new Map<string, object>();
  for (const name of readdirSync(join(dir, 'dist/production')).sort()) out.set(`dist/production/${name}`, parse(read(dir, `dist/production/${name}`)) as object);
  return out;
}

/** dist/ changed in the flag ConfigMap only, in `flag`'s data only, and the flag is off there. */
function expectOnlyFlagOffInDist(before: Map<string, object>, dir: string, flag: string): void {
  const after = distObjects(dir);
  const { changed, unexpected } = compareDist(before, after, CM, 'production', flag);
  expect(unexpected).toEqual([]);
  expect(changed).toEqual([CM]);
  const flagd = JSON.parse((after.get(CM) as { data: Record<string, string> }).data['flags.flagd.json']!);
  expect(flagd.flags[flag]).toMatchObject({ defaultVariant: 'off', metadata: { enabled: false, ticket: 'INC-2291', changedBy: 'oncall@pms.example.com' } });
}

/** GIVEN main on a bare server holds `breakage` (applied to the seed, committed and pushed); THEN an on-call clone of it. */
function cloneOfBrokenMain(breakage: (dir: string) => void): string {
  const server = gitServer();
  breakage(server.seed);
  git(server.seed, 'commit', '-q', '-am', 'a pull request that broke a file');
  git(server.seed, 'push', '-q', 'origin', 'main');
  return cloneOf(server);
}

/**
 * WHEN the kill switch of `flag` is pulled in production, THEN it is applied, its entry is the only
 * change in the flag file (every other byte kept), and dist/ changes in the flag's data alone.
 */
async function expectApplied(dir: string, flag: string = FLAG): Promise<CliResult> {
  const flags = read(dir, PROD);
  const dist = distObjects(dir);
  const r = await disable(dir, flag);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/internal error|unknown flag|at .*\.ts:\d+/);
  expectOnlyEntryChanged(flags, read(dir, PROD), flag);
  expect(entryOf(read(dir, PROD), flag)).toMatchObject({ enabled: false, reason: 'Kill switch: video provider outage', ticket: 'INC-2291', changed_by: 'oncall@pms.example.com', changed_at: NOW });
  expectOnlyFlagOffInDist(dist, dir, flag);
  return r;
}

const WAITLIST_OWNER = '    owner: team-scheduling\n    type: experiment\n';

describe('the kill switch with a broken catalog entry of another flag (it said "unknown flag", exit 2)', () => {
  it('turns the flag off when another entry has a duplicate owner key, and names the line it tolerated', async () => {
    // GIVEN main, on the server, has a second `owner:` in appointment_waitlist_enabled's catalog entry
    const dir = cloneOfBrokenMain((seed) => replaceIn(seed, CATALOG, WAITLIST_OWNER, '    owner: team-scheduling\n    owner: team-waitlist\n    type: experiment\n'));
    const catalog = read(dir, CATALOG);
    // WHEN the on-call engineer pulls the kill switch of telehealth in production
    // THEN it is applied (its entry and its ConfigMap data only), against origin/main
    const r = await expectApplied(dir);
    expect(r.stdout).toContain('production: telehealth_appointments_enabled on 25% -> off (base: origin/main');
    expect(read(dir, CATALOG)).toBe(catalog);
    // AND the tolerated problem is printed and named in a note
    expect(r.stdout).toContain("environments/catalog.yaml:18:5: error: duplicate key 'owner'");
    expect(r.stderr).toContain('flagops: note: tolerated: environments/catalog.yaml has errors (line 18); the kill switch does not depend on them, but flagops check and CI fail until they are fixed');
    // AND once the duplicate is removed, a full synth agrees with the ConfigMap the kill switch wrote
    replaceIn(dir, CATALOG, '    owner: team-waitlist\n', '');
    const check = await flagops(dir, 'check');
    expect(check.stdout).not.toContain('[drift]');
    expect(check.code, check.stdout).toBe(0);
  });

  it('turns the flag off when a git conflict sits in another catalog entry', async () => {
    const dir = cloneOfBrokenMain((seed) =>
      replaceIn(seed, CATALOG, WAITLIST_OWNER, '<<<<<<< HEAD\n    owner: team-scheduling\n=======\n    owner: team-waitlist\n>>>>>>> waitlist-owner\n    type: experiment\n'),
    );
    const r = await expectApplied(dir);
    expect(r.stdout).toMatch(/environments\/catalog\.yaml:17:1: error: .*\[yaml-syntax\]/);
    expect(r.stderr).toContain('flagops: note: tolerated: environments/catalog.yaml has errors');
    expect(r.stderr).toContain("flagops: note: dist/production: only telehealth_appointments_enabled's data in the flag ConfigMap was rewritten; the full synthesis waits until environments/catalog.yaml has no errors");
  });

  it('turns the flag off when other catalog entries share a value through an anchor and an alias', async () => {
    const dir = cloneOfBrokenMain((seed) => {
      replaceIn(seed, CATALOG, WAITLIST_OWNER, '    owner: &scheduling team-scheduling\n    type: experiment\n');
      replaceIn(seed, CATALOG, '    owner: team-engagement\n', '    owner: *scheduling\n');
    });
    const r = await expectApplied(dir);
    expect(r.stdout).toContain("environments/catalog.yaml:17:12: error: anchor '&scheduling'");
    expect(r.stdout).toContain("environments/catalog.yaml:23:12: error: alias '*scheduling'");
  });

  it('turns the flag off through the real executable, as an on-call engineer runs it', () => {
    const dir = tempProject({ git: true });
    replaceIn(dir, CATALOG, WAITLIST_OWNER, '    owner: team-scheduling\n    owner: team-waitlist\n    type: experiment\n');
    const dist = distObjects(dir);
    const r = flagopsProcess(dir, ['disable', FLAG, ...KILL]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('wrote environments/production/flags.yaml\nwrote dist/production/configmap-feature-flags-config.yaml\n');
    expect(r.stderr).toContain('flagops: note: tolerated: environments/catalog.yaml has errors (line 18)');
    expect(r.stderr).not.toMatch(/unknown flag|at .*\.ts:\d+/);
    expectOnlyFlagOffInDist(dist, dir, FLAG);
  });

  it('keeps the definition dist/ has when its own catalog entry cannot be read, and says so', async () => {
    // GIVEN a conflict inside telehealth's own catalog entry (its description on both sides)
    const dir = tempProject({ git: true });
    replaceIn(dir, CATALOG, '    description: Patients can book and join telehealth video appointments.\n', '<<<<<<< HEAD\n    description: Patients can book and join telehealth video appointments.\n=======\n    description: Telehealth video appointments.\n>>>>>>> copy-edit\n');
    const r = await expectApplied(dir);
    expect(r.stderr).toContain(
      "flagops: note: the catalog entry of telehealth_appointments_enabled cannot be read (environments/catalog.yaml:9:1: a git merge conflict (lines 9-13) runs through the entry 'telehealth_appointments_enabled' (lines 8-18); resolve it (keep the lines you want, delete the <<<<<<<, ======= and >>>>>>> lines)), so dist/ keeps the flag's committed description, owner, type and expiry",
    );
  });
});

describe('the kill switch with other entries of its own flag file broken', () => {
  it('keeps every other byte of the file: a conflict, a duplicate key, an anchor and a tag in the entries around its own', async () => {
    const dir = tempProject({ git: true });
    // GIVEN the entries after telehealth's: a conflict, then the same field twice, an anchor, its alias and a tag
    replaceIn(dir, PROD, '  appointment_waitlist_enabled:\n    enabled: false\n', '  appointment_waitlist_enabled:\n<<<<<<< HEAD\n    enabled: false\n=======\n    enabled: true\n>>>>>>> waitlist\n    enabled: false\n');
    replaceIn(dir, PROD, '    reason: Waiting for the staging experiment results\n', '    reason: &why Waiting for the staging experiment results\n');
    replaceIn(dir, PROD, '    reason: "Kill switch: carrier retries sent duplicate reminders (INC-2291)"\n', '    reason: *why\n    ticket: !!str TICKET-1\n');
    const r = await expectApplied(dir);
    expect(r.stderr).toMatch(/flagops: note: tolerated: environments\/production\/flags\.yaml has errors outside the entry of telehealth_appointments_enabled \(lines \d+(, \d+)*\)/);
  });

  it('refuses, naming the lines, when a merge conflict runs through its own entry, and writes nothing', async () => {
    const dir = tempProject({ git: true });
    replaceIn(dir, PROD, '    enabled: true\n    rollout: 25 ', '<<<<<<< HEAD\n    enabled: true\n=======\n    enabled: false\n>>>>>>> rollback\n    rollout: 25 ');
    const before = snapshot(dir);
    const r = await disable(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "environments/production/flags.yaml:9:1: error: a git merge conflict (lines 9-13) runs through the entry 'telehealth_appointments_enabled' (lines 8-19); resolve it (keep the lines you want, delete the <<<<<<<, ======= and >>>>>>> lines); the kill switch writes only lines it can tell belong to its entry, so it waits for that fix [kill-switch-entry]",
    );
    expect(r.stdout).toContain('no file was changed');
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses when its flag has two entries in the file, naming both, and writes nothing', async () => {
    const dir = tempProject({ git: true });
    const text = read(dir, PROD);
    const [from, to] = entryRange(text, FLAG);
    const entry = text.split('\n').slice(from - 1, to).join('\n');
    write(dir, PROD, `${text}${entry.replace('rollout: 25', 'rollout: 50')}\n`);
    const before = snapshot(dir);
    const r = await disable(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/environments\/production\/flags\.yaml:\d+:3: error: 'telehealth_appointments_enabled' has 2 entries \(lines 8, \d+\): keep one, delete the others; the kill switch writes only lines it can tell belong to its entry, so it waits for that fix \[kill-switch-entry\]/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses when its own entry holds a duplicate key, an anchor, a tag or a field it does not know, and writes nothing', async () => {
    for (const [from, to, rule] of [
      ['    ticket: TICKET-12345 ', '    ticket: TICKET-1\n    ticket: TICKET-12345 ', 'duplicate-key'],
      ['    ticket: TICKET-12345 ', '    ticket: &t TICKET-12345 ', 'yaml-anchor'],
      [`  ${FLAG}:\n`, `  ${FLAG}: !!map\n`, 'yaml-tag'],
      ['    ticket: TICKET-12345 ', '    tikcet: TICKET-1\n    ticket: TICKET-12345 ', 'unknown-field'],
    ] as const) {
      const dir = tempProject({ git: true });
      replaceIn(dir, PROD, from, to);
      const before = snapshot(dir);
      const r = await disable(dir);
      expect(r.code, `${rule}: ${r.stdout}`).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`environments/production/flags\\.yaml:(8|9|1[0-9]|20):\\d+: error: .*\\[${rule}\\]`));
      expect(snapshot(dir)).toEqual(before);
    }
  });

  it('refuses, naming the byte, when its own flag file holds a byte that is not UTF-8 elsewhere: it could not keep that byte as it is', async () => {
    const dir = tempProject({ git: true });
    writeBytes(join(dir, PROD), read(dir, PROD).replace('    reason: Waiting for the staging experiment results\n', `    reason: Waiting for the staging experiment results${NOT_UTF8}\n`));
    const before = snapshot(dir);
    const r = await disable(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'flagops: error: environments/production/flags.yaml:19:55: byte 0xff is not UTF-8: flag files are UTF-8 text; the kill switch rewrites environments/production/flags.yaml and keeps every byte outside its entry as it is, so the file must be readable text: fix that first',
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('judges a rollout that lowers exposure the same way: another broken entry does not block it', async () => {
    const dir = tempProject({ git: true });
    replaceIn(dir, CATALOG, WAITLIST_OWNER, '    owner: team-scheduling\n    owner: team-waitlist\n    type: experiment\n');
    const flags = read(dir, PROD);
    const r = await flagops(dir, 'rollout', FLAG, '--to', '5', ...KILL, '--approved-by', 'lead@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('production: telehealth_appointments_enabled on 25% -> on 5%');
    expectOnlyEntryChanged(flags, read(dir, PROD), FLAG);
    // AND a raise is still refused while the catalog has an error
    const raise = await flagops(dir, 'rollout', FLAG, '--to', '25', ...KILL, '--approved-by', 'lead@pms.example.com');
    expect(raise.code).not.toBe(0);
  });

  it('does not open anything in dist/ but the flag ConfigMap when it rewrites that alone (a folder named like a manifest)', async () => {
    const dir = tempProject({ git: true });
    replaceIn(dir, CATALOG, WAITLIST_OWNER, '    owner: team-scheduling\n    owner: team-waitlist\n    type: experiment\n');
    mkdirSync(join(dir, 'dist/production/evil.yaml'));
    const r = await disable(dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse((parse(read(dir, CM)) as { data: Record<string, string> }).data['flags.flagd.json']!).flags[FLAG].defaultVariant).toBe('off');
  });
});

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('flagops monitor --rollback with another catalog entry broken on main', () => {
  it('prepares and pushes the kill switch branch (it said "unknown flag" before monitoring)', async () => {
    // GIVEN main has a duplicate owner key in another flag's catalog entry
    const server = gitServer();
    replaceIn(server.seed, CATALOG, WAITLIST_OWNER, '    owner: team-scheduling\n    owner: team-waitlist\n    type: experiment\n');
    git(server.seed, 'commit', '-q', '-am', 'waitlist owner');
    git(server.seed, 'push', '-q', 'origin', 'main');
    const dir = cloneOf(server);
    const main = git(server.bare, 'rev-parse', 'main').trim();
    // AND Prometheus sees 12.5% errors from the second poll on
    fake = await startFakePrometheus((signal, n) => (signal === 'errorRatio' && n >= 2 ? '0.125' : healthy(signal)));
    const r = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', fake.url, '--duration', '2s', '--interval', '100ms', '--rollback', '--push', 'origin', '--ticket', 'INC-2400', '--by', 'oncall@pms.example.com');
    // THEN the branch is prepared from main and pushed, changing the flag's entry and its ConfigMap only
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const branch = `flagops/rollback/${FLAG}-20261123T120000Z`;
    expect(r.stdout).toContain(`rollback branch: ${branch} (commit `);
    expect(r.stderr).toContain('flagops: note: tolerated: environments/catalog.yaml has errors (line 18)');
    expect(git(server.bare, 'diff', '--name-only', main, branch).trim().split('\n')).toEqual([CM, PROD]);
    const entry = entryOf(git(server.bare, 'show', `${branch}:${PROD}`), FLAG);
    expect(entry).toMatchObject({ enabled: false, rollout: 25, ticket: 'INC-2400', changed_by: 'oncall@pms.example.com' });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties: random breakages outside the flag's own entry never block it; inside, always.

const seed = process.env.FLAGOPS_FUZZ_SEED ? Number(process.env.FLAGOPS_FUZZ_SEED) : undefined;
const numRuns = Number(process.env.FLAGOPS_FUZZ_RUNS ?? 25);
/** Each run is a scratch project and a kill switch (well under a second alone; the machine may be shared). */
const fuzzTimeout = 60_000 + numRuns * 8_000;

/** A byte that is not UTF-8, written in place of this marker. */
const NOT_UTF8 = '\u0000xFF\u0000';

type EntryBreak =
  | 'duplicate-field'
  | 'conflict'
  | 'anchor-alias'
  | 'tag'
  | 'unknown-field'
  | 'wrong-type'
  | 'tab'
  | 'stray-line'
  | 'flow'
  | 'named-twice'
  | 'deleted'
  | 'control-character'
  | 'hex-number'
  | 'not-utf8';

const ENTRY_BREAKS: readonly EntryBreak[] = ['duplicate-field', 'conflict', 'anchor-alias', 'tag', 'unknown-field', 'wrong-type', 'tab', 'stray-line', 'flow', 'named-twice', 'deleted', 'control-character', 'hex-number', 'not-utf8'];

/** The breakage `kind` applied to the entry `name` of a flag file's text (key line at two spaces, fields at four). */
function breakEntry(text: string, name: string, kind: EntryBreak, n: number): string {
  const lines = text.split('\n');
  const key = lines.indexOf(`  ${name}:`);
  if (key < 0) return text; // deleted or rewritten by an earlier breakage
  const fields: number[] = [];
  for (let i = key + 1; i < lines.length && (/^ {4}\S/.test(lines[i]!) || /^\s*#/.test(lines[i]!)); i++) if (/^ {4}[a-z_]+:/.test(lines[i]!)) fields.push(i);
  if (fields.length < 2) return text;
  const [a, b] = [fields[0]!, fields[1]!];
  const set = (i: number, line: string) => lines.splice(i, 1, line);
  const value = (i: number) => lines[i]!.replace(/^ {4}[a-z_]+: ?/, '');
  const field = (i: number) => /^ {4}([a-z_]+):/.exec(lines[i]!)![1]!;
  switch (kind) {
    case 'duplicate-field':
      lines.splice(b, 0, lines[a]!);
      break;
    case 'conflict':
      lines.splice(a, 2, '<<<<<<< HEAD', lines[a]!, lines[b]!, '=======', `${lines[a]!}x`, `>>>>>>> branch-${n}`);
      break;
    case 'anchor-alias':
      set(a, `    ${field(a)}: &a${n} ${value(a)}`);
      set(b, `    ${field(b)}: *a${n}`);
      break;
    case 'tag':
      set(a, `    ${field(a)}: !!str ${value(a)}`);
      break;
    case 'unknown-field':
      set(a, `    x${field(a)}: ${value(a)}`);
      break;
    case 'wrong-type':
      set(a, `    ${field(a)}: [1, 2]`);
      break;
    case 'tab':
      set(b, `\t${lines[b]!.trimStart()}`);
      break;
    case 'stray-line':
      lines.splice(key + 1, 0, ' stray: [unclosed');
      break;
    case 'flow':
      lines.splice(key, fields.at(-1)! - key + 1, `  ${name}: {${field(a)}: ${value(a)}}`);
      break;
    case 'named-twice':
      lines.splice(fields.at(-1)! + 1, 0, ...lines.slice(key, fields.at(-1)! + 1));
      break;
    case 'deleted':
      lines.splice(key, fields.at(-1)! - key + 1);
      break;
    case 'control-character':
      set(a, `    ${field(a)}: "x\\a${n}"`);
      break;
    case 'hex-number':
      set(a, `    ${field(a)}: 0x19`);
      break;
    case 'not-utf8':
      set(a, `${lines[a]!}${NOT_UTF8}`);
      break;
  }
  return lines.join('\n');
}

/** Writes `text`, with each {@link NOT_UTF8} marker as the byte 0xFF. */
function writeBytes(path: string, text: string): void {
  const parts = text.split(NOT_UTF8);
  writeFileSync(path, Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [Buffer.from([0xff]), Buffer.from(p)]))));
}

const entryNames = (text: string): string[] => [...text.matchAll(/^ {2}([a-z0-9_]+):$/gm)].map((m) => m[1]!);

type Target = 'catalog' | 'production' | 'staging' | 'dev';
const FILES: Readonly<Record<Target, string>> = { catalog: CATALOG, production: PROD, staging: 'environments/staging/flags.yaml', dev: 'environments/dev/flags.yaml' };

interface Breakage {
  readonly target: Target;
  /** Which entry, as a fraction of the file's entries. */
  readonly at: number;
  readonly kind: EntryBreak;
}

const breakage: fc.Arbitrary<Breakage> = fc.record({
  target: fc.constantFrom<Target>('catalog', 'production', 'staging', 'dev'),
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  kind: fc.constantFrom(...ENTRY_BREAKS),
});

/** Another environment's file made unreadable as a whole, or none. */
const fileBreak = fc.constantFrom<'none' | 'folder' | 'missing'>('none', 'folder', 'missing');

/**
 * Applies the breakages outside `flag`'s own entry of the production flag file: any entry of the
 * catalog (its own included, never removed) and of the other files, any entry but its own in production.
 */
function breakProject(dir: string, flag: string, breakages: readonly Breakage[], whole: { staging: string; dev: string }): void {
  const texts = Object.fromEntries((Object.keys(FILES) as Target[]).map((t) => [t, read(dir, FILES[t])])) as Record<Target, string>;
  for (const b of breakages) {
    // The kill switch rewrites the production file: it keeps its bytes, so they must be text there.
    if (b.target === 'production' && b.kind === 'not-utf8') continue;
    const names = entryNames(texts[b.target]).filter((n) => !(n === flag && (b.target === 'production' || b.kind === 'deleted' || b.kind === 'flow')));
    if (names.length === 0) continue;
    texts[b.target] = breakEntry(texts[b.target], names[Math.floor(b.at * names.length)]!, b.kind, breakages.indexOf(b));
  }
  for (const t of Object.keys(FILES) as Target[]) writeBytes(join(dir, FILES[t]), texts[t]);
  for (const env of ['staging', 'dev'] as const) {
    if (whole[env] === 'none') continue;
    rmSync(join(dir, FILES[env]));
    if (whole[env] === 'folder') mkdirSync(join(dir, FILES[env]));
  }
}

/** What may break inside the flag's own entry and blocks the kill switch (which does not rewrite it away). */
type OwnBreak = 'conflict' | 'named-twice' | 'duplicate-enabled' | 'anchor-on-key' | 'tag-on-key' | 'unknown-field' | 'tab' | 'stray-line' | 'flow';
const OWN_BREAKS: readonly OwnBreak[] = ['conflict', 'named-twice', 'duplicate-enabled', 'anchor-on-key', 'tag-on-key', 'unknown-field', 'tab', 'stray-line', 'flow'];

function breakOwnEntry(text: string, flag: string, kind: OwnBreak): string {
  switch (kind) {
    case 'conflict':
    case 'named-twice':
    case 'tab':
    case 'flow':
      return breakEntry(text, flag, kind, 0);
    case 'duplicate-enabled':
      return text.replace(`  ${flag}:\n`, `  ${flag}:\n    enabled: true\n`);
    case 'anchor-on-key':
      return text.replace(`  ${flag}:\n`, `  ${flag}: &own\n`);
    case 'tag-on-key':
      return text.replace(`  ${flag}:\n`, `  ${flag}: !!map\n`);
    case 'unknown-field':
      return text.replace(`  ${flag}:\n`, `  ${flag}:\n    rolout: 5\n`);
    case 'stray-line': {
      const [from] = entryRange(text, flag);
      const lines = text.split('\n');
      lines.splice(from + 1, 0, ' stray: [unclosed');
      return lines.join('\n');
    }
  }
}

describe('the kill switch, for random breakages (property-based)', () => {
  it('succeeds whatever is broken outside its own entry, changing only its entry and its data in the flag ConfigMap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ON_IN_PRODUCTION), fc.array(breakage, { minLength: 1, maxLength: 6 }), fileBreak, fileBreak, async (flag, breakages, staging, dev) => {
        const dir = tempProject();
        breakProject(dir, flag, breakages, { staging, dev });
        const before = snapshot(dir);
        await expectApplied(dir, flag);
        // AND every other file is as it was
        const after = snapshot(dir);
        expect(Object.keys({ ...before, ...after }).filter((p) => before[p] !== after[p]).sort()).toEqual([CM, PROD]);
      }),
      { numRuns, seed, endOnFailure: true },
    );
  }, fuzzTimeout);

  it('refuses and writes nothing when its own entry is broken in a way it does not rewrite, whatever else is broken', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ON_IN_PRODUCTION), fc.constantFrom(...OWN_BREAKS), fc.array(breakage, { maxLength: 3 }), async (flag, own, breakages) => {
        const dir = tempProject();
        breakProject(dir, flag, breakages, { staging: 'none', dev: 'none' });
        write(dir, PROD, breakOwnEntry(read(dir, PROD), flag, own));
        const before = snapshot(dir);
        const r = await disable(dir, flag);
        expect([1, 2], `${own}: ${r.stdout}\n${r.stderr}`).toContain(r.code);
        expect(`${r.stdout}\n${r.stderr}`).toMatch(/environments\/production\/flags\.yaml:\d+:\d+: (error: )?.+/);
        expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/internal error|at .*\.ts:\d+/);
        expect(snapshot(dir)).toEqual(before);
      }),
      { numRuns, seed, endOnFailure: true },
    );
  }, fuzzTimeout);
});
