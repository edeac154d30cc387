/**
 * A flag set too large for one ConfigMap, split into shards: the plan (names, keys, the stable
 * assignment of flags to shards, the size limits), what reads the shards (flagd, the OpenFeature
 * Operator, RBAC, the kill switch and the drill, the Pulumi program), and a generated project of
 * 10,000 flags in three environments that synthesizes, passes `check`, and evaluates with the real
 * flagd evaluator reading every shard.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateProject } from '../bench/generate.ts';
import { AccessControl } from '../constructs/access-control.ts';
import {
  configMapDataBytes,
  FeatureFlagConfigMap,
  FLAG_SHARD_TARGET_BYTES,
  flagConfigMapData,
  flagConfigMapsData,
  flagDataChecksum,
  flagdFlagSet,
  flagShard,
  FLAGD_KEY,
  LEGACY_KEY,
  parseFlagShard,
  shardIndexOf,
  type FeatureFlag,
} from '../constructs/feature-flag-config-map.ts';
import { FlagdServer, OpenFeatureOperatorFlags } from '../constructs/flag-serving.ts';
import { resolveEnvironmentSettings } from '../model/environments.ts';
import { renderFiles } from '../synth/synth.ts';
import type { KubeObject } from '../model/manifests.ts';
import { parseProtectRules, planDeployment } from '../infra/pulumi/manifests.ts';
import { compareDist } from '../lib/rollout/drill.ts';
import { measurePropagation } from '../lib/rollout/flag-propagation.ts';
import { flagWritersPolicy } from '../policies/access-policies.ts';
import { CONFIGMAP_LIMIT_BYTES, CONFIGMAP_WARN_BYTES } from '../policies/manifest-policies.ts';
import { fileLocator } from '../model/findings.ts';
import { flagops, git, initRepository, read, REPO_ROOT, replaceIn } from './helpers.ts';
import { flagdOverSources } from './support/flagd-sources.ts';

const flag = (name: string, rollout = 25, enabled = true, reason = 'Gradual rollout'): FeatureFlag => ({
  name, description: `What ${name} turns on.`, owner: 'team-platform', type: 'release', enabled, rollout, reason, changedBy: 'a@pms.example.com', changedAt: '2026-11-01T00:00:00Z',
});
const flags = (n: number, from = 0) => Array.from({ length: n }, (_, i) => flag(`feature_${String(i + from).padStart(5, '0')}_enabled`, [0, 5, 25, 50, 100][i % 5]!, i % 7 !== 0));
/** Small limits, so that a few dozen flags already need shards. */
const SMALL = { thresholdBytes: 8 * 1024, targetBytes: 4 * 1024 };

