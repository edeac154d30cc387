/**
 * The Pulumi program under the SDK's mock runtime, one stack at a time. Each run resets the module
 * registry and sets the mocks (project and stack name) before importing the program, as a real
 * `pulumi up` would start it in a fresh process.
 */
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as PulumiModule from '@pulumi/pulumi';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deployment, StackOutputs } from '../infra/pulumi/program.ts';
import type { KubeObject } from '../model/manifests.ts';
import { readDist } from '../lib/workspace/dist.ts';
import { flagDataChecksum } from '../constructs/feature-flag-config-map.ts';
import { generateProject } from '../bench/generate.ts';
import { flagops, NOW, read, REPO_ROOT, replaceIn, tempProject, write } from './helpers.ts';

const STACKS = ['dev', 'staging', 'production'] as const;
const NAMESPACES = { dev: 'pms-dev', staging: 'pms-staging', production: 'pms' } as const;
const PROJECT = 'flagops-pms';
type MockResourceArgs = PulumiModule.runtime.MockResourceArgs;

/** The `config:` of Pulumi.<stack>.yaml as the Pulumi CLI hands it to the program (non-strings as JSON). */
function stackConfig(stack: string): Record<string, string> {
  const file = join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) return {};
  const config = (parse(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> }).config ?? {};
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

interface Run {
  readonly registered: MockResourceArgs[];
  readonly pulumi: typeof PulumiModule;
}

