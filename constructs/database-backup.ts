import { Cron, Duration, Size } from 'cdk8s';
import {
  ConcurrencyPolicy,
  ConfigMap,
  Cpu,
  CronJob,
  EnvValue,
  FsGroupChangePolicy,
  ImagePullPolicy,
  PersistentVolumeAccessMode,
  PersistentVolumeClaim,
  Secret,
  Volume,
  type ContainerProps,
  type IServiceAccount,
} from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ownPodTemplateLabels } from './labels.ts';
import { restrictPodSecurity } from './pod-security.ts';
import { BACKUP_SCRIPT, RESTORE_VERIFY_SCRIPT } from './scripts/index.ts';

/** Object names, fixed by the operations runbooks and the BackupTooOld alert. */
export const BACKUP_NAMES = {
  cronJob: 'pms-db-backup',
  verifyCronJob: 'pms-db-restore-verify',
  claim: 'pms-db-backups',
  scripts: 'pms-db-backup-scripts',
} as const;
/** `app.kubernetes.io/component` of every backup object; the backup policies select on it. */
export const BACKUP_COMPONENT = 'database-backup';
/** Daily at 02:00 UTC. */
export const BACKUP_SCHEDULE = Cron.schedule({ minute: '0', hour: '2' });
/**
 * Weekly, Sunday 06:30 UTC: after that night's backup has certainly ended (02:00, plus its 1 h
 * starting deadline and 3 h active deadline), so the two never need the ReadWriteOnce backup
 * volume at the same time.
 */
export const VERIFY_SCHEDULE = Cron.schedule({ minute: '30', hour: '6', weekDay: '0' });
/** Where the pods mount what (the scripts read these paths from their environment). */
export const MOUNTS = { scripts: '/scripts', backups: '/backups', tmp: '/tmp', scratch: '/scratch' } as const;

export interface DatabaseBackupProps {
  /** Dumps older than this many days are deleted after each successful backup. */
  readonly retentionDays: number;
  /** PostgreSQL image with pg_dump, pg_restore and the server binaries; a pinned tag or digest, never `latest`. */
  readonly image: string;
  /** Database host (Service name). */
  readonly host: string;
  /**
   * Database port.
   * @default 5432
   */
  readonly port?: number;
  /** Database to dump; also the dump file prefix. */
  readonly database: string;
  /** Name of the Secret holding the backup user's credentials. */
  readonly credentialsSecret: string;
  /**
   * Keys of the user name and password in that Secret.
   * @default { username: 'username', password: 'password' }
   */
  readonly credentialsKeys?: { readonly username: string; readonly password: string };
  /** ServiceAccount of both pods: no API permissions; its token is never mounted. */
  readonly serviceAccount: IServiceAccount;
  /** Tables the restore verification requires present and non-empty. */
  readonly verifyTables: readonly string[];
  /**
   * Storage class of the dump volume.
   * @default - the cluster's default storage class
   */
  readonly storageClassName?: string;
  /**
   * Size of the dump volume in GiB.
   * @default 20
   */
  readonly storageGiB?: number;
  /**
   * Size of the restore-verification scratch space in GiB (an emptyDir).
   * @default 10
   */
  readonly scratchGiB?: number;
  /**
   * UID and GID the pods run as (999 is `postgres` in the official image).
   * @default 999
   */
  readonly runAsUser?: number;
  /**
   * The scripts' text (tests synthesize broken ones).
   * @default - constructs/scripts/db-backup.sh and db-restore-verify.sh
   */
  readonly scripts?: { readonly backup: string; readonly restoreVerify: string };
}

const PINNED_IMAGE = /(@sha256:[a-f0-9]{64}|:(?!latest$)[\w][\w.-]{0,127})$/;
const TABLE_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const PREFIX = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The PostgreSQL backup of one environment: a daily `pg_dump` CronJob writing custom-format dumps
 * (mode 0600) to a PersistentVolumeClaim and pruning them by age, a weekly CronJob that restores
 * the newest dump into a throwaway server and checks it, and the ConfigMap shipping both scripts.
 * Both pods meet Pod Security "restricted" with a read-only root filesystem and no API token.
 */
