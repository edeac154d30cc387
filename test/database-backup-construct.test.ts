import { App, Chart } from 'cdk8s';
import { ServiceAccount } from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import { BACKUP_SCHEDULE, DatabaseBackup, VERIFY_SCHEDULE, type DatabaseBackupProps } from '../constructs/database-backup.ts';
import { BACKUP_SCRIPT, RESTORE_VERIFY_SCRIPT } from '../constructs/scripts/index.ts';
import { resolveEnvironmentSettings } from '../model/environments.ts';
import { synthesizeAll } from '../synth/synth.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { REPO_ROOT } from './helpers.ts';

type Obj = Record<string, any>;

function synth(overrides: Partial<DatabaseBackupProps> = {}): Obj[] {
  const app = new App();
  const chart = new Chart(app, 'test', { namespace: 'pms', disableResourceNameHashes: true });
  const serviceAccount = new ServiceAccount(chart, 'Sa', { metadata: { name: 'pms-db-backup' } });
  new DatabaseBackup(chart, 'Backup', {
    retentionDays: 30,
    image: 'docker.io/library/postgres:16.6-bookworm',
    host: 'pms-postgres',
    database: 'pms',
    credentialsSecret: 'pms-db-backup-credentials',
    serviceAccount,
    verifyTables: ['patients', 'appointments'],
    ...overrides,
  });
  return chart.toJson() as Obj[];
}

const find = (objects: Obj[], kind: string, name: string): Obj => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const pod = (cronJob: Obj): Obj => cronJob.spec.jobTemplate.spec.template.spec;
const env = (cronJob: Obj): Record<string, Obj> => Object.fromEntries(pod(cronJob).containers[0].env.map((e: Obj) => [e.name, e]));

