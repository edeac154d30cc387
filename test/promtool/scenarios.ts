/**
 * promtool rule-test scenarios: for every alert, input series where it must fire and input series
 * where it must stay quiet. The data is fixed (an incident as it would look in Prometheus), never
 * derived from the thresholds: a threshold changed so that a real incident no longer alerts makes
 * the suite fail. `promtool-suite.ts` turns these into promtool test files per environment.
 *
 * Each threshold of the operations template (seeds/004, sections 3.2 and 3.5) has a pair of
 * boundary scenarios in production: just above it (fires) and just below it (stays quiet).
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
  /**
   * The data sits just on the firing (or the quiet) side of production's threshold, within 2% of
   * it: moving the threshold 2% across the data flips the scenario (test/promtool.test.ts proves it).
   */
  readonly boundary?: 'fires' | 'quiet';
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
  ElevatedErrorRate: ['P3', 'P3'],
  SlowResponseTime: ['P2', 'P3'],
  HighP99Latency: ['P3', 'P3'],
  DatabaseUnavailable: ['P1', 'P3'],
  DatabaseExporterMissing: ['P3', 'P3'],
  DatabaseConnectionPoolSaturation: ['P2', 'P3'],
  CacheHitRateLow: ['P3', 'P3'],
  HighCpuUsage: ['P3', 'P3'],
  HighMemoryUsage: ['P3', 'P3'],
  DiskSpaceLow: ['P3', 'P3'],
  ElevatedDiskUsage: ['P4', 'P4'],
  CertificateExpiringSoon: ['P4', 'P4'],
  BackupTooOld: ['P2', 'P3'],
  BackupJobFailed: ['P3', 'P3'],
  BackupNeverSucceeded: ['P2', 'P3'],
  RestoreVerificationStale: ['P3', 'P3'],
  RestoreVerificationFailed: ['P3', 'P3'],
  RestoreVerificationNeverSucceeded: ['P3', 'P3'],
  FeatureFlagEvaluationErrors: ['P2', 'P3'],
  FlagServingDown: ['P1', 'P3'],
  FlagdFlagSourceNotLoaded: ['P2', 'P3'],
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

/** The `le` bounds of the latency histogram (a subset of prometheus_client's default buckets). */
const LE = ['0.1', '0.25', '0.5', '0.75', '1', '2.5', '5', '10', '+Inf'] as const;

/**
 * Latency histogram for 20 minutes: `perMin` requests per minute answered within each bucket's
 * bound (and above the previous one), for example `{ '0.25': 900, '1': 50, '2.5': 50 }`.
 */
function latency(ns: string, perMin: Partial<Record<(typeof LE)[number], number>>): Series[] {
  let cumulative = 0;
  return LE.map((le) => {
    cumulative += perMin[le] ?? 0;
    return { series: `http_request_duration_seconds_bucket{${backend(ns, `le="${le}"`)}}`, values: `0+${cumulative}x20` };
  });
}

/** postgres_exporter: `inUse` of 100 connections, for 15 minutes. */
function connections(ns: string, inUse: number): Series[] {
  return [
    { series: `pg_stat_activity_count{job="postgres-exporter", namespace="${ns}", datname="pms", state="active"}`, values: `${inUse}x15` },
    { series: `pg_settings_max_connections{job="postgres-exporter", namespace="${ns}"}`, values: '100x15' },
  ];
}

/** redis_exporter: `hits` and `misses` per minute, for 30 minutes. */
function cacheLookups(ns: string, hits: number, misses: number): Series[] {
  return [
    { series: `redis_keyspace_hits_total{job="redis-exporter", namespace="${ns}"}`, values: `0+${hits}x30` },
    { series: `redis_keyspace_misses_total{job="redis-exporter", namespace="${ns}"}`, values: `0+${misses}x30` },
  ];
}

const POD = 'pms-backend-7d9f-abcde';
const container = (ns: string, extra = ''): string => `namespace="${ns}", pod="${POD}", container="backend"${extra ? `, ${extra}` : ''}`;

