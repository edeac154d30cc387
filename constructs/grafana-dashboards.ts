import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode } from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DatasourceVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { ConfigMap } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { FlagServingMode, MonitoringSettings } from '../model/environments.ts';
import { FLAGD_NAMES } from './flag-serving.ts';
import * as signal from './signals.ts';

/** The dashboards every environment gets. */
export type DashboardSlug =
  /** RED: request rate, errors, p50/p95/p99, active alerts, deployments. */
  | 'service-overview'
  /** USE: CPU, memory, disk, network, restarts, database connections, cache hit rate. */
  | 'infrastructure'
  /** Evaluations by flag and variant, error ratio by flag, flag ConfigMap changes. */
  | 'feature-flags'
  /** Age of the last backup and restore verification, durations, backup volume size. */
  | 'backups'
  /** Error budget remaining and burn rates of the availability SLO. */
  | 'slo';

export const DASHBOARD_SLUGS: readonly DashboardSlug[] = ['service-overview', 'infrastructure', 'feature-flags', 'backups', 'slo'];

/** Label the Grafana sidecar of kube-prometheus-stack watches ConfigMaps for. */
export const DASHBOARD_LABEL = 'grafana_dashboard';
/** Annotation naming the Grafana folder (the sidecar's `folderAnnotation`). */
export const FOLDER_ANNOTATION = 'grafana_folder';
/** The name of the data-source variable every query uses. */
export const DATASOURCE_VARIABLE = 'datasource';

/** Stable uid of a dashboard in an environment (Grafana allows 40 characters). */
export function dashboardUid(environment: string, slug: DashboardSlug): string {
  return `pms-${environment}-${slug}`.slice(0, 40);
}

export interface GrafanaDashboardsProps {
  /** Environment name; part of every uid and title. */
  readonly environment: string;
  /** Namespace whose signals the dashboards show. */
  readonly namespace: string;
  /** Jobs, thresholds and the folder of this environment. */
  readonly monitoring: MonitoringSettings;
  /**
   * Name of the backend Deployment whose rollouts are drawn as annotations.
   * @default 'pms-backend'
   */
  readonly deployment?: string;
  /**
   * Name of the flag ConfigMap whose changes are drawn as annotations.
   * @default 'feature-flags-config'
   */
  readonly flagConfigMap?: string;
  /**
   * How flags are served (`flagServing.mode`); `flagd` adds a flagd row to the feature-flag dashboard.
   * @default 'none'
   */
  readonly flagServing?: FlagServingMode;
}

const DS = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
const RATE = '$__rate_interval';

const query = (expr: string, legend?: string): DataqueryBuilder => {
  const q = new DataqueryBuilder().expr(expr);
  return legend ? q.legendFormat(legend) : q;
};

function timeseries(title: string, unit: string, ...targets: DataqueryBuilder[]): TimeseriesPanel {
  const p = new TimeseriesPanel().title(title).datasource(DS).unit(unit).height(8).span(12);
  for (const t of targets) p.withTarget(t);
  return p;
}

/**
 * A time series with the alert threshold drawn as a dashed red line, and the threshold of the
 * lower-tier alert on the same signal (ElevatedErrorRate, ElevatedDiskUsage), if any, in orange.
 */
function withThreshold(panel: TimeseriesPanel, value: number, lower?: number): TimeseriesPanel {
  const steps = [{ value: null, color: 'green' }, ...(lower === undefined ? [] : [{ value: lower, color: 'orange' }]), { value, color: 'red' }];
  return panel
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps))
    .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
}

function stat(title: string, unit: string, target: DataqueryBuilder): StatPanel {
  return new StatPanel().title(title).datasource(DS).unit(unit).height(4).span(6).withTarget(target);
}

function annotation(name: string, expr: string, color: string): AnnotationQueryBuilder {
  return new AnnotationQueryBuilder().name(name).datasource(DS).expr(expr).enable(true).iconColor(color).step('60s');
}

