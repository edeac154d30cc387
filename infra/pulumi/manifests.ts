/**
 * The plain-data half of the Pulumi program: which committed objects a stack deploys, in which
 * phase, which of them are protected, and what the stack's config means. Nothing here touches
 * the Pulumi runtime, so every rule is testable without mocks.
 */
import { parse } from 'yaml';
import { isFlagConfigMapName } from '../../constructs/feature-flag-config-map.ts';
import { FLAG_CONFIG_MAP } from '../../constructs/names.ts';
import type { KubeObject } from '../../model/manifests.ts';
import { readDistFolder } from '../../lib/workspace/dist.ts';

/** A committed object and the dist/ file it came from. */
export interface CommittedObject {
  /** Path relative to the project root: `dist/<env>/<kind>-<name>.yaml`. */
  readonly path: string;
  readonly object: KubeObject;
}

/**
 * When an object is created, relative to the others. Each phase waits for the ones before it:
 * namespaces and CRDs, then identities/config/storage the workloads use, then workloads; custom
 * resources wait only for the namespace and for the CRDs of their API group.
 */
export enum Phase {
  /** Namespaces and CustomResourceDefinitions: everything else lives in or depends on them. */
  FOUNDATION = 0,
  /** RBAC, ServiceAccounts, ConfigMaps, Secrets, PVCs, policies: what pods refer to. */
  ACCESS_AND_CONFIG = 1,
  /** Everything else built into Kubernetes: CronJobs, Deployments, Services, ... */
  WORKLOAD = 2,
  /** Objects of an API group no Kubernetes release ships (PrometheusRule, ...): need their CRD. */
  CUSTOM = 3,
}

const FOUNDATION_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);
const ACCESS_AND_CONFIG_KINDS = new Set([
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
]);

/** The API group of an apiVersion: `''` for the core group (`v1`). */
export const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/**
 * Whether an API group ships with Kubernetes: the core group, the dot-less legacy groups
 * (apps, batch, policy, autoscaling) and every `*.k8s.io` group. Anything else is served by a CRD.
 */
export function isBuiltInGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group === 'k8s.io' || group.endsWith('.k8s.io');
}

export function phaseOf(object: Pick<KubeObject, 'apiVersion' | 'kind'>): Phase {
  if (FOUNDATION_KINDS.has(object.kind)) return Phase.FOUNDATION;
  if (!isBuiltInGroup(groupOf(object.apiVersion))) return Phase.CUSTOM;
  if (ACCESS_AND_CONFIG_KINDS.has(object.kind)) return Phase.ACCESS_AND_CONFIG;
  return Phase.WORKLOAD;
}

/**
 * The committed manifests of one environment, parsed, in file order.
 *
 * @throws Error naming the file when a committed file is not a single Kubernetes object, or an entry
 *   named like a manifest is not a file.
 */