export class DatabaseBackup extends Construct {
  public readonly backup: CronJob;
  public readonly restoreVerify: CronJob;
  public readonly claim: PersistentVolumeClaim;
  public readonly scripts: ConfigMap;

  constructor(scope: Construct, id: string, props: DatabaseBackupProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) {
      throw new Error(`The 'retentionDays' property must be a positive integer (days of dumps to keep). The value passed is: ${props.retentionDays}`);
    }
    if (!PINNED_IMAGE.test(props.image)) {
      throw new Error(`The 'image' property must be pinned to a tag other than 'latest' or to a sha256 digest, so every run uses the same pg_dump. The value passed is: ${props.image}`);
    }
    if (!PREFIX.test(props.database)) {
      throw new Error(`The 'database' property names the dumps, so it must be lower-case letters, digits, '_' or '-'. The value passed is: ${props.database}`);
    }
    const badTable = props.verifyTables.find((t) => !TABLE_NAME.test(t));
    if (props.verifyTables.length === 0 || badTable !== undefined) {
      throw new Error(`The 'verifyTables' property must list at least one plain table name ([schema.]table, lower case). The value passed is: ${JSON.stringify(props.verifyTables)}`);
    }
    const port = props.port ?? 5432;
    const keys = props.credentialsKeys ?? { username: 'username', password: 'password' };
    const uid = props.runAsUser ?? 999;
    const scripts = props.scripts ?? { backup: BACKUP_SCRIPT, restoreVerify: RESTORE_VERIFY_SCRIPT };
    const labels = { 'app.kubernetes.io/name': BACKUP_NAMES.cronJob, 'app.kubernetes.io/component': BACKUP_COMPONENT };

