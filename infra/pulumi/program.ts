/**
 * The Pulumi program: deploys exactly the committed `dist/<stack>/` manifests of one environment.
 *
 * Before registering anything it synthesizes afresh in memory and compares with the committed
 * files (the same check as `flagops check`); a difference means what would be deployed is not
 * what was reviewed, and the program refuses. Then every committed object becomes one typed
 * resource (`k8s.core.v1.ConfigMap`, ..., `k8s.apiextensions.CustomResource` for CRD-backed
 * kinds) with its dependencies and protection set explicitly. See docs/deploy.md.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { EnvironmentSettings } from '../../model/environments.ts';
import { CHECKSUM_ANNOTATION, flagDataChecksum } from '../../constructs/feature-flag-config-map.ts';
import { FLAG_CONFIG_MAP } from '../../constructs/names.ts';
import { now as clockNow, openWorkspace, validate } from '../../lib/workspace/workspace.ts';
import { formatFinding, summarize } from '../../common/text/format.ts';
import { sortFindings } from '../../model/findings.ts';
import {
  countByKind,
  EXTERNAL_CRD_PREFIX,
  isFlagShard,
  loadCommittedObjects,
  logicalName,
  parseProtectRules,
  Phase,
  phaseOf,
  planDeployment,
  type CommittedObject,
  type PlannedObject,
} from './manifests.ts';

/** The per-stack settings of `Pulumi.<stack>.yaml` (keys under the project name, `flagops-pms:`). */
export interface StackConfig {
  /** kubeconfig context the provider deploys to. */
  readonly kubeContext: string;
  /** `Kind` or `Kind/name` rules: matching objects are `protect`ed. @default [] */
  readonly protect: readonly string[];
  /** Names of CRDs installed outside this stack that custom resources in dist/ need. @default [] */
  readonly externalCrds: readonly string[];
  /** Patch the backend Deployment's pod template with the flag checksum. @default false */
  readonly stampBackendChecksum: boolean;
  /** Name of the backend Deployment the checksum patch targets. @default 'pms-backend' */
  readonly backendDeployment: string;
}

/** Reads and checks the stack's config; Pulumi names the missing key when `kubeContext` is unset. */
export function readStackConfig(config: pulumi.Config): StackConfig {
  const list = (key: string): string[] => {
    const value = config.getObject<unknown>(key) ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw new pulumi.RunError(`config ${config.name}:${key} must be a list of strings. The value passed is: ${JSON.stringify(value)}`);
    }
    return value;
  };
  return {
    kubeContext: config.require('kubeContext'),
    protect: list('protect'),
    externalCrds: list('externalCrds'),
    stampBackendChecksum: config.getBoolean('stampBackendChecksum') ?? false,
    backendDeployment: config.get('backendDeployment') ?? 'pms-backend',
  };
}

export interface DeployOptions {
  /** Project root (the folder holding environments/ and dist/). */
  readonly root: string;
  /** Stack name = environment name. */
  readonly stack: string;
  /** The stack config, or how to read it (read only once the stack name is known to be valid). */
  readonly config: StackConfig | (() => StackConfig);
  /** "Now" for the flag rules (default: FLAGOPS_NOW or the clock). */
  readonly now?: Date;
}

/** One committed object and the resource that deploys it. */
export interface DeployedObject extends PlannedObject {
  readonly resource: pulumi.CustomResource;
}

/** What the stack exports. */
export interface StackOutputs {
  readonly namespace: string;
  readonly kubeContext: string;
  /** `flagops.io/checksum` of the flag ConfigMap (over its shards too); undefined when the environment has none. */
  readonly flagChecksum: string | undefined;
  readonly objectCounts: Record<string, number>;
}

export interface Deployment {
  readonly provider: k8s.Provider;
  readonly objects: readonly DeployedObject[];
  /** CRDs read from the cluster (config `externalCrds`), not managed by the stack. */
  readonly externalCrds: readonly k8s.apiextensions.v1.CustomResourceDefinition[];
  readonly checksumPatch: k8s.apps.v1.DeploymentPatch | undefined;
  readonly outputs: StackOutputs;
}