export function loadCommittedObjects(root: string, environment: string): CommittedObject[] {
  const objects: CommittedObject[] = [];
  const { files, problems } = readDistFolder(root, environment);
  // A directory or FIFO named like a manifest is never opened, and never silently left out.
  if (problems.length > 0) throw new Error(`${problems[0]!.path} ${problems[0]!.what}; remove it, then run \`npx flagops synth\``);
  for (const [path, text] of files) {
    const object = parse(text) as Partial<KubeObject> | null;
    if (!object || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
      throw new Error(`${path}: not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
    }
    objects.push({ path, object: object as KubeObject });
  }
  return objects;
}

/** A protection rule: `Kind` protects every object of that kind, `Kind/name` one object. */
export interface ProtectRule {
  readonly kind: string;
  readonly name?: string;
}

/**
 * Parses `Kind` / `Kind/name` rule strings.
 *
 * @throws Error when a rule is not of that form.
 */
export function parseProtectRules(rules: readonly string[]): ProtectRule[] {
  return rules.map((rule) => {
    const m = /^([A-Z][A-Za-z0-9]*)(?:\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?))?$/.exec(rule);
    if (!m) throw new Error(`protect rule '${rule}' must be 'Kind' or 'Kind/name' (for example 'ConfigMap/feature-flags-config' or 'RoleBinding')`);
    return m[2] === undefined ? { kind: m[1]! } : { kind: m[1]!, name: m[2] };
  });
}

export function isProtected(rules: readonly ProtectRule[], object: Pick<KubeObject, 'kind' | 'metadata'>): boolean {
  return rules.some((r) => r.kind === object.kind && (r.name === undefined || r.name === object.metadata.name));
}

/** A shard ConfigMap of a sharded flag set (`feature-flags-shard-03-of-64`). */
export const isFlagShard = (object: Pick<KubeObject, 'kind' | 'metadata'>): boolean =>
  object.kind === 'ConfigMap' && object.metadata.name !== FLAG_CONFIG_MAP && isFlagConfigMapName(object.metadata.name);

/** Number of objects of each kind, keys sorted: a stack output and a quick review aid. */
export function countByKind(objects: readonly CommittedObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of objects.map((o) => o.object.kind).sort()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * Logical-name prefix of the CRDs the program reads from the cluster (`externalCrds`). No dist/
 * file stem starts with it (stems are `<kind>-<name>`), so it tells reads from deployed objects.
 */
export const EXTERNAL_CRD_PREFIX = 'crd-';

/** The Pulumi logical name of an object: its dist/ file name, so a preview line points at the file. */
export const logicalName = (o: CommittedObject): string => o.path.slice(o.path.lastIndexOf('/') + 1).replace(/\.yaml$/, '');

/**
 * Whether `crd` (a CustomResourceDefinition object, or a CRD name like
 * `prometheusrules.monitoring.coreos.com`) serves custom resources of `group`.
 */
export function crdServesGroup(crd: string | KubeObject, group: string): boolean {
  if (typeof crd === 'string') return crd.endsWith(`.${group}`);
  const spec = crd.spec as { group?: unknown } | undefined;
  return spec?.group === group;
}

/** An object as the program will register it: its phase, protection and what it waits for. */
export interface PlannedObject extends CommittedObject {
  readonly phase: Phase;
  readonly protect: boolean;
  /** dist/ paths of the objects it waits for, and `crd:<name>` for a CRD read from the cluster. */
  readonly dependsOn: readonly string[];
}

export interface PlanOptions {
  readonly stack: string;
  readonly protect: readonly ProtectRule[];
  /** CRDs installed outside the stack (for example by kube-prometheus-stack). */
  readonly externalCrds: readonly string[];
}

/**
 * Phase, protection and dependencies of every committed object, in registration order.
 *
 * @throws Error naming the file when a custom resource has no CRD to wait for.
 */
export function planDeployment(committed: readonly CommittedObject[], options: PlanOptions): PlannedObject[] {
  const planned: PlannedObject[] = [];
  // The shards of a sharded flag set are the flag ConfigMap as much as feature-flags-config is:
  // protecting that one protects them (their names change with the shard count, no rule can list them).
  const flagConfigMapProtected = isProtected(options.protect, { kind: 'ConfigMap', metadata: { name: FLAG_CONFIG_MAP } });
  const paths = (pred: (p: PlannedObject) => boolean): string[] => planned.filter(pred).map((p) => p.path);
  for (const o of [...committed].sort((a, b) => phaseOf(a.object) - phaseOf(b.object) || (a.path < b.path ? -1 : 1))) {
    const phase = phaseOf(o.object);
    const namespaces = paths((p) => p.object.kind === 'Namespace');
    let dependsOn: string[] = [];
    if (phase === Phase.ACCESS_AND_CONFIG) dependsOn = namespaces;
    if (phase === Phase.WORKLOAD) dependsOn = [...namespaces, ...paths((p) => p.phase === Phase.ACCESS_AND_CONFIG)];
    if (phase === Phase.CUSTOM) {
      const group = groupOf(o.object.apiVersion);
      const crds = [
        ...paths((p) => p.object.kind === 'CustomResourceDefinition' && crdServesGroup(p.object, group)),
        ...options.externalCrds.filter((name) => crdServesGroup(name, group)).map((name) => `crd:${name}`),
      ];
      if (crds.length === 0) {
        throw new Error(
          `${o.path}: ${o.object.kind} (API group ${group}) needs a CustomResourceDefinition, but none in dist/${options.stack}/ serves that group and ` +
            `Pulumi.${options.stack}.yaml lists none under flagops-pms:externalCrds; add the CRD's name (for example '${o.object.kind.toLowerCase()}s.${group}')`,
        );
      }
      dependsOn = [...namespaces, ...crds];
    }
    const protect = isProtected(options.protect, o.object) || (flagConfigMapProtected && isFlagShard(o.object));
    planned.push({ ...o, phase, protect, dependsOn });
  }
  return planned;
}
