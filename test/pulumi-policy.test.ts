/**
 * The CrossGuard pack's validation functions, called directly with stack resources shaped like
 * those `pulumi preview` hands a policy pack for the program's resources.
 */
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentSettings } from '../model/environments.ts';
import type { KubeObject } from '../model/manifests.ts';
import { readDist } from '../lib/workspace/dist.ts';
import { loadEnvironmentSettings } from '../lib/workspace/project.ts';
import { CONFIGMAP_LIMIT_BYTES, CONFIGMAP_WARN_BYTES, MANIFEST_POLICIES } from '../policies/manifest-policies.ts';
import { isDeployedObject, manifestFindings, manifestOf, manifestPolicies, validateManifests, type StackResource } from '../infra/policy-pack/manifest-validation.ts';
import { REPO_ROOT } from './helpers.ts';

let settings: EnvironmentSettings[];
beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
});

const TYPES: Record<string, string> = { Namespace: 'kubernetes:core/v1:Namespace', ConfigMap: 'kubernetes:core/v1:ConfigMap' };

/** A stack resource as the program registers it: logical name = dist/ file stem, props = the object. */
function resourceOf(object: KubeObject): StackResource {
  const name = `${object.kind.toLowerCase()}-${object.metadata.name}`;
  const type = TYPES[object.kind] ?? `kubernetes:${object.apiVersion}:${object.kind}`;
  return { type, name, urn: `urn:pulumi:production::flagops-pms::${type}::${name}`, props: structuredClone(object) as Record<string, unknown> };
}

/** The committed objects of an environment as stack resources, plus the provider the program registers. */
function committedResources(env: string): StackResource[] {
  return [
    { type: 'pulumi:providers:kubernetes', name: env, urn: `urn:pulumi:${env}::flagops-pms::pulumi:providers:kubernetes::${env}`, props: { context: `pms-${env}` } },
    ...[...readDist(REPO_ROOT, env).values()].map((text) => resourceOf(parse(text) as KubeObject)),
  ];
}

/** Replaces the flag ConfigMap's data with one key of `bytes` bytes. */
function withFlagDataOf(resources: StackResource[], bytes: number): StackResource[] {
  return resources.map((r) => (r.name === 'configmap-feature-flags-config' ? { ...r, props: { ...r.props, data: { 'feature_flags.json': 'x'.repeat(bytes) } } } : r));
}

interface Violation {
  readonly message: string;
  readonly urn?: string;
}

/** Runs one of the pack's validations and collects what it reports. */
async function violations(severity: 'error' | 'warning', resources: readonly StackResource[]): Promise<Violation[] | 'not applicable'> {
  const found: Violation[] = [];
  const validate = validateManifests(severity, async () => settings);
  try {
    await validate(
      {
        resources,
        notApplicable: () => {
          throw new Error('not applicable');
        },
      },
      (message, urn) => found.push({ message, urn }),
    );
  } catch (e) {
    if ((e as Error).message === 'not applicable') return 'not applicable';
    throw e;
  }
  return found;
}

