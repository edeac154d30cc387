import { ApiObject } from 'cdk8s';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { Construct } from 'constructs';
import type { FlagServingMode, MonitoringSettings } from '../model/environments.ts';
import { FLAGD_NAMES } from './flag-serving.ts';
import { dashboardUid, type DashboardSlug } from './grafana-dashboards.ts';
import * as signal from './signals.ts';

/**
 * The operations template's alert severity levels (seeds/004, section 3.5 "Alerting"), each with
 * its response time. An alert's tier decides its `priority` and `severity` labels.
 */
export type Tier =
  /** Respond immediately; PagerDuty (on-call). Service down, database unavailable. */
  | 'Critical'
  /** Respond within 15 minutes; PagerDuty + Slack. Error rate > 5%, slow p95. */
  | 'High'
  /** Respond within 1 hour; Slack. Error rate > 1%, cache hit rate low. */
  | 'Medium'
  /** Next business day; e-mail. Disk usage > 70%. */
  | 'Low';

/** How fast someone must respond (the operations team's response-time table). */
export type Priority =
  /** Page now (critical outage). */
  | 'P1'
  /** Page, respond within 15 minutes (major degradation). */
  | 'P2'
  /** Respond within 1 hour, in working hours (partial degradation). */
  | 'P3'
  /** Next business day (a ticket). */
  | 'P4';

/** Alertmanager routing: critical pages, warning goes to chat, info to the ticket queue. */
export type Severity = 'critical' | 'warning' | 'info';

export const TIERS: readonly Tier[] = ['Critical', 'High', 'Medium', 'Low'];
export const PRIORITIES: readonly Priority[] = ['P1', 'P2', 'P3', 'P4'];
export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
/** Priorities that page someone. */
export const PAGING_PRIORITIES: readonly Priority[] = ['P1', 'P2'];

/** The priority of a tier, by its response time: Critical P1, High P2, Medium P3, Low P4. */
export function priorityOf(tier: Tier): Priority {
  return PRIORITIES[TIERS.indexOf(tier)]!;
}

/** The tier a priority answers to (P3 is Medium). */
export function tierOf(priority: Priority): Tier {
  return TIERS[PRIORITIES.indexOf(priority)]!;
}

/** The severity that routes an alert of a priority: P1/P2 page (critical), P3 warning, P4 info. */
export function severityOf(priority: Priority): Severity {
  return priority === 'P1' || priority === 'P2' ? 'critical' : priority === 'P3' ? 'warning' : 'info';
}

/** One alert of the catalog, rendered for one environment. */
export interface AlertRule {
  readonly alert: string;
  /** Rule group (`pms.service`, `pms.slo`, ...). */
  readonly group: string;
  readonly expr: string;
  /** How long the condition must hold (`5m`). */
  readonly for: string;
  /** The operations template's tier; `priority` and `severity` follow from it. */
  readonly tier: Tier;
  readonly severity: Severity;
  readonly priority: Priority;
  /** The threshold in words, for the alert tables of docs/monitoring.md (`> 5% of requests 5xx for 5m`). */
  readonly threshold: string;
  readonly summary: string;
  /** Alertmanager template text with `{{ $value }}` / `{{ $labels.x }}`. */
  readonly description: string;
  readonly runbookUrl: string;
  readonly dashboardUrl?: string;
}