/** A backend pod using `cores` of its 1-core CPU limit, for 30 minutes. */
function cpu(ns: string, cores: number): Series[] {
  return [
    { series: `container_cpu_usage_seconds_total{${container(ns)}}`, values: `0+${+(cores * 60).toFixed(3)}x30` },
    { series: `kube_pod_container_resource_limits{${container(ns, 'resource="cpu", unit="core"')}}`, values: '1x30' },
  ];
}

/** A backend pod whose working set is `bytes` of its 1 GB memory limit, for 15 minutes. */
function memory(ns: string, bytes: number): Series[] {
  return [
    { series: `container_memory_working_set_bytes{${container(ns)}}`, values: `${bytes}x15` },
    { series: `kube_pod_container_resource_limits{${container(ns, 'resource="memory", unit="byte"')}}`, values: '1000000000x15' },
  ];
}

/** The backup volume with `used` of 100 bytes used, for 40 minutes. */
function volume(ns: string, used: number): Series[] {
  return [
    { series: `kubelet_volume_stats_used_bytes{namespace="${ns}", persistentvolumeclaim="pms-db-backups"}`, values: `${used}x40` },
    { series: `kubelet_volume_stats_capacity_bytes{namespace="${ns}", persistentvolumeclaim="pms-db-backups"}`, values: '100x40' },
  ];
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
  // --- HighErrorRate / ElevatedErrorRate ------------------------------------------------------
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
    name: '5.05% of requests fail: just above production’s 5%',
    fires: { dev: false, staging: true, production: true },
    boundary: 'fires',
    evalTime: '15m',
    series: (ns) => requests(ns, 9495, 505, 20),
  },
  {
    alert: 'HighErrorRate',
    name: '4.95% of requests fail: just below production’s 5%',
    fires: false,
    boundary: 'quiet',
    evalTime: '15m',
    series: (ns) => requests(ns, 9505, 495, 20),
  },
  {
    alert: 'HighErrorRate',
    name: '1% of requests fail',
    fires: false,
    evalTime: '15m',
    series: (ns) => requests(ns, 99, 1, 20),
  },
  {
    alert: 'ElevatedErrorRate',
    name: 'a third of requests fail with 503',
    fires: true,
    evalTime: '15m',
    series: (ns) => requests(ns, 60, 30, 20),
  },
  {
    alert: 'ElevatedErrorRate',
    name: '1.01% of requests fail: just above production’s 1%, below staging’s 2% and dev’s 5%',
    fires: { dev: false, staging: false, production: true },
    boundary: 'fires',
    evalTime: '15m',
    series: (ns) => requests(ns, 9899, 101, 20),
  },
  {
    alert: 'ElevatedErrorRate',
    name: '0.99% of requests fail: just below production’s 1%',
    fires: false,
    boundary: 'quiet',
    evalTime: '15m',
    series: (ns) => requests(ns, 9901, 99, 20),
  },
  // --- SlowResponseTime / HighP99Latency -----------------------------------------------------
  {
    alert: 'SlowResponseTime',
    name: 'every request takes several seconds',
    fires: true,
    evalTime: '15m',
    series: (ns) => latency(ns, { '10': 10 }),
  },
  {
    alert: 'SlowResponseTime',
    name: 'requests answer within 250 ms',
    fires: false,
    evalTime: '15m',
    series: (ns) => latency(ns, { '0.25': 100 }),
  },
  {
    alert: 'SlowResponseTime',
    name: 'p95 of 1 s (p99 2.2 s): above production’s 500 ms, below staging’s 2.5 s and dev’s 3 s',
    fires: { dev: false, staging: false, production: true },
    evalTime: '15m',
    // 900 requests a minute within 250 ms, 50 between 750 ms and 1 s, 50 between 1 s and 2.5 s
    series: (ns) => latency(ns, { '0.25': 900, '1': 50, '2.5': 50 }),
  },
  {
    alert: 'SlowResponseTime',
    name: 'p95 of 1 s for 4 minutes only: pending, not firing (for: 5m)',
    fires: false,
    // the first rate (two samples) exists at 1m: at 5m the condition has held for 4 minutes
    evalTime: '5m',
    series: (ns) => latency(ns, { '0.25': 900, '1': 50, '2.5': 50 }),
  },
  {
    alert: 'SlowResponseTime',
    name: 'p95 of 505 ms: just above production’s 500 ms',
    fires: { dev: false, staging: false, production: true },
    boundary: 'fires',
    evalTime: '15m',
    // rank 950 of 1000 falls 1/51 into the 500-750 ms bucket: 0.5 + 0.25 / 51 = 0.5049 s
    series: (ns) => latency(ns, { '0.25': 949, '0.75': 51 }),
  },
  {
    alert: 'SlowResponseTime',
    name: 'p95 of 495 ms: just below production’s 500 ms',
    fires: false,
    boundary: 'quiet',
    evalTime: '15m',
    // rank 950 of 1000 falls 49/50 into the 250-500 ms bucket: 0.25 + 0.25 * 49 / 50 = 0.495 s
    series: (ns) => latency(ns, { '0.25': 901, '0.5': 50, '0.75': 49 }),
  },
  {
    alert: 'HighP99Latency',
    name: 'every request takes several seconds',
    fires: true,
    evalTime: '15m',
    series: (ns) => latency(ns, { '10': 10 }),
  },
  {
    alert: 'HighP99Latency',
    name: 'requests answer within 250 ms',
    fires: false,
    evalTime: '15m',
    series: (ns) => latency(ns, { '0.25': 100 }),
  },
  {
    alert: 'HighP99Latency',
    name: 'p99 of 2.2 s: above production’s 1 s, below staging’s 6 s and dev’s 8 s',
    fires: { dev: false, staging: false, production: true },
    evalTime: '15m',
    series: (ns) => latency(ns, { '0.25': 900, '1': 50, '2.5': 50 }),
  },
  {
    alert: 'HighP99Latency',
    name: 'p99 of 1.015 s: just above production’s 1 s',
    fires: { dev: false, staging: false, production: true },
    boundary: 'fires',
    evalTime: '15m',
    // rank 9900 of 10000 falls 1/101 into the 1-2.5 s bucket: 1 + 1.5 / 101 = 1.0149 s
    series: (ns) => latency(ns, { '0.25': 9899, '2.5': 101 }),
  },
  {
    alert: 'HighP99Latency',
    name: 'p99 of 990 ms: just below production’s 1 s',
    fires: false,
    boundary: 'quiet',
    evalTime: '15m',
    // rank 990 of 1000 falls 24/25 into the 750 ms-1 s bucket: 0.75 + 0.25 * 24 / 25 = 0.99 s
    series: (ns) => latency(ns, { '0.25': 966, '1': 25, '2.5': 9 }),
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
    series: (ns) => connections(ns, 97),
    labels: (ns) => ({ job: 'postgres-exporter', namespace: ns }),
  },
  {
    alert: 'DatabaseConnectionPoolSaturation',
    name: '91 of 100 connections in use: just above 90%',
    fires: true,
    boundary: 'fires',
    evalTime: '10m',
    series: (ns) => connections(ns, 91),
    labels: (ns) => ({ job: 'postgres-exporter', namespace: ns }),
  },
  {
    alert: 'DatabaseConnectionPoolSaturation',
    name: '89 of 100 connections in use: just below 90%',
    fires: false,
    boundary: 'quiet',
    evalTime: '10m',
    series: (ns) => connections(ns, 89),
  },
  {
    alert: 'DatabaseConnectionPoolSaturation',
    name: '40 of 100 connections in use',
    fires: false,
    evalTime: '10m',
    series: (ns) => connections(ns, 40),
  },
  {
    alert: 'CacheHitRateLow',
    name: 'nine in ten cache lookups miss',
    fires: true,
    evalTime: '20m',
    series: (ns) => cacheLookups(ns, 10, 90),
    labels: (ns) => ({ job: 'redis-exporter', namespace: ns }),
  },
  {
    alert: 'CacheHitRateLow',
    name: '59% of cache lookups hit: just below production’s 60%, above staging’s 50% and dev’s 40%',
    fires: { dev: false, staging: false, production: true },
    boundary: 'fires',
    evalTime: '20m',
    series: (ns) => cacheLookups(ns, 59, 41),
    labels: (ns) => ({ job: 'redis-exporter', namespace: ns }),
  },
  {
    alert: 'CacheHitRateLow',
    name: '61% of cache lookups hit: just above production’s 60%',
    fires: false,
    boundary: 'quiet',
    evalTime: '20m',
    series: (ns) => cacheLookups(ns, 61, 39),
  },
  {
    alert: 'CacheHitRateLow',
    name: '95% of cache lookups hit',
    fires: false,
    evalTime: '20m',
    series: (ns) => cacheLookups(ns, 95, 5),
  },
  // --- CPU / memory / disk / certificates ----------------------------------------------------
  {
    alert: 'HighCpuUsage',
    name: 'a backend pod runs at 98% of its CPU limit',
    fires: true,
    evalTime: '20m',
    series: (ns) => cpu(ns, 0.98),
    labels: (ns) => ({ namespace: ns, pod: POD }),
  },
  {
    alert: 'HighCpuUsage',
    name: 'a backend pod runs at 86% of its CPU limit: just above the 85% of staging and production, below dev’s 95%',
    fires: { dev: false, staging: true, production: true },
    boundary: 'fires',
    evalTime: '20m',
    series: (ns) => cpu(ns, 0.86),
    labels: (ns) => ({ namespace: ns, pod: POD }),
  },
  {
    alert: 'HighCpuUsage',
    name: 'a backend pod runs at 84% of its CPU limit: just below production’s 85%',
    fires: false,
    boundary: 'quiet',
    evalTime: '20m',
    series: (ns) => cpu(ns, 0.84),
  },
  {
    alert: 'HighMemoryUsage',
    name: 'a backend pod uses 98% of its memory limit',
    fires: true,
    evalTime: '10m',
    series: (ns) => memory(ns, 980000000),
    labels: (ns) => ({ namespace: ns, pod: POD }),
  },
  {
    alert: 'HighMemoryUsage',
    name: 'a backend pod uses 91% of its memory limit: just above the 90% of staging and production, below dev’s 95%',
    fires: { dev: false, staging: true, production: true },
    boundary: 'fires',
    evalTime: '10m',
    series: (ns) => memory(ns, 910000000),
    labels: (ns) => ({ namespace: ns, pod: POD }),
  },
  {
    alert: 'HighMemoryUsage',
    name: 'a backend pod uses 89% of its memory limit: just below production’s 90%',
    fires: false,
    boundary: 'quiet',
    evalTime: '10m',
    series: (ns) => memory(ns, 890000000),
  },
  {
    alert: 'DiskSpaceLow',
    name: 'the backup volume is 93% full',
    fires: true,
    evalTime: '30m',
    series: (ns) => volume(ns, 93),
    labels: (ns) => ({ namespace: ns, persistentvolumeclaim: 'pms-db-backups' }),
  },
  {
    alert: 'DiskSpaceLow',
    name: 'the backup volume is 86% full: just above 85%',
    fires: true,
    boundary: 'fires',
    evalTime: '30m',
    series: (ns) => volume(ns, 86),
    labels: (ns) => ({ namespace: ns, persistentvolumeclaim: 'pms-db-backups' }),
  },
  {
    alert: 'DiskSpaceLow',
    name: 'the backup volume is 84% full: just below 85%',
    fires: false,
    boundary: 'quiet',
    evalTime: '30m',
    series: (ns) => volume(ns, 84),
  },
  {
    alert: 'ElevatedDiskUsage',
    name: 'the backup volume is 71% full: just above 70%',
    fires: true,
    boundary: 'fires',
    evalTime: '30m',
    series: (ns) => volume(ns, 71),
    labels: (ns) => ({ namespace: ns, persistentvolumeclaim: 'pms-db-backups' }),
  },
  {
    alert: 'ElevatedDiskUsage',
    name: 'the backup volume is 69% full: just below 70%',
    fires: false,
    boundary: 'quiet',
    evalTime: '30m',
    series: (ns) => volume(ns, 69),
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
  {
    alert: 'FlagServingDown',
    name: 'both flagd replicas become unavailable (a bad image) and stay so',
    fires: true,
    evalTime: '10m',
    series: (ns) => [{ series: `kube_deployment_status_replicas_available{namespace="${ns}", deployment="flagd"}`, values: '2x4 0x10' }],
    labels: (ns) => ({ namespace: ns, deployment: 'flagd' }),
  },
  {
    alert: 'FlagServingDown',
    name: 'there is no flagd Deployment at all (kube-state-metrics knows none)',
    fires: true,
    evalTime: '10m',
    series: (ns) => [{ series: `kube_deployment_status_replicas_available{namespace="${ns}", deployment="pms-backend"}`, values: '3x10' }],
    labels: (ns) => ({ namespace: ns, deployment: 'flagd' }),
  },
  {
    alert: 'FlagServingDown',
    name: 'one of two flagd replicas restarts (a node drain): one stays available',
    fires: false,
    evalTime: '10m',
    series: (ns) => [{ series: `kube_deployment_status_replicas_available{namespace="${ns}", deployment="flagd"}`, values: '2x4 1x3 2x6' }],
  },
  {
    alert: 'FlagdFlagSourceNotLoaded',
    name: 'a flagd container runs but never becomes ready (its file source never synced)',
    fires: true,
    evalTime: '10m',
    series: (ns) => [
      { series: `kube_pod_container_status_running{namespace="${ns}", pod="flagd-7d9f-abcde", container="flagd"}`, values: '1x10' },
      { series: `kube_pod_container_status_ready{namespace="${ns}", pod="flagd-7d9f-abcde", container="flagd"}`, values: '0x10' },
    ],
    labels: (ns) => ({ namespace: ns, pod: 'flagd-7d9f-abcde' }),
  },
  {
    alert: 'FlagdFlagSourceNotLoaded',
    name: 'flagd answers FLAG_NOT_FOUND (it holds no flags: the file was empty when it loaded)',
    fires: true,
    evalTime: '15m',
    series: (ns) => [
      { series: `feature_flag_flagd_result_reason_total{job="flagd", namespace="${ns}", feature_flag_reason="ERROR", ExceptionTypeKeyName="FLAG_NOT_FOUND", feature_flag_provider_name="flagd"}`, values: '0+30x20' },
      { series: `kube_pod_container_status_running{namespace="${ns}", pod="flagd-7d9f-abcde", container="flagd"}`, values: '1x20' },
      { series: `kube_pod_container_status_ready{namespace="${ns}", pod="flagd-7d9f-abcde", container="flagd"}`, values: '1x20' },
    ],
    labels: (ns) => ({ namespace: ns }),
  },
  {
    alert: 'FlagdFlagSourceNotLoaded',
    name: 'flagd is ready and every evaluation finds its flag (a pod that was briefly unready at start)',
    fires: false,
    evalTime: '15m',
    series: (ns) => [
      { series: `feature_flag_flagd_result_reason_total{job="flagd", namespace="${ns}", feature_flag_key="telehealth_appointments_enabled", feature_flag_reason="TARGETING_MATCH", feature_flag_provider_name="flagd"}`, values: '0+300x20' },
      { series: `kube_pod_container_status_running{namespace="${ns}", pod="flagd-7d9f-abcde", container="flagd"}`, values: '1x20' },
      { series: `kube_pod_container_status_ready{namespace="${ns}", pod="flagd-7d9f-abcde", container="flagd"}`, values: '0x2 1x18' },
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