type ObjectResourceClass = new (name: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const classes = (entries: Record<string, unknown>): ReadonlyMap<string, ObjectResourceClass> =>
  new Map(Object.entries(entries) as [string, ObjectResourceClass][]);

/**
 * The typed resource class of each built-in `apiVersion/kind` flagops synthesizes. Typed classes
 * give each object its own URN type (`kubernetes:core/v1:ConfigMap`), which is what preview shows
 * and what `pulumi state unprotect` takes.
 */
export const RESOURCE_CLASSES = classes({
  'v1/Namespace': k8s.core.v1.Namespace,
  'v1/ConfigMap': k8s.core.v1.ConfigMap,
  'v1/Secret': k8s.core.v1.Secret,
  'v1/ServiceAccount': k8s.core.v1.ServiceAccount,
  'v1/Service': k8s.core.v1.Service,
  'v1/PersistentVolumeClaim': k8s.core.v1.PersistentVolumeClaim,
  'v1/ResourceQuota': k8s.core.v1.ResourceQuota,
  'v1/LimitRange': k8s.core.v1.LimitRange,
  'rbac.authorization.k8s.io/v1/Role': k8s.rbac.v1.Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': k8s.rbac.v1.RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': k8s.rbac.v1.ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': k8s.rbac.v1.ClusterRoleBinding,
  'apps/v1/Deployment': k8s.apps.v1.Deployment,
  'apps/v1/StatefulSet': k8s.apps.v1.StatefulSet,
  'apps/v1/DaemonSet': k8s.apps.v1.DaemonSet,
  'batch/v1/CronJob': k8s.batch.v1.CronJob,
  'batch/v1/Job': k8s.batch.v1.Job,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networking.v1.NetworkPolicy,
  'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget,
  'apiextensions.k8s.io/v1/CustomResourceDefinition': k8s.apiextensions.v1.CustomResourceDefinition,
});

function resourceClassOf(o: CommittedObject): ObjectResourceClass {
  const { apiVersion, kind } = o.object;
  if (phaseOf(o.object) === Phase.CUSTOM) return k8s.apiextensions.CustomResource as unknown as ObjectResourceClass;
  const cls = RESOURCE_CLASSES.get(`${apiVersion}/${kind}`);
  if (!cls) {
    throw new pulumi.RunError(`${o.path}: the Pulumi program has no resource class for ${apiVersion} ${kind}; add it to RESOURCE_CLASSES in infra/pulumi/program.ts`);
  }
  return cls;
}

/**
 * Refuses (a clean {@link pulumi.RunError}, no stack trace) unless the committed dist/ of the
 * environment equals a fresh synth and the flag files pass every rule.
 */
async function requireReviewedManifests(root: string, stack: string, now: Date): Promise<EnvironmentSettings> {
  const ws = await openWorkspace(root);
  const names = ws.settings.map((s) => s.name);
  if (!names.includes(stack)) {
    throw new pulumi.RunError(
      `unknown stack '${stack}': a stack is named after the environment it deploys, one of ${names.join(', ')} (environments/<name>/environment.ts); run \`pulumi stack select <environment>\``,
    );
  }
  const result = await validate(ws, { now, drift: true, environments: [stack] });
  const errors = sortFindings(result.findings.filter((f) => f.severity === 'error'));
  if (errors.length === 0) return ws.settings.find((s) => s.name === stack)!;
  const drifted = [...new Set(errors.filter((f) => f.rule === 'drift' || f.rule === 'dist-entry').map((f) => f.file))];
  const headline =
    drifted.length > 0
      ? `refusing to deploy stack '${stack}': the committed dist/${stack}/ is not what a fresh synth produces, so it is not what was reviewed.\n` +
        `Drifted files: ${drifted.join(', ')}\nRun \`npx flagops synth\`, review and commit dist/, then deploy again.`
      : `refusing to deploy stack '${stack}': the flag files have errors (\`npx flagops check\` shows them).`;
  throw new pulumi.RunError([headline, ...errors.map((f) => formatFinding(f, false)), summarize(errors)].join('\n'));
}

/** The committed object with the checksum annotation of its data added (nothing else changes). */
function withChecksum(object: PlannedObject['object'], checksum: string): Record<string, unknown> {
  const annotations = { ...(object.metadata.annotations as Record<string, string> | undefined), [CHECKSUM_ANNOTATION]: checksum };
  return { ...object, metadata: { ...object.metadata, annotations } };
}

/** Registers the provider and one resource per committed object of `options.stack`. */
export async function deployEnvironment(options: DeployOptions): Promise<Deployment> {
  const { root, stack } = options;
  const settings = await requireReviewedManifests(root, stack, options.now ?? clockNow());
  const config = typeof options.config === 'function' ? options.config() : options.config;
  let plan: PlannedObject[];
  try {
    plan = planDeployment(loadCommittedObjects(root, stack), { stack, protect: parseProtectRules(config.protect), externalCrds: config.externalCrds });
  } catch (e) {
    throw new pulumi.RunError(`refusing to deploy stack '${stack}': ${(e as Error).message}`);
  }
  if (config.stampBackendChecksum && !plan.some((o) => o.object.kind === 'ConfigMap' && o.object.metadata.name === FLAG_CONFIG_MAP)) {
    throw new pulumi.RunError(`refusing to deploy stack '${stack}': stampBackendChecksum is on but dist/${stack}/ has no ${FLAG_CONFIG_MAP} ConfigMap whose checksum it could stamp`);
  }

  const provider = new k8s.Provider(stack, {
    context: config.kubeContext,
    enableServerSideApply: true,
    // Flag changes update the ConfigMap in place; the default (immutable, replace on change)
    // would delete and recreate it, which a protected resource cannot be.
    enableConfigMapMutable: true,
  });
  const resources = new Map<string, pulumi.Resource>();
  const externalCrds = config.externalCrds.map((name) => {
    const crd = k8s.apiextensions.v1.CustomResourceDefinition.get(`${EXTERNAL_CRD_PREFIX}${name}`, name, { provider });
    resources.set(`crd:${name}`, crd);
    return crd;
  });
  // The flag ConfigMap's checksum is computed here, where it is used, not committed: a line that
  // every flag change rewrites would make any two flag pull requests conflict. It covers the whole
  // flag set (the shards of a sharded one too), so feature-flags-config changes with every flag;
  // each shard carries the checksum of its own data.
  const isFlagMap = (o: PlannedObject) => o.object.kind === 'ConfigMap' && o.object.metadata.name === FLAG_CONFIG_MAP;
  const dataOf = (o: PlannedObject): Record<string, string> => (o.object as { data?: Record<string, string> }).data ?? {};
  const flagPlan = plan.find(isFlagMap);
  const shardPlans = plan.filter((o) => isFlagShard(o.object));
  const flagChecksum = flagPlan ? flagDataChecksum(Object.assign({}, dataOf(flagPlan), ...shardPlans.map(dataOf))) : undefined;
  const args = (o: PlannedObject): Record<string, unknown> => {
    if (isFlagMap(o)) return withChecksum(o.object, flagChecksum!);
    if (isFlagShard(o.object)) return withChecksum(o.object, flagDataChecksum(dataOf(o)));
    return { ...o.object };
  };
  const objects: DeployedObject[] = plan.map((o) => {
    const Resource = resourceClassOf(o);
    const dependsOn = o.dependsOn.map((d) => resources.get(d)!);
    const resource = new Resource(logicalName(o), args(o), { provider, dependsOn, protect: o.protect });
    resources.set(o.path, resource);
    return { ...o, resource };
  });

  const flagMap = objects.find(isFlagMap);
  const flagShards = objects.filter((o) => isFlagShard(o.object));

  let checksumPatch: k8s.apps.v1.DeploymentPatch | undefined;
  if (config.stampBackendChecksum && flagMap && flagChecksum) {
    checksumPatch = new k8s.apps.v1.DeploymentPatch(
      `${config.backendDeployment}-flag-checksum`,
      {
        metadata: { name: config.backendDeployment, namespace: settings.namespace },
        spec: { template: { metadata: { annotations: { [CHECKSUM_ANNOTATION]: flagChecksum } } } },
      },
      { provider, dependsOn: [flagMap.resource, ...flagShards.map((o) => o.resource)] },
    );
  }

  return {
    provider,
    objects,
    externalCrds,
    checksumPatch,
    outputs: { namespace: settings.namespace, kubeContext: config.kubeContext, flagChecksum, objectCounts: countByKind(plan) },
  };
}