describe('DatabaseBackup', () => {
  it('schedules pg-dump daily at 02:00 UTC without overlap, with deadlines, retries and history', () => {
    // GIVEN the construct with defaults WHEN synthesized
    const job = find(synth(), 'CronJob', 'pms-db-backup');
    // THEN the CronJob fields are set
    expect(job.spec.schedule).toBe(BACKUP_SCHEDULE.expressionString);
    expect(job.spec.schedule).toBe('0 2 * * *');
    expect(job.spec.timeZone).toBe('Etc/UTC');
    expect(job.spec.concurrencyPolicy).toBe('Forbid');
    expect(job.spec.startingDeadlineSeconds).toBe(3600);
    expect(job.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(10800);
    expect(job.spec.jobTemplate.spec.backoffLimit).toBe(2);
    expect(job.spec.successfulJobsHistoryLimit).toBe(3);
    expect(job.spec.failedJobsHistoryLimit).toBe(5);
  });

  it('verifies weekly, after the Sunday backup', () => {
    const verify = find(synth(), 'CronJob', 'pms-db-restore-verify');
    expect(verify.spec.schedule).toBe(VERIFY_SCHEDULE.expressionString);
    expect(verify.spec.schedule).toBe('30 6 * * 0');
    // ... once the backup (02:00, with its starting and active deadlines) has certainly ended,
    // so the two never mount the ReadWriteOnce backup volume at the same time
    const backup = find(synth(), 'CronJob', 'pms-db-backup');
    const backupLatestEnd = 2 * 3600 + backup.spec.startingDeadlineSeconds + backup.spec.jobTemplate.spec.activeDeadlineSeconds;
    const [minute, hour] = String(verify.spec.schedule).split(' ').map(Number);
    expect(hour! * 3600 + minute! * 60).toBeGreaterThan(backupLatestEnd);
    expect(verify.spec.concurrencyPolicy).toBe('Forbid');
    expect(env(verify).VERIFY_TABLES!.value).toBe('patients appointments');
    expect(env(verify).PGPASSWORD).toBeUndefined();
  });

  it('takes the credentials only from the Secret and the retention from its props', () => {
    const e = env(find(synth({ retentionDays: 14 }), 'CronJob', 'pms-db-backup'));
    expect(e.PGPASSWORD).toEqual({ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'pms-db-backup-credentials', key: 'password' } } });
    expect(e.PGUSER!.valueFrom.secretKeyRef.key).toBe('username');
    expect(e.RETENTION_DAYS!.value).toBe('14');
    expect(e.BACKUP_DIR!.value).toBe('/backups');
  });

  it('meets Pod Security restricted with a read-only root, scratch emptyDirs and no API token', () => {
    for (const name of ['pms-db-backup', 'pms-db-restore-verify']) {
      const spec = pod(find(synth(), 'CronJob', name));
      const [container] = spec.containers;
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.resources.requests).toHaveProperty('memory');
      expect(container.resources.limits).toHaveProperty('cpu');
      expect(spec.volumes.find((v: Obj) => v.name === 'tmp').emptyDir).toBeDefined();
    }
  });

  it('declares the dump volume with the given storage class and ships both scripts in a ConfigMap', () => {
    const objects = synth({ storageClassName: 'encrypted-ssd', storageGiB: 200 });
    const claim = find(objects, 'PersistentVolumeClaim', 'pms-db-backups');
    expect(claim.spec.storageClassName).toBe('encrypted-ssd');
    expect(claim.spec.resources.requests.storage).toBe('200Gi');
    const scripts = find(objects, 'ConfigMap', 'pms-db-backup-scripts');
    expect(scripts.data['db-backup.sh']).toBe(BACKUP_SCRIPT);
    expect(scripts.data['db-restore-verify.sh']).toBe(RESTORE_VERIFY_SCRIPT);
    expect(pod(find(objects, 'CronJob', 'pms-db-backup')).containers[0].command).toEqual(['/bin/sh', '/scripts/db-backup.sh']);
  });

  it('leaves the storage class to the cluster default when none is given', () => {
    expect(find(synth(), 'PersistentVolumeClaim', 'pms-db-backups').spec.storageClassName).toBeUndefined();
  });

  it.each([
    [{ retentionDays: 0 }, "The 'retentionDays' property must be a positive integer"],
    [{ image: 'postgres:latest' }, "The 'image' property must be pinned"],
    [{ image: 'postgres' }, "The 'image' property must be pinned"],
    [{ verifyTables: [] }, "The 'verifyTables' property must list at least one"],
    [{ verifyTables: ['patients; DROP TABLE x'] }, "The 'verifyTables' property must list at least one"],
    [{ database: 'PMS prod' }, "The 'database' property names the dumps"],
  ] as const)('rejects %j with a message naming the property and the value', (props, message) => {
    expect(() => synth(props as Partial<DatabaseBackupProps>)).toThrow(message);
  });
});

describe('backup settings per environment', () => {
  it('keep dumps 30 days in production, 14 in staging and 7 in dev', async () => {
    // GIVEN the repo's environments WHEN synthesized
    const settings = await loadEnvironmentSettings(REPO_ROOT);
    const manifests = synthesizeAll(parseProject(settings, diskReader(REPO_ROOT)).model);
    // THEN each backup CronJob carries its environment's retention
    const retention = Object.fromEntries(
      manifests.map((m) => {
        const job = m.files.map((f) => f.object as Obj).find((o) => o.kind === 'CronJob' && o.metadata.name === 'pms-db-backup')!;
        return [m.environment, env(job).RETENTION_DAYS!.value];
      }),
    );
    expect(retention).toEqual({ dev: '7', staging: '14', production: '30' });
  });

  it('rejects a retention that is not a positive integer in environment.ts', () => {
    expect(() => resolveEnvironmentSettings('qa', { namespace: 'pms-qa', backup: { retentionDays: 1.5 } })).toThrow(
      "environments/qa/environment.ts: 'backup.retentionDays' must be a positive integer. The value passed is: 1.5",
    );
  });
});
