/**
 * lib/edits/kill-switch.ts on its own, in this process: the kill switch's own path to dist/, taken
 * when the project cannot be synthesized as a whole. It rewrites the committed flag ConfigMap (and,
 * for a sharded flag set, the one shard holding the flag) with exactly one flag changed, and it
 * must give byte for byte what a full synthesis gives, in every environment, whatever else is
 * broken; and refuse, saying what to do, whatever it cannot read back exactly. The commands'
 * view of the same is in kill-switch.test.ts and flag-shards.test.ts; this file pins each branch so
 * that mutation testing (docs/testing.md#mutation-testing) sees a test fail for every bug planted in
 * the module.
 *
 * `node:fs` is wrapped (test/support/fs-trace.ts) so that a ConfigMap can be unreadable, as it is
 * for a user without read permission (the suite also runs as root).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { UsageError } from '../common/text/errors.ts';
import { FeatureFlagConfigMap, FLAGD_KEY, flagShard, flagShardData, flagsFromFlagSet, shardIndexOf, type FeatureFlag } from '../constructs/feature-flag-config-map.ts';
import { flagSetFileOf, flagShardPath, patchFlagConfigMap, shardFilesOf } from '../lib/edits/kill-switch.ts';
import type { KubeObject } from '../model/manifests.ts';
import { renderFiles } from '../synth/synth.ts';
import { flagops, read, tempProject, write } from './helpers.ts';
import { before, fsTrace, systemError } from './support/fs-trace.ts';

vi.mock('node:fs', async (importOriginal) => (await import('./support/fs-trace.ts')).tracedFs(await importOriginal()));

beforeEach(() => {
  fsTrace.hooks.length = 0;
});
afterEach(() => {
  expect(fsTrace.hooks, 'every hook a test set was reached').toEqual([]);
});

const FLAG = 'telehealth_appointments_enabled';
const CM = (env: string) => `dist/${env}/configmap-feature-flags-config.yaml`;
const FIX = 'fix the errors reported above, then run the kill switch again (or flagops synth)';
const NOT_OURS = (path: string) => `${path} is not what flagops synthesizes (edited by hand, or written by another version), so the kill switch cannot change just one flag in it; ${FIX}`;
/** What the kill switch writes into a flag's fields (the edit's audit fields, the flag off). */
const off = (f: FeatureFlag): FeatureFlag => ({ ...f, enabled: false, reason: 'Kill switch: video provider outage', ticket: 'INC-2291', changedBy: 'oncall@pms.example.com', changedAt: '2026-11-23T12:00:00Z' });

/** The flags a committed flag ConfigMap file (or shard) holds, read back from its flag set. */
function flagsIn(text: string, key: string = FLAGD_KEY): FeatureFlag[] {
  return flagsFromFlagSet((parse(text) as { data: Record<string, string> }).data[key]!)!;
}

/** The message of the UsageError `run` throws (the test fails when it throws none, or another error). */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError, none was thrown');
}

describe('flagShardPath, shardFilesOf, flagSetFileOf: where a flag set lies in dist/', () => {
  it('names the file of a shard ConfigMap', () => {
    expect(flagShardPath('dev', flagShard(3, 4))).toBe('dist/dev/configmap-feature-flags-shard-3-of-4.yaml');
  });

  it("finds an environment's shard files by name, in shard order, and nothing else", () => {
    const paths = [
      'dist/dev/configmap-feature-flags-shard-2-of-4.yaml',
      'dist/dev/configmap-feature-flags-config.yaml',
      'dist/dev/configmap-feature-flags-shard-0-of-4.yaml',
      'dist/dev/configmap-feature-flags-shard-3-of-4.yaml',
      'dist/dev/configmap-feature-flags-shard-1-of-4.yaml',
      'dist/staging/configmap-feature-flags-shard-1-of-2.yaml',
      'dist/dev/configmap-feature-flags-shard-1-of-2.json',
      'dist/dev/configmap-feature-flags-shard-1-of-2.yml',
      'dist/dev/configmax-feature-flags-shard-1-of-2.yaml',
      'dist/dev/configmap-feature-flags-shard-1-of-3.yaml',
      'elsewhere/dist/dev/configmap-feature-flags-shard-1-of-2.yaml',
    ];
    expect(shardFilesOf('dev', paths)).toEqual([0, 1, 2, 3].map((i) => ({ path: `dist/dev/configmap-feature-flags-shard-${i}-of-4.yaml`, shard: flagShard(i, 4) })));
    expect(shardFilesOf('production', paths)).toEqual([]);
  });

  it("finds a flag's flagd entry: the flag ConfigMap's flags.flagd.json, or the key of the shard its name hashes to", () => {
    expect(flagSetFileOf('dev', [CM('dev')], FLAG)).toEqual({ path: CM('dev'), key: 'flags.flagd.json' });
    const names = Array.from({ length: 40 }, (_, i) => `feature_${i}_enabled`);
    const shards = [0, 1, 2, 3].map((i) => flagShardPath('dev', flagShard(i, 4)));
    for (const name of names) {
      const own = flagShard(shardIndexOf(name, 4), 4);
      expect(flagSetFileOf('dev', [CM('dev'), ...shards], name), name).toEqual({ path: flagShardPath('dev', own), key: own.key });
    }
    // a set missing the flag's shard: the first shard there is, which then says it has no such flag
    const elsewhere = names.find((n) => shardIndexOf(n, 4) === 3)!;
    expect(flagSetFileOf('dev', shards.slice(1, 3), elsewhere)).toEqual({ path: shards[1], key: flagShard(1, 4).key });
  });
});

