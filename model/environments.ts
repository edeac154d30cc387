/**
 * The typed settings of one environment, as declared in `environments/<env>/environment.ts`.
 *
 * An `environment.ts` exports a {@link EnvironmentConfig}: only what differs from the defaults
 * below. {@link resolveEnvironmentSettings} fills in the rest and checks the values, so every
 * consumer (policies, constructs, the CLI) sees a complete {@link EnvironmentSettings}.
 *
 * environment.ts files import only *types* from here, so they stay loadable from any folder.
 */

/** Everything flagops knows about one environment. */
export interface EnvironmentSettings {
  /** Environment name; equals its folder name under `environments/`. */
  readonly name: string;
  /** Kubernetes namespace the environment's objects live in. */
  readonly namespace: string;
  /**
   * The environment a flag must be at 100% in before its exposure may be raised here
   * (the promotion order). `undefined` for the first environment.
   */
  readonly promotesFrom?: string;
  /** Allowed rollout percentages, ascending, from 0 to 100. */
  readonly rolloutSteps: readonly number[];
  /** Whether a rollout increase may skip steps (production: no). */
  readonly rolloutOneStepAtATime: boolean;
  /**
   * The rollouts `flagops advance` takes in this environment, ascending, each an allowed rollout
   * step, the last one 100. Default: every step above 0 where a rollout moves one step at a time
   * (production: 5, 25, 50, 100), otherwise straight to 100.
   */
  readonly pipelineSteps: readonly number[];
  /**
   * Soak time: how many minutes each step of a flag in this environment stays on main before the
   * pipeline raises it further (the next step here, or the first step in the environment promoting
   * from this one). Measured from the commit that landed the step on main (policy `soak-time`).
   * Lowering is never held back. Default 0; production 30 (the playbook's "wait 30-60 minutes
   * between each increase").
   */
  readonly soakMinutes: number;
  /** Whether every flag entry needs a `ticket`. */
  readonly requireTicket: boolean;
  /** Whether every enabled flag entry needs an `approved_by` different from `changed_by`. */
  readonly requireApproval: boolean;
  /** Labels stamped on every object synthesized for this environment. */
  readonly labels: Readonly<Record<string, string>>;
  /** Alert thresholds and monitoring wiring (alerts, dashboards and `flagops monitor` share them). */
  readonly monitoring: MonitoringSettings;
  /** The database backup and restore-verification CronJobs. */
  readonly backup: BackupSettings;
  /** Who may do what in the namespace (groups from the identity provider). */
  readonly access: AccessSettings;
  /** How flags reach the running backend: flagd, the OpenFeature Operator, or nothing but the ConfigMap. */
  readonly flagServing: FlagServingSettings;
}

/** How the flag set (`flags.flagd.json`) is served to the backend (constructs/flag-serving.ts). */
export type FlagServingMode =
  /** A flagd Deployment + Service in the namespace reads the flag ConfigMap (mounted as a directory). */
  | 'flagd'
  /** The OpenFeature Operator injects flagd next to the backend, fed by a FeatureFlag + FeatureFlagSource. */
  | 'openfeature-operator'
  /** Nothing serves `flags.flagd.json`: only `feature_flags.json` reaches the backend (partial rollouts reach nobody). */
  | 'none';

export const FLAG_SERVING_MODES: readonly FlagServingMode[] = ['flagd', 'openfeature-operator', 'none'];

/** The flag serving of one environment. */
export interface FlagServingSettings {
  readonly mode: FlagServingMode;
  /** flagd replicas (mode `flagd`); production needs at least 2 (a PodDisruptionBudget keeps one up). */
  readonly replicas: number;
  /** flagd image, pinned to an exact released version (`ghcr.io/open-feature/flagd:v0.16.1`) or a digest. */
  readonly image: string;
  /** flagd container requests and limits. */
  readonly resources: FlagServingResources;
  /** Labels of the backend's pods: the only pods the NetworkPolicy lets reach flag evaluation (8013, 8016). */
  readonly clientPodLabels: Readonly<Record<string, string>>;
  /** Namespace of Prometheus: the only namespace that reaches flagd's metrics (8014). */
  readonly monitoringNamespace: string;
}

/** CPU in millicores, memory in MiB. */
export interface FlagServingResources {
  readonly cpuRequestMillis: number;
  readonly cpuLimitMillis: number;
  readonly memoryRequestMiB: number;
  readonly memoryLimitMiB: number;
}