/** A recording rule (the SLO's precomputed error ratios). */
export interface RecordingRule {
  readonly record: string;
  readonly group: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface AlertCatalogProps {
  /** Environment name (`production`); stamped on every alert as label `environment`. */
  readonly environment: string;
  /** Namespace the backend runs in; every signal is scoped to it. */
  readonly namespace: string;
  /** Thresholds, jobs, URLs of this environment (environments/<env>/environment.ts). */
  readonly monitoring: MonitoringSettings;
  /**
   * How flags are served (`flagServing.mode`); `flagd` adds the flag-serving alerts.
   * @default 'none'
   */
  readonly flagServing?: FlagServingMode;
}

export interface AlertRulesProps extends AlertCatalogProps {
  /**
   * Name of the PrometheusRule.
   * @default 'pms-alerts'
   */
  readonly name?: string;
  /**
   * Extra labels on the PrometheusRule object.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** `HighErrorRate` → `high-error-rate`: the runbook page name of an alert. */
export function runbookSlug(alert: string): string {
  return alert
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

const pct = (ratio: number): string => `${+(ratio * 100).toFixed(3)}%`;
/** Seconds as the operations template writes them: `500ms` below a second, `2.5s` above. */
const secs = (seconds: number): string => (seconds < 1 ? `${+(seconds * 1000).toFixed(3)}ms` : `${seconds}s`);

/**
 * The alert catalog of one environment: every alert with its PromQL (from signals.ts), threshold
 * (from `monitoring`), tier with its priority and severity (capped at Medium: P3 / warning where
 * `pages` is false), and annotations. Tiers and `for` durations are the operations template's
 * (docs/monitoring.md traces each to its line). A pure function: the alert tables and the construct both read it.
 */
export function alertCatalog(props: AlertCatalogProps): { alerts: AlertRule[]; records: RecordingRule[] } {
  const m = props.monitoring;
  const ns = { namespace: props.namespace };
  const backend = { namespace: props.namespace, job: m.job };
  const database = { namespace: props.namespace, job: m.databaseJob };
  const cache = { namespace: props.namespace, job: m.cacheJob };
  const env = props.environment;
  const budget = 1 - m.availabilityObjective;

  interface Entry {
    alert: string;
    group: string;
    expr: string;
    for: string;
    tier: Tier;
    threshold: string;
    summary: string;
    description: string;
    dashboard: DashboardSlug;
  }
  const entries: Entry[] = [
    // --- service -------------------------------------------------------------------------------
    {
      alert: 'ServiceDown',
      group: 'service',
      expr: signal.targetDown(backend),
      for: '1m',
      tier: 'Critical',
      threshold: `no ${m.job} target up (or none scraped)`,
      summary: `PMS backend is down in ${env}`,
      description: `No {{ $labels.job }} target in namespace {{ $labels.namespace }} has answered a scrape for 1 minute (up == 0 or no target at all). Patients and staff cannot use the PMS.`,
      dashboard: 'service-overview',
    },
    {
      alert: 'HighErrorRate',
      group: 'service',
      expr: `${signal.errorRatio(backend)} > ${m.errorRatio}`,
      for: '5m',
      tier: 'High',
      threshold: `> ${pct(m.errorRatio)} of requests 5xx`,
      summary: `More than ${pct(m.errorRatio)} of PMS requests fail in ${env}`,
      description: `{{ $value | humanizePercentage }} of requests to ${m.job} in ${props.namespace} were answered 5xx over the last 5 minutes (threshold ${pct(m.errorRatio)}). If a flag rollout is in progress, roll it back with the kill switch.`,
      dashboard: 'service-overview',
    },
    {
      alert: 'ElevatedErrorRate',
      group: 'service',
      expr: `${signal.errorRatio(backend)} > ${m.elevatedErrorRatio}`,
      for: '5m',
      tier: 'Medium',
      threshold: `> ${pct(m.elevatedErrorRatio)} of requests 5xx`,
      summary: `More than ${pct(m.elevatedErrorRatio)} of PMS requests fail in ${env}`,
      description: `{{ $value | humanizePercentage }} of requests to ${m.job} in ${props.namespace} were answered 5xx over the last 5 minutes (threshold ${pct(m.elevatedErrorRatio)}; HighErrorRate pages at ${pct(m.errorRatio)}). Find the cause within the hour, before it becomes an outage.`,
      dashboard: 'service-overview',
    },
    {
      alert: 'SlowResponseTime',
      group: 'service',
      expr: `${signal.latencyQuantile(backend, 0.95)} > ${m.p95LatencySeconds}`,
      for: '5m',
      tier: 'High',
      threshold: `p95 > ${secs(m.p95LatencySeconds)}`,
      summary: `PMS p95 response time above ${secs(m.p95LatencySeconds)} in ${env}`,
      description: `The 95th percentile of ${m.job} request latency in ${props.namespace} is {{ $value | humanizeDuration }} (threshold ${secs(m.p95LatencySeconds)}) over the last 5 minutes.`,
      dashboard: 'service-overview',
    },
    {
      alert: 'HighP99Latency',
      group: 'service',
      expr: `${signal.latencyQuantile(backend, 0.99)} > ${m.p99LatencySeconds}`,
      for: '5m',
      tier: 'Medium',
      threshold: `p99 > ${secs(m.p99LatencySeconds)}`,
      summary: `PMS p99 response time above ${secs(m.p99LatencySeconds)} in ${env}`,
      description: `The 99th percentile of ${m.job} request latency in ${props.namespace} is {{ $value | humanizeDuration }} (threshold ${secs(m.p99LatencySeconds)}): the slowest requests, often one endpoint or one tenant.`,
      dashboard: 'service-overview',
    },
    // --- dependencies --------------------------------------------------------------------------
    {
      alert: 'DatabaseUnavailable',
      group: 'dependencies',
      expr: signal.databaseDown(database),
      for: '1m',
      tier: 'Critical',
      threshold: 'pg_up == 0',
      summary: `PMS database unavailable in ${env}`,
      description: `The PostgreSQL exporter ({{ $labels.job }}) in {{ $labels.namespace }} has not reached the database for 1 minute (pg_up == 0). Every request that touches patient data fails.`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'DatabaseExporterMissing',
      group: 'dependencies',
      expr: signal.databaseExporterMissing(database),
      for: '15m',
      tier: 'Medium',
      threshold: `no pg_up with job="${m.databaseJob}"`,
      summary: `No PostgreSQL exporter metrics in ${env}`,
      description: `No pg_up series with job="{{ $labels.job }}" in namespace {{ $labels.namespace }} for 15 minutes: the exporter is not deployed, not scraped, or scraped under another job label than monitoring.databaseJob. DatabaseUnavailable cannot fire until it reports.`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'DatabaseConnectionPoolSaturation',
      group: 'dependencies',
      expr: `${signal.databaseConnectionSaturation(database)} > ${m.databaseConnectionSaturation}`,
      for: '5m',
      tier: 'High',
      threshold: `> ${pct(m.databaseConnectionSaturation)} of max_connections`,
      summary: `PMS database connections nearly exhausted in ${env}`,
      description: `{{ $value | humanizePercentage }} of the database's max_connections are in use in ${props.namespace} (threshold ${pct(m.databaseConnectionSaturation)}). New connections will soon be refused.`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'CacheHitRateLow',
      group: 'dependencies',
      expr: `${signal.cacheHitRatio(cache)} < ${m.cacheHitRatio}`,
      for: '10m',
      tier: 'Medium',
      threshold: `hit ratio < ${pct(m.cacheHitRatio)}`,
      summary: `PMS cache hit rate low in ${env}`,
      description: `Only {{ $value | humanizePercentage }} of cache lookups hit in ${props.namespace} over 5 minutes (threshold ${pct(m.cacheHitRatio)}). The database takes the extra load.`,
      dashboard: 'infrastructure',
    },
    // --- infrastructure ------------------------------------------------------------------------
    {
      alert: 'HighCpuUsage',
      group: 'infrastructure',
      expr: `${signal.cpuUtilization(ns)} > ${m.cpuUtilization}`,
      for: '10m',
      tier: 'Medium',
      threshold: `pod CPU > ${pct(m.cpuUtilization)} of limit`,
      summary: `Pod {{ $labels.pod }} uses most of its CPU limit in ${env}`,
      description: `Pod {{ $labels.pod }} in ${props.namespace} uses {{ $value | humanizePercentage }} of its CPU limit (threshold ${pct(m.cpuUtilization)}); it is being throttled.`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'HighMemoryUsage',
      group: 'infrastructure',
      expr: `${signal.memoryUtilization(ns)} > ${m.memoryUtilization}`,
      for: '5m',
      tier: 'Medium',
      threshold: `pod memory > ${pct(m.memoryUtilization)} of limit`,
      summary: `Pod {{ $labels.pod }} close to its memory limit in ${env}`,
      description: `Pod {{ $labels.pod }} in ${props.namespace} uses {{ $value | humanizePercentage }} of its memory limit (threshold ${pct(m.memoryUtilization)}); it will be OOM-killed at 100%.`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'DiskSpaceLow',
      group: 'infrastructure',
      expr: `${signal.diskUtilization(ns)} > ${m.diskUtilization}`,
      for: '15m',
      tier: 'Medium',
      threshold: `volume > ${pct(m.diskUtilization)} full`,
      summary: `Volume {{ $labels.persistentvolumeclaim }} almost full in ${env}`,
      description: `PersistentVolumeClaim {{ $labels.persistentvolumeclaim }} in ${props.namespace} is {{ $value | humanizePercentage }} full (threshold ${pct(m.diskUtilization)}).`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'ElevatedDiskUsage',
      group: 'infrastructure',
      expr: `${signal.diskUtilization(ns)} > ${m.elevatedDiskUtilization}`,
      for: '15m',
      tier: 'Low',
      threshold: `volume > ${pct(m.elevatedDiskUtilization)} full`,
      summary: `Volume {{ $labels.persistentvolumeclaim }} more than ${pct(m.elevatedDiskUtilization)} full in ${env}`,
      description: `PersistentVolumeClaim {{ $labels.persistentvolumeclaim }} in ${props.namespace} is {{ $value | humanizePercentage }} full (threshold ${pct(m.elevatedDiskUtilization)}; DiskSpaceLow fires at ${pct(m.diskUtilization)}). Plan the expansion or the clean-up on the next business day.`,
      dashboard: 'infrastructure',
    },
    {
      alert: 'CertificateExpiringSoon',
      group: 'infrastructure',
      expr: `${signal.certificateExpirySeconds(ns)} < ${m.certificateExpiryDays} * 86400`,
      for: '1h',
      tier: 'Low',
      threshold: `expires within ${m.certificateExpiryDays} days`,
      summary: `Certificate {{ $labels.name }} expires within ${m.certificateExpiryDays} days in ${env}`,
      description: `cert-manager Certificate {{ $labels.name }} in ${props.namespace} expires in {{ $value | humanizeDuration }} and has not been renewed.`,
      dashboard: 'infrastructure',
    },
    // --- backups -------------------------------------------------------------------------------
    {
      alert: 'BackupTooOld',
      group: 'backups',
      expr: `${signal.cronJobSuccessAge(ns, m.backupCronJob)} > ${m.backupMaxAgeHours} * 3600`,
      for: '10m',
      tier: 'High',
      threshold: `last successful ${m.backupCronJob} > ${m.backupMaxAgeHours}h ago`,
      summary: `No successful database backup for ${m.backupMaxAgeHours}h in ${env}`,
      description: `CronJob ${m.backupCronJob} in ${props.namespace} last succeeded {{ $value | humanizeDuration }} ago (threshold ${m.backupMaxAgeHours}h). The recovery point objective is at risk.`,
      dashboard: 'backups',
    },
    {
      alert: 'BackupJobFailed',
      group: 'backups',
      expr: signal.cronJobLatestRunFailed(ns, m.backupCronJob),
      for: '5m',
      tier: 'Medium',
      threshold: `the latest ${m.backupCronJob} Job failed (no success since)`,
      summary: `Database backup job {{ $labels.job_name }} failed in ${env}`,
      description: `Job {{ $labels.job_name }}, the latest run of CronJob ${m.backupCronJob} in ${props.namespace}, failed and no backup has succeeded since. The alert clears when the next run succeeds.`,
      dashboard: 'backups',
    },
    {
      alert: 'BackupNeverSucceeded',
      group: 'backups',
      expr: signal.cronJobNeverSucceeded(ns, m.backupCronJob, m.backupMaxAgeHours * 3600),
      for: '10m',
      tier: 'High',
      threshold: `${m.backupCronJob} exists > ${m.backupMaxAgeHours}h without a success`,
      summary: `Database backups have never succeeded in ${env}`,
      description: `CronJob ${m.backupCronJob} in ${props.namespace} was created {{ $value | humanizeDuration }} ago and has never completed successfully: there is no backup to restore.`,
      dashboard: 'backups',
    },
    {
      alert: 'RestoreVerificationStale',
      group: 'backups',
      expr: `${signal.cronJobSuccessAge(ns, m.restoreVerifyCronJob)} > ${m.restoreVerifyMaxAgeDays} * 86400`,
      for: '30m',
      tier: 'Medium',
      threshold: `last successful ${m.restoreVerifyCronJob} > ${m.restoreVerifyMaxAgeDays}d ago`,
      summary: `Backups not verified by a restore for ${m.restoreVerifyMaxAgeDays} days in ${env}`,
      description: `CronJob ${m.restoreVerifyCronJob} in ${props.namespace} last succeeded {{ $value | humanizeDuration }} ago (threshold ${m.restoreVerifyMaxAgeDays}d): nobody knows whether the newest dump restores.`,
      dashboard: 'backups',
    },
    {
      alert: 'RestoreVerificationFailed',
      group: 'backups',
      expr: signal.cronJobLatestRunFailed(ns, m.restoreVerifyCronJob),
      for: '5m',
      tier: 'Medium',
      threshold: `the latest ${m.restoreVerifyCronJob} Job failed (no success since)`,
      summary: `Restore verification {{ $labels.job_name }} failed in ${env}`,
      description: `Job {{ $labels.job_name }}, the latest run of CronJob ${m.restoreVerifyCronJob} in ${props.namespace}, failed: the newest dump may not restore. The alert clears when the next verification succeeds.`,
      dashboard: 'backups',
    },
    {
      alert: 'RestoreVerificationNeverSucceeded',
      group: 'backups',
      expr: signal.cronJobNeverSucceeded(ns, m.restoreVerifyCronJob, m.restoreVerifyMaxAgeDays * 86400),
      for: '30m',
      tier: 'Medium',
      threshold: `${m.restoreVerifyCronJob} exists > ${m.restoreVerifyMaxAgeDays}d without a success`,
      summary: `Backups have never been verified by a restore in ${env}`,
      description: `CronJob ${m.restoreVerifyCronJob} in ${props.namespace} was created {{ $value | humanizeDuration }} ago and has never completed successfully: no dump has ever been shown to restore.`,
      dashboard: 'backups',
    },
    // --- rollouts ------------------------------------------------------------------------------
    {
      alert: 'FeatureFlagEvaluationErrors',
      group: 'rollouts',
      expr: `${signal.flagEvaluationErrorRatio(backend)} > ${m.flagEvaluationErrorRatio}`,
      for: '5m',
      tier: 'High',
      threshold: `> ${pct(m.flagEvaluationErrorRatio)} of a flag's evaluations fail`,
      summary: `Flag {{ $labels.feature_flag_key }} evaluations fail in ${env}`,
      description: `{{ $value | humanizePercentage }} of evaluations of flag {{ $labels.feature_flag_key }} in ${props.namespace} return an error (threshold ${pct(m.flagEvaluationErrorRatio)}). Roll back with npx flagops disable {{ $labels.feature_flag_key }} --env ${env} --reason "..."`,
      dashboard: 'feature-flags',
    },
    // --- flag serving: flagd (only where flagServing.mode is flagd) --------------------------------
    ...(props.flagServing === 'flagd' ? flagdEntries() : []),
    // --- SLO: multi-window multi-burn-rate (Google SRE workbook, chapter 5) -----------------------
    {
      alert: 'ErrorBudgetBurnFast',
      group: 'slo',
      expr: burnCondition(backend, m.availabilityObjective, [
        ['1h', '5m', 14.4],
        ['6h', '30m', 6],
      ]),
      for: '2m',
      tier: 'Critical',
      threshold: `burn rate > 14.4x (1h and 5m) or > 6x (6h and 30m) of a ${pct(m.availabilityObjective)} SLO`,
      summary: `PMS error budget burning fast in ${env}`,
      description: `Requests in ${props.namespace} fail at {{ $value | humanizePercentage }}, more than 14.4x (1h) or 6x (6h) the ${pct(budget)} error budget of the ${pct(m.availabilityObjective)} availability SLO: at this rate 2% to 5% of the 30-day budget is gone within the hour.`,
      dashboard: 'slo',
    },
    {
      alert: 'ErrorBudgetBurnSlow',
      group: 'slo',
      expr: burnCondition(backend, m.availabilityObjective, [
        ['1d', '2h', 3],
        ['3d', '6h', 1],
      ]),
      for: '15m',
      tier: 'Medium',
      threshold: `burn rate > 3x (1d and 2h) or > 1x (3d and 6h) of a ${pct(m.availabilityObjective)} SLO`,
      summary: `PMS error budget burning steadily in ${env}`,
      description: `Requests in ${props.namespace} fail at {{ $value | humanizePercentage }}, above 3x (1d) or 1x (3d) the ${pct(budget)} error budget of the ${pct(m.availabilityObjective)} availability SLO: the 30-day budget will be exhausted before the period ends.`,
      dashboard: 'slo',
    },
  ];

  function flagdEntries(): Entry[] {
    const flagd = { namespace: props.namespace, job: FLAGD_NAMES.app };
    return [
      {
        alert: 'FlagServingDown',
        group: 'flags',
        expr: signal.deploymentUnavailable(ns, FLAGD_NAMES.app),
        for: '2m',
        tier: 'Critical',
        threshold: `no available ${FLAGD_NAMES.app} replica (or no ${FLAGD_NAMES.app} Deployment)`,
        summary: `Flag serving (flagd) is down in ${env}`,
        description: `Deployment ${FLAGD_NAMES.app} in {{ $labels.namespace }} has had no available replica for 2 minutes. The backend cannot evaluate flags and serves every flag's code default (off): every rollout and every flag that is on is off for all users.`,
        dashboard: 'feature-flags',
      },
      {
        alert: 'FlagdFlagSourceNotLoaded',
        group: 'flags',
        expr: signal.flagdSourceNotLoaded(flagd, FLAGD_NAMES.container),
        for: '5m',
        tier: 'High',
        threshold: `a ${FLAGD_NAMES.app} container running but not ready, or flagd answering FLAG_NOT_FOUND`,
        summary: `flagd has not loaded the flag set in ${env}`,
        description: `flagd in ${props.namespace} has not loaded flags.flagd.json for 5 minutes ({{ if $labels.pod }}pod {{ $labels.pod }} runs but is not ready: its file source has not synced{{ else }}it answers FLAG_NOT_FOUND at {{ $value | humanize }}/s: the flag set it holds lacks flags that flagops wrote{{ end }}). Affected evaluations fall back to the code default (off).`,
        dashboard: 'feature-flags',
      },
    ];
  }

  const alerts = entries.map((e): AlertRule => {
    const paged = priorityOf(e.tier);
    const priority: Priority = !m.pages && PAGING_PRIORITIES.includes(paged) ? 'P3' : paged;
    return {
      alert: e.alert,
      group: `pms.${e.group}`,
      expr: e.expr,
      for: e.for,
      tier: tierOf(priority),
      severity: severityOf(priority),
      priority,
      threshold: e.threshold,
      summary: e.summary,
      description: e.description,
      runbookUrl: `${m.runbookBaseUrl}/${runbookSlug(e.alert)}.md`,
      dashboardUrl: `${m.grafanaUrl}/d/${dashboardUid(env, e.dashboard)}`,
    };
  });
  const records = signal.SLO_WINDOWS.map(
    (window): RecordingRule => ({
      record: signal.sloErrorRatioRecord(window),
      group: 'pms.slo',
      expr: signal.errorRatio(backend, window),
      labels: { namespace: props.namespace, job: m.job, slo: 'availability' },
    }),
  );
  return { alerts, records };
}

/** `(long > k*budget and short > k*budget) or ...` for each [long, short, factor] window pair. */
function burnCondition(s: signal.SignalScope, objective: number, pairs: readonly (readonly [signal.SloWindow, signal.SloWindow, number])[]): string {
  return pairs
    .map(([long, short, factor]) => {
      const limit = `(${factor} * (1 - ${objective}))`;
      return `(${signal.sloErrorRatio(s, long)} > ${limit} and ${signal.sloErrorRatio(s, short)} > ${limit})`;
    })
    .join(' or ');
}

type RuleGroupSpec = IPrometheusRule['spec']['groups'] extends (infer G)[] | undefined ? G : never;

/**
 * The alert rules of one environment as a `PrometheusRule` (monitoring.coreos.com/v1) labelled
 * with `release` so kube-prometheus-stack's Prometheus loads it. Groups: service, dependencies,
 * infrastructure, backups, rollouts, flags (flagd serving), slo (recording rules first, then the
 * burn-rate alerts).
 */
export class AlertRules extends Construct {
  public readonly alerts: readonly AlertRule[];
  public readonly records: readonly RecordingRule[];
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: AlertRulesProps) {
    super(scope, id);
    const m = props.monitoring;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(m.release) || m.release.length > 63) {
      throw new Error(`The 'release' label must be a Kubernetes label value that names the kube-prometheus-stack Helm release. The value passed is: ${JSON.stringify(m.release)}`);
    }
    const { alerts, records } = alertCatalog(props);
    this.alerts = alerts;
    this.records = records;

    const groups = new Map<string, RuleGroupSpec['rules']>();
    const rulesOf = (group: string): NonNullable<RuleGroupSpec['rules']> => {
      let rules = groups.get(group);
      if (!rules) groups.set(group, (rules = []));
      return rules!;
    };
    for (const r of records) rulesOf(r.group).push({ record: r.record, expr: r.expr, labels: { ...r.labels } });
    for (const a of alerts) {
      rulesOf(a.group).push({
        alert: a.alert,
        expr: a.expr,
        for: a.for,
        labels: { severity: a.severity, priority: a.priority, environment: props.environment, namespace: props.namespace },
        annotations: {
          summary: a.summary,
          description: a.description,
          runbook_url: a.runbookUrl,
          ...(a.dashboardUrl ? { dashboard_url: a.dashboardUrl } : {}),
        },
      });
    }
    const order = ['pms.service', 'pms.dependencies', 'pms.infrastructure', 'pms.backups', 'pms.rollouts', 'pms.flags', 'pms.slo'];
    const spec: IPrometheusRule['spec'] = {
      groups: [...groups.entries()]
        .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
        .map(([name, rules]) => ({ name, rules })),
    };
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: props.name ?? 'pms-alerts',
        labels: { 'app.kubernetes.io/name': 'pms-alerts', 'app.kubernetes.io/component': 'monitoring', release: m.release, ...props.labels },
      },
      spec,
    });
  }
}