describe('the shard plan', () => {
  it('keeps a flag set under the threshold in one ConfigMap with both keys, exactly as before', () => {
    // GIVEN 15 flags, like the sample WHEN planned with the default limits
    const planned = flagConfigMapsData('production', flags(15));
    // THEN nothing is split: the one ConfigMap's data is flagConfigMapData's
    expect(planned.shards).toEqual([]);
    expect(planned.main).toEqual(flagConfigMapData('production', flags(15)));
  });

  it('splits a larger set into the smallest power of two of shards under the target, the legacy key alone in the main ConfigMap', () => {
    // GIVEN 200 flags, far more than 8 KiB
    const all = flags(200);
    // WHEN planned with a 4 KiB target
    const planned = flagConfigMapsData('production', all, SMALL);
    const count = planned.shards.length;
    // THEN the count is a power of two, every shard is under the target and half the count would not do
    expect(Math.log2(count) % 1).toBe(0);
    for (const s of planned.shards) expect(configMapDataBytes(s.data)).toBeLessThanOrEqual(SMALL.targetBytes);
    const halves = flagConfigMapsData('production', all, { ...SMALL, targetBytes: SMALL.targetBytes * 2 }).shards.length;
    expect(halves).toBeLessThanOrEqual(count);
    expect(Object.keys(planned.main)).toEqual([LEGACY_KEY]);
    expect(planned.main[LEGACY_KEY]).toBe(flagConfigMapData('production', all)[LEGACY_KEY]);
    // AND every flag is in exactly one shard, the one its name hashes to
    const placed = planned.shards.flatMap((s) => s.flags.map((name) => [name, s.index] as const));
    expect(placed.map(([name]) => name).sort()).toEqual(all.map((f) => f.name).sort());
    for (const [name, index] of placed) expect(index).toBe(shardIndexOf(name, count));
    // AND each shard is a complete flagd flag set of its flags
    for (const s of planned.shards) {
      expect(JSON.parse(s.data[s.key]!)).toEqual(flagdFlagSet('production', all.filter((f) => s.flags.includes(f.name))));
    }
  });

  it('writes every flag set byte for byte as JSON.stringify of the set (assembled from one entry per flag)', () => {
    // GIVEN any flags, with any text in their free-text fields (quotes, newlines, non-ASCII)
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const anyFlag = fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}_enabled$/),
      description: text, owner: text, reason: text, changedBy: text, changedAt: text,
      type: fc.constantFrom('release', 'experiment', 'ops', 'permission'),
      enabled: fc.boolean(), rollout: fc.integer({ min: 0, max: 100 }),
      ticket: fc.option(text, { nil: undefined }), approvedBy: fc.option(text, { nil: undefined }), expires: fc.option(text, { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(anyFlag, { selector: (f) => f.name, maxLength: 12 }), fc.constantFrom('dev', 'production'), (fs, env) => {
        const all = fs as FeatureFlag[];
        // THEN the single ConfigMap's flag set and every shard's are what JSON.stringify writes
        expect(flagConfigMapData(env, all)[FLAGD_KEY]).toBe(`${JSON.stringify(flagdFlagSet(env, all), null, 2)}\n`);
        for (const s of flagConfigMapsData(env, all, { thresholdBytes: 1024, targetBytes: 1024 }).shards) {
          const own = all.filter((f) => s.flags.includes(f.name));
          expect(s.data[s.key]).toBe(`${JSON.stringify(flagdFlagSet(env, own), null, 2)}\n`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('names shards and keys stably and distinctly, and reads them back', () => {
    expect(flagShard(3, 64)).toEqual({ index: 3, count: 64, name: 'feature-flags-shard-03-of-64', key: 'shard-03-of-64.flagd.json' });
    expect(flagShard(3, 8).name).toBe('feature-flags-shard-3-of-8');
    expect(flagShard(100, 128).key).toBe('shard-100-of-128.flagd.json');
    expect(parseFlagShard('feature-flags-shard-03-of-64')).toEqual(flagShard(3, 64));
    expect(parseFlagShard('shard-03-of-64.flagd.json')).toEqual(flagShard(3, 64));
    for (const bad of ['feature-flags-shard-3-of-64', 'feature-flags-shard-64-of-64', 'feature-flags-shard-01-of-24', 'feature-flags-config', 'shard-03-of-64.json']) {
      expect(parseFlagShard(bad), bad).toBeUndefined();
    }
  });

  it('assigns by the top bits of the name hash: doubling the count splits shard i into 2i and 2i+1', () => {
    for (const f of flags(500)) {
      const at16 = shardIndexOf(f.name, 16);
      expect([2 * at16, 2 * at16 + 1]).toContain(shardIndexOf(f.name, 32));
      expect(shardIndexOf(f.name, 1)).toBe(0);
    }
  });

  it('changes one shard when a flag is added, and none of the others', () => {
    // GIVEN a sharded set
    const before = flagConfigMapsData('production', flags(200), SMALL);
    // WHEN one flag is added
    const after = flagConfigMapsData('production', [...flags(200), flag('brand_new_enabled')], SMALL);
    // THEN (the count unchanged) only the shard the new flag hashes to differs
    expect(after.shards.length).toBe(before.shards.length);
    const changed = after.shards.filter((s, i) => s.data[s.key] !== before.shards[i]!.data[s.key]).map((s) => s.index);
    expect(changed).toEqual([shardIndexOf('brand_new_enabled', after.shards.length)]);
  });

  it('stops splitting when a shard over the target holds a single flag, which the size policy then reports', () => {
    // GIVEN one flag whose reason alone is larger than the target
    const planned = flagConfigMapsData('production', [...flags(20), flag('huge_enabled', 25, true, 'x'.repeat(6000))], SMALL);
    // THEN the set is split, but not endlessly: the big flag sits alone over the target
    const big = planned.shards.find((s) => s.flags.includes('huge_enabled'))!;
    expect(big.flags).toEqual(['huge_enabled']);
    expect(configMapDataBytes(big.data)).toBeGreaterThan(SMALL.targetBytes);
    expect(planned.shards.filter((s) => s.flags.length > 1).every((s) => configMapDataBytes(s.data) <= SMALL.targetBytes)).toBe(true);
  });

  it('has a checksum equal to the single ConfigMap\'s while unsharded, covering every shard once sharded', () => {
    const data = flagConfigMapData('dev', flags(3));
    const chart = new Chart(Testing.app(), 'c');
    expect(new FeatureFlagConfigMap(chart, 'small', { environment: 'dev', flags: flags(3) }).checksum).toBe(flagDataChecksum(data));
    const sharded = (all: readonly FeatureFlag[]) => new FeatureFlagConfigMap(new Chart(Testing.app(), 'c'), 'f', { environment: 'dev', flags: all, shardingThresholdBytes: 8192, shardTargetBytes: 4096 }).checksum;
    const all = flags(200);
    expect(sharded(all)).toBe(sharded([...all]));
    expect(sharded(all)).not.toBe(sharded(all.map((f, i) => (i === 150 ? { ...f, rollout: 50 } : f))));
  });

  it('refuses limits below 1 KiB or not whole, naming the value', () => {
    const make = (props: object) => () => new FeatureFlagConfigMap(new Chart(Testing.app(), 'c'), 'f', { environment: 'dev', flags: [], ...props });
    expect(make({ shardTargetBytes: 100 })).toThrow("The 'shardTargetBytes' property must be a whole number of bytes, at least 1024. The value passed is: 100");
    expect(make({ shardingThresholdBytes: 2048.5 })).toThrow(/'shardingThresholdBytes'.*The value passed is: 2048.5/);
  });
});

describe('what reads a sharded flag set', () => {
  const sharded = () => {
    const chart = new Chart(new App(), 'test', { namespace: 'pms', disableResourceNameHashes: true });
    const cm = new FeatureFlagConfigMap(chart, 'Flags', { environment: 'production', flags: flags(200), shardingThresholdBytes: 8192, shardTargetBytes: 4096 });
    return { chart, cm };
  };

  it('gives flagd every shard: one --uri each, one projected volume into one directory, never subPath', () => {
    // GIVEN flagd serving a sharded set
    const { chart, cm } = sharded();
    new FlagdServer(chart, 'Serving', { flagConfigMap: cm.configMap, flagShards: cm.flagSetSources, clientPodLabels: { app: 'pms-backend' }, release: 'kps' });
    const deployment = (chart.toJson() as any[]).find((o) => o.kind === 'Deployment');
    const spec = deployment.spec.template.spec;
    const uris = spec.containers[0].args.flatMap((a: string, i: number, all: string[]) => (all[i - 1] === '--uri' ? [a] : []));
    // THEN every shard is a source, read from the one mount
    expect(uris).toEqual(cm.shards.map((s) => `file:/etc/flagd/${s.key}`));
    expect(spec.volumes).toEqual([
      { name: 'flags', projected: { defaultMode: 0o444, sources: cm.shards.map((s) => ({ configMap: { name: s.name, items: [{ key: s.key, path: s.key }] } })) } },
    ]);
    expect(spec.containers[0].volumeMounts).toEqual([{ mountPath: '/etc/flagd', name: 'flags', readOnly: true }]);
  });

  it('refuses shards that would collide in the directory', () => {
    const { chart, cm } = sharded();
    const twice = [cm.flagSetSources[0]!, cm.flagSetSources[0]!];
    expect(() => new FlagdServer(chart, 'Serving', { flagConfigMap: cm.configMap, flagShards: twice, clientPodLabels: { app: 'x' }, release: 'kps' })).toThrow(/'flagShards'.*The value passed is: "shard-0/);
  });

  it('gives the OpenFeature Operator one FeatureFlag per shard and a FeatureFlagSource listing them all', () => {
    // GIVEN the operator's objects for 200 flags in 8 shards
    const chart = new Chart(new App(), 'test', { namespace: 'pms', disableResourceNameHashes: true });
    const all = flags(200);
    new OpenFeatureOperatorFlags(chart, 'Flags', { environment: 'production', flags: all, namespace: 'pms', shards: 8 });
    const objects = chart.toJson() as any[];
    const featureFlags = objects.filter((o) => o.kind === 'FeatureFlag');
    // THEN each holds the flags of the ConfigMap shard of its number, and together they are the whole set
    expect(featureFlags.map((o) => o.metadata.name)).toEqual(Array.from({ length: 8 }, (_, i) => `feature-flags-shard-${i}-of-8`));
    featureFlags.forEach((o, i) => {
      for (const name of Object.keys(o.spec.flagSpec.flags)) expect(shardIndexOf(name, 8)).toBe(i);
    });
    const { $schema: _, ...whole } = flagdFlagSet('production', all);
    expect(Object.assign({}, ...featureFlags.map((o) => o.spec.flagSpec.flags))).toEqual(whole.flags);
    const source = objects.find((o) => o.kind === 'FeatureFlagSource');
    expect(source.spec.sources).toEqual(featureFlags.map((o) => ({ source: `pms/${o.metadata.name}`, provider: 'kubernetes' })));
    expect(() => new OpenFeatureOperatorFlags(new Chart(new App(), 'x'), 'F', { environment: 'dev', flags: all, namespace: 'pms', shards: 6 })).toThrow(/'shards'.*The value passed is: 6/);
  });

  it('lets the app read every flag ConfigMap and break-glass change them, by name', () => {
    // GIVEN RBAC for a sharded set
    const { chart, cm } = sharded();
    new AccessControl(chart, 'Access', { flagConfigMap: cm.configMap.name, flagShards: cm.shards.map((s) => s.name), onCallGroups: ['oncall'], developerGroups: [], breakGlassGroups: ['bg'] });
    const objects = chart.toJson() as KubeObject[];
    const rules = (name: string) => (objects.find((o) => o.kind === 'Role' && o.metadata.name === name) as any).rules;
    const names = ['feature-flags-config', ...cm.shards.map((s) => s.name)];
    // THEN both Roles name exactly the flag ConfigMaps
    expect(rules('pms-backend-flags-reader')).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: names, verbs: ['get', 'list', 'watch'] }]);
    expect(rules('feature-flags-break-glass')).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: names, verbs: ['get', 'patch', 'update'] }]);
  });

  it('rbac-flag-writers accepts break-glass on every shard, and names whoever else may write one', async () => {
    // GIVEN production's RBAC for a sharded set, and an on-call Role patching one shard
    const { chart, cm } = sharded();
    new AccessControl(chart, 'Access', { flagConfigMap: cm.configMap.name, flagShards: cm.shards.map((s) => s.name), onCallGroups: ['pms-oncall'], developerGroups: [], breakGlassGroups: ['pms-production-break-glass'] });
    const objects = chart.toJson() as KubeObject[];
    const context = { settings: resolveEnvironmentSettings('production', { namespace: 'pms', access: { onCallGroups: ['pms-oncall'], breakGlassGroups: ['pms-production-break-glass'] } }), locator: (f: { path: string }) => fileLocator(f.path) };
    const run = (objs: KubeObject[]) => flagWritersPolicy({ environment: 'production', files: renderFiles('production', objs) }, context);
    expect(await run(objects)).toEqual([]);
    const leaky = objects.map((o) =>
      o.kind === 'Role' && o.metadata.name === 'pms-read-only' ? { ...o, rules: [...(o.rules as object[]), { apiGroups: [''], resources: ['configmaps'], resourceNames: [cm.shards[1]!.name], verbs: ['patch'] }] } : o,
    );
    // THEN the on-call group is reported for that shard
    expect((await run(leaky)).map((f) => f.message)).toEqual([expect.stringContaining(`Group pms-oncall may change ${cm.shards[1]!.name} through Role pms-read-only`)]);
  });

  it("lets the drill's kill switch change the flag's entry in its shard and the legacy key, and nothing in another shard", () => {
    // GIVEN dist/ before and after a kill switch of one flag of a sharded set
    const all = flags(200);
    const victim = all.find((f) => f.enabled && f.rollout > 0)!.name;
    const asDist = (fs: readonly FeatureFlag[]) => {
      const planned = flagConfigMapsData('production', fs, SMALL);
      return new Map<string, object>([
        ['dist/production/configmap-feature-flags-config.yaml', { kind: 'ConfigMap', metadata: { name: 'feature-flags-config' }, data: planned.main }],
        ...planned.shards.map((s): [string, object] => [`dist/production/configmap-${s.name}.yaml`, { kind: 'ConfigMap', metadata: { name: s.name }, data: s.data }]),
      ]);
    };
    const cm = 'dist/production/configmap-feature-flags-config.yaml';
    const off = (names: readonly string[]) => all.map((f) => (names.includes(f.name) ? { ...f, enabled: false, reason: 'Kill switch' } : f));
    const before = asDist(all);
    // WHEN only that flag changes THEN nothing unexpected; WHEN a flag in another shard changes too THEN that is named
    expect(compareDist(before, asDist(off([victim])), cm, 'production', victim)).toMatchObject({ unexpected: [] });
    const count = [...before.keys()].length - 1;
    const other = all.find((f) => f.enabled && f.rollout === 100 && shardIndexOf(f.name, count) !== shardIndexOf(victim, count))!.name;
    const result = compareDist(before, asDist(off([victim, other])), cm, 'production', victim);
    expect(result.unexpected).toEqual([
      `${cm}: data.${LEGACY_KEY} (production.${other})`,
      `dist/production/configmap-${flagShard(shardIndexOf(other, count), count).name}.yaml: data.${flagShard(shardIndexOf(other, count), count).key} (flags.${other})`,
    ]);
  });

  it('protects every shard in production with the flag ConfigMap', () => {
    const committed = flagConfigMapsData('production', flags(200), SMALL).shards.map((s) => ({ path: `dist/production/configmap-${s.name}.yaml`, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: s.name } } }));
    const plan = (rules: string[]) => planDeployment(committed, { stack: 'production', protect: parseProtectRules(rules), externalCrds: [] });
    expect(plan(['ConfigMap/feature-flags-config']).every((o) => o.protect)).toBe(true);
    expect(plan(['ConfigMap/grafana-dashboard-slo']).some((o) => o.protect)).toBe(false);
  });
});