/** The PostgreSQL backup of one environment (constructs/database-backup.ts). */
export interface BackupSettings {
  /** Dumps older than this many days are deleted by the backup job. */
  readonly retentionDays: number;
  /** Storage class of the dump volume; `undefined` uses the cluster default. */
  readonly storageClassName?: string;
  /** Size of the dump volume, GiB. */
  readonly storageGiB: number;
  /** Size of the restore-verification scratch space (a throwaway PostgreSQL data directory), GiB. */
  readonly scratchGiB: number;
  /** PostgreSQL client and server image, pinned tag (its pg_dump must be at least the server's major version). */
  readonly image: string;
  /** Database host (Service name) and port. */
  readonly host: string;
  readonly port: number;
  /** Database to dump. */
  readonly database: string;
  /** Secret holding the backup user's credentials, keys `username` and `password`. */
  readonly credentialsSecret: string;
  /** Tables the restore verification requires present and non-empty. */
  readonly verifyTables: readonly string[];
}

/** RBAC groups of one environment (constructs/access-control.ts). */
export interface AccessSettings {
  /** On-call engineers: read-only access, no Secrets. */
  readonly onCallGroups: readonly string[];
  /** Developers: read-only access, no Secrets. */
  readonly developerGroups: readonly string[];
  /**
   * Break-glass: may change `feature-flags-config` (that one object) outside the pipeline.
   * Empty: nobody but the deployer writes it.
   */
  readonly breakGlassGroups: readonly string[];
}

/**
 * The signals and thresholds of one environment. PromQL lives in constructs/signals.ts; the alert
 * catalog that applies these thresholds is constructs/alert-rules.ts. Ratios are 0..1.
 */
export interface MonitoringSettings {
  /** `job` label of the backend's metrics. */
  readonly job: string;
  /**
   * Whether alerts may page (critical / P1 / P2). Where false, alerts are capped at warning / P3.
   * Dev never pages: the first environment of the promotion order must say false (policy `alert-pages`).
   */
  readonly pages: boolean;
  /** HighErrorRate (High, pages): share of requests answered 5xx (0..1) over 5 minutes. */
  readonly errorRatio: number;
  /** ElevatedErrorRate (Medium): the lower share of 5xx (0..1) worth a look within the hour; below `errorRatio`. */
  readonly elevatedErrorRatio: number;
  /** SlowResponseTime: p95 request latency, seconds. */
  readonly p95LatencySeconds: number;
  /** HighP99Latency: p99 request latency, seconds. */
  readonly p99LatencySeconds: number;
  /** FeatureFlagEvaluationErrors: share of flag evaluations that return an error (0..1) during a rollout. */
  readonly flagEvaluationErrorRatio: number;
  /** The availability SLO (share of requests not answered 5xx), for example 0.999; the error budget is 1 - objective. */
  readonly availabilityObjective: number;
  /** DatabaseConnectionPoolSaturation: connections in use / max_connections (0..1). */
  readonly databaseConnectionSaturation: number;
  /** CacheHitRateLow: cache hits / lookups (0..1) below which the alert fires. */
  readonly cacheHitRatio: number;
  /** HighCpuUsage: pod CPU usage / CPU limit (0..1). */
  readonly cpuUtilization: number;
  /** HighMemoryUsage: pod working set / memory limit (0..1). */
  readonly memoryUtilization: number;
  /** DiskSpaceLow (Medium): used / capacity of a PersistentVolumeClaim (0..1). */
  readonly diskUtilization: number;
  /** ElevatedDiskUsage (Low, next business day): used / capacity (0..1); below `diskUtilization`. */
  readonly elevatedDiskUtilization: number;
  /** CertificateExpiringSoon: days before a certificate's expiry the alert fires. */
  readonly certificateExpiryDays: number;
  /** BackupTooOld / BackupNeverSucceeded: hours since the last successful backup (daily schedule + slack). */
  readonly backupMaxAgeHours: number;
  /** RestoreVerificationStale: days since the last successful restore verification (weekly schedule + slack). */
  readonly restoreVerifyMaxAgeDays: number;
  /** `job` label of the PostgreSQL exporter (`pg_up`, `pg_stat_activity_count`). */
  readonly databaseJob: string;
  /** `job` label of the Redis exporter (`redis_keyspace_hits_total`). */
  readonly cacheJob: string;
  /** Name of the database backup CronJob (kube-state-metrics `cronjob` label). */
  readonly backupCronJob: string;
  /** Name of the restore-verification CronJob. */
  readonly restoreVerifyCronJob: string;
  /** `release` label on the PrometheusRule: kube-prometheus-stack's ruleSelector matches it. */
  readonly release: string;
  /** https base URL of the runbook pages (docs/runbooks/ in this repo): `<base>/<alert-name-in-kebab-case>.md`. */
  readonly runbookBaseUrl: string;
  /** https base URL of Grafana, for the `dashboard_url` annotations (`<base>/d/<uid>`). */
  readonly grafanaUrl: string;
  /** Grafana folder the dashboard sidecar files this environment's dashboards under (`grafana_folder` annotation). */
  readonly dashboardFolder: string;
}