function base(props: GrafanaDashboardsProps, slug: DashboardSlug, title: string): DashboardBuilder {
  return new DashboardBuilder(`PMS ${props.environment}: ${title}`)
    .uid(dashboardUid(props.environment, slug))
    .tags(['pms', 'flagops', props.environment])
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc')
    .readonly()
    .withVariable(new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Data source').type('prometheus'));
}

/** The dashboards of one environment, as plain Grafana JSON models (pure; sorted by slug). */
export function buildDashboards(props: GrafanaDashboardsProps): Record<DashboardSlug, Dashboard> {
  const m = props.monitoring;
  const ns = { namespace: props.namespace };
  const backend = { namespace: props.namespace, job: m.job };
  const deployment = props.deployment ?? 'pms-backend';
  const flagConfigMap = props.flagConfigMap ?? 'feature-flags-config';
  const deployments = annotation('Deployments', signal.deploymentChanges(ns, deployment, '2m'), 'blue');
  const flagChanges = annotation('Flag changes', signal.configMapChanges(ns, flagConfigMap, '2m'), 'orange');

  const dashboards: Record<DashboardSlug, cog.Builder<Dashboard>> = {
    'service-overview': base(props, 'service-overview', 'Service overview')
      .annotation(deployments)
      .annotation(flagChanges)
      .withRow(new RowBuilder('Now'))
      .withPanel(stat('Requests per second', 'reqps', query(signal.requestRate(backend, RATE))))
      .withPanel(stat('Error ratio', 'percentunit', query(signal.errorRatio(backend, RATE))))
      .withPanel(stat('p95 latency', 's', query(signal.latencyQuantile(backend, 0.95, RATE))))
      .withPanel(stat('Targets up', 'none', query(signal.targetUp(backend))))
      .withRow(new RowBuilder('Rate, errors, duration'))
      .withPanel(timeseries('Request rate by status', 'reqps', query(`sum by (status) (rate(http_requests_total{job="${m.job}", namespace="${props.namespace}"}[${RATE}]))`, '{{status}}')))
      .withPanel(
        withThreshold(
          timeseries(`Error ratio (alerts above ${m.elevatedErrorRatio * 100}% and ${m.errorRatio * 100}%)`, 'percentunit', query(signal.errorRatio(backend, RATE), '5xx ratio')),
          m.errorRatio,
          m.elevatedErrorRatio,
        ),
      )
      .withPanel(
        timeseries(
          `Latency (p95 alert above ${m.p95LatencySeconds}s, p99 above ${m.p99LatencySeconds}s)`,
          's',
          query(signal.latencyQuantile(backend, 0.5, RATE), 'p50'),
          query(signal.latencyQuantile(backend, 0.95, RATE), 'p95'),
          query(signal.latencyQuantile(backend, 0.99, RATE), 'p99'),
        ),
      )
      .withPanel(new TablePanel().title('Active alerts').datasource(DS).height(8).span(12).withTarget(query(signal.firingAlerts(ns)).instant())),
    infrastructure: base(props, 'infrastructure', 'Infrastructure')
      .annotation(deployments)
      .withRow(new RowBuilder('Utilization, saturation'))
      .withPanel(withThreshold(timeseries(`CPU / limit by pod (alert above ${m.cpuUtilization * 100}%)`, 'percentunit', query(signal.cpuUtilization(ns, RATE), '{{pod}}')), m.cpuUtilization))
      .withPanel(withThreshold(timeseries(`Memory / limit by pod (alert above ${m.memoryUtilization * 100}%)`, 'percentunit', query(signal.memoryUtilization(ns), '{{pod}}')), m.memoryUtilization))
      .withPanel(
        withThreshold(
          timeseries(`Volume usage (alerts above ${m.elevatedDiskUtilization * 100}% and ${m.diskUtilization * 100}%)`, 'percentunit', query(signal.diskUtilization(ns), '{{persistentvolumeclaim}}')),
          m.diskUtilization,
          m.elevatedDiskUtilization,
        ),
      )
      .withPanel(
        timeseries(
          'Network by pod',
          'Bps',
          query(signal.networkBytes(ns, 'receive', RATE), '{{pod}} in'),
          query(signal.networkBytes(ns, 'transmit', RATE), '{{pod}} out'),
        ),
      )
      .withPanel(timeseries('Container restarts (1h)', 'none', query(signal.podRestarts(ns), '{{pod}}')))
      .withRow(new RowBuilder('Dependencies'))
      .withPanel(
        timeseries(
          `Database connections / max (alert above ${m.databaseConnectionSaturation * 100}%)`,
          'percentunit',
          query(signal.databaseConnectionSaturation({ namespace: props.namespace, job: m.databaseJob }), 'in use'),
        ),
      )
      .withPanel(
        timeseries(`Cache hit rate (alert below ${m.cacheHitRatio * 100}%)`, 'percentunit', query(signal.cacheHitRatio({ namespace: props.namespace, job: m.cacheJob }, RATE), 'hit ratio')),
      ),
    'feature-flags': base(props, 'feature-flags', 'Feature-flag rollouts')
      .annotation(flagChanges)
      .annotation(deployments)
      .withPanel(timeseries('Evaluations by flag and variant', 'ops', query(signal.flagEvaluationRate(backend, RATE), '{{feature_flag_key}} = {{feature_flag_variant}}')))
      .withPanel(
        timeseries(
          `Evaluation error ratio by flag (alert above ${m.flagEvaluationErrorRatio * 100}%)`,
          'percentunit',
          query(signal.flagEvaluationErrorRatio(backend, RATE), '{{feature_flag_key}}'),
        ),
      )
      .withPanel(timeseries('Error ratio of all requests', 'percentunit', query(signal.errorRatio(backend, RATE), '5xx ratio'))),
    backups: base(props, 'backups', 'Backups')
      .withPanel(stat('Since last successful backup', 's', query(signal.cronJobSuccessAge(ns, m.backupCronJob))))
      .withPanel(stat('Since last restore verification', 's', query(signal.cronJobSuccessAge(ns, m.restoreVerifyCronJob))))
      .withPanel(stat('Failed backup runs since the last success (BackupJobFailed)', 'none', query(`count(${signal.cronJobLatestRunFailed(ns, m.backupCronJob)}) or vector(0)`)))
      .withPanel(
        stat('Failed verifications since the last success (RestoreVerificationFailed)', 'none', query(`count(${signal.cronJobLatestRunFailed(ns, m.restoreVerifyCronJob)}) or vector(0)`)),
      )
      .withPanel(
        timeseries(
          'Job duration',
          's',
          query(signal.cronJobDuration(ns, m.backupCronJob), 'backup {{job_name}}'),
          query(signal.cronJobDuration(ns, m.restoreVerifyCronJob), 'verify {{job_name}}'),
        ),
      )
      .withPanel(
        timeseries(
          'Backup volume used',
          'bytes',
          query(`max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{namespace="${props.namespace}", persistentvolumeclaim=~".*backup.*"})`, '{{persistentvolumeclaim}}'),
        ),
      ),
    slo: base(props, 'slo', `Availability SLO (${m.availabilityObjective * 100}%)`)
      .withPanel(stat('Error budget remaining (30d)', 'percentunit', query(signal.errorBudgetRemaining(backend, m.availabilityObjective))))
      .withPanel(stat('Burn rate (1h)', 'none', query(signal.burnRate(backend, '1h', m.availabilityObjective))))
      .withPanel(stat('Burn rate (6h)', 'none', query(signal.burnRate(backend, '6h', m.availabilityObjective))))
      .withPanel(stat('Burn rate (3d)', 'none', query(signal.burnRate(backend, '3d', m.availabilityObjective))))
      .withPanel(
        timeseries(
          'Burn rate by window (page above 14.4 / 6, ticket above 3 / 1)',
          'none',
          ...signal.SLO_WINDOWS.map((w) => query(signal.burnRate(backend, w, m.availabilityObjective), w)),
        ),
      ),
  };
  if (props.flagServing === 'flagd') {
    const flagd = { namespace: props.namespace, job: FLAGD_NAMES.app };
    (dashboards['feature-flags'] as DashboardBuilder)
      .withRow(new RowBuilder('flagd (flag serving)'))
      .withPanel(timeseries('flagd impressions by flag and variant', 'ops', query(signal.flagdImpressionRate(flagd, RATE), '{{feature_flag_key}} = {{feature_flag_result_variant}}')))
      .withPanel(timeseries('flagd evaluation errors by error', 'ops', query(signal.flagdErrorRate(flagd, RATE), '{{ExceptionTypeKeyName}}')))
      .withPanel(stat('Available flagd replicas (FlagServingDown at 0)', 'none', query(signal.deploymentAvailableReplicas(ns, FLAGD_NAMES.app))));
  }
  return Object.fromEntries(DASHBOARD_SLUGS.map((slug) => [slug, withPanelIds(dashboards[slug].build())])) as Record<DashboardSlug, Dashboard>;
}

/** Numbers the panels 1, 2, ... in order, so panel links (`viewPanel=3`) stay stable across syntheses. */
function withPanelIds(dashboard: Dashboard): Dashboard {
  return { ...dashboard, panels: (dashboard.panels ?? []).map((p, i) => ({ ...p, id: i + 1 })) };
}

/**
 * The Grafana dashboards of one environment as ConfigMaps labelled `grafana_dashboard: "1"`, which
 * the Grafana sidecar of kube-prometheus-stack loads, in the folder named by `grafana_folder`.
 */
export class GrafanaDashboards extends Construct {
  public readonly configMaps: readonly ConfigMap[];

  constructor(scope: Construct, id: string, props: GrafanaDashboardsProps) {
    super(scope, id);
    if (!props.monitoring.dashboardFolder.trim()) {
      throw new Error(`The 'dashboardFolder' must name a Grafana folder. The value passed is: ${JSON.stringify(props.monitoring.dashboardFolder)}`);
    }
    const dashboards = buildDashboards(props);
    this.configMaps = DASHBOARD_SLUGS.map(
      (slug) =>
        new ConfigMap(this, slug, {
          metadata: {
            name: `grafana-dashboard-${slug}`,
            labels: { [DASHBOARD_LABEL]: '1', 'app.kubernetes.io/name': 'grafana-dashboards', 'app.kubernetes.io/component': 'monitoring' },
            annotations: { [FOLDER_ANNOTATION]: props.monitoring.dashboardFolder },
          },
          data: { [`${slug}.json`]: `${JSON.stringify(dashboards[slug], null, 2)}\n` },
        }),
    );
  }
}
