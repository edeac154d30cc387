/**
 * The PromQL of every signal, in one place: alert rules, dashboards and `flagops monitor` all
 * build their queries from these functions, so a threshold and the query it applies to can never
 * disagree between them.
 */

/** Label matchers selecting one environment's backend. */
export interface SignalScope {
  /** Kubernetes namespace (`namespace` label). */
  readonly namespace: string;
  /** Scrape job (`job` label). */
  readonly job: string;
}

/** A range window in PromQL syntax (`5m`) or Grafana's `$__rate_interval`. */
export type Window = string;

const selector = (s: SignalScope, extra = ''): string => `job="${s.job}", namespace="${s.namespace}"${extra ? `, ${extra}` : ''}`;

/** Requests per second. */
export function requestRate(s: SignalScope, window: Window = '5m'): string {
  return `sum(rate(http_requests_total{${selector(s)}}[${window}]))`;
}

/** Share of requests answered with a 5xx status (0..1). */
export function errorRatio(s: SignalScope, window: Window = '5m'): string {
  return `sum(rate(http_requests_total{${selector(s, 'status=~"5.."')}}[${window}])) / sum(rate(http_requests_total{${selector(s)}}[${window}]))`;
}

/** Request latency quantile in seconds (0.95 for p95). */
export function latencyQuantile(s: SignalScope, quantile: number, window: Window = '5m'): string {
  return `histogram_quantile(${quantile}, sum by (le) (rate(http_request_duration_seconds_bucket{${selector(s)}}[${window}])))`;
}

/**
 * Share of OpenFeature flag evaluations that ended in an error (0..1), per flag, from the
 * OpenFeature MetricsHook counters. `flag` narrows it to one flag.
 */
export function flagEvaluationErrorRatio(s: SignalScope, window: Window = '5m', flag?: string): string {
  const f = flag ? `feature_flag_key="${flag}"` : '';
  return (
    `sum by (feature_flag_key) (rate(feature_flag_evaluation_error_total{${selector(s, f)}}[${window}]))` +
    ` / sum by (feature_flag_key) (rate(feature_flag_evaluation_requests_total{${selector(s, f)}}[${window}]))`
  );
}

// ---------------------------------------------------------------------------------------------
// Service health, dependencies, infrastructure, backups, rollouts and the SLO. Each function
// returns a PromQL expression; alert rules compare it with a threshold from environment.ts,
// dashboards plot it with `$__rate_interval` as the window.
// ---------------------------------------------------------------------------------------------

/** Label matchers for one environment's namespace only (cAdvisor, kubelet, kube-state-metrics, cert-manager). */
export interface NamespaceScope {
  readonly namespace: string;
}

const inNamespace = (s: NamespaceScope, extra = ''): string => `namespace="${s.namespace}"${extra ? `, ${extra}` : ''}`;

/** 1 while at least one target of the job is up, 0 when all are down; absent when none is scraped. */
export function targetUp(s: SignalScope): string {
  return `max by (namespace, job) (up{${selector(s)}})`;
}

/** 1 when no target of the job reports up (all down, or none scraped at all). */
export function targetDown(s: SignalScope): string {
  return `${targetUp(s)} == 0 or absent(up{${selector(s)}})`;
}

/** 1 while the PostgreSQL exporter reaches the database (`pg_up`), 0 when it cannot. */
export function databaseUp(s: SignalScope): string {
  return `max by (namespace, job) (pg_up{${selector(s)}})`;
}

/** 1 when the exporter reports that it cannot reach the database (`pg_up == 0`). */
export function databaseDown(s: SignalScope): string {
  return `${databaseUp(s)} == 0`;
}

/**
 * 1 when no exporter with the job label reports `pg_up` at all: the exporter is not deployed,
 * not scraped, or scraped under another `job` label than `databaseJob`.
 */
export function databaseExporterMissing(s: SignalScope): string {
  return `absent(pg_up{${selector(s)}})`;
}

/** Database connections in use / `max_connections` (0..1), per database server. */
export function databaseConnectionSaturation(s: SignalScope): string {
  return `sum by (namespace, job) (pg_stat_activity_count{${selector(s)}}) / max by (namespace, job) (pg_settings_max_connections{${selector(s)}})`;
}

/** Cache lookups that hit (0..1) over the window (Redis exporter counters). */
export function cacheHitRatio(s: SignalScope, window: Window = '5m'): string {
  const hits = `sum by (namespace, job) (rate(redis_keyspace_hits_total{${selector(s)}}[${window}]))`;
  const misses = `sum by (namespace, job) (rate(redis_keyspace_misses_total{${selector(s)}}[${window}]))`;
  return `${hits} / (${hits} + ${misses})`;
}

/** Pod CPU usage / CPU limit (0..1), per pod (cAdvisor and kube-state-metrics). */
export function cpuUtilization(s: NamespaceScope, window: Window = '5m'): string {
  return (
    `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${inNamespace(s, 'container!=""')}}[${window}]))` +
    ` / sum by (namespace, pod) (kube_pod_container_resource_limits{${inNamespace(s, 'resource="cpu"')}})`
  );
}