/** Deep-partial form of a settings section, for environment.ts overrides. */
export type SectionOverrides<T> = { readonly [K in keyof T]?: T[K] };

/** What an `environment.ts` declares: the name and namespace, everything else optional. */
export type EnvironmentConfig = Pick<EnvironmentSettings, 'namespace'> &
  Partial<Omit<EnvironmentSettings, 'name' | 'namespace' | 'monitoring' | 'backup' | 'access' | 'flagServing' | 'pipelineSteps'>> & {
    readonly pipelineSteps?: readonly number[];
    readonly monitoring?: SectionOverrides<MonitoringSettings>;
    readonly backup?: SectionOverrides<BackupSettings>;
    readonly access?: SectionOverrides<AccessSettings>;
    readonly flagServing?: SectionOverrides<FlagServingSettings>;
  };

/**
 * The defaults applied under every environment.ts. The alert thresholds are production's: the
 * operations template's Key Metrics and Alerting tables (seeds/004, sections 3.2 and 3.5; every
 * value is traced to its line in docs/monitoring.md). Staging and dev relax some of them in their
 * environment.ts.
 */
export const ENVIRONMENT_DEFAULTS = {
  rolloutSteps: [0, 5, 25, 50, 100],
  rolloutOneStepAtATime: false,
  soakMinutes: 0,
  requireTicket: false,
  requireApproval: false,
  labels: {},
  monitoring: {
    job: 'pms-backend',
    pages: true,
    errorRatio: 0.05,
    elevatedErrorRatio: 0.01,
    p95LatencySeconds: 0.5,
    p99LatencySeconds: 1,
    flagEvaluationErrorRatio: 0.01,
    availabilityObjective: 0.999,
    databaseConnectionSaturation: 0.9,
    cacheHitRatio: 0.6,
    cpuUtilization: 0.85,
    memoryUtilization: 0.9,
    diskUtilization: 0.85,
    elevatedDiskUtilization: 0.7,
    certificateExpiryDays: 30,
    backupMaxAgeHours: 26,
    restoreVerifyMaxAgeDays: 8,
    databaseJob: 'postgres-exporter',
    cacheJob: 'redis-exporter',
    backupCronJob: 'pms-db-backup',
    restoreVerifyCronJob: 'pms-db-restore-verify',
    release: 'kube-prometheus-stack',
    runbookBaseUrl: 'https://github.com/pms-example/flagops/blob/main/docs/runbooks',
    grafanaUrl: 'https://grafana.pms.example.com',
    dashboardFolder: 'PMS',
  },
  backup: {
    retentionDays: 7,
    storageGiB: 20,
    scratchGiB: 10,
    image: 'docker.io/library/postgres:16.6-bookworm',
    host: 'pms-postgres',
    port: 5432,
    database: 'pms',
    credentialsSecret: 'pms-db-backup-credentials',
    verifyTables: ['patients', 'providers', 'appointments'],
  },
  access: {
    onCallGroups: ['pms-oncall'],
    developerGroups: ['pms-developers'],
    breakGlassGroups: [],
  },
  flagServing: {
    mode: 'flagd',
    replicas: 1,
    // flagd v0.16.1 (open-feature/flagd release flagd/v0.16.1); docs/flag-serving.md says what was checked against it.
    image: 'ghcr.io/open-feature/flagd:v0.16.1',
    resources: { cpuRequestMillis: 50, cpuLimitMillis: 500, memoryRequestMiB: 64, memoryLimitMiB: 256 },
    clientPodLabels: { 'app.kubernetes.io/name': 'pms-backend' },
    monitoringNamespace: 'monitoring',
  },
} as const satisfies Omit<EnvironmentSettings, 'name' | 'namespace' | 'pipelineSteps'>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Merges an environment.ts export over the defaults and checks it.
 *
 * @throws Error naming the environment, the setting and the value when a setting is invalid.
 */
