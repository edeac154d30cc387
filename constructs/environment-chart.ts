import { ApiObject, Chart, JsonPatch, type ChartProps } from 'cdk8s';
import { Namespace } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { EnvironmentSettings } from '../model/environments.ts';
import { AccessControl } from './access-control.ts';
import { DatabaseBackup } from './database-backup.ts';
import { AlertRules } from './alert-rules.ts';
import { FeatureFlagConfigMap, type FeatureFlag } from './feature-flag-config-map.ts';
import { FlagdServer, OpenFeatureOperatorFlags } from './flag-serving.ts';
import { GrafanaDashboards } from './grafana-dashboards.ts';
import { labelPodTemplates } from './labels.ts';

export interface EnvironmentChartProps extends ChartProps {
  /** The environment's resolved settings (environments/<env>/environment.ts). */
  readonly settings: EnvironmentSettings;
  /** Every catalog flag with its state in this environment. */
  readonly flags: readonly FeatureFlag[];
}

/** Labels on every object flagops synthesizes. */
export const COMMON_LABELS = {
  'app.kubernetes.io/part-of': 'pms',
  'app.kubernetes.io/managed-by': 'flagops',
} as const;

/**
 * Everything one environment runs that flagops owns, in the environment's namespace: the
 * namespace itself (Pod Security "restricted" enforced), the feature-flag ConfigMap (and its shards,
 * for a flag set too large for one ConfigMap), what serves it
 * to the backend (flagd, or the OpenFeature Operator's FeatureFlag and FeatureFlagSource), RBAC,
 * the database backup and restore-verification CronJobs, the alert rules (PrometheusRule) and the
 * Grafana dashboards (ConfigMaps for the sidecar).
 */
export class EnvironmentChart extends Chart {
  public readonly featureFlags: FeatureFlagConfigMap;
  public readonly access: AccessControl;
  public readonly backup: DatabaseBackup;
  public readonly alertRules: AlertRules;
  public readonly dashboards: GrafanaDashboards;
  /** What serves the flag set to the backend (`flagServing.mode`); undefined for `none`. */
  public readonly flagServing?: FlagdServer | OpenFeatureOperatorFlags;

  constructor(scope: Construct, id: string, props: EnvironmentChartProps) {
    const { settings } = props;
    super(scope, id, {
      ...props,
      namespace: settings.namespace,
      labels: { ...COMMON_LABELS, 'pms.example.com/environment': settings.name, ...settings.labels, ...props.labels },
      disableResourceNameHashes: true,
    });

    const namespace = new Namespace(this, 'Namespace', {
      metadata: {
        name: settings.namespace,
        labels: {
          'app.kubernetes.io/name': COMMON_LABELS['app.kubernetes.io/part-of'],
          'app.kubernetes.io/component': 'namespace',
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    // A Namespace is cluster-scoped: drop the chart's namespace from its metadata.
    ApiObject.of(namespace).addJsonPatch(JsonPatch.remove('/metadata/namespace'));

    this.featureFlags = new FeatureFlagConfigMap(this, 'FeatureFlags', {
      environment: settings.name,
      flags: props.flags,
    });

    this.access = new AccessControl(this, 'Access', {
      flagConfigMap: this.featureFlags.configMap.name,
      flagShards: this.featureFlags.shards.map((s) => s.configMap.name),
      onCallGroups: settings.access.onCallGroups,
      developerGroups: settings.access.developerGroups,
      breakGlassGroups: settings.access.breakGlassGroups,
    });

    const serving = settings.flagServing;
    if (serving.mode === 'flagd') {
      this.flagServing = new FlagdServer(this, 'FlagServing', {
        flagConfigMap: this.featureFlags.configMap,
        flagShards: this.featureFlags.shards.length > 0 ? this.featureFlags.flagSetSources : undefined,
        clientPodLabels: serving.clientPodLabels,
        release: settings.monitoring.release,
        replicas: serving.replicas,
        image: serving.image,
        resources: serving.resources,
        monitoringNamespace: serving.monitoringNamespace,
      });
    } else if (serving.mode === 'openfeature-operator') {
      const shards = this.featureFlags.shards[0]?.count;
      this.flagServing = new OpenFeatureOperatorFlags(this, 'FlagServing', { environment: settings.name, flags: props.flags, namespace: settings.namespace, shards });
    }

    const { backup } = settings;
    this.backup = new DatabaseBackup(this, 'DatabaseBackup', {
      retentionDays: backup.retentionDays,
      image: backup.image,
      host: backup.host,
      port: backup.port,
      database: backup.database,
      credentialsSecret: backup.credentialsSecret,
      serviceAccount: this.access.backupServiceAccount,
      verifyTables: backup.verifyTables,
      storageClassName: backup.storageClassName,
      storageGiB: backup.storageGiB,
      scratchGiB: backup.scratchGiB,
    });
    const monitoring = { environment: settings.name, namespace: settings.namespace, monitoring: settings.monitoring, flagServing: serving.mode };
    this.alertRules = new AlertRules(this, 'AlertRules', monitoring);
    this.dashboards = new GrafanaDashboards(this, 'Dashboards', { ...monitoring, flagConfigMap: this.featureFlags.configMap.name });

    // The chart's labels reach each object's own metadata; the pod templates get them here.
    labelPodTemplates(this, this.labels);
  }
}
