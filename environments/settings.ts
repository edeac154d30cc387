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

/** The signals and thresholds of one environment. PromQL lives in constructs/signals.ts. */
export interface MonitoringSettings {
  /** `job` label of the backend's metrics. */
  readonly job: string;
  /** Whether alerts may page (critical / P1 / P2). Dev never pages. */
  readonly pages: boolean;
  /** HighErrorRate: share of requests answered 5xx (0..1) over 5 minutes. */
  readonly errorRatio: number;
  /** SlowResponseTime: p95 request latency, seconds. */
  readonly p95LatencySeconds: number;
  /** p99 request latency, seconds. */
  readonly p99LatencySeconds: number;
  /** Share of flag evaluations that return an error (0..1) during a rollout. */
  readonly flagEvaluationErrorRatio: number;
}

/** Deep-partial form of a settings section, for environment.ts overrides. */
export type SectionOverrides<T> = { readonly [K in keyof T]?: T[K] };

/** What an `environment.ts` declares: the name and namespace, everything else optional. */
export type EnvironmentConfig = Pick<EnvironmentSettings, 'namespace'> &
  Partial<Omit<EnvironmentSettings, 'name' | 'namespace' | 'monitoring' | 'backup' | 'access'>> & {
    readonly monitoring?: SectionOverrides<MonitoringSettings>;
    readonly backup?: SectionOverrides<BackupSettings>;
    readonly access?: SectionOverrides<AccessSettings>;
  };

/** The defaults applied under every environment.ts. */
export const ENVIRONMENT_DEFAULTS = {
  rolloutSteps: [0, 5, 25, 50, 100],
  rolloutOneStepAtATime: false,
  requireTicket: false,
  requireApproval: false,
  labels: {},
  monitoring: {
    job: 'pms-backend',
    pages: true,
    errorRatio: 0.05,
    p95LatencySeconds: 2,
    p99LatencySeconds: 5,
    flagEvaluationErrorRatio: 0.01,
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
} as const satisfies Omit<EnvironmentSettings, 'name' | 'namespace'>;

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
  const backup: BackupSettings = { ...ENVIRONMENT_DEFAULTS.backup, ...config.backup };
  if (!Number.isInteger(backup.retentionDays) || backup.retentionDays < 1) fail("'backup.retentionDays' must be a positive integer", backup.retentionDays);
  if (backup.verifyTables.length === 0) fail("'backup.verifyTables' must name at least one table", backup.verifyTables);
  const access: AccessSettings = { ...ENVIRONMENT_DEFAULTS.access, ...config.access };
  return {
    ...ENVIRONMENT_DEFAULTS,
    ...config,
    name,
    rolloutSteps: [...steps],
    labels: { ...ENVIRONMENT_DEFAULTS.labels, ...config.labels },
    monitoring: { ...ENVIRONMENT_DEFAULTS.monitoring, ...config.monitoring },
    backup,
    access,
  };
}