describe('10,000 flags x 3 environments', () => {
  const ENVIRONMENTS = ['dev', 'staging', 'production'] as const;
  const N = 10_000;
  let dir: string;
  const shardFiles = (env: string) => readdirSync(join(dir, 'dist', env)).filter((f) => f.startsWith('configmap-feature-flags-shard-')).sort();
  const object = (env: string, file: string): any => parse(read(dir, `dist/${env}/${file}`));
  const texts = (env: string) => new Map(readdirSync(join(dir, 'dist', env)).map((f) => [f, read(dir, `dist/${env}/${f}`)]));
  /** The states of a generated flag file (bench/generate.ts's layout; a YAML parse of 10,000 entries takes seconds). */
  const states = (env: string): Record<string, { enabled: boolean; rollout: number }> => {
    const text = read(dir, `environments/${env}/flags.yaml`);
    const found = [...text.matchAll(/^ {2}(\w+):\n {4}enabled: (true|false)\n {4}rollout: (\d+)$/gm)].map((m) => [m[1]!, { enabled: m[2] === 'true', rollout: Number(m[3]) }] as const);
    expect(found.length).toBe((text.match(/^ {2}\w+:$/gm) ?? []).length);
    return Object.fromEntries(found);
  };

  beforeAll(async () => {
    // GIVEN a generated project of 10,000 flags (bench/generate.ts), synthesized
    dir = mkdtempSync(join(tmpdir(), 'flagops-10k-'));
    generateProject(dir, N, REPO_ROOT);
    const synth = await flagops(dir, 'synth');
    expect(synth.code, synth.stdout + synth.stderr).toBe(0);
  }, 300_000);

  it('splits each environment into a power of two of shards, each under 256 KiB, with feature_flags.json one key under 1 MiB', () => {
    for (const env of ENVIRONMENTS) {
      const files = shardFiles(env);
      // THEN a power-of-two count of shards, each well under the client-side-apply limit
      expect(Math.log2(files.length) % 1, env).toBe(0);
      for (const file of files) {
        const o = object(env, file);
        expect(parseFlagShard(o.metadata.name)?.count).toBe(files.length);
        expect(configMapDataBytes(o.data), `${env} ${file}`).toBeLessThanOrEqual(FLAG_SHARD_TARGET_BYTES);
        expect(configMapDataBytes(o.data)).toBeLessThan(CONFIGMAP_WARN_BYTES);
      }
      // AND feature_flags.json stays one key the backend reads, every flag on its own line, blank lines between
      const main = object(env, 'configmap-feature-flags-config.yaml');
      expect(Object.keys(main.data)).toEqual([LEGACY_KEY]);
      expect(configMapDataBytes(main.data)).toBeLessThan(CONFIGMAP_LIMIT_BYTES);
      const legacy = JSON.parse(main.data[LEGACY_KEY]);
      expect(Object.keys(legacy[env])).toHaveLength(N);
      expect(main.data[LEGACY_KEY]).toMatch(/^ {4}"generated_feature_00000_enabled": (true|false),\n\n {4}"generated_feature_00001_enabled"/m);
    }
  });

  it('gives flagd every shard, and the app and break-glass every flag ConfigMap by name', () => {
    const production = object('production', 'deployment-flagd.yaml').spec.template.spec;
    const files = shardFiles('production');
    expect(production.containers[0].args.filter((a: string) => a.startsWith('file:'))).toHaveLength(files.length);
    expect(production.volumes[0].projected.sources).toHaveLength(files.length);
    const names = object('production', 'role-pms-backend-flags-reader.yaml').rules[0].resourceNames;
    expect(names).toEqual(['feature-flags-config', ...files.map((f) => f.slice('configmap-'.length, -'.yaml'.length))]);
    expect(object('production', 'role-feature-flags-break-glass.yaml').rules[0].resourceNames).toEqual(names);
  });

  it('resolves every flag to its declared share with the real flagd evaluator, loading every shard as flagd loads its sources', () => {
    for (const env of ENVIRONMENTS) {
      // GIVEN the evaluator with each shard as one source, in the order of flagd's --uri arguments
      const args: string[] = object(env, 'deployment-flagd.yaml').spec.template.spec.containers[0].args.filter((a: string) => a.startsWith('file:/etc/flagd/'));
      const data = Object.assign({}, ...shardFiles(env).map((f) => object(env, f).data)) as Record<string, string>;
      const { core, storage } = flagdOverSources(args.map((a) => data[a.slice('file:/etc/flagd/'.length)]!));
      // THEN it holds every flag exactly once
      expect(storage.duplicates.size).toBe(0);
      expect(storage.getFlags().size).toBe(N);
      // AND every flag resolves without an error: 0% and 100% for every key, partial rollouts
      // for their share (summed over the flags of each step: 1,000s of flags x 20 keys)
      const keys = 20;
      const byStep = new Map<number, { on: number; total: number }>();
      const wrong: string[] = [];
      for (const [name, s] of Object.entries(states(env))) {
        const share = s.enabled ? s.rollout : 0;
        let on = 0;
        for (let i = 0; i < keys; i++) {
          const r = core.resolveBooleanEvaluation(name, false, { targetingKey: `patient-${i}` });
          if (r.errorCode) wrong.push(`${name}: ${r.errorCode}`);
          else if (r.value) on++;
        }
        if ((share === 0 && on > 0) || (share === 100 && on < keys)) wrong.push(`${name}: on for ${on} of ${keys} keys at ${share}%`);
        const step = byStep.get(share) ?? { on: 0, total: 0 };
        byStep.set(share, { on: step.on + on, total: step.total + keys });
      }
      expect(wrong, env).toEqual([]);
      for (const [share, { on, total }] of byStep) expect(Math.abs((100 * on) / total - share), `${env} at ${share}%`).toBeLessThanOrEqual(2);
      expect([...byStep.keys()].filter((s) => s > 0 && s < 100).length, env).toBeGreaterThan(0);
    }
  }, 120_000);

  it('changes exactly one shard file per environment when a flag is added', async () => {
    // GIVEN the committed dist/
    const before = Object.fromEntries(ENVIRONMENTS.map((env) => [env, texts(env)]));
    // WHEN one flag is added (off everywhere)
    const name = 'zz_added_feature_enabled';
    const r = await flagops(dir, 'add', name, '--description', 'One more flag.', '--owner', 'team-platform', '--type', 'ops', '--reason', 'New flag', '--ticket', 'BENCH-0', '--by', 'bench@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // THEN in each environment only feature-flags-config and the shard the flag hashes to changed
    for (const env of ENVIRONMENTS) {
      const after = texts(env);
      const count = shardFiles(env).length;
      expect([...after.keys()].sort()).toEqual([...before[env]!.keys()].sort());
      const changed = [...after.keys()].filter((f) => after.get(f) !== before[env]!.get(f)).sort();
      expect(changed, env).toEqual(['configmap-feature-flags-config.yaml', `configmap-${flagShard(shardIndexOf(name, count), count).name}.yaml`]);
    }
  }, 120_000);

  it('pulls a kill switch with a broken entry elsewhere by patching only the flag\'s shard and the legacy key, which the provider sees over every shard; then passes check', async () => {
    // GIVEN a typo in another dev entry (a full synth would leave that flag out) and a flag on at 100% in dev
    const dev = states('dev');
    const victim = Object.keys(dev).find((n) => dev[n]!.enabled && dev[n]!.rollout === 100);
    const broken = Object.keys(dev).find((n) => dev[n]!.enabled && dev[n]!.rollout < 100);
    const flagsYaml = 'environments/dev/flags.yaml';
    const entry = (name: string) => `  ${name}:\n    enabled: true\n    rollout: ${dev[name]!.rollout}\n`;
    replaceIn(dir, flagsYaml, entry(broken!), entry(broken!).replace('    rollout:', '    rolout:'));
    const before = texts('dev');
    // WHEN the kill switch is pulled
    const r = await flagops(dir, 'disable', victim!, '--env', 'dev', '--reason', 'Kill switch: outage', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('[unknown-field]');
    // THEN only feature-flags-config and the flag's shard changed, and only in that flag's entries
    const after = texts('dev');
    const count = shardFiles('dev').length;
    const shardFile = `configmap-${flagShard(shardIndexOf(victim!, count), count).name}.yaml`;
    expect([...after.keys()].filter((f) => after.get(f) !== before.get(f)).sort()).toEqual(['configmap-feature-flags-config.yaml', shardFile]);
    const parsed = (m: Map<string, string>) => new Map([...m].filter(([f]) => f.startsWith('configmap-feature-flags')).map(([f, t]) => [`dist/dev/${f}`, parse(t) as object]));
    expect(compareDist(parsed(before), parsed(after), 'dist/dev/configmap-feature-flags-config.yaml', 'dev', victim!).unexpected).toEqual([]);
    // AND the OpenFeature flagd provider, on every shard laid out as flagd's projected volume, turns it off for everyone
    const volume = (m: Map<string, string>) => Object.assign({}, ...[...m].filter(([f]) => f.startsWith('configmap-feature-flags-shard-')).map(([, t]) => parse(t).data)) as Record<string, string>;
    const seen = await measurePropagation(mkdtempSync(join(tmpdir(), 'flagops-volume-')), volume(before), volume(after), victim!, 200);
    expect(seen.before.errors).toBe(0);
    expect(seen.before.on.size).toBeGreaterThan(0);
    expect(seen.after).toEqual({ on: new Set(), errors: 0 });
    // AND once the typo is fixed, a full synth agrees with what the kill switch wrote, and
    // everything passes check: the size of feature_flags.json (one key, over 256 KiB) is the only
    // warning about the output
    replaceIn(dir, flagsYaml, entry(broken!).replace('    rollout:', '    rolout:'), entry(broken!));
    const check = await flagops(dir, 'check');
    expect(check.code, check.stdout).toBe(0);
    const outputWarnings = check.stdout.split('\n').filter((l) => l.startsWith('dist/'));
    expect(outputWarnings).toHaveLength(3);
    for (const w of outputWarnings) expect(w).toMatch(/^dist\/\w+\/configmap-feature-flags-config\.yaml:\d+:\d+: warning: ConfigMap feature-flags-config data is \d+\.\d KiB \(feature_flags\.json\); above 256 KiB .*\[configmap-size\]$/);
  }, 180_000);
});

describe('a sharded project under review', () => {
  it('merges two kill switches of neighbouring flags from concurrent branches without a conflict, and the result is a fresh synth', async () => {
    // GIVEN a generated project of 600 flags (past 256 KiB, so sharded), synthesized and committed
    const dir = mkdtempSync(join(tmpdir(), 'flagops-600-'));
    generateProject(dir, 600, REPO_ROOT);
    expect((await flagops(dir, 'synth')).code).toBe(0);
    expect(readdirSync(join(dir, 'dist/dev')).filter((f) => f.startsWith('configmap-feature-flags-shard-')).length).toBeGreaterThan(1);
    initRepository(dir);
    // WHEN two branches each pull the kill switch of one of two flags next to each other in feature_flags.json
    const dev = parse(read(dir, 'environments/dev/flags.yaml'), { uniqueKeys: false }).flags as Record<string, { enabled: boolean }>;
    const names = Object.keys(dev).sort();
    const i = names.findIndex((n, k) => dev[n]!.enabled && dev[names[k + 1]!]?.enabled);
    const pair = [names[i]!, names[i + 1]!];
    for (const [b, name] of pair.entries()) {
      git(dir, 'checkout', '-q', '-b', `kill-${b}`, 'main');
      const r = await flagops(dir, 'disable', name, '--env', 'dev', '--reason', `Kill switch ${b}`, '--ticket', `INC-${b + 1}`, '--by', `oncall${b}@pms.example.com`);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      git(dir, 'commit', '-q', '-am', `kill ${name}`);
    }
    // THEN they merge cleanly, and the merge is exactly what synth writes
    git(dir, 'checkout', '-q', 'kill-1');
    git(dir, 'merge', '-q', '--no-edit', 'kill-0');
    const legacy = JSON.parse(parse(read(dir, 'dist/dev/configmap-feature-flags-config.yaml')).data[LEGACY_KEY]).dev;
    expect([legacy[pair[0]!], legacy[pair[1]!]]).toEqual([false, false]);
    const check = await flagops(dir, 'check');
    expect(check.stdout).not.toContain('[drift]');
    expect(check.code, check.stdout).toBe(0);
  }, 180_000);
});

describe('the sample', () => {
  it('keeps one flag ConfigMap per environment, with both keys', () => {
    for (const env of ['dev', 'staging', 'production']) {
      const files = readdirSync(join(REPO_ROOT, 'dist', env));
      expect(files.filter((f) => f.startsWith('configmap-feature-flags'))).toEqual(['configmap-feature-flags-config.yaml']);
      expect(Object.keys(parse(readFileSync(join(REPO_ROOT, 'dist', env, 'configmap-feature-flags-config.yaml'), 'utf8')).data)).toEqual([LEGACY_KEY, FLAGD_KEY]);
    }
  });
});