export function resolveEnvironmentSettings(name: string, config: EnvironmentConfig): EnvironmentSettings {
  const fail = (what: string, value: unknown): never => {
    throw new Error(`environments/${name}/environment.ts: ${what}. The value passed is: ${JSON.stringify(value)}`);
  };
  if (config === null || typeof config !== 'object') fail('the default export must be an object', config);
  if (typeof config.namespace !== 'string' || !DNS_LABEL.test(config.namespace) || config.namespace.length > 63) {
    fail("'namespace' must be a Kubernetes namespace name (DNS label, at most 63 characters)", config.namespace);
  }
  const steps = config.rolloutSteps ?? ENVIRONMENT_DEFAULTS.rolloutSteps;
  const ascending = steps.every((s, i) => Number.isInteger(s) && s >= 0 && s <= 100 && (i === 0 || s > steps[i - 1]!));
  if (!ascending || steps[0] !== 0 || steps[steps.length - 1] !== 100) {
    fail("'rolloutSteps' must be ascending integers from 0 to 100, starting at 0 and ending at 100", steps);
  }
  if (config.promotesFrom !== undefined && (typeof config.promotesFrom !== 'string' || config.promotesFrom === name)) {
    fail("'promotesFrom' must name another environment", config.promotesFrom);
  }
  const oneStep = config.rolloutOneStepAtATime ?? ENVIRONMENT_DEFAULTS.rolloutOneStepAtATime;
  const pipelineSteps = config.pipelineSteps ?? (oneStep ? steps.filter((s) => s > 0) : [100]);
  const inSteps = Array.isArray(pipelineSteps) && pipelineSteps.every((s, i) => steps.includes(s) && s > 0 && (i === 0 || s > pipelineSteps[i - 1]!));
  if (!inSteps || pipelineSteps.length === 0 || pipelineSteps[pipelineSteps.length - 1] !== 100) {
    fail(`'pipelineSteps' must be ascending rollout steps of this environment (${steps.join(', ')}) above 0, ending at 100`, pipelineSteps);
  }
  // Production's default is the playbook's wait between increases.
  const soakMinutes = config.soakMinutes ?? (name === PRODUCTION ? PRODUCTION_SOAK_MINUTES : ENVIRONMENT_DEFAULTS.soakMinutes);
  if (typeof soakMinutes !== 'number' || !Number.isInteger(soakMinutes) || soakMinutes < 0 || soakMinutes > 7 * 24 * 60) {
    fail("'soakMinutes' must be a whole number of minutes from 0 to 10080 (a week)", soakMinutes);
  }
  const backup: BackupSettings = { ...ENVIRONMENT_DEFAULTS.backup, ...config.backup };
  if (!Number.isInteger(backup.retentionDays) || backup.retentionDays < 1) fail("'backup.retentionDays' must be a positive integer", backup.retentionDays);
  if (backup.verifyTables.length === 0) fail("'backup.verifyTables' must name at least one table", backup.verifyTables);
  const access: AccessSettings = { ...ENVIRONMENT_DEFAULTS.access, ...config.access };
  const monitoring: MonitoringSettings = { ...ENVIRONMENT_DEFAULTS.monitoring, ...config.monitoring };
  checkMonitoring(monitoring, fail);
  // Production's default is its minimum: a PodDisruptionBudget needs a second replica to keep one up.
  const servingDefaults = { ...ENVIRONMENT_DEFAULTS.flagServing, ...(name === PRODUCTION ? { replicas: PRODUCTION_MIN_FLAGD_REPLICAS } : {}) };
  const flagServing: FlagServingSettings = { ...servingDefaults, ...config.flagServing };
  checkFlagServing(name, flagServing, fail);
  return {
    ...ENVIRONMENT_DEFAULTS,
    ...config,
    name,
    rolloutSteps: [...steps],
    pipelineSteps: [...pipelineSteps],
    soakMinutes,
    labels: { ...ENVIRONMENT_DEFAULTS.labels, ...config.labels },
    monitoring,
    backup,
    access,
    flagServing,
  };
}

