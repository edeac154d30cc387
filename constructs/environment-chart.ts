import { ApiObject, Chart, JsonPatch, type ChartProps } from 'cdk8s';
import { Namespace } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { EnvironmentSettings } from '../environments/settings.ts';
import { AccessControl } from './access-control.ts';
import { DatabaseBackup } from './database-backup.ts';
import { AlertRules } from './alert-rules.ts';
import { FeatureFlagConfigMap, type FeatureFlag } from './feature-flag-config-map.ts';
import { GrafanaDashboards } from './grafana-dashboards.ts';

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
 * namespace itself (Pod Security "restricted" enforced), the feature-flag ConfigMap, RBAC, the
 * database backup and restore-verification CronJobs, the alert rules (PrometheusRule) and the
 * Grafana dashboards (ConfigMaps for the sidecar).
 */
export class EnvironmentChart extends Chart {
  public readonly featureFlags: FeatureFlagConfigMap;
  public readonly access: AccessControl;
  public readonly backup: DatabaseBackup;
  public readonly alertRules: AlertRules;
  public readonly dashboards: GrafanaDashboards;

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
      onCallGroups: settings.access.onCallGroups,
      developerGroups: settings.access.developerGroups,
      breakGlassGroups: settings.access.breakGlassGroups,
    });

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
    const monitoring = { environment: settings.name, namespace: settings.namespace, monitoring: settings.monitoring };
    this.alertRules = new AlertRules(this, 'AlertRules', monitoring);
    this.dashboards = new GrafanaDashboards(this, 'Dashboards', { ...monitoring, flagConfigMap: this.featureFlags.configMap.name });
  }
}