describe('patchFlagConfigMap: one flag changed in the committed flag ConfigMap', () => {
  /**
   * The kill switch of FLAG in `env` as `flagops disable` writes it with a full synthesis (the
   * project is healthy), and a fresh copy of the project before it.
   */
  async function fullSynthesis(env: string): Promise<{ project: string; expected: string }> {
    const synthesized = tempProject();
    const r = await flagops(synthesized, 'disable', FLAG, '--env', env, '--reason', 'Kill switch: video provider outage', '--ticket', 'INC-2291', '--by', 'oncall@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return { project: tempProject(), expected: read(synthesized, CM(env)) };
  }

  it('in every environment, gives byte for byte what a full synthesis gives, reading nothing but dist/ (every flag file and the catalog broken)', async () => {
    for (const env of ['dev', 'staging', 'production']) {
      const { project, expected } = await fullSynthesis(env);
      const committed = flagsIn(read(project, CM(env))).find((f) => f.name === FLAG)!;
      const written = flagsIn(expected).find((f) => f.name === FLAG)!;
      for (const file of ['environments/catalog.yaml', 'environments/dev/flags.yaml', 'environments/staging/flags.yaml', 'environments/production/flags.yaml']) write(project, file, '<<<<<<< HEAD\n: [\n');
      const update = vi.fn((f: FeatureFlag): FeatureFlag => ({ ...written, name: `${f.name}_renamed` }));
      const files = patchFlagConfigMap(project, env, FLAG, update);
      // THEN the update saw the committed fields of that flag alone, and the file is the full synthesis's
      expect(update.mock.calls, env).toEqual([[committed]]);
      expect(files.map((f) => f.path)).toEqual([CM(env)]);
      expect(files[0]!.text, env).toBe(expected);
      expect(files[0]!.object).toEqual(parse(expected));
    }
  });

  it('refuses when the flag ConfigMap is missing, or has no such flag', () => {
    const project = tempProject();
    expect(refusal(() => patchFlagConfigMap(project, 'production', 'no_such_flag_enabled', off))).toBe(`${CM('production')} has no flag 'no_such_flag_enabled'; ${FIX}`);
    rmSync(join(project, CM('production')));
    expect(refusal(() => patchFlagConfigMap(project, 'production', FLAG, off))).toBe(`${CM('production')} does not exist, so the kill switch cannot be written without a full synth; ${FIX}`);
    rmSync(join(project, 'dist', 'production'), { recursive: true });
    expect(refusal(() => patchFlagConfigMap(project, 'production', FLAG, off))).toBe(`${CM('production')} does not exist, so the kill switch cannot be written without a full synth; ${FIX}`);
  });

  it('refuses a flag ConfigMap it cannot read back exactly: edited by hand, without data, empty, or not YAML', () => {
    const cases: [string, (text: string) => string, string][] = [
      ['a comment added', (text) => `${text}# checked by hand\n`, NOT_OURS(CM('production'))],
      ['a flag set that is not flagd JSON', (text) => text.replace('"$schema"', '"$schema'), NOT_OURS(CM('production'))],
      ['a value of feature_flags.json changed', (text) => text.replace('"ai_visit_summaries_enabled": false', '"ai_visit_summaries_enabled": true'), NOT_OURS(CM('production'))],
      ['no data', () => 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feature-flags-config\n', NOT_OURS(CM('production'))],
      ['empty', () => '', NOT_OURS(CM('production'))],
      ['not YAML', () => 'data: [\n', `${CM('production')} is not valid YAML; ${FIX}`],
    ];
    for (const [what, edit, message] of cases) {
      const project = tempProject();
      write(project, CM('production'), edit(read(project, CM('production'))));
      expect(refusal(() => patchFlagConfigMap(project, 'production', FLAG, off)), what).toBe(message);
    }
  });

  it('never reads through a link: dist/ or dist/<env> linked elsewhere', () => {
    for (const linked of ['dist', 'dist/production']) {
      const project = tempProject();
      const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
      rmSync(join(project, linked), { recursive: true });
      symlinkSync(elsewhere, join(project, linked));
      expect(refusal(() => patchFlagConfigMap(project, 'production', FLAG, off)), linked).toBe(
        'dist/production is or is under a symbolic link; flagops never reads or writes through links: replace it with the plain folder',
      );
    }
  });

  it('never opens anything in dist/<env> but the flag ConfigMap and its shards: folders named almost like them are passed over', () => {
    const project = tempProject();
    const expected = patchFlagConfigMap(project, 'production', FLAG, off)[0]!.text;
    for (const name of ['evil.yaml', 'configmax-feature-flags-shard-0-of-2.yaml', 'configmap-feature-flags-shard-0-of-2.json', 'configmap-feature-flags-shard-0-of-3.yaml', 'configmap-feature-flags-shard-00-of-2.yaml']) {
      mkdirSync(join(project, 'dist', 'production', name));
    }
    expect(patchFlagConfigMap(project, 'production', FLAG, off).map((f) => f.text)).toEqual([expected]);
  });

  it('refuses a flag ConfigMap that is not a plain file, is larger than any it writes, or cannot be read, naming it', () => {
    const project = tempProject();
    const path = CM('production');
    rmSync(join(project, path));
    mkdirSync(join(project, path));
    expect(refusal(() => patchFlagConfigMap(project, 'production', FLAG, off))).toBe(`${path} is not a plain file (a directory), so the kill switch cannot rewrite it; ${FIX}`);
    rmSync(join(project, path), { recursive: true });
    writeFileSync(join(project, path), '');
    truncateSync(join(project, path), 16 * 1024 * 1024 + 1);
    expect(refusal(() => patchFlagConfigMap(project, 'production', FLAG, off))).toBe(`${path} is larger than any flag ConfigMap flagops writes; ${FIX}`);
    const fresh = tempProject();
    fsTrace.root = fresh;
    before('open', path, () => {
      throw systemError('EACCES', 'open', join(fresh, path));
    });
    expect(refusal(() => patchFlagConfigMap(fresh, 'production', FLAG, off))).toBe(`${path} cannot be read (EACCES); ${FIX}`);
  });
});

describe('patchFlagConfigMap on a sharded flag set: the legacy key and the one shard holding the flag', () => {
  const ENV = 'dev';
  const flag = (i: number): FeatureFlag => ({
    name: `feature_${String(i).padStart(3, '0')}_enabled`,
    description: `What feature ${i} turns on.`,
    owner: 'team-platform',
    type: 'release',
    enabled: i % 3 !== 0,
    rollout: [0, 5, 25, 50, 100][i % 5]!,
    reason: 'Gradual rollout',
    changedBy: 'a@pms.example.com',
    changedAt: '2026-11-01T00:00:00Z',
  });
  const FLAGS = Array.from({ length: 40 }, (_, i) => flag(i));

  /** dist/<ENV>/'s flag ConfigMaps for `flags` as synth writes them, sharded in four by small limits. */
  function synthesized(flags: readonly FeatureFlag[]): Map<string, string> {
    const chart = new Chart(new App(), 'test', { namespace: 'pms', disableResourceNameHashes: true });
    new FeatureFlagConfigMap(chart, 'Flags', { environment: ENV, flags, shardingThresholdBytes: 4096, shardTargetBytes: 8192 });
    return new Map(renderFiles(ENV, chart.toJson() as KubeObject[]).map((f) => [f.path, f.text]));
  }

  /** A scratch project holding only those files. */
  function project(files: ReadonlyMap<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'flagops-shards-'));
    for (const [path, text] of files) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  const SHARDS = [0, 1, 2, 3].map((i) => flagShardPath(ENV, flagShard(i, 4)));
  const inShard = (i: number) => FLAGS.filter((f) => shardIndexOf(f.name, 4) === i);

  it('is sharded in four, each shard holding flags (the premise of the tests below)', () => {
    expect([...synthesized(FLAGS).keys()].sort()).toEqual([CM(ENV), ...SHARDS].sort());
    for (let i = 0; i < 4; i++) expect(inShard(i).length, `shard ${i}`).toBeGreaterThan(1);
  });

  it('gives byte for byte what a full synthesis gives: feature-flags-config, then the shard of the flag, and nothing else', () => {
    const before = synthesized(FLAGS);
    for (const shard of [0, 1, 2, 3]) {
      const victim = inShard(shard).find((f) => f.enabled)!;
      const after = synthesized(FLAGS.map((f) => (f.name === victim.name ? off(f) : f)));
      const files = patchFlagConfigMap(project(before), ENV, victim.name, off);
      expect(files.map((f) => [f.path, f.text]), victim.name).toEqual([
        [CM(ENV), after.get(CM(ENV))],
        [SHARDS[shard], after.get(SHARDS[shard]!)],
      ]);
    }
  });

  it('refuses shards that are not one complete set: one missing, or one of another count', () => {
    const files = synthesized(FLAGS);
    const missingLast = new Map(files);
    missingLast.delete(SHARDS[3]!);
    expect(refusal(() => patchFlagConfigMap(project(missingLast), ENV, inShard(0)[0]!.name, off))).toBe(
      `the flag shards in dist/${ENV}/ are not one complete set (feature-flags-shard-0-of-4, feature-flags-shard-1-of-4, feature-flags-shard-2-of-4); ${FIX}`,
    );
    const mixed = new Map(missingLast);
    mixed.set(flagShardPath(ENV, flagShard(5, 8)), files.get(SHARDS[3]!)!);
    expect(refusal(() => patchFlagConfigMap(project(mixed), ENV, inShard(0)[0]!.name, off))).toBe(
      `the flag shards in dist/${ENV}/ are not one complete set (feature-flags-shard-0-of-4, feature-flags-shard-1-of-4, feature-flags-shard-2-of-4, feature-flags-shard-5-of-8); ${FIX}`,
    );
  });

  it('refuses a shard or feature-flags-config it cannot read back exactly, naming the file', () => {
    const files = synthesized(FLAGS);
    const shard1 = SHARDS[1]!;
    // a flag of shard 2 added to shard 1's flag set, written as synth writes a shard
    const withStray = { ...(parse(files.get(shard1)!) as KubeObject), data: flagShardData(ENV, flagShard(1, 4), [...inShard(1), inShard(2)[0]!]) };
    const cases: [string, string, string][] = [
      ['a comment added to a shard', shard1, `${files.get(shard1)}# checked by hand\n`],
      ['a shard without data', shard1, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feature-flags-shard-1-of-4\n'],
      ['an empty shard', shard1, ''],
      ['a shard whose flag set is not flagd JSON', shard1, files.get(shard1)!.replace('"$schema"', '"$schema')],
      ['a shard holding a flag of another shard', shard1, renderFiles(ENV, [withStray])[0]!.text],
      ['feature_flags.json changed', CM(ENV), files.get(CM(ENV))!.replace(/"(feature_\d+_enabled)": true/, '"$1": false')],
    ];
    for (const [what, path, text] of cases) {
      const broken = new Map(files).set(path, text);
      expect(refusal(() => patchFlagConfigMap(project(broken), ENV, inShard(0)[0]!.name, off)), what).toBe(NOT_OURS(path));
    }
  });

  it('refuses a flag its shard does not hold', () => {
    const name = 'no_such_flag_enabled';
    expect(refusal(() => patchFlagConfigMap(project(synthesized(FLAGS)), ENV, name, off))).toBe(`${SHARDS[shardIndexOf(name, 4)]} has no flag '${name}'; ${FIX}`);
  });
});