/** Pod memory working set / memory limit (0..1), per pod. */
export function memoryUtilization(s: NamespaceScope): string {
  return (
    `sum by (namespace, pod) (container_memory_working_set_bytes{${inNamespace(s, 'container!=""')}})` +
    ` / sum by (namespace, pod) (kube_pod_container_resource_limits{${inNamespace(s, 'resource="memory"')}})`
  );
}

/** Used / capacity (0..1) of each PersistentVolumeClaim (kubelet volume stats). */
export function diskUtilization(s: NamespaceScope): string {
  return (
    `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{${inNamespace(s)}})` +
    ` / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{${inNamespace(s)}})`
  );
}

/** Bytes per second received (`receive`) or sent (`transmit`), per pod. */
export function networkBytes(s: NamespaceScope, direction: 'receive' | 'transmit', window: Window = '5m'): string {
  return `sum by (pod) (rate(container_network_${direction}_bytes_total{${inNamespace(s)}}[${window}]))`;
}

/** Container restarts per pod over the window. */
export function podRestarts(s: NamespaceScope, window: Window = '1h'): string {
  return `sum by (pod) (increase(kube_pod_container_status_restarts_total{${inNamespace(s)}}[${window}]))`;
}

/**
 * Seconds until each cert-manager Certificate in the namespace expires. cert-manager's default
 * ServiceMonitor (`honorLabels: false`) moves the Certificate's namespace to `exported_namespace`
 * (`namespace` is then cert-manager's own); with `honorLabels: true` it stays in `namespace`.
 * Both shapes are matched and de-duplicated per Certificate.
 */
export function certificateExpirySeconds(s: NamespaceScope): string {
  const metric = 'certmanager_certificate_expiration_timestamp_seconds';
  const exported = `label_replace(${metric}{exported_namespace="${s.namespace}"}, "namespace", "${s.namespace}", "", "")`;
  const honored = `${metric}{${inNamespace(s, 'exported_namespace=""')}}`;
  return `min by (namespace, name) (${exported} or ${honored}) - time()`;
}

/** Seconds since a CronJob last completed successfully (kube-state-metrics). */
export function cronJobSuccessAge(s: NamespaceScope, cronjob: string): string {
  return `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${inNamespace(s, `cronjob="${cronjob}"`)}})`;
}

/**
 * A CronJob that exists for longer than `graceSeconds` and has never completed successfully
 * (kube-state-metrics exports `kube_cronjob_status_last_successful_time` only after the first success).
 */
export function cronJobNeverSucceeded(s: NamespaceScope, cronjob: string, graceSeconds: number): string {
  const where = inNamespace(s, `cronjob="${cronjob}"`);
  return (
    `(time() - max by (namespace, cronjob) (kube_cronjob_created{${where}})) > ${graceSeconds}` +
    ` unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${where}}`
  );
}

/**
 * The latest run of a CronJob failed: its Jobs that ended failed (the Job's `Failed` condition:
 * retries exhausted or deadline exceeded; a Job whose retry succeeded is not failed) and were
 * created after the CronJob's last success, or at any time while it has never succeeded. Value 1
 * per such Job. It clears by itself once a newer run succeeds, even while the failed Job is kept
 * in the CronJob's history.
 */
export function cronJobLatestRunFailed(s: NamespaceScope, cronjob: string): string {
  const jobs = inNamespace(s, `job_name=~"${cronjob}-[0-9]+"`);
  const lastSuccess = `max by (namespace) (kube_cronjob_status_last_successful_time{${inNamespace(s, `cronjob="${cronjob}"`)}})`;
  const created = `max by (namespace, job_name) (kube_job_created{${jobs}})`;
  const failed =
    `max by (namespace, job_name) (kube_job_failed{${inNamespace(s, `job_name=~"${cronjob}-[0-9]+", condition="true"`)}}) == 1` +
    ` unless on (namespace, job_name) max by (namespace, job_name) (kube_job_status_succeeded{${jobs}}) > 0`;
  const sinceLastSuccess = `(${created} > on (namespace) group_left () ${lastSuccess}) or on (namespace, job_name) (${created} unless on (namespace) ${lastSuccess})`;
  return `(${failed}) and on (namespace, job_name) (${sinceLastSuccess})`;
}

/** Duration in seconds of the CronJob's Jobs that completed. */
export function cronJobDuration(s: NamespaceScope, cronjob: string): string {
  const where = inNamespace(s, `job_name=~"${cronjob}-[0-9]+"`);
  return `max by (job_name) (kube_job_status_completion_time{${where}} - kube_job_status_start_time{${where}})`;
}

/** Flag evaluations per second, by flag and variant (OpenFeature MetricsHook `evaluation_success_total`). */
export function flagEvaluationRate(s: SignalScope, window: Window = '5m'): string {
  return `sum by (feature_flag_key, feature_flag_variant) (rate(feature_flag_evaluation_success_total{${selector(s)}}[${window}]))`;
}

/**
 * Changes of an object's resourceVersion (kube-state-metrics) within the window: non-zero when the
 * object was updated. For the flag ConfigMap every change is a new checksum annotation.
 */
