import { ApiObject, Chart, Lazy } from 'cdk8s';
import { ServiceAccount, k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/** Object names, shared with `flagops access` and the RBAC policies. */
export const ACCESS_NAMES = {
  app: 'pms-backend',
  appRole: 'pms-backend-flags-reader',
  backup: 'pms-db-backup',
  deployer: 'flagops-deployer',
  readOnly: 'pms-read-only',
  breakGlass: 'feature-flags-break-glass',
} as const;

/** `app.kubernetes.io/component` of every ServiceAccount, Role and RoleBinding. */
export const ACCESS_COMPONENT = 'access-control';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
/** What a deployer does to each object it owns (server-side apply, and deletion of removed objects). */
export const DEPLOY_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;
const READ_VERBS = ['get', 'list', 'watch'];

/** apiGroup and resource of each namespaced kind flagops synthesizes. */
export const RESOURCES: Readonly<Record<string, readonly [group: string, resource: string]>> = {
  ConfigMap: ['', 'configmaps'],
  CronJob: ['batch', 'cronjobs'],
  Deployment: ['apps', 'deployments'],
  FeatureFlag: ['core.openfeature.dev', 'featureflags'],
  FeatureFlagSource: ['core.openfeature.dev', 'featureflagsources'],
  Job: ['batch', 'jobs'],
  NetworkPolicy: ['networking.k8s.io', 'networkpolicies'],
  PersistentVolumeClaim: ['', 'persistentvolumeclaims'],
  PodDisruptionBudget: ['policy', 'poddisruptionbudgets'],
  PrometheusRule: ['monitoring.coreos.com', 'prometheusrules'],
  Role: [RBAC_GROUP, 'roles'],
  RoleBinding: [RBAC_GROUP, 'rolebindings'],
  Service: ['', 'services'],
  ServiceAccount: ['', 'serviceaccounts'],
  ServiceMonitor: ['monitoring.coreos.com', 'servicemonitors'],
};
/** Cluster-scoped kinds a namespaced Role cannot cover: created once by the cluster admin (see docs/backups-and-access.md). */
const CLUSTER_SCOPED = new Set(['Namespace']);

/** What on-call and developers may read: operational state, never Secrets, never exec. */
export const READ_ONLY_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'endpoints', 'events', 'persistentvolumeclaims', 'pods', 'pods/log', 'serviceaccounts', 'services'], verbs: READ_VERBS },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets'], verbs: READ_VERBS },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: READ_VERBS },
  { apiGroups: ['monitoring.coreos.com'], resources: ['prometheusrules'], verbs: READ_VERBS },
  { apiGroups: [RBAC_GROUP], resources: ['rolebindings', 'roles'], verbs: READ_VERBS },
];

export interface AccessControlProps {
  /** Name of the feature-flag ConfigMap the app reads and break-glass may change. */
  readonly flagConfigMap: string;
  /**
   * Names of the shard ConfigMaps of a flag set split over several: like the flag ConfigMap, the
   * app reads them and break-glass may change them.
   * @default - none: the flag set is in the flag ConfigMap alone
   */
  readonly flagShards?: readonly string[];
  /** Groups with read-only access (no Secrets): on-call. */
  readonly onCallGroups: readonly string[];
  /** Groups with read-only access (no Secrets): developers. */
  readonly developerGroups: readonly string[];
  /**
   * Groups that may change the flag ConfigMap outside the pipeline (that one object only).
   * @default - none: only the deployer writes it
   */
  readonly breakGlassGroups?: readonly string[];
}

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9:._@-]*$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * ServiceAccounts, Roles and RoleBindings of one environment, least privilege:
 * - `pms-backend` (the app) may only read the flag ConfigMap (and its shards);
 * - `pms-db-backup` has no permissions and never gets a token;
 * - `flagops-deployer` (CI) may manage exactly the kinds the chart synthesizes, plus what the Roles
 *   it deploys grant (Kubernetes refuses to let it grant more than it holds);
 * - on-call and developer groups read operational state, never Secrets, never exec;
 * - break-glass groups (production) may change the flag ConfigMap (and its shards) and nothing else.
 *
 * The deployer Role is computed when the chart is synthesized, from every object in it.
 */
export class AccessControl extends Construct {
  public readonly appServiceAccount: ServiceAccount;
  public readonly backupServiceAccount: ServiceAccount;
  public readonly deployerServiceAccount: ServiceAccount;

  constructor(scope: Construct, id: string, props: AccessControlProps) {
    super(scope, id);
    const groups = [...props.onCallGroups, ...props.developerGroups, ...(props.breakGlassGroups ?? [])];
    const bad = groups.find((g) => !GROUP_NAME.test(g) || g.startsWith('system:'));
    if (bad !== undefined) {
      throw new Error(`Group names must be identity-provider groups (letters, digits, ':._@-', not 'system:'). The value passed is: ${JSON.stringify(bad)}`);
    }
    const badShard = (props.flagShards ?? []).find((n) => !DNS_SUBDOMAIN.test(n) || n === props.flagConfigMap);
    if (badShard !== undefined) {
      throw new Error(`The 'flagShards' property must name ConfigMaps other than the flag ConfigMap itself (DNS subdomain names). The value passed is: ${JSON.stringify(badShard)}`);
    }
    // `app.kubernetes.io/name` is the identity each object is about: its ServiceAccount or group Role.
    const labels = (name: string): Record<string, string> => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': ACCESS_COMPONENT });
    // The flag ConfigMap, then its shards in order: a stable list.
    const flagConfigMaps = [props.flagConfigMap, ...[...new Set(props.flagShards ?? [])].sort()];

    this.appServiceAccount = new ServiceAccount(this, 'App', { metadata: { name: ACCESS_NAMES.app, labels: labels(ACCESS_NAMES.app) }, automountToken: true });
    this.backupServiceAccount = new ServiceAccount(this, 'Backup', { metadata: { name: ACCESS_NAMES.backup, labels: labels(ACCESS_NAMES.backup) }, automountToken: false });
    this.deployerServiceAccount = new ServiceAccount(this, 'Deployer', { metadata: { name: ACCESS_NAMES.deployer, labels: labels(ACCESS_NAMES.deployer) }, automountToken: false });

    this.role('AppRole', ACCESS_NAMES.appRole, labels(ACCESS_NAMES.app), [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: flagConfigMaps, verbs: READ_VERBS },
    ]);
    this.bind('AppBinding', ACCESS_NAMES.appRole, labels(ACCESS_NAMES.app), [serviceAccountSubject(ACCESS_NAMES.app)]);

