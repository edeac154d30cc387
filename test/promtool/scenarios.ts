/**
 * promtool rule-test scenarios: for every alert, input series where it must fire and input series
 * where it must stay quiet. The data is fixed (an incident as it would look in Prometheus), never
 * derived from the thresholds: a threshold changed so that a real incident no longer alerts makes
 * the suite fail. `promtool-suite.ts` turns these into one promtool test file per environment.
 */

export type Environment = 'dev' | 'staging' | 'production';
export const ENVIRONMENTS: readonly Environment[] = ['dev', 'staging', 'production'];

/** Where an environment's backend lives (namespace label of every series). */
export const NAMESPACES: Record<Environment, string> = { dev: 'pms-dev', staging: 'pms-staging', production: 'pms' };

export interface Series {
  readonly series: string;
  /** promtool expanding notation: `0+60x20`, `1 1 0 0`, `0x60`. */
  readonly values: string;
}

export interface Scenario {
  readonly alert: string;
  /** What the data shows, in words (the promtool test name). */
  readonly name: string;
  /** Whether the alert fires at `evalTime`. Per environment when the thresholds differ on purpose. */
  readonly fires: boolean | Readonly<Record<Environment, boolean>>;
  /** Sample spacing. @default '1m' */
  readonly interval?: string;
  readonly evalTime: string;
  readonly series: (ns: string) => readonly Series[];
  /** Labels the firing alert carries from its expression (besides the rule's own labels). */
  readonly labels?: (ns: string) => Readonly<Record<string, string>>;
}

/** The priority each alert arrives with: [staging and production, dev]. Dev never pages. */
export const EXPECTED_PRIORITY: Readonly<Record<string, readonly [string, string]>> = {
  ServiceDown: ['P1', 'P3'],
  HighErrorRate: ['P2', 'P3'],
  SlowResponseTime: ['P2', 'P3'],
  HighP99Latency: ['P3', 'P3'],
  DatabaseUnavailable: ['P1', 'P3'],
  DatabaseExporterMissing: ['P3', 'P3'],
  DatabaseConnectionPoolSaturation: ['P2', 'P3'],
  CacheHitRateLow: ['P3', 'P3'],
  HighCpuUsage: ['P3', 'P3'],
  HighMemoryUsage: ['P3', 'P3'],
  DiskSpaceLow: ['P3', 'P3'],
  CertificateExpiringSoon: ['P4', 'P4'],
  BackupTooOld: ['P2', 'P3'],
  BackupJobFailed: ['P3', 'P3'],
  BackupNeverSucceeded: ['P2', 'P3'],
  RestoreVerificationStale: ['P3', 'P3'],
  RestoreVerificationFailed: ['P3', 'P3'],
  RestoreVerificationNeverSucceeded: ['P3', 'P3'],
  FeatureFlagEvaluationErrors: ['P2', 'P3'],
  ErrorBudgetBurnFast: ['P1', 'P3'],
  ErrorBudgetBurnSlow: ['P3', 'P3'],
};

/** The response-time table: P1/P2 page (critical), P3 warning, P4 info. */
export const EXPECTED_SEVERITY: Readonly<Record<string, string>> = { P1: 'critical', P2: 'critical', P3: 'warning', P4: 'info' };

const backend = (ns: string, extra = ''): string => `job="pms-backend", namespace="${ns}"${extra ? `, ${extra}` : ''}`;

/** Request counters: `ok` and `errors` requests per minute (5xx). */
function requests(ns: string, okPerMin: number, errorsPerMin: number, samples: number): Series[] {
  return [
    { series: `http_requests_total{${backend(ns, 'status="200"')}}`, values: `0+${okPerMin}x${samples}` },
    { series: `http_requests_total{${backend(ns, 'status="503"')}}`, values: `0+${errorsPerMin}x${samples}` },
  ];
}

