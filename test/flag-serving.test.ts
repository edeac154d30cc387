/**
 * Flag serving: the flagd objects of every environment, the OpenFeature Operator alternative, the
 * flagServing settings, and the policies that gate what reaches flagd.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { ConfigMap } from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FLAGD_KEY, flagdFlagSet, type FeatureFlag } from '../constructs/feature-flag-config-map.ts';
import { FLAGD_IMAGE, FLAGD_PORTS, FlagdServer, OpenFeatureOperatorFlags } from '../constructs/flag-serving.ts';
import { resolveEnvironmentSettings, type EnvironmentConfig } from '../model/environments.ts';
import type { EnvironmentManifests, KubeObject } from '../model/manifests.ts';
import { renderFiles } from '../synth/synth.ts';
import { compareDist } from '../lib/rollout/drill.ts';
import { flagdFlagSetPolicy, flagdFlagSetProblems, networkPolicyPolicy } from '../policies/flag-serving-policies.ts';
import { fileLocator } from '../model/findings.ts';
import { kubernetesSchemaPolicy } from '../policies/kubernetes-schema.ts';
import type { ManifestContext } from '../policies/manifest-policy.ts';
import { flagops, git, read, REPO_ROOT, replaceIn, tempProject } from './helpers.ts';

const ENVIRONMENTS = ['dev', 'staging', 'production'] as const;
const dist = (env: string, file: string): any => parse(read(REPO_ROOT, `dist/${env}/${file}`));
const podSpec = (d: any) => d.spec.template.spec;

function flagdObjects(props: Partial<ConstructorParameters<typeof FlagdServer>[2]> = {}): KubeObject[] {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'pms', disableResourceNameHashes: true });
  const cm = ConfigMap.fromConfigMapName(chart, 'Flags', 'feature-flags-config');
  new FlagdServer(chart, 'Serving', { flagConfigMap: cm, clientPodLabels: { 'app.kubernetes.io/name': 'pms-backend' }, release: 'kube-prometheus-stack', ...props });
  return chart.toJson() as KubeObject[];
}

const context = (env = 'production'): ManifestContext => ({
  settings: resolveEnvironmentSettings(env, { namespace: 'pms' }),
  locator: (file) => fileLocator(file.path),
});
const manifests = (objects: readonly KubeObject[]): EnvironmentManifests => ({ environment: 'production', files: renderFiles('production', objects) });

const flag = (name: string, rollout: number, enabled = true): FeatureFlag => ({
  name, description: 'd', owner: 'team-x', type: 'release', enabled, rollout, reason: 'r', changedBy: 'a@pms.example.com', changedAt: '2026-11-01T00:00:00Z',
});

describe('flagd in dist/<env>/', () => {
  for (const env of ENVIRONMENTS) {
    it(`serves ${env}'s flag set from the ConfigMap mounted as a directory (never subPath), pinned, restricted, probed on the management port`, () => {
      // GIVEN the committed flagd Deployment of the environment
      const d = dist(env, 'deployment-flagd.yaml');
      const spec = podSpec(d);
      const c = spec.containers[0];
      // THEN it reads flags.flagd.json from the mounted directory, which the kubelet updates in place
      expect(c.args.slice(0, 3)).toEqual(['start', '--uri', `file:/etc/flagd/${FLAGD_KEY}`]);
      expect(c.volumeMounts).toEqual([{ mountPath: '/etc/flagd', name: 'flags', readOnly: true }]);
      expect(c.volumeMounts[0].subPath).toBeUndefined();
      expect(spec.volumes).toEqual([{ name: 'flags', configMap: { name: 'feature-flags-config', defaultMode: 0o444 } }]);
      expect(c.image).toBe(FLAGD_IMAGE);
      expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: FLAGD_PORTS.management });
      expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: FLAGD_PORTS.management });
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
      expect(spec.automountServiceAccountToken).toBe(false);
      // AND nothing in it depends on the flag values: a flag change never restarts flagd
      expect(JSON.stringify(d)).not.toMatch(/checksum|sha256/);
    });
  }

  it('runs 2 replicas in production, spread over nodes, with a PodDisruptionBudget; one elsewhere', () => {
    const production = dist('production', 'deployment-flagd.yaml');
    expect(production.spec.replicas).toBe(2);
    expect(podSpec(production).topologySpreadConstraints[0]).toMatchObject({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' });
    expect(dist('production', 'poddisruptionbudget-flagd.yaml').spec).toEqual({ minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'flagd' } } });
    expect(dist('dev', 'deployment-flagd.yaml').spec.replicas).toBe(1);
    expect(() => read(REPO_ROOT, 'dist/dev/poddisruptionbudget-flagd.yaml')).toThrow();
  });

  it('exposes evaluation (gRPC 8013, OFREP 8016) and metrics (8014) on the Service, and scrapes metrics with the release label', () => {
    const ports = dist('staging', 'service-flagd.yaml').spec.ports.map((p: any) => [p.name, p.port]);
    expect(ports).toEqual([['grpc', 8013], ['ofrep', 8016], ['metrics', 8014]]);
    const monitor = dist('staging', 'servicemonitor-flagd.yaml');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scheme: 'http' }]);
  });

  it("lets only the backend's pods reach evaluation and only the monitoring namespace reach metrics, and nothing out", () => {
    const spec = dist('production', 'networkpolicy-flagd.yaml').spec;
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(spec.egress).toEqual([]);
    expect(spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'pms-backend' } } }], ports: [{ protocol: 'TCP', port: 8013 }, { protocol: 'TCP', port: 8016 }] },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 8014 }] },
    ]);
  });

  it('refuses an unpinned image, no replica, and an empty backend selector, naming the value', () => {
    expect(() => flagdObjects({ image: 'ghcr.io/open-feature/flagd:latest' })).toThrow(/'image' property must be pinned.*The value passed is: ghcr.io\/open-feature\/flagd:latest/);
    expect(() => flagdObjects({ replicas: 0 })).toThrow(/'replicas' property.*The value passed is: 0/);
    expect(() => flagdObjects({ clientPodLabels: {} })).toThrow(/'clientPodLabels'/);
    expect(flagdObjects({ image: `ghcr.io/open-feature/flagd@sha256:${'a'.repeat(64)}` })).toHaveLength(5);
  });
});

describe('flagServing settings', () => {
  const resolve = (name: string, flagServing: EnvironmentConfig['flagServing']) => () => resolveEnvironmentSettings(name, { namespace: `pms-${name}`, flagServing });

  it('defaults to flagd v0.16.1, one replica, two in production', () => {
    const s = resolveEnvironmentSettings('dev', { namespace: 'pms-dev' }).flagServing;
    expect(s).toMatchObject({ mode: 'flagd', replicas: 1, image: 'ghcr.io/open-feature/flagd:v0.16.1' });
    expect(resolveEnvironmentSettings('production', { namespace: 'pms' }).flagServing.replicas).toBe(2);
  });

  it('names the environment, the setting and the value of each invalid one', () => {
    expect(resolve('production', { replicas: 0 })).toThrow("environments/production/environment.ts: 'flagServing.replicas' must be a whole number of flagd replicas, at least 1. The value passed is: 0");
    expect(resolve('production', { replicas: 1 })).toThrow(/environments\/production\/environment.ts: 'flagServing.replicas' must be at least 2 in production.*The value passed is: 1/);
    expect(resolve('staging', { image: 'ghcr.io/open-feature/flagd:latest' })).toThrow(/environments\/staging\/environment.ts: 'flagServing.image' must be pinned.*The value passed is: "ghcr.io\/open-feature\/flagd:latest"/);
    expect(resolve('staging', { image: 'ghcr.io/open-feature/flagd:v0.16' })).toThrow(/'flagServing.image'/);
    expect(resolve('dev', { mode: 'sidecar' as never })).toThrow(/environments\/dev\/environment.ts: 'flagServing.mode' must be one of 'flagd', 'openfeature-operator', 'none'. The value passed is: "sidecar"/);
  });

  it('accepts one replica in production when flagd is not what serves the flags', () => {
    expect(resolve('production', { mode: 'openfeature-operator', replicas: 1 })).not.toThrow();
  });
});

describe('flagd-flag-set', () => {
  const ok = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' };

  it('passes every flag set flagops writes', () => {
    expect(flagdFlagSetProblems(JSON.stringify(flagdFlagSet('production', [flag('a_enabled', 25), flag('b_enabled', 100), flag('c_enabled', 5, false)])))).toEqual([]);
    for (const env of ENVIRONMENTS) expect(flagdFlagSetProblems(dist(env, 'configmap-feature-flags-config.yaml').data[FLAGD_KEY])).toEqual([]);
  });

  it('reports what flagd would only warn about, refuse, or answer with an error', () => {
    expect(flagdFlagSetProblems({ flags: { a: { ...ok, metadata: { owner: { team: 'x' } } } } })).toEqual(['flags.a.metadata.owner must be string,number,boolean (flagd loads it with only a warning)']);
    expect(flagdFlagSetProblems({ flags: { a: { ...ok, defaultVariant: 'maybe' } } })[0]).toMatch(/defaultVariant 'maybe' is not one of its variants .*refuses the whole flag set/);
    expect(flagdFlagSetProblems({ flags: { a: { ...ok, targeting: { fractional: [['on', 5], ['of', 95]] } } } })[0]).toMatch(/targeting returns variant 'of'/);
    expect(flagdFlagSetProblems({ flags: { a: { ...ok, state: 'DISABLED' } } })[0]).toMatch(/FLAG_NOT_FOUND/);
    expect(flagdFlagSetProblems({ flags: { a: { ...ok, defaultVariant: null } } })[0]).toMatch(/must be a variant name/);
    expect(flagdFlagSetProblems('{"flags": ')[0]).toMatch(/is not JSON/);
  });

  it('is a finding at the ConfigMap key, and passes the synthesized ConfigMap', async () => {
    // GIVEN production's ConfigMap, and a copy whose flag set flagd would refuse
    const good = dist('production', 'configmap-feature-flags-config.yaml');
    const bad = { ...good, data: { ...good.data, [FLAGD_KEY]: good.data[FLAGD_KEY].replace('"defaultVariant": "off"', '"defaultVariant": "of"') } };
    // WHEN the policy runs THEN only the bad one is reported, as an error naming the rule
    expect(await flagdFlagSetPolicy(manifests([good]), context())).toEqual([]);
    const findings = await flagdFlagSetPolicy(manifests([bad]), context());
    expect(findings.map((f) => [f.severity, f.rule])).toEqual([['error', 'flagd-flag-set']]);
    expect(findings[0]!.message).toMatch(/ConfigMap feature-flags-config data.flags.flagd.json: flag '.*': defaultVariant 'of'/);
  });
});

describe('network-policy', () => {
  it('passes flagd behind its NetworkPolicy', async () => {
    expect(await networkPolicyPolicy(manifests(flagdObjects()), context())).toEqual([]);
  });

  it('reports a Deployment no NetworkPolicy selects, and a policy that leaves egress or peers open', async () => {
    const objects = flagdObjects();
    const withoutPolicy = objects.filter((o) => o.kind !== 'NetworkPolicy');
    expect((await networkPolicyPolicy(manifests(withoutPolicy), context())).map((f) => f.message)).toEqual([
      'Deployment flagd is selected by no NetworkPolicy: every pod in the cluster could reach it; add one that names who may connect',
    ]);
    const loose = objects.map((o) => (o.kind === 'NetworkPolicy' ? { ...o, spec: { ...(o.spec as object), policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 8013 }] }] } } : o));
    expect((await networkPolicyPolicy(manifests(loose), context())).map((f) => f.rule)).toEqual(['network-policy', 'network-policy']);
  });
});

describe('the OpenFeature Operator alternative', () => {
  const objects = (flags: readonly FeatureFlag[]) => {
    const chart = new Chart(new App(), 'test', { namespace: 'pms', disableResourceNameHashes: true });
    const ofo = new OpenFeatureOperatorFlags(chart, 'Flags', { environment: 'production', flags, namespace: 'pms' });
    return { objects: chart.toJson() as KubeObject[], annotations: ofo.backendPodAnnotations };
  };

  it('holds the same flag set as flags.flagd.json in a FeatureFlag, and points a FeatureFlagSource at it', () => {
    const flags = [flag('a_enabled', 25), flag('b_enabled', 0, false)];
    const { objects: [ff, ffs], annotations } = objects(flags);
    const { $schema: _, ...set } = flagdFlagSet('production', flags);
    expect(ff).toMatchObject({ apiVersion: 'core.openfeature.dev/v1beta1', kind: 'FeatureFlag', spec: { flagSpec: set } });
    expect(ffs).toMatchObject({ kind: 'FeatureFlagSource', spec: { sources: [{ source: 'pms/feature-flags', provider: 'kubernetes' }] } });
    expect(annotations).toEqual({ 'openfeature.dev/enabled': 'true', 'openfeature.dev/featureflagsource': 'pms/feature-flags' });
  });

  it("validates against the operator's CRD schemas (k8s-schema), including fields the API server would drop", async () => {
    const { objects: good } = objects([flag('a_enabled', 25)]);
    expect(await kubernetesSchemaPolicy(manifests(good), context())).toEqual([]);
    const [ff, ffs] = good as any[];
    const bad = [
      { ...ff, spec: { flagSpec: { ...ff.spec.flagSpec, flags: { a_enabled: { ...ff.spec.flagSpec.flags.a_enabled, defaultVariant: 1, rollout: 5 } } } } },
      { ...ffs, spec: { ...ffs.spec, source: 'pms/feature-flags' } },
    ];
    const messages = (await kubernetesSchemaPolicy(manifests(bad), context())).map((f) => `${f.rule}: ${f.message}`);
    expect(messages).toEqual([
      'k8s-schema: FeatureFlag feature-flags: spec.flagSpec.flags.a_enabled.defaultVariant must be string',
      'k8s-schema: FeatureFlag feature-flags: spec.flagSpec.flags.a_enabled.rollout is not in the CRD schema: the API server would drop it without an error',
      'k8s-schema: FeatureFlagSource feature-flags: spec.source is not in the CRD schema: the API server would drop it without an error',
    ]);
  });

  it("lets the drill's kill switch change the flag's own FeatureFlag entry and nothing else", () => {
    const path = 'dist/production/featureflag-feature-flags.yaml';
    const before = objects([flag('a_enabled', 25), flag('b_enabled', 25)]).objects[0]!;
    const after = objects([flag('a_enabled', 0, false), flag('b_enabled', 25)]).objects[0]!;
    const other = objects([flag('a_enabled', 0, false), flag('b_enabled', 50)]).objects[0]!;
    const cm = 'dist/production/configmap-feature-flags-config.yaml';
    expect(compareDist(new Map([[path, before]]), new Map([[path, after]]), cm, 'production', 'a_enabled').unexpected).toEqual([]);
    expect(compareDist(new Map([[path, before]]), new Map([[path, other]]), cm, 'production', 'a_enabled').unexpected).toEqual([
      `${path}: spec.flagSpec.flags.b_enabled.metadata.rollout`,
      `${path}: spec.flagSpec.flags.b_enabled.targeting.fractional.0.1`,
      `${path}: spec.flagSpec.flags.b_enabled.targeting.fractional.1.1`,
    ]);
  });

  it('synthesizes and checks clean in an environment that chooses it, and two flag pull requests still merge', async () => {
    // GIVEN staging switched to the OpenFeature Operator, synthesized and committed
    const dir = tempProject({ git: true });
    replaceIn(dir, 'environments/staging/environment.ts', "  requireTicket: true,\n", "  requireTicket: true,\n  flagServing: { mode: 'openfeature-operator' },\n");
    expect((await flagops(dir, 'synth')).code).toBe(0);
    const check = await flagops(dir, 'check');
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const files = readdirSync(join(dir, 'dist/staging'));
    expect(files).toEqual(expect.arrayContaining(['featureflag-feature-flags.yaml', 'featureflagsource-feature-flags.yaml']));
    expect(files.filter((f) => f.includes('flagd'))).toEqual([]);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'staging on the OpenFeature Operator');
    // WHEN two branches each pull the kill switch of a different, neighbouring flag
    const states = parse(readFileSync(join(dir, 'environments/staging/flags.yaml'), 'utf8')).flags as Record<string, { enabled: boolean }>;
    const on = Object.keys(states).sort().filter((n) => states[n]!.enabled);
    const names = Object.keys(states).sort();
    const pair = on.find((n, i) => names[names.indexOf(n) + 1] === on[i + 1])!;
    const neighbours = [pair, names[names.indexOf(pair) + 1]!];
    for (const [i, name] of neighbours.entries()) {
      git(dir, 'checkout', '-q', '-b', `kill-${i}`, 'main');
      const r = await flagops(dir, 'disable', name, '--env', 'staging', '--reason', `Kill switch ${i}`, '--ticket', `INC-${100 + i}`, '--by', `oncall${i}@pms.example.com`);
      expect(r.code, r.stderr).toBe(0);
      git(dir, 'commit', '-q', '-am', `kill ${name}`);
    }
    // THEN they merge without a conflict, and the result is what a fresh synth produces
    git(dir, 'checkout', '-q', 'kill-1');
    git(dir, 'merge', '-q', '--no-edit', 'kill-0');
    expect(read(dir, 'dist/staging/featureflag-feature-flags.yaml')).toContain('Kill switch 0');
    const after = await flagops(dir, 'check');
    expect(after.stdout + after.stderr).not.toContain('[drift]');
  });
});

describe('flag-serving-off', () => {
  it('warns at each partial rollout of an environment that serves no flag set, and says why it reaches nobody', async () => {
    // GIVEN production with flag serving turned off (telehealth at 25%, e-prescribing at 5%, billing export at 50%)
    const dir = tempProject();
    replaceIn(dir, 'environments/production/environment.ts', '  flagServing: { replicas: 2 },', "  flagServing: { mode: 'none' },");
    // WHEN synthesized and checked
    expect((await flagops(dir, 'synth')).code).toBe(0);
    const r = await flagops(dir, 'check');
    // THEN each partial rollout is a warning at its rollout line, and nothing is an error
    const warnings = r.stdout.split('\n').filter((l) => l.includes('[flag-serving-off]'));
    expect(warnings.map((l) => /flag '(\w+)'/.exec(l)![1]).sort()).toEqual(['billing_export_v2_enabled', 'e_prescribing_enabled', 'secure_document_upload_enabled', 'telehealth_appointments_enabled']);
    expect(warnings[0]).toMatch(/^environments\/production\/flags\.yaml:\d+:\d+: warning: flag '\w+' is at \d+% in production, but flag serving is off there .* this rollout does not reach users/);
    expect(r.code, r.stdout).toBe(0);
  });

  it('is quiet where flagd serves the flags', async () => {
    const r = await flagops(tempProject(), 'check');
    expect(r.stdout).not.toContain('[flag-serving-off]');
  });
});