    const deployerRole = new k8s.KubeRole(this, 'DeployerRole', {
      metadata: { name: ACCESS_NAMES.deployer, labels: labels(ACCESS_NAMES.deployer) },
      rules: Lazy.any({ produce: () => deployerRules(Chart.of(this), deployerRole) }),
    });
    this.bind('DeployerBinding', ACCESS_NAMES.deployer, labels(ACCESS_NAMES.deployer), [serviceAccountSubject(ACCESS_NAMES.deployer)]);

    const readers = [...props.onCallGroups, ...props.developerGroups];
    if (readers.length > 0) {
      this.role('ReadOnlyRole', ACCESS_NAMES.readOnly, labels(ACCESS_NAMES.readOnly), READ_ONLY_RULES);
      this.bind('ReadOnlyBinding', ACCESS_NAMES.readOnly, labels(ACCESS_NAMES.readOnly), [...new Set(readers)].sort().map(groupSubject));
    }

    const breakGlass = props.breakGlassGroups ?? [];
    if (breakGlass.length > 0) {
      this.role('BreakGlassRole', ACCESS_NAMES.breakGlass, { ...labels(ACCESS_NAMES.breakGlass), 'pms.example.com/break-glass': 'true' }, [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: flagConfigMaps, verbs: ['get', 'patch', 'update'] },
      ]);
      this.bind('BreakGlassBinding', ACCESS_NAMES.breakGlass, labels(ACCESS_NAMES.breakGlass), [...new Set(breakGlass)].sort().map(groupSubject));
    }
  }

  private role(id: string, name: string, labels: Record<string, string>, rules: readonly k8s.PolicyRule[]): k8s.KubeRole {
    return new k8s.KubeRole(this, id, { metadata: { name, labels }, rules: [...rules] });
  }

  private bind(id: string, role: string, labels: Record<string, string>, subjects: k8s.Subject[]): k8s.KubeRoleBinding {
    return new k8s.KubeRoleBinding(this, id, {
      metadata: { name: role, labels },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: role },
      subjects,
    });
  }
}

function serviceAccountSubject(name: string): k8s.Subject {
  return { kind: 'ServiceAccount', name };
}

function groupSubject(name: string): k8s.Subject {
  return { kind: 'Group', apiGroup: RBAC_GROUP, name };
}

interface RuleJson {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/**
 * The deployer's rules: every verb of {@link DEPLOY_VERBS} on each kind in the chart, plus every
 * permission the chart's other Roles grant that this does not already cover.
 */
function deployerRules(chart: Chart, self: ApiObject): RuleJson[] {
  const objects = chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && c !== self);
  const owned = new Set<string>(); // "group|resource|verb"
  for (const o of objects) {
    if (CLUSTER_SCOPED.has(o.kind)) continue;
    const gr = RESOURCES[o.kind];
    if (!gr) throw new Error(`The deployer Role cannot be computed: add the resource of kind '${o.kind}' (${o.apiVersion}) to RESOURCES in constructs/access-control.ts`);
    for (const verb of DEPLOY_VERBS) owned.add(`${gr[0]}|${gr[1]}|${verb}`);
  }
  const extra: RuleJson[] = [];
  for (const o of objects) {
    if (o.kind !== 'Role') continue;
    for (const rule of ((o.toJson() as { rules?: RuleJson[] }).rules ?? [])) {
      for (const group of rule.apiGroups ?? ['']) {
        for (const resource of rule.resources ?? []) {
          const verbs = rule.verbs.filter((v) => !owned.has(`${group}|${resource}|${v}`));
          if (verbs.length === 0) continue;
          if (rule.resourceNames?.length) extra.push({ apiGroups: [group], resources: [resource], resourceNames: [...rule.resourceNames].sort(), verbs: verbs.sort() });
          else for (const v of verbs) owned.add(`${group}|${resource}|${v}`);
        }
      }
    }
  }
  // One rule per (apiGroup, verbs), resources sorted: short and stable.
  const byGroup = new Map<string, Map<string, Set<string>>>();
  for (const key of owned) {
    const [group, resource, verb] = key.split('|') as [string, string, string];
    const resources = byGroup.get(group) ?? new Map<string, Set<string>>();
    byGroup.set(group, resources);
    resources.set(resource, (resources.get(resource) ?? new Set()).add(verb));
  }
  const rules: RuleJson[] = [];
  for (const group of [...byGroup.keys()].sort()) {
    const byVerbs = new Map<string, string[]>();
    for (const [resource, verbs] of byGroup.get(group)!) {
      const k = [...verbs].sort().join(',');
      byVerbs.set(k, [...(byVerbs.get(k) ?? []), resource]);
    }
    for (const k of [...byVerbs.keys()].sort()) rules.push({ apiGroups: [group], resources: byVerbs.get(k)!.sort(), verbs: k.split(',') });
  }
  return [...rules, ...extra];
}