    this.scripts = new ConfigMap(this, 'Scripts', {
      metadata: { name: BACKUP_NAMES.scripts, labels },
      data: { 'db-backup.sh': scripts.backup, 'db-restore-verify.sh': scripts.restoreVerify },
    });
    this.claim = new PersistentVolumeClaim(this, 'Dumps', {
      metadata: { name: BACKUP_NAMES.claim, labels },
      accessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE],
      storage: Size.gibibytes(props.storageGiB ?? 20),
      storageClassName: props.storageClassName,
    });

    const secret = Secret.fromSecretName(this, 'Credentials', props.credentialsSecret);
    const scriptsVolume = Volume.fromConfigMap(this, 'ScriptsVolume', this.scripts, { name: 'scripts', defaultMode: 0o444 });
    const dumpsVolume = Volume.fromPersistentVolumeClaim(this, 'DumpsVolume', this.claim, { name: 'backups' });
    const prefix = props.database;

    const podDefaults = {
      serviceAccount: props.serviceAccount,
      automountServiceAccountToken: false,
      securityContext: { user: uid, group: uid, fsGroup: uid, ensureNonRoot: true, fsGroupChangePolicy: FsGroupChangePolicy.ON_ROOT_MISMATCH },
      timeZone: 'Etc/UTC',
      concurrencyPolicy: ConcurrencyPolicy.FORBID,
      successfulJobsRetained: 3,
      failedJobsRetained: 5,
    };
    const containerDefaults: Omit<ContainerProps, 'name' | 'command'> = {
      image: props.image,
      imagePullPolicy: ImagePullPolicy.IF_NOT_PRESENT,
      securityContext: { user: uid, group: uid, ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false },
    };

    this.backup = new CronJob(this, 'Backup', {
      ...podDefaults,
      metadata: { name: BACKUP_NAMES.cronJob, labels },
      podMetadata: { labels },
      schedule: BACKUP_SCHEDULE,
      startingDeadline: Duration.hours(1),
      activeDeadline: Duration.hours(3),
      backoffLimit: 2,
      volumes: [scriptsVolume, dumpsVolume],
      containers: [
        {
          ...containerDefaults,
          name: 'pg-dump',
          command: ['/bin/sh', `${MOUNTS.scripts}/db-backup.sh`],
          envVariables: {
            PGHOST: EnvValue.fromValue(props.host),
            PGPORT: EnvValue.fromValue(String(port)),
            PGDATABASE: EnvValue.fromValue(props.database),
            PGUSER: EnvValue.fromSecretValue({ secret, key: keys.username }),
            PGPASSWORD: EnvValue.fromSecretValue({ secret, key: keys.password }),
            BACKUP_DIR: EnvValue.fromValue(MOUNTS.backups),
            BACKUP_PREFIX: EnvValue.fromValue(prefix),
            RETENTION_DAYS: EnvValue.fromValue(String(props.retentionDays)),
            TMPDIR: EnvValue.fromValue(MOUNTS.tmp),
          },
          resources: {
            cpu: { request: Cpu.millis(100), limit: Cpu.millis(1000) },
            memory: { request: Size.mebibytes(256), limit: Size.mebibytes(1024) },
          },
          volumeMounts: [
            { path: MOUNTS.scripts, volume: scriptsVolume, readOnly: true },
            { path: MOUNTS.backups, volume: dumpsVolume },
            { path: MOUNTS.tmp, volume: Volume.fromEmptyDir(this, 'BackupTmp', 'tmp', { sizeLimit: Size.gibibytes(1) }) },
          ],
        },
      ],
    });
    restrictPodSecurity(this.backup, 'CronJob');
    ownPodTemplateLabels(this.backup, 'CronJob');

    this.restoreVerify = new CronJob(this, 'RestoreVerify', {
      ...podDefaults,
      metadata: { name: BACKUP_NAMES.verifyCronJob, labels: { ...labels, 'app.kubernetes.io/name': BACKUP_NAMES.verifyCronJob } },
      podMetadata: { labels: { ...labels, 'app.kubernetes.io/name': BACKUP_NAMES.verifyCronJob } },
      schedule: VERIFY_SCHEDULE,
      startingDeadline: Duration.hours(6),
      activeDeadline: Duration.hours(6),
      backoffLimit: 1,
      volumes: [scriptsVolume, dumpsVolume],
      containers: [
        {
          ...containerDefaults,
          name: 'restore-verify',
          command: ['/bin/sh', `${MOUNTS.scripts}/db-restore-verify.sh`],
          envVariables: {
            BACKUP_DIR: EnvValue.fromValue(MOUNTS.backups),
            BACKUP_PREFIX: EnvValue.fromValue(prefix),
            VERIFY_TABLES: EnvValue.fromValue(props.verifyTables.join(' ')),
            SCRATCH_DIR: EnvValue.fromValue(MOUNTS.scratch),
            TMPDIR: EnvValue.fromValue(MOUNTS.tmp),
          },
          resources: {
            cpu: { request: Cpu.millis(250), limit: Cpu.millis(2000) },
            memory: { request: Size.mebibytes(512), limit: Size.mebibytes(2048) },
          },
          volumeMounts: [
            { path: MOUNTS.scripts, volume: scriptsVolume, readOnly: true },
            { path: MOUNTS.backups, volume: dumpsVolume, readOnly: true },
            { path: MOUNTS.tmp, volume: Volume.fromEmptyDir(this, 'VerifyTmp', 'tmp', { sizeLimit: Size.gibibytes(1) }) },
            { path: MOUNTS.scratch, volume: Volume.fromEmptyDir(this, 'Scratch', 'scratch', { sizeLimit: Size.gibibytes(props.scratchGiB ?? 10) }) },
          ],
        },
      ],
    });
    restrictPodSecurity(this.restoreVerify, 'CronJob');
    ownPodTemplateLabels(this.restoreVerify, 'CronJob');
  }
}