export function configMapChanges(s: NamespaceScope, configmap: string, window: Window = '5m'): string {
  return `changes(kube_configmap_metadata_resource_version{${inNamespace(s, `configmap="${configmap}"`)}}[${window}]) > 0`;
}

/** Deployment rollouts (a new observed generation) within the window. */
export function deploymentChanges(s: NamespaceScope, deployment: string, window: Window = '5m'): string {
  return `changes(kube_deployment_status_observed_generation{${inNamespace(s, `deployment="${deployment}"`)}}[${window}]) > 0`;
}

/** Firing alerts of the environment (the `ALERTS` series Prometheus writes). */
export function firingAlerts(s: NamespaceScope): string {
  return `sum by (alertname, severity, priority) (ALERTS{${inNamespace(s, 'alertstate="firing"')}})`;
}

// --- SLO: availability (share of requests not answered 5xx), multi-window multi-burn-rate ----

/** The windows the SLO recording rules precompute the error ratio over (Google SRE workbook). */
export const SLO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SloWindow = (typeof SLO_WINDOWS)[number];

/** Name of the recording rule holding the error ratio over `window`. */
export function sloErrorRatioRecord(window: SloWindow): string {
  return `pms:http_requests_errors:ratio_rate${window}`;
}

/** The recorded error ratio of one environment over `window` (needs the recording rules). */
export function sloErrorRatio(s: SignalScope, window: SloWindow): string {
  return `${sloErrorRatioRecord(window)}{${selector(s)}}`;
}

/**
 * Burn rate over `window`: how many times faster than sustainable the error budget is spent
 * (1 = the budget lasts exactly the SLO period).
 */
export function burnRate(s: SignalScope, window: SloWindow, objective: number): string {
  return `${sloErrorRatio(s, window)} / (1 - ${objective})`;
}

/** The share of the error budget left over `period` (1 = untouched, below 0 = overspent). */
export function errorBudgetRemaining(s: SignalScope, objective: number, period: Window = '30d'): string {
  return `1 - (${errorRatio(s, period)}) / (1 - ${objective})`;
}

// --- flag serving: flagd (constructs/flag-serving.ts) --------------------------------------------
// flagd exports OpenTelemetry metrics through its Prometheus exporter (flagd v0.16.1,
// core/pkg/telemetry/metrics.go): `feature_flag.flagd.impression` becomes
// `feature_flag_flagd_impression_total{feature_flag_key, feature_flag_result_variant, feature_flag_reason}`
// and `feature_flag.flagd.result.reason` becomes `feature_flag_flagd_result_reason_total`
// (`feature_flag_reason`, and on an error `ExceptionTypeKeyName` instead of the flag key).

/** flagd evaluations per second by flag and variant (impressions: successful evaluations only). */
export function flagdImpressionRate(s: SignalScope, window: Window = '5m'): string {
  return `sum by (feature_flag_key, feature_flag_result_variant) (rate(feature_flag_flagd_impression_total{${selector(s)}}[${window}]))`;
}

/** flagd evaluations per second that ended in an error, by error (`FLAG_NOT_FOUND`, `PARSE_ERROR`, ...). */
export function flagdErrorRate(s: SignalScope, window: Window = '5m'): string {
  return `sum by (ExceptionTypeKeyName) (rate(feature_flag_flagd_result_reason_total{${selector(s, 'feature_flag_reason="ERROR"')}}[${window}]))`;
}

/** Replicas of a Deployment that are available (ready for `minReadySeconds`), kube-state-metrics. */
export function deploymentAvailableReplicas(s: NamespaceScope, deployment: string): string {
  return `max by (namespace, deployment) (kube_deployment_status_replicas_available{${inNamespace(s, `deployment="${deployment}"`)}})`;
}

/** 1 when a Deployment has no available replica, or kube-state-metrics knows no such Deployment. */
export function deploymentUnavailable(s: NamespaceScope, deployment: string): string {
  return `${deploymentAvailableReplicas(s, deployment)} == 0 or absent(kube_deployment_status_replicas_available{${inNamespace(s, `deployment="${deployment}"`)}})`;
}

/**
 * flagd cannot serve what flagops wrote: a flagd container that runs but is not ready (its
 * `/readyz` answers 412 until the file source's first successful sync), per pod; or flagd
 * answering FLAG_NOT_FOUND (its loaded flag set lacks a flag: an empty, missing or unreadable
 * file loads as no flags at all), per namespace.
 */
export function flagdSourceNotLoaded(s: SignalScope, container: string, window: Window = '5m'): string {
  const where = inNamespace(s, `container="${container}"`);
  const runningNotReady =
    `max by (namespace, pod) (kube_pod_container_status_running{${where}}) == 1` +
    ` unless on (namespace, pod) max by (namespace, pod) (kube_pod_container_status_ready{${where}}) == 1`;
  const notFound = `sum by (namespace) (rate(feature_flag_flagd_result_reason_total{${selector(s, 'feature_flag_reason="ERROR", ExceptionTypeKeyName="FLAG_NOT_FOUND"')}}[${window}])) > 0`;
  return `(${runningNotReady}) or (${notFound})`;
}