/** Latency histogram: `fast` requests per minute under 250 ms, `slow` ones between 2.5 s and 10 s. */
function latency(ns: string, fast: number, slow: number): Series[] {
  const bucket = (le: string, perMin: number): Series => ({
    series: `http_request_duration_seconds_bucket{${backend(ns, `le="${le}"`)}}`,
    values: `0+${perMin}x20`,
  });
  return [bucket('0.25', fast), bucket('1', fast), bucket('2.5', fast), bucket('10', fast + slow), bucket('+Inf', fast + slow)];
}

const HOUR = 3600;
const DAY = 86400;

/**
 * kube-state-metrics series of one Job a CronJob created `createdAt` seconds into the test (negative:
 * before it): `failed` ended failed (retries exhausted), `retried` had a failed pod and then a
 * successful retry, `succeeded` succeeded at once.
 */
function jobRun(ns: string, job: string, createdAt: number, outcome: 'failed' | 'retried' | 'succeeded'): Series[] {
  const j = `namespace="${ns}", job_name="${job}"`;
  return [
    { series: `kube_job_created{${j}}`, values: `${createdAt}x60` },
    { series: `kube_job_status_failed{${j}}`, values: `${outcome === 'succeeded' ? 0 : 1}x60` },
    { series: `kube_job_status_succeeded{${j}}`, values: `${outcome === 'failed' ? 0 : 1}x60` },
    { series: `kube_job_failed{${j}, condition="true"}`, values: `${outcome === 'failed' ? 1 : 0}x60` },
    { series: `kube_job_failed{${j}, condition="false"}`, values: `${outcome === 'failed' ? 0 : 1}x60` },
  ];
}

/** `kube_cronjob_status_last_successful_time` of a CronJob, `at` seconds into the test. */
const lastSuccess = (ns: string, cronjob: string, at: number): Series => ({
  series: `kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob="${cronjob}"}`,
  values: `${at}x60`,
});