/** Fresh module registry, mocks for `stack`, the stack's config: what a new `pulumi` process sees. */
async function startStack(stack: string, config: Record<string, string> = stackConfig(stack), preview = false): Promise<Run> {
  vi.resetModules();
  const pulumi = await import('@pulumi/pulumi');
  const registered: MockResourceArgs[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push(args);
        return { id: args.id || `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    PROJECT,
    stack,
    preview,
  );
  pulumi.runtime.setAllConfig(config);
  return { registered, pulumi };
}

const settled = <T>(pulumi: typeof PulumiModule, output: PulumiModule.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

/** Runs the real entry point (infra/pulumi/index.ts) for `stack` and waits for every registration. */
async function runEntry(stack: string, preview = false): Promise<Run & { outputs: StackOutputs }> {
  const run = await startStack(stack, stackConfig(stack), preview);
  const entry = await import('../infra/pulumi/index.ts');
  const outputs = await entry.default();
  await settleAll(run);
  return { ...run, outputs };
}

/** Runs deployEnvironment on a project folder (a scratch copy) for `stack`. */
async function runProgram(root: string, stack: string, config = stackConfig(stack)): Promise<Run & { deployment: Deployment }> {
  const run = await startStack(stack, config);
  const { deployEnvironment, readStackConfig } = await import('../infra/pulumi/program.ts');
  const deployment = await deployEnvironment({ root, stack, config: () => readStackConfig(new run.pulumi.Config()), now: new Date(NOW) });
  await Promise.all([deployment.provider, ...deployment.objects.map((o) => o.resource), ...deployment.externalCrds, ...(deployment.checksumPatch ? [deployment.checksumPatch] : [])].map((r) => settled(run.pulumi, r.urn)));
  return { ...run, deployment };
}

/** Waits until the mock monitor has seen every registration the program started. */
async function settleAll(run: Run): Promise<void> {
  let before = -1;
  while (before !== run.registered.length) {
    before = run.registered.length;
    await new Promise((r) => setTimeout(r, 50));
  }
}

type ObjectKey = string;
const keyOf = (o: { kind: string; metadata: { namespace?: string; name: string } }): ObjectKey => `${o.kind} ${o.metadata.namespace ?? '-'} ${o.metadata.name}`;

/** (kind, namespace, name) of every committed object of an environment. */
function committedKeys(root: string, env: string): ObjectKey[] {
  return [...readDist(root, env).values()].map((text) => keyOf(parse(text) as KubeObject)).sort();
}

/** (kind, namespace, name) of every Kubernetes object the program registered (not the provider, not reads). */
function deployedKeys(registered: readonly MockResourceArgs[]): ObjectKey[] {
  return registered
    .filter((r) => r.type.startsWith('kubernetes:') && !r.id && !r.type.endsWith('Patch'))
    .map((r) => keyOf(r.inputs as KubeObject))
    .sort();
}

const FLAGS_FILE = (env: string) => `dist/${env}/configmap-feature-flags-config.yaml`;

beforeEach(() => {
  vi.stubEnv('FLAGOPS_NOW', NOW);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.doUnmock('../constructs/environment-chart.ts');
});

describe.each(STACKS)('the %s stack', (stack) => {
  it('deploys exactly the objects committed under dist/<stack>/ (kind, namespace, name)', async () => {
    // GIVEN the repository as committed
    // WHEN Pulumi runs the program for the stack
    const { registered } = await runEntry(stack);
    // THEN the set of Kubernetes objects equals the committed files' objects
    expect(deployedKeys(registered)).toEqual(committedKeys(REPO_ROOT, stack));
    expect(deployedKeys(registered)).toContain(`ConfigMap ${NAMESPACES[stack]} feature-flags-config`);
  });

  it('previews the same objects it deploys', async () => {
    // GIVEN `pulumi preview` (a dry run) WHEN the program runs THEN the same objects are registered
    const { registered, pulumi } = await runEntry(stack, true);
    expect(pulumi.runtime.isDryRun()).toBe(true);
    expect(deployedKeys(registered)).toEqual(committedKeys(REPO_ROOT, stack));
  });

  it('deploys through a provider for the stack kube context with server-side apply', async () => {
    const { registered } = await runEntry(stack);
    const providers = registered.filter((r) => r.type === 'pulumi:providers:kubernetes');
    expect(providers).toHaveLength(1);
    expect(providers[0]!.inputs.context).toBe(stackConfig(stack)['flagops-pms:kubeContext']);
    expect(String(providers[0]!.inputs.enableServerSideApply)).toBe('true');
    expect(String(providers[0]!.inputs.enableConfigMapMutable)).toBe('true');
  });

  it('exports the namespace, the flag checksum (computed from the committed data) and the object counts by kind', async () => {
    const { outputs } = await runEntry(stack);
    const flags = parse(read(REPO_ROOT, FLAGS_FILE(stack))) as KubeObject & { data: Record<string, string> };
    expect(outputs.namespace).toBe(NAMESPACES[stack]);
    expect(flags.metadata.annotations).toBeUndefined(); // not committed: every flag change would rewrite that line
    expect(outputs.flagChecksum).toBe(flagDataChecksum(flags.data));
    expect(outputs.flagChecksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    const kinds = committedKeys(REPO_ROOT, stack).map((k) => k.split(' ')[0]!);
    expect(Object.values(outputs.objectCounts).reduce((a, b) => a + b, 0)).toBe(kinds.length);
    expect(outputs.objectCounts.ConfigMap).toBe(kinds.filter((k) => k === 'ConfigMap').length);
    expect(outputs.objectCounts.Namespace).toBe(1);
  });

  it('refuses to deploy a hand-edited committed manifest, naming the drifted file', async () => {
    // GIVEN a scratch copy whose committed flag ConfigMap was edited by hand
    const dir = tempProject();
    replaceIn(dir, FLAGS_FILE(stack), '"maintenance_mode_enabled": false', '"maintenance_mode_enabled": true');
    // WHEN the program runs
    const { registered, pulumi } = await startStack(stack);
    const { deployEnvironment, readStackConfig } = await import('../infra/pulumi/program.ts');
    const attempt = deployEnvironment({ root: dir, stack, config: () => readStackConfig(new pulumi.Config()), now: new Date(NOW) });
    // THEN it fails with the drift message and registers nothing
    await expect(attempt).rejects.toThrow(`refusing to deploy stack '${stack}': the committed dist/${stack}/ is not what a fresh synth produces`);
    await expect(attempt).rejects.toThrow(`Drifted files: ${FLAGS_FILE(stack)}`);
    await expect(attempt).rejects.toThrow(/\[drift\]/);
    await expect(attempt).rejects.toSatisfy((e: unknown) => pulumi.RunError.isInstance(e));
    expect(registered).toHaveLength(0);
  });
});

describe('the OpenFeature flag manifest (dist/openfeature/flags.json)', () => {
  it('is never deployed, and a stack does not wait on it: flagops check guards its drift', async () => {
    // GIVEN a project whose manifest no longer matches the catalog
    const dir = tempProject();
    write(dir, 'dist/openfeature/flags.json', '{"flags": {}}\n');
    // WHEN deploying dev
    const { registered } = await runProgram(dir, 'dev');
    // THEN exactly dist/dev/'s objects are registered, nothing from the manifest
    expect(deployedKeys(registered)).toEqual(committedKeys(dir, 'dev'));
  });
});

describe('production protections', () => {
  it('protects the namespace and the flag ConfigMap in production', async () => {
    const { deployment } = await runProgram(tempProject(), 'production');
    const flags = deployment.objects.find((o) => o.object.kind === 'ConfigMap' && o.object.metadata.name === 'feature-flags-config')!;
    const namespace = deployment.objects.find((o) => o.object.kind === 'Namespace')!;
    expect(flags.protect).toBe(true);
    // The SDK keeps the resource option on the resource: what the engine is sent.
    expect((flags.resource as unknown as { __protect?: boolean }).__protect).toBe(true);
    expect((namespace.resource as unknown as { __protect?: boolean }).__protect).toBe(true);
  });

  it('protects every committed RBAC object and PersistentVolumeClaim in production, nothing else beyond the flag ConfigMap and namespace', async () => {
    const { deployment } = await runProgram(tempProject(), 'production');
    const mustProtect = (o: KubeObject) =>
      ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding', 'PersistentVolumeClaim'].includes(o.kind) || (o.kind === 'ConfigMap' && o.metadata.name === 'feature-flags-config');
    for (const o of deployment.objects) {
      expect({ file: o.path, protect: (o.resource as unknown as { __protect?: boolean }).__protect === true }).toEqual({ file: o.path, protect: mustProtect(o.object) });
    }
  });

  it.each(['dev', 'staging'])('protects nothing in %s', async (stack) => {
    const { deployment } = await runProgram(tempProject(), stack);
    expect(deployment.objects.filter((o) => o.protect).map((o) => o.path)).toEqual([]);
  });
});

describe('stack names and config', () => {
  it('fails clearly for a stack that is not an environment', async () => {
    // GIVEN a stack named after no environment (and without a Pulumi.qa.yaml)
    const { pulumi, registered } = await startStack('qa');
    const entry = await import('../infra/pulumi/index.ts');
    // WHEN the program runs THEN the error names the stack and the valid names, without a stack trace, and nothing is registered
    const attempt = entry.default();
    await expect(attempt).rejects.toThrow("unknown stack 'qa': a stack is named after the environment it deploys, one of dev, staging, production");
    await expect(attempt).rejects.toSatisfy((e: unknown) => pulumi.RunError.isInstance(e));
    expect(registered).toHaveLength(0);
  });

  it('fails with the config key when the kube context is missing', async () => {
    const config = stackConfig('dev');
    delete config['flagops-pms:kubeContext'];
    await expect(runProgram(tempProject(), 'dev', config)).rejects.toThrow(/kubeContext/);
  });

  it('rejects a malformed protect rule, quoting it', async () => {
    const config = { ...stackConfig('production'), 'flagops-pms:protect': JSON.stringify(['configmap/Feature Flags']) };
    await expect(runProgram(tempProject(), 'production', config)).rejects.toThrow("protect rule 'configmap/Feature Flags' must be 'Kind' or 'Kind/name'");
  });
});

describe('the flag checksum patch on the backend', () => {
  it('is computed at deploy time and stamped on the deployed flag ConfigMap, which is otherwise the committed object', async () => {
    const { registered, deployment } = await runProgram(tempProject(), 'production');
    const committed = parse(read(REPO_ROOT, FLAGS_FILE('production'))) as KubeObject & { data: Record<string, string> };
    const flagMaps = registered.filter((r) => r.type === 'kubernetes:core/v1:ConfigMap' && r.inputs.metadata?.name === 'feature-flags-config');
    expect(flagMaps).toHaveLength(1);
    const { annotations, ...metadata } = flagMaps[0]!.inputs.metadata;
    expect(annotations).toEqual({ 'flagops.io/checksum': flagDataChecksum(committed.data) });
    expect(deployment.outputs.flagChecksum).toBe(flagDataChecksum(committed.data));
    expect({ ...flagMaps[0]!.inputs, metadata }).toEqual(committed);
  });

  it('is not registered by default', async () => {
    const { deployment, registered } = await runProgram(tempProject(), 'staging');
    expect(deployment.checksumPatch).toBeUndefined();
    expect(registered.filter((r) => r.type.endsWith('DeploymentPatch'))).toEqual([]);
  });

  it('stamps the flag checksum on the pms-backend pod template when turned on for a stack', async () => {
    // GIVEN staging with stampBackendChecksum on
    const config = { ...stackConfig('staging'), 'flagops-pms:stampBackendChecksum': 'true' };
    // WHEN the program runs
    const { registered, deployment } = await runProgram(tempProject(), 'staging', config);
    // THEN one DeploymentPatch targets pms-backend in the namespace with the ConfigMap's checksum
    const patches = registered.filter((r) => r.type === 'kubernetes:apps/v1:DeploymentPatch');
    expect(patches).toHaveLength(1);
    expect(patches[0]!.inputs.metadata).toEqual({ name: 'pms-backend', namespace: 'pms-staging' });
    expect(patches[0]!.inputs.spec.template.metadata.annotations['flagops.io/checksum']).toBe(deployment.outputs.flagChecksum);
  });
});

describe('a sharded flag set', () => {
  it('is protected shard by shard in production, with the checksum of the whole set on feature-flags-config and on the backend', async () => {
    // GIVEN a generated project of 600 flags, past one ConfigMap, synthesized
    const dir = mkdtempSync(join(tmpdir(), 'flagops-pulumi-600-'));
    generateProject(dir, 600, REPO_ROOT);
    expect((await flagops(dir, 'synth')).code).toBe(0);
    // WHEN production is deployed with the checksum patch on
    const config = { ...stackConfig('production'), 'flagops-pms:stampBackendChecksum': 'true' };
    const { registered, deployment } = await runProgram(dir, 'production', config);
    // THEN every shard is a protected ConfigMap carrying its own checksum
    const shards = deployment.objects.filter((o) => o.object.kind === 'ConfigMap' && o.object.metadata.name.startsWith('feature-flags-shard-'));
    expect(shards.length).toBeGreaterThan(1);
    expect(shards.every((o) => o.protect)).toBe(true);
    const inputs = (name: string) => registered.find((r) => r.type === 'kubernetes:core/v1:ConfigMap' && r.inputs.metadata?.name === name)!.inputs;
    for (const o of shards) {
      expect(inputs(o.object.metadata.name).metadata.annotations).toEqual({ 'flagops.io/checksum': flagDataChecksum((o.object as unknown as { data: Record<string, string> }).data) });
    }
    // AND feature-flags-config and the backend carry the checksum over every flag ConfigMap
    const all = Object.assign({}, ...[...readDist(dir, 'production')].filter(([p]) => p.includes('configmap-feature-flags-')).map(([, t]) => (parse(t) as { data: Record<string, string> }).data));
    expect(deployment.outputs.flagChecksum).toBe(flagDataChecksum(all));
    expect(inputs('feature-flags-config').metadata.annotations).toEqual({ 'flagops.io/checksum': flagDataChecksum(all) });
    const patch = registered.find((r) => r.type === 'kubernetes:apps/v1:DeploymentPatch')!;
    expect(patch.inputs.spec.template.metadata.annotations['flagops.io/checksum']).toBe(flagDataChecksum(all));
  }, 120_000);
});

describe('following the constructs', () => {
  /** Replaces the environment chart with one that drops (or adds) children, as an edit to constructs/ would. */
  function editConstructs(edit: 'remove-flags' | 'add-objects'): void {
    vi.doMock('../constructs/environment-chart.ts', async (importOriginal) => {
      const original = await importOriginal<typeof import('../constructs/environment-chart.ts')>();
      const { ApiObject } = await import('cdk8s');
      class EditedChart extends original.EnvironmentChart {
        constructor(...args: ConstructorParameters<typeof original.EnvironmentChart>) {
          super(...args);
          if (edit === 'remove-flags') {
            this.node.tryRemoveChild('FeatureFlags');
            return;
          }
          // name and component labels, which the labels policy asks of every object (the chart adds the rest)
          const labels = { 'app.kubernetes.io/name': 'pms-reporting', 'app.kubernetes.io/component': 'reporting' };
          new ApiObject(this, 'Reader', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pms-reporting', labels }, automountServiceAccountToken: false });
          new ApiObject(this, 'ReadFlags', {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'Role',
            metadata: { name: 'read-flags', labels },
            rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['feature-flags-config'], verbs: ['get'] }],
          });
          new ApiObject(this, 'Backups', {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'pms-report-cache', labels },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
          });
        }
      }
      return { ...original, EnvironmentChart: EditedChart };
    });
  }

  /** `flagops synth` in-process, with whatever constructs are mocked at the time. */
  async function synth(dir: string): Promise<void> {
    vi.resetModules();
    const { main } = await import('../cli/main.ts');
    const code = await main(['node', 'flagops', 'synth'], { out: () => {}, err: () => {}, color: false }, dir);
    expect(code).toBe(0);
  }

  it('refuses while dist/ still holds an object the constructs no longer make, and drops it after synth', async () => {
    // GIVEN a stack whose resources include the flag ConfigMap
    const dir = tempProject();
    expect(deployedKeys((await runProgram(dir, 'dev')).registered)).toContain('ConfigMap pms-dev feature-flags-config');
    // AND constructs that no longer make it
    editConstructs('remove-flags');
    // WHEN deploying the not-yet-resynthesized dist/ THEN the program refuses, naming the stale file
    await expect(runProgram(dir, 'dev')).rejects.toThrow(`Drifted files: ${FLAGS_FILE('dev')}`);
    // WHEN dist/ is synthesized again and the program runs
    await synth(dir);
    expect(existsSync(join(dir, FLAGS_FILE('dev')))).toBe(false);
    const { registered, deployment } = await runProgram(dir, 'dev');
    // THEN the ConfigMap is no longer one of the stack's resources, and everything else still is
    expect(deployedKeys(registered)).toEqual(committedKeys(dir, 'dev'));
    expect(deployedKeys(registered)).not.toContain('ConfigMap pms-dev feature-flags-config');
    expect(deployedKeys(registered)).toContain('Namespace - pms-dev');
    expect(deployment.outputs.flagChecksum).toBeUndefined();
  });

  it('protects RBAC and the PVC added by constructs in production, and orders custom resources after their CRD', async () => {
    // GIVEN constructs that add a ServiceAccount, a Role and a PVC (next to the alert rules' PrometheusRule), synthesized
    const dir = tempProject();
    editConstructs('add-objects');
    await synth(dir);
    // WHEN the production stack runs
    const { deployment, registered } = await runProgram(dir, 'production');
    const byKind = (kind: string) => deployment.objects.find((o) => o.object.kind === kind)!;
    // THEN every added object is a resource, RBAC and PVC protected, the PrometheusRule not
    expect(deployedKeys(registered)).toEqual(committedKeys(dir, 'production'));
    const named = (kind: string, name: string) => deployment.objects.find((o) => o.object.kind === kind && o.object.metadata.name === name)!;
    expect(named('ServiceAccount', 'pms-reporting').protect).toBe(true);
    expect(named('Role', 'read-flags').protect).toBe(true);
    expect(named('PersistentVolumeClaim', 'pms-report-cache').protect).toBe(true);
    expect(byKind('PrometheusRule').protect).toBe(false);
    // AND the PrometheusRule is a CustomResource waiting for the namespace and the CRD read from the cluster
    const rule = registered.find((r) => r.inputs?.kind === 'PrometheusRule')!;
    expect(rule.type).toBe('kubernetes:monitoring.coreos.com/v1:PrometheusRule');
    expect(byKind('PrometheusRule').dependsOn).toEqual(['dist/production/namespace-pms.yaml', 'crd:prometheusrules.monitoring.coreos.com', 'crd:servicemonitors.monitoring.coreos.com']);
    expect(registered.some((r) => r.type === 'kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition' && r.id === 'prometheusrules.monitoring.coreos.com')).toBe(true);
  });

  it('refuses a custom resource whose CRD the stack does not know', async () => {
    // GIVEN the committed dist/ with the alert rules' PrometheusRule, and a stack that lists no external CRD
    const dir = tempProject();
    const config = { ...stackConfig('dev'), 'flagops-pms:externalCrds': '[]' };
    await expect(runProgram(dir, 'dev', config)).rejects.toThrow(
      "dist/dev/prometheusrule-pms-alerts.yaml: PrometheusRule (API group monitoring.coreos.com) needs a CustomResourceDefinition",
    );
  });
});