/** The environment whose flag serving must survive a node drain: at least this many flagd replicas. */
export const PRODUCTION = 'production';
export const PRODUCTION_MIN_FLAGD_REPLICAS = 2;
/** Production's default soak time: the playbook's "wait 30-60 minutes between each increase". */
export const PRODUCTION_SOAK_MINUTES = 30;

/** An exact released version tag (`:v0.16.1`, `:0.16.1`), optionally with a digest, or a digest alone. */
const RELEASED_IMAGE = /^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9._-]+)*(:v?[0-9]+\.[0-9]+\.[0-9]+(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/;

/** Checks the flagServing section; `fail` throws. */
function checkFlagServing(name: string, f: FlagServingSettings, fail: (what: string, value: unknown) => never): void {
  if (!FLAG_SERVING_MODES.includes(f.mode)) fail(`'flagServing.mode' must be one of ${FLAG_SERVING_MODES.map((m) => `'${m}'`).join(', ')}`, f.mode);
  if (typeof f.replicas !== 'number' || !Number.isInteger(f.replicas) || f.replicas < 1) {
    fail("'flagServing.replicas' must be a whole number of flagd replicas, at least 1", f.replicas);
  }
  if (name === PRODUCTION && f.mode === 'flagd' && f.replicas < PRODUCTION_MIN_FLAGD_REPLICAS) {
    fail(`'flagServing.replicas' must be at least ${PRODUCTION_MIN_FLAGD_REPLICAS} in production, so that a node drain or a crashed pod never leaves the backend without flag evaluation`, f.replicas);
  }
  if (typeof f.image !== 'string' || !RELEASED_IMAGE.test(f.image)) {
    fail("'flagServing.image' must be pinned to an exact released version (for example ghcr.io/open-feature/flagd:v0.16.1) or a sha256 digest, never 'latest' or a moving tag", f.image);
  }
  const r = f.resources;
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!r || !positive(r.cpuRequestMillis) || !positive(r.cpuLimitMillis) || !positive(r.memoryRequestMiB) || !positive(r.memoryLimitMiB)) {
    fail("'flagServing.resources' must give cpuRequestMillis, cpuLimitMillis, memoryRequestMiB and memoryLimitMiB as positive whole numbers", r);
  }
  if (r.cpuRequestMillis > r.cpuLimitMillis || r.memoryRequestMiB > r.memoryLimitMiB) {
    fail("'flagServing.resources' requests must not exceed their limits", r);
  }
  const labels = Object.entries(f.clientPodLabels ?? {});
  if (labels.length === 0 || labels.some(([k, v]) => typeof v !== 'string' || !/^([a-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(k) || !/^([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?$/.test(v))) {
    fail("'flagServing.clientPodLabels' must be at least one Kubernetes label selecting the backend's pods", f.clientPodLabels);
  }
  if (typeof f.monitoringNamespace !== 'string' || !DNS_LABEL.test(f.monitoringNamespace)) {
    fail("'flagServing.monitoringNamespace' must be the namespace Prometheus runs in", f.monitoringNamespace);
  }
}

const RATIOS = [
  'errorRatio',
  'elevatedErrorRatio',
  'flagEvaluationErrorRatio',
  'databaseConnectionSaturation',
  'cacheHitRatio',
  'cpuUtilization',
  'memoryUtilization',
  'diskUtilization',
  'elevatedDiskUtilization',
] as const satisfies readonly (keyof MonitoringSettings)[];
const POSITIVE = ['p95LatencySeconds', 'p99LatencySeconds', 'certificateExpiryDays', 'backupMaxAgeHours', 'restoreVerifyMaxAgeDays'] as const satisfies readonly (keyof MonitoringSettings)[];
const URLS = ['runbookBaseUrl', 'grafanaUrl'] as const satisfies readonly (keyof MonitoringSettings)[];

/** Checks the monitoring section; `fail` throws. */
function checkMonitoring(m: MonitoringSettings, fail: (what: string, value: unknown) => never): void {
  for (const key of RATIOS) {
    const v = m[key];
    if (typeof v !== 'number' || !(v > 0 && v <= 1)) fail(`'monitoring.${key}' must be a ratio above 0 and at most 1`, v);
  }
  for (const key of POSITIVE) {
    const v = m[key];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`'monitoring.${key}' must be a positive number`, v);
  }
  // The lower tier must fire first: at or above the higher threshold it would never fire alone.
  if (!(m.elevatedErrorRatio < m.errorRatio)) {
    fail(`'monitoring.elevatedErrorRatio' (ElevatedErrorRate) must be below 'monitoring.errorRatio' (HighErrorRate, ${m.errorRatio})`, m.elevatedErrorRatio);
  }
  if (!(m.elevatedDiskUtilization < m.diskUtilization)) {
    fail(`'monitoring.elevatedDiskUtilization' (ElevatedDiskUsage) must be below 'monitoring.diskUtilization' (DiskSpaceLow, ${m.diskUtilization})`, m.elevatedDiskUtilization);
  }
  const o = m.availabilityObjective;
  if (typeof o !== 'number' || !(o > 0 && o < 1)) fail("'monitoring.availabilityObjective' must be a ratio between 0 and 1, for example 0.999", o);
  if (typeof m.pages !== 'boolean') fail("'monitoring.pages' must be true or false", m.pages);
  for (const key of URLS) {
    if (typeof m[key] !== 'string' || !/^https:\/\/[^\s/]+(\/\S*)?$/.test(m[key]) || m[key].endsWith('/')) {
      fail(`'monitoring.${key}' must be an https URL without a trailing slash`, m[key]);
    }
  }
}

/**
 * The settings of the project as a whole (not of one environment), declared in the optional
 * `environments/project.ts` ({@link ProjectConfig}); {@link resolveProjectSettings} fills in the
 * defaults below.
 */
export interface ProjectSettings {
  /**
   * Where `flagops synth` writes the OpenFeature CLI flag manifest that `openfeature generate`
   * turns into typed accessors (docs/code-references.md): a `.json` path relative to the project
   * root, under `dist/` but outside every `dist/<env>/` (Pulumi deploys those; this file is not deployed).
   */
  readonly openFeatureManifest: string;
  /**
   * The folders of the code that evaluates the flags (the backend's repository checked out next to
   * this one, for example `../pms-backend`), relative to the project root: what `flagops refs`
   * searches by default, and what `flagops stale`, `status` and `diff` count code references in.
   */
  readonly sourceFolders: readonly string[];
}

/** What `environments/project.ts` declares: only what differs from {@link PROJECT_DEFAULTS}. */
export type ProjectConfig = Partial<ProjectSettings>;

export const PROJECT_DEFAULTS = {
  openFeatureManifest: 'dist/openfeature/flags.json',
  sourceFolders: [],
} as const satisfies ProjectSettings;

/** A plain relative path under dist/: folders and a file name of safe characters, no `.` or `..` segments. */
const MANIFEST_PATH = /^dist(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+)+\.json$/;

/**
 * Merges `environments/project.ts` over the defaults and checks it. `environments` are the names of
 * the project's environments: the manifest may not sit in one of their dist/ folders.
 *
 * @throws Error naming the setting and the value when a setting is invalid.
 */
export function resolveProjectSettings(config: ProjectConfig, environments: readonly string[]): ProjectSettings {
  const fail = (what: string, value: unknown): never => {
    throw new Error(`environments/project.ts: ${what}. The value passed is: ${JSON.stringify(value)}`);
  };
  if (config === null || typeof config !== 'object' || Array.isArray(config)) fail('the default export must be an object', config);
  const known: readonly string[] = Object.keys(PROJECT_DEFAULTS);
  for (const key of Object.keys(config)) if (!known.includes(key)) fail(`unknown setting '${key}' (known: ${known.join(', ')})`, key);
  const settings: ProjectSettings = { ...PROJECT_DEFAULTS, ...config };
  const manifest = settings.openFeatureManifest;
  if (typeof manifest !== 'string' || !MANIFEST_PATH.test(manifest)) {
    fail("'openFeatureManifest' must be a relative path under dist/ ending in .json, of letters, digits, '.', '_' and '-' (for example dist/openfeature/flags.json)", manifest);
  }
  const env = environments.find((e) => manifest.startsWith(`dist/${e}/`));
  if (env !== undefined) fail(`'openFeatureManifest' must not be inside dist/${env}/: that folder holds the manifests Pulumi deploys to ${env}`, manifest);
  const folders = settings.sourceFolders;
  if (!Array.isArray(folders) || folders.some((f) => typeof f !== 'string' || f.trim() === '' || f.includes('\0'))) {
    fail("'sourceFolders' must be a list of folder paths (relative to the project root, or absolute)", folders);
  }
  return { openFeatureManifest: manifest, sourceFolders: [...folders] };
}