export const SCENARIOS: readonly Scenario[] = [
  // --- ServiceDown ---------------------------------------------------------------------------
  {
    alert: 'ServiceDown',
    name: 'the only backend target stops answering scrapes',
    fires: true,
    evalTime: '6m',
    series: (ns) => [{ series: `up{${backend(ns, 'instance="10.0.0.1:8000"')}}`, values: '1 1 1 0 0 0 0 0 0 0' }],
    labels: (ns) => ({ job: 'pms-backend', namespace: ns }),
  },
  {
    alert: 'ServiceDown',
    name: 'no backend target is scraped at all',
    fires: true,
    evalTime: '5m',
    series: (ns) => [{ series: `up{job="other-app", namespace="${ns}", instance="10.0.0.9:8000"}`, values: '1x10' }],
    labels: (ns) => ({ job: 'pms-backend', namespace: ns }),
  },
  {
    alert: 'ServiceDown',
    name: 'one of two backend replicas is down',
    fires: false,
    evalTime: '6m',
    series: (ns) => [
      { series: `up{${backend(ns, 'instance="10.0.0.1:8000"')}}`, values: '1 1 1 0 0 0 0 0 0 0' },
      { series: `up{${backend(ns, 'instance="10.0.0.2:8000"')}}`, values: '1x10' },
    ],
  },
  // --- HighErrorRate -------------------------------------------------------------------------
  {
    alert: 'HighErrorRate',
    name: 'a third of requests fail with 503',
    fires: true,
    evalTime: '15m',
    series: (ns) => requests(ns, 60, 30, 20),
  },
  {
    alert: 'HighErrorRate',
    name: '7% of requests fail: above the 5% of staging and production, below the 10% of dev',
    fires: { dev: false, staging: true, production: true },
    evalTime: '15m',
    series: (ns) => requests(ns, 93, 7, 20),
  },
  {
    alert: 'HighErrorRate',
    name: '1% of requests fail',
    fires: false,
    evalTime: '15m',
    series: (ns) => requests(ns, 99, 1, 20),
  },
  // --- SlowResponseTime / HighP99Latency -----------------------------------------------------
  {
    alert: 'SlowResponseTime',
    name: 'every request takes several seconds',
    fires: true,
    evalTime: '15m',
    series: (ns) => latency(ns, 0, 10),
  },
  {
    alert: 'SlowResponseTime',
    name: 'requests answer within 250 ms',
    fires: false,
    evalTime: '15m',
    series: (ns) => latency(ns, 100, 0),
  },
  {
    alert: 'HighP99Latency',
    name: 'every request takes several seconds',
    fires: true,
    evalTime: '15m',
    series: (ns) => latency(ns, 0, 10),
  },
  {
    alert: 'HighP99Latency',
    name: 'requests answer within 250 ms',
    fires: false,
    evalTime: '15m',
    series: (ns) => latency(ns, 100, 0),
  },
  // --- DatabaseUnavailable / pool / cache ----------------------------------------------------
  {
    alert: 'DatabaseUnavailable',
    name: 'the exporter stops reaching PostgreSQL',
    fires: true,
    evalTime: '6m',
    series: (ns) => [{ series: `pg_up{job="postgres-exporter", namespace="${ns}", instance="10.0.1.1:9187"}`, values: '1 1 0 0 0 0 0 0 0 0' }],
    labels: (ns) => ({ job: 'postgres-exporter', namespace: ns }),
  },
  {
    alert: 'DatabaseUnavailable',
    name: 'PostgreSQL answers',
    fires: false,
    evalTime: '6m',
    series: (ns) => [{ series: `pg_up{job="postgres-exporter", namespace="${ns}", instance="10.0.1.1:9187"}`, values: '1x10' }],
  },
  {
    alert: 'DatabaseUnavailable',
    name: 'no exporter reports pg_up at all (not deployed, or another job label): not a page',
    fires: false,
    evalTime: '6m',
    series: (ns) => [{ series: `pg_up{job="prometheus-postgres-exporter", namespace="${ns}", instance="10.0.1.1:9187"}`, values: '1x10' }],
  },
  {
    alert: 'DatabaseExporterMissing',
    name: 'the exporter is scraped under another job label than databaseJob',
    fires: true,
    evalTime: '20m',
    series: (ns) => [{ series: `pg_up{job="prometheus-postgres-exporter", namespace="${ns}", instance="10.0.1.1:9187"}`, values: '1x30' }],
    labels: (ns) => ({ job: 'postgres-exporter', namespace: ns }),
  },
  {
    alert: 'DatabaseExporterMissing',
    name: 'the exporter reports, even that PostgreSQL is down',
    fires: false,
    evalTime: '20m',
    series: (ns) => [{ series: `pg_up{job="postgres-exporter", namespace="${ns}", instance="10.0.1.1:9187"}`, values: '0x30' }],
  },
  {
    alert: 'DatabaseConnectionPoolSaturation',
    name: '97 of 100 connections in use',
    fires: true,
    evalTime: '10m',
    series: (ns) => [
      { series: `pg_stat_activity_count{job="postgres-exporter", namespace="${ns}", datname="pms", state="active"}`, values: '97x15' },
      { series: `pg_settings_max_connections{job="postgres-exporter", namespace="${ns}"}`, values: '100x15' },
    ],
    labels: (ns) => ({ job: 'postgres-exporter', namespace: ns }),
  },
  {
    alert: 'DatabaseConnectionPoolSaturation',
    name: '40 of 100 connections in use',
    fires: false,
    evalTime: '10m',
    series: (ns) => [
      { series: `pg_stat_activity_count{job="postgres-exporter", namespace="${ns}", datname="pms", state="active"}`, values: '40x15' },
      { series: `pg_settings_max_connections{job="postgres-exporter", namespace="${ns}"}`, values: '100x15' },
    ],
  },
  {
    alert: 'CacheHitRateLow',
    name: 'nine in ten cache lookups miss',
    fires: true,
    evalTime: '20m',
    series: (ns) => [
      { series: `redis_keyspace_hits_total{job="redis-exporter", namespace="${ns}"}`, values: '0+10x30' },
      { series: `redis_keyspace_misses_total{job="redis-exporter", namespace="${ns}"}`, values: '0+90x30' },
    ],
    labels: (ns) => ({ job: 'redis-exporter', namespace: ns }),
  },
  {
    alert: 'CacheHitRateLow',
    name: '95% of cache lookups hit',
    fires: false,
    evalTime: '20m',
    series: (ns) => [
      { series: `redis_keyspace_hits_total{job="redis-exporter", namespace="${ns}"}`, values: '0+95x30' },
      { series: `redis_keyspace_misses_total{job="redis-exporter", namespace="${ns}"}`, values: '0+5x30' },
    ],
  },
  // --- CPU / memory / disk / certificates ----------------------------------------------------
  {
    alert: 'HighCpuUsage',
    name: 'a backend pod runs at 98% of its CPU limit',
    fires: true,
    evalTime: '20m',
    series: (ns) => [
      { series: `container_cpu_usage_seconds_total{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend"}`, values: '0+59x30' },
      { series: `kube_pod_container_resource_limits{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend", resource="cpu", unit="core"}`, values: '1x30' },
    ],
    labels: (ns) => ({ namespace: ns, pod: 'pms-backend-7d9f-abcde' }),
  },
  {
    alert: 'HighCpuUsage',
    name: 'a backend pod runs at half its CPU limit',
    fires: false,
    evalTime: '20m',
    series: (ns) => [
      { series: `container_cpu_usage_seconds_total{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend"}`, values: '0+30x30' },
      { series: `kube_pod_container_resource_limits{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend", resource="cpu", unit="core"}`, values: '1x30' },
    ],
  },
  {
    alert: 'HighMemoryUsage',
    name: 'a backend pod uses 98% of its memory limit',
    fires: true,
    evalTime: '10m',
    series: (ns) => [
      { series: `container_memory_working_set_bytes{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend"}`, values: '980000000x15' },
      { series: `kube_pod_container_resource_limits{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend", resource="memory", unit="byte"}`, values: '1000000000x15' },
    ],
    labels: (ns) => ({ namespace: ns, pod: 'pms-backend-7d9f-abcde' }),
  },
  {
    alert: 'HighMemoryUsage',
    name: 'a backend pod uses half its memory limit',
    fires: false,
    evalTime: '10m',
    series: (ns) => [
      { series: `container_memory_working_set_bytes{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend"}`, values: '500000000x15' },
      { series: `kube_pod_container_resource_limits{namespace="${ns}", pod="pms-backend-7d9f-abcde", container="backend", resource="memory", unit="byte"}`, values: '1000000000x15' },
    ],
  },
  {
    alert: 'DiskSpaceLow',
    name: 'the backup volume is 93% full',
    fires: true,
    evalTime: '30m',
    series: (ns) => [
      { series: `kubelet_volume_stats_used_bytes{namespace="${ns}", persistentvolumeclaim="pms-db-backups"}`, values: '93x40' },
      { series: `kubelet_volume_stats_capacity_bytes{namespace="${ns}", persistentvolumeclaim="pms-db-backups"}`, values: '100x40' },
    ],
    labels: (ns) => ({ namespace: ns, persistentvolumeclaim: 'pms-db-backups' }),
  },
  {
    alert: 'DiskSpaceLow',
    name: 'the backup volume is half full',
    fires: false,
    evalTime: '30m',
    series: (ns) => [
      { series: `kubelet_volume_stats_used_bytes{namespace="${ns}", persistentvolumeclaim="pms-db-backups"}`, values: '50x40' },
      { series: `kubelet_volume_stats_capacity_bytes{namespace="${ns}", persistentvolumeclaim="pms-db-backups"}`, values: '100x40' },
    ],
  },
  {
    alert: 'CertificateExpiringSoon',
    name: 'the TLS certificate expires in 10 days',
    fires: true,
    evalTime: '90m',
    series: (ns) => [{ series: `certmanager_certificate_expiration_timestamp_seconds{namespace="${ns}", name="pms-api-tls"}`, values: `${10 * DAY}x100` }],
    labels: (ns) => ({ namespace: ns, name: 'pms-api-tls' }),
  },
  {
    alert: 'CertificateExpiringSoon',
    name: 'the TLS certificate was renewed for 90 days',
    fires: false,
    evalTime: '90m',
    series: (ns) => [{ series: `certmanager_certificate_expiration_timestamp_seconds{namespace="${ns}", name="pms-api-tls"}`, values: `${90 * DAY}x100` }],
  },
  {
    alert: 'CertificateExpiringSoon',
    name: 'cert-manager scraped by its default ServiceMonitor (namespace moved to exported_namespace) reports 10 days left',
    fires: true,
    evalTime: '90m',
    series: (ns) => [
      {
        series: `certmanager_certificate_expiration_timestamp_seconds{namespace="cert-manager", exported_namespace="${ns}", name="pms-api-tls", job="cert-manager"}`,
        values: `${10 * DAY}x100`,
      },
    ],
    labels: (ns) => ({ namespace: ns, name: 'pms-api-tls' }),
  },
  {
    alert: 'CertificateExpiringSoon',
    name: 'a certificate of another namespace expires, seen through cert-manager’s default ServiceMonitor',
    fires: false,
    evalTime: '90m',
    series: () => [
      {
        series: `certmanager_certificate_expiration_timestamp_seconds{namespace="cert-manager", exported_namespace="billing", name="billing-tls", job="cert-manager"}`,
        values: `${10 * DAY}x100`,
      },
    ],
  },
  // --- Backups (kube-state-metrics). promtool's clock starts at 0: "55 hours ago" is -55h. --------
  {
    alert: 'BackupTooOld',
    name: 'the last successful backup was 55 hours ago',
    fires: true,
    evalTime: '20m',
    series: (ns) => [{ series: `kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob="pms-db-backup"}`, values: `${-55 * HOUR}x30` }],
    labels: (ns) => ({ namespace: ns, cronjob: 'pms-db-backup' }),
  },
  {
    alert: 'BackupTooOld',
    name: 'the last successful backup was 9 hours ago',
    fires: false,
    evalTime: '20m',
    series: (ns) => [{ series: `kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob="pms-db-backup"}`, values: `${-9 * HOUR}x30` }],
  },
  {
    alert: 'BackupJobFailed',
    name: 'the nightly backup job failed after the last success of yesterday',
    fires: true,
    evalTime: '10m',
    series: (ns) => [lastSuccess(ns, 'pms-db-backup', -25 * HOUR), ...jobRun(ns, 'pms-db-backup-29380080', -HOUR, 'failed')],
    labels: (ns) => ({ namespace: ns, job_name: 'pms-db-backup-29380080' }),
  },
  {
    alert: 'BackupJobFailed',
    name: 'the first backup job failed and no backup ever succeeded',
    fires: true,
    evalTime: '10m',
    series: (ns) => jobRun(ns, 'pms-db-backup-29380080', -HOUR, 'failed'),
    labels: (ns) => ({ namespace: ns, job_name: 'pms-db-backup-29380080' }),
  },
  {
    alert: 'BackupJobFailed',
    name: 'the backup job succeeded; another CronJob failed',
    fires: false,
    evalTime: '10m',
    series: (ns) => [...jobRun(ns, 'pms-db-backup-29380080', -HOUR, 'succeeded'), ...jobRun(ns, 'report-export-29380080', -HOUR, 'failed')],
  },
  {
    alert: 'BackupJobFailed',
    name: 'a backup pod failed and the retry within the same Job succeeded',
    fires: false,
    evalTime: '10m',
    series: (ns) => [lastSuccess(ns, 'pms-db-backup', -HOUR / 2), ...jobRun(ns, 'pms-db-backup-29380080', -HOUR, 'retried')],
  },
  {
    alert: 'BackupJobFailed',
    name: 'yesterday’s failed Job is still in the history, today’s run succeeded',
    fires: false,
    evalTime: '10m',
    series: (ns) => [
      lastSuccess(ns, 'pms-db-backup', -HOUR / 2),
      ...jobRun(ns, 'pms-db-backup-29378640', -25 * HOUR, 'failed'),
      ...jobRun(ns, 'pms-db-backup-29380080', -HOUR, 'succeeded'),
    ],
  },
  {
    alert: 'BackupNeverSucceeded',
    name: 'the backup CronJob exists for 55 hours without a success',
    fires: true,
    evalTime: '20m',
    series: (ns) => [{ series: `kube_cronjob_created{namespace="${ns}", cronjob="pms-db-backup"}`, values: `${-55 * HOUR}x30` }],
    labels: (ns) => ({ namespace: ns, cronjob: 'pms-db-backup' }),
  },
  {
    alert: 'BackupNeverSucceeded',
    name: 'the backup CronJob has succeeded before',
    fires: false,
    evalTime: '20m',
    series: (ns) => [
      { series: `kube_cronjob_created{namespace="${ns}", cronjob="pms-db-backup"}`, values: `${-55 * HOUR}x30` },
      { series: `kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob="pms-db-backup"}`, values: `${-9 * HOUR}x30` },
    ],
  },
  {
    alert: 'RestoreVerificationStale',
    name: 'the last successful restore verification was 16 days ago',
    fires: true,
    evalTime: '45m',
    series: (ns) => [{ series: `kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob="pms-db-restore-verify"}`, values: `${-16 * DAY}x60` }],
    labels: (ns) => ({ namespace: ns, cronjob: 'pms-db-restore-verify' }),
  },
  {
    alert: 'RestoreVerificationStale',
    name: 'the last successful restore verification was 3 days ago',
    fires: false,
    evalTime: '45m',
    series: (ns) => [{ series: `kube_cronjob_status_last_successful_time{namespace="${ns}", cronjob="pms-db-restore-verify"}`, values: `${-3 * DAY}x60` }],
  },
  {
    alert: 'RestoreVerificationFailed',
    name: 'this week’s restore verification failed after last week’s success',
    fires: true,
    evalTime: '10m',
    series: (ns) => [lastSuccess(ns, 'pms-db-restore-verify', -7 * DAY), ...jobRun(ns, 'pms-db-restore-verify-29380320', -HOUR, 'failed')],
    labels: (ns) => ({ namespace: ns, job_name: 'pms-db-restore-verify-29380320' }),
  },
  {
    alert: 'RestoreVerificationFailed',
    name: 'the first restore verification ever failed',
    fires: true,
    evalTime: '10m',
    series: (ns) => jobRun(ns, 'pms-db-restore-verify-29380320', -HOUR, 'failed'),
    labels: (ns) => ({ namespace: ns, job_name: 'pms-db-restore-verify-29380320' }),
  },
  {
    alert: 'RestoreVerificationFailed',
    name: 'last week’s failed verification is still in the history, this week’s succeeded',
    fires: false,
    evalTime: '10m',
    series: (ns) => [
      lastSuccess(ns, 'pms-db-restore-verify', -HOUR / 2),
      ...jobRun(ns, 'pms-db-restore-verify-29370240', -7 * DAY, 'failed'),
      ...jobRun(ns, 'pms-db-restore-verify-29380320', -HOUR, 'succeeded'),
    ],
  },
  {
    alert: 'RestoreVerificationFailed',
    name: 'the backup job failed, the verification did not',
    fires: false,
    evalTime: '10m',
    series: (ns) => [lastSuccess(ns, 'pms-db-restore-verify', -DAY), ...jobRun(ns, 'pms-db-backup-29380080', -HOUR, 'failed')],
  },
  {
    alert: 'RestoreVerificationNeverSucceeded',
    name: 'the restore-verification CronJob exists for 20 days and every run failed',
    fires: true,
    evalTime: '45m',
    series: (ns) => [
      { series: `kube_cronjob_created{namespace="${ns}", cronjob="pms-db-restore-verify"}`, values: `${-20 * DAY}x60` },
      ...jobRun(ns, 'pms-db-restore-verify-29380320', -HOUR, 'failed'),
    ],
    labels: (ns) => ({ namespace: ns, cronjob: 'pms-db-restore-verify' }),
  },
  {
    alert: 'RestoreVerificationNeverSucceeded',
    name: 'the restore-verification CronJob was created 2 days ago and has not run yet',
    fires: false,
    evalTime: '45m',
    series: (ns) => [{ series: `kube_cronjob_created{namespace="${ns}", cronjob="pms-db-restore-verify"}`, values: `${-2 * DAY}x60` }],
  },
  {
    alert: 'RestoreVerificationNeverSucceeded',
    name: 'the restore verification has succeeded before',
    fires: false,
    evalTime: '45m',
    series: (ns) => [
      { series: `kube_cronjob_created{namespace="${ns}", cronjob="pms-db-restore-verify"}`, values: `${-20 * DAY}x60` },
      lastSuccess(ns, 'pms-db-restore-verify', -3 * DAY),
    ],
  },
  // --- Rollouts ------------------------------------------------------------------------------
  {
    alert: 'FeatureFlagEvaluationErrors',
    name: 'a fifth of one flag’s evaluations fail',
    fires: true,
    evalTime: '15m',
    series: (ns) => [
      { series: `feature_flag_evaluation_requests_total{${backend(ns, 'feature_flag_key="telehealth_appointments_enabled"')}}`, values: '0+100x20' },
      { series: `feature_flag_evaluation_error_total{${backend(ns, 'feature_flag_key="telehealth_appointments_enabled"')}}`, values: '0+20x20' },
    ],
    labels: () => ({ feature_flag_key: 'telehealth_appointments_enabled' }),
  },
  {
    alert: 'FeatureFlagEvaluationErrors',
    name: 'flag evaluations succeed',
    fires: false,
    evalTime: '15m',
    series: (ns) => [
      { series: `feature_flag_evaluation_requests_total{${backend(ns, 'feature_flag_key="telehealth_appointments_enabled"')}}`, values: '0+100x20' },
      { series: `feature_flag_evaluation_error_total{${backend(ns, 'feature_flag_key="telehealth_appointments_enabled"')}}`, values: '0x20' },
    ],
  },
  // --- SLO burn rates (the recording rules run too) -------------------------------------------
  {
    alert: 'ErrorBudgetBurnFast',
    name: 'half of all requests fail for 70 minutes',
    fires: true,
    evalTime: '70m',
    series: (ns) => requests(ns, 50, 50, 80),
    labels: (ns) => ({ job: 'pms-backend', namespace: ns, slo: 'availability' }),
  },
  {
    alert: 'ErrorBudgetBurnFast',
    name: '0.05% of requests fail',
    fires: false,
    evalTime: '70m',
    series: (ns) => requests(ns, 1999, 1, 80),
  },
  {
    alert: 'ErrorBudgetBurnSlow',
    name: '5% of requests fail for 3 hours (the 1d and 3d windows see only those 3 hours)',
    fires: true,
    evalTime: '3h',
    series: (ns) => requests(ns, 950, 50, 200),
    labels: (ns) => ({ job: 'pms-backend', namespace: ns, slo: 'availability' }),
  },
  {
    alert: 'ErrorBudgetBurnSlow',
    name: '0.05% of requests fail for 3 hours',
    fires: false,
    evalTime: '3h',
    series: (ns) => requests(ns, 1999, 1, 200),
  },
];

export const firesIn = (s: Scenario, env: Environment): boolean => (typeof s.fires === 'boolean' ? s.fires : s.fires[env]);