describe('the flagops CrossGuard pack', () => {
  it.each(['dev', 'staging', 'production'])('reports nothing for the committed %s manifests', async (env) => {
    // GIVEN the resources the program registers for the committed dist/
    const resources = committedResources(env);
    // WHEN both validations run THEN neither reports
    expect(await violations('error', resources)).toEqual([]);
    expect(await violations('warning', resources)).toEqual([]);
  });

  it('blocks a flag ConfigMap over the API server limit, at the dist file and resource it is about', async () => {
    // GIVEN the production flag ConfigMap grown past 1 MiB outside flagops
    const resources = withFlagDataOf(committedResources('production'), CONFIGMAP_LIMIT_BYTES + 1);
    // WHEN the mandatory validation runs
    const found = await violations('error', resources);
    // THEN it reports the configmap-size rule against the ConfigMap's URN
    expect(found).toHaveLength(1);
    expect(found).toEqual([
      {
        message: expect.stringMatching(/^dist\/production\/configmap-feature-flags-config\.yaml:\d+:\d+: error: ConfigMap feature-flags-config data is 1024\.0 KiB.*\[configmap-size\]$/),
        urn: 'urn:pulumi:production::flagops-pms::kubernetes:core/v1:ConfigMap::configmap-feature-flags-config',
      },
    ]);
  });

  it('reports a ConfigMap between 256 KiB and 1 MiB only as an advisory warning', async () => {
    const resources = withFlagDataOf(committedResources('production'), CONFIGMAP_WARN_BYTES + 1);
    expect(await violations('error', resources)).toEqual([]);
    const warnings = await violations('warning', resources);
    expect(warnings).toEqual([{ message: expect.stringContaining('warning: ConfigMap feature-flags-config data is 256.0 KiB'), urn: expect.stringContaining('configmap-feature-flags-config') }]);
  });

  it('blocks an object that breaks its Kubernetes schema', async () => {
    // GIVEN a ConfigMap whose data holds a number (changed by hand, not by flagops)
    const resources = committedResources('staging').map((r) =>
      r.name === 'configmap-feature-flags-config' ? { ...r, props: { ...r.props, data: { 'feature_flags.json': 42 } } } : r,
    );
    const found = await violations('error', resources);
    expect(found).not.toEqual('not applicable');
    expect((found as Violation[]).map((v) => v.message)).toEqual([expect.stringMatching(/^dist\/staging\/configmap-feature-flags-config\.yaml:\d+:\d+: error: .*\[k8s-schema\]$/)]);
  });

  it('runs exactly the manifest policies `flagops check` runs', async () => {
    // GIVEN a policy registry with one extra policy that flags every object
    const everyObject = async (resources: StackResource[]) =>
      manifestFindings(resources, settings, [
        ...MANIFEST_POLICIES,
        ({ files }) => files.map((f) => ({ file: f.path, line: 1, col: 1, severity: 'error' as const, rule: 'probe', message: 'seen' })),
      ]);
    // WHEN the pack's findings are computed
    const found = (await everyObject(committedResources('dev')))!;
    // THEN the extra policy saw each committed object once, with the dist/ path it is committed at
    expect(found.map((f) => f.finding.file).sort()).toEqual([...readDist(REPO_ROOT, 'dev').keys()].sort());
  });

  it('is not applicable to a stack with no object in a flagops environment namespace', async () => {
    const other = resourceOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'kube-system' }, data: {} });
    expect(await violations('error', [other])).toBe('not applicable');
  });

  it('declares the errors policy mandatory and the warnings policy advisory', () => {
    expect(manifestPolicies().map((p) => [p.name, p.enforcementLevel])).toEqual([
      ['flagops-manifest-errors', 'mandatory'],
      ['flagops-manifest-warnings', 'advisory'],
    ]);
  });
});

describe('turning stack resources back into manifests', () => {
  it('ignores the provider, patches, and CRDs the program only reads', () => {
    const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'prometheusrules.monitoring.coreos.com' } };
    expect(isDeployedObject({ type: 'pulumi:providers:kubernetes', name: 'dev', urn: 'u', props: {} })).toBe(false);
    expect(isDeployedObject({ type: 'kubernetes:apps/v1:DeploymentPatch', name: 'pms-backend-flag-checksum', urn: 'u', props: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'pms-backend' } } })).toBe(false);
    expect(isDeployedObject({ type: 'kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition', name: 'crd-prometheusrules.monitoring.coreos.com', urn: 'u', props: crd })).toBe(false);
    expect(isDeployedObject({ type: 'kubernetes:core/v1:Namespace', name: 'namespace-pms', urn: 'u', props: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pms' } } })).toBe(true);
  });

  it('drops what the API server and Pulumi add, keeping the reviewed fields', () => {
    const live = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'feature-flags-config',
        namespace: 'pms',
        uid: 'abc',
        resourceVersion: '42',
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{}],
        annotations: { 'pulumi.com/patchForce': 'true', 'flagops.io/checksum': 'sha256:00' },
      },
      data: { a: 'b' },
      status: {},
      __inputs: {},
    };
    expect(manifestOf(live)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'feature-flags-config', namespace: 'pms', annotations: { 'flagops.io/checksum': 'sha256:00' } },
      data: { a: 'b' },
    });
  });

  it('never reads the fields it drops, which may be unknown at preview', () => {
    // GIVEN properties behind a proxy that throws on the fields a preview may not know, like the pack's proxies
    const unknownAt = new Set(['status', 'uid', 'resourceVersion', 'pulumi.com/autonamed']);
    const unknownChecking = <T extends object>(target: T): T =>
      new Proxy(target, {
        get: (obj, prop) => {
          if (typeof prop === 'string' && unknownAt.has(prop)) throw new Error(`read unknown value ${prop}`);
          const value = Reflect.get(obj, prop) as unknown;
          return value !== null && typeof value === 'object' ? unknownChecking(value) : value;
        },
      });
    const props = unknownChecking({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'pms', uid: '?', resourceVersion: '?', annotations: { 'pulumi.com/autonamed': '?' }, labels: { a: 'b' } },
      status: {},
    });
    // WHEN turned into a manifest THEN no unknown field is touched and the rest is copied
    expect(manifestOf(props)).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pms', labels: { a: 'b' } } });
  });
});
