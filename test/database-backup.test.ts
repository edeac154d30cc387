/**
 * The backup and restore-verification scripts against a real PostgreSQL, run exactly as the
 * synthesized production CronJobs run them (command, arguments, environment; volumes mapped to
 * local directories). Needs Debian's `postgresql` package: skipped with a message when missing
 * locally, failing under CI (test/support/requirements.ts).
 */
import { closeSync, openSync, readdirSync, readSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_NAMES } from '../constructs/database-backup.ts';
import { synthesizeAll } from '../synth/synth.ts';
import type { KubeObject } from '../model/manifests.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { REPO_ROOT } from './helpers.ts';
import { findPostgresBin, runCronJob, TestPostgres, userDir, userTempDir, type RunResult } from './support/postgres.ts';
import { requirement } from './support/requirements.ts';

const pgBin = findPostgresBin();
const postgresHere = requirement({ what: 'PostgreSQL (/usr/lib/postgresql/<major>/bin/initdb)', found: pgBin !== undefined, install: 'apt-get install -y postgresql; .ci/run installs it', tests: 'the backup scripts against a real PostgreSQL (test/database-backup.test.ts)' });

const SECRET = 'pms-db-backup-credentials';
const BACKUP_USER = { username: 'pms_backup', password: 'backup-user-secret' };
const TABLES = ['providers', 'patients', 'appointments'] as const;

/** A small PMS-like schema: providers, patients, appointments with foreign keys, an index, an enum. */
const SCHEMA = `
CREATE TYPE appointment_status AS ENUM ('scheduled', 'completed', 'cancelled');
CREATE TABLE providers (id serial PRIMARY KEY, npi char(10) UNIQUE NOT NULL, name text NOT NULL);
CREATE TABLE patients (
  id serial PRIMARY KEY, mrn text UNIQUE NOT NULL, family_name text NOT NULL, given_name text NOT NULL,
  birth_date date NOT NULL, email text
);
CREATE TABLE appointments (
  id bigserial PRIMARY KEY, patient_id int NOT NULL REFERENCES patients(id), provider_id int NOT NULL REFERENCES providers(id),
  starts_at timestamptz NOT NULL, status appointment_status NOT NULL DEFAULT 'scheduled', telehealth boolean NOT NULL DEFAULT false
);
CREATE INDEX appointments_starts_at ON appointments (starts_at);
INSERT INTO providers (npi, name) SELECT lpad(i::text, 10, '0'), 'Dr. Provider ' || i FROM generate_series(1, 12) i;
INSERT INTO patients (mrn, family_name, given_name, birth_date, email)
  SELECT 'MRN-' || lpad(i::text, 6, '0'), 'Family' || i, 'Given' || i, date '1950-01-01' + (i * 37 % 20000), 'p' || i || '@example.com'
  FROM generate_series(1, 400) i;
INSERT INTO appointments (patient_id, provider_id, starts_at, status, telehealth)
  SELECT 1 + i % 400, 1 + i % 12, timestamptz '2024-01-15 09:00:00+00' + i * interval '30 minutes',
         (ARRAY['scheduled', 'completed', 'cancelled'])[1 + i % 3]::appointment_status, i % 4 = 0
  FROM generate_series(1, 1500) i;
CREATE ROLE ${BACKUP_USER.username} LOGIN PASSWORD '${BACKUP_USER.password}';
GRANT pg_read_all_data TO ${BACKUP_USER.username};
`;

interface Synthesized {
  backup: KubeObject;
  verify: KubeObject;
  scripts: KubeObject;
  retentionDays: number;
}

/** The production CronJobs and scripts ConfigMap, synthesized from the repo. */
async function synthesizeProduction(): Promise<Synthesized> {
  const settings = await loadEnvironmentSettings(REPO_ROOT);
  const { model } = parseProject(settings, diskReader(REPO_ROOT));
  const [production] = synthesizeAll(model, ['production']);
  const find = (kind: string, name: string): KubeObject => {
    const o = production!.files.map((f) => f.object).find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`${kind} ${name} was not synthesized`);
    return o;
  };
  return {
    backup: find('CronJob', BACKUP_NAMES.cronJob),
    verify: find('CronJob', BACKUP_NAMES.verifyCronJob),
    scripts: find('ConfigMap', BACKUP_NAMES.scripts),
    retentionDays: settings.find((s) => s.name === 'production')!.backup.retentionDays,
  };
}

/** The scripts ConfigMap with one script's text changed (a broken script, as it would ship). */
function withScript(scripts: KubeObject, key: string, change: (text: string) => string): KubeObject {
  const data = { ...(scripts.data as Record<string, string>) };
  const before = data[key]!;
  data[key] = change(before);
  if (data[key] === before) throw new Error(`the mutation did not change ${key}`);
  return { ...scripts, data };
}

const dumpsIn = (dir: string): string[] => readdirSync(dir).filter((f) => /^pms-\d{8}T\d{6}Z\.dump$/.test(f)).sort();
const explain = (r: RunResult): string => `exit ${r.status}\n${r.stderr}${r.stdout}`;

describe.skipIf(postgresHere.skip)('database backup scripts against a real PostgreSQL', () => {
  let pg: TestPostgres;
  let synthesized: Synthesized;
  let work: string;

  beforeAll(async () => {
    postgresHere.check();
    synthesized = await synthesizeProduction();
    pg = await TestPostgres.start(pgBin!);
    pg.sql('postgres', 'CREATE DATABASE pms');
    pg.sql('pms', SCHEMA);
    work = userTempDir('flagops-backup-');
  });

  afterAll(() => {
    pg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A fresh backup volume and a runner for both CronJobs against it. */
  function volume(scripts: KubeObject = synthesized.scripts) {
    const dir = userDir(work, `backups-${Math.random().toString(36).slice(2, 8)}`);
    const options = {
      configMaps: [scripts],
      claims: { [BACKUP_NAMES.claim]: dir },
      secrets: { [SECRET]: BACKUP_USER },
      services: { 'pms-postgres:5432': `127.0.0.1:${pg.port}` },
      workDir: work,
      baseEnv: pg.baseEnv(),
    };
    return {
      dir,
      backup: () => runCronJob(synthesized.backup, options),
      verify: () => runCronJob(synthesized.verify, options),
    };
  }

  /**
   * The whole contract in one pass; throws on the first broken promise. The broken-script test
   * runs this same function, so it proves these checks can fail.
   */
  function backupVerifyRestoreRoundTrip(scripts?: KubeObject): void {
    const v = volume(scripts);
    const backup = v.backup();
    if (backup.status !== 0) throw new Error(`backup failed: ${explain(backup)}`);
    const dumps = dumpsIn(v.dir);
    if (dumps.length !== 1) throw new Error(`expected one dump, found ${JSON.stringify(readdirSync(v.dir))}`);
    const dump = join(v.dir, dumps[0]!);
    const mode = statSync(dump).mode & 0o777;
    if (mode !== 0o600) throw new Error(`dump mode is ${mode.toString(8)}, expected 600`);
    const verify = v.verify();
    if (verify.status !== 0) throw new Error(`verification failed: ${explain(verify)}`);
    if (!verify.stderr.includes(`OK: ${dump} restores`)) throw new Error(`verification did not report success: ${explain(verify)}`);
    const restored = `restored_${Math.random().toString(36).slice(2, 8)}`;
    pg.sql('postgres', `CREATE DATABASE ${restored}`);
    const restore = pg.restore(restored, dump);
    if (restore.status !== 0) throw new Error(`pg_restore into a fresh database failed: ${explain(restore)}`);
    for (const table of TABLES) {
      const [source, copy] = [pg.sql('pms', `SELECT count(*) FROM ${table}`), pg.sql(restored, `SELECT count(*) FROM ${table}`)];
      if (source !== copy) throw new Error(`${table}: ${copy} rows restored, ${source} in the source`);
    }
    const checksum = `SELECT md5(string_agg(p::text, '|' ORDER BY p.id)) FROM patients p`;
    const [source, copy] = [pg.sql('pms', checksum), pg.sql(restored, checksum)];
    if (source !== copy) throw new Error(`patients checksum differs after restore: ${copy} vs ${source}`);
  }

  it('backs up, verifies and restores the database with identical row counts and table checksum', () => {
    // GIVEN the PMS database and the production CronJobs as synthesized
    // WHEN the backup job, then the verify job run, and the dump is restored into a fresh database
    // THEN every step succeeds and the restored data equals the source (throws otherwise)
    expect(() => backupVerifyRestoreRoundTrip()).not.toThrow();
  });

  it('reports the row count of every expected table when verification passes', () => {
    // GIVEN a fresh dump WHEN the verify job runs THEN it logs each table's rows from the restored copy
    const v = volume();
    expect(v.backup().status).toBe(0);
    const result = v.verify();
    expect(result.status, explain(result)).toBe(0);
    expect(result.stderr).toContain('table patients: 400 rows');
    expect(result.stderr).toContain('table providers: 12 rows');
    expect(result.stderr).toContain('table appointments: 1500 rows');
    // AND the throwaway server is gone
    expect(readdirSync(work).filter((d) => d.startsWith('volume-scratch')).flatMap((d) => readdirSync(join(work, d)))).not.toContain('pgdata');
  });

  it('writes a custom-format dump, mode 0600, named by its UTC time, with the credentials from the Secret', () => {
    // GIVEN an empty backup volume
    const v = volume();
    // WHEN the backup job runs
    const result = v.backup();
    // THEN it wrote one dump in pg_dump's custom format (magic "PGDMP"), readable by the owner only
    expect(result.status, explain(result)).toBe(0);
    const [dump] = dumpsIn(v.dir);
    expect(dump).toMatch(/^pms-\d{8}T\d{6}Z\.dump$/);
    const path = join(v.dir, dump!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(v.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const head = Buffer.alloc(5);
    const fd = openSync(path, 'r');
    readSync(fd, head, 0, 5, 0);
    closeSync(fd);
    expect(head.toString('latin1')).toBe('PGDMP');
  });

  it('prunes only this prefix\'s timestamped dumps older than the retention period, after a successful dump', () => {
    // GIVEN dumps just past and just within the retention period, files that are not dumps, and
    // old files that only start with the prefix (pms-audit-x.dump, pms-manual.dump)
    const v = volume();
    const days = synthesized.retentionDays;
    const age = (file: string, d: number): void => {
      writeFileSync(join(v.dir, file), 'old dump');
      const t = Date.now() / 1000 - d * 86_400;
      utimesSync(join(v.dir, file), t, t);
    };
    age('pms-20200101T020000Z.dump', days + 1);
    age('pms-20200102T020000Z.dump', days - 1);
    age('notes.txt', days + 100);
    age('other-20200101T020000Z.dump', days + 100);
    age('pms-audit-x.dump', days + 100);
    age('pms-manual.dump', days + 100);
    // WHEN the backup job runs
    const result = v.backup();
    // THEN only the dump older than the retention period is gone
    expect(result.status, explain(result)).toBe(0);
    const left = readdirSync(v.dir).sort();
    expect(left).not.toContain('pms-20200101T020000Z.dump');
    expect(left).toContain('pms-20200102T020000Z.dump');
    expect(left).toContain('notes.txt');
    expect(left).toContain('other-20200101T020000Z.dump');
    expect(left).toContain('pms-audit-x.dump');
    expect(left).toContain('pms-manual.dump');
    expect(dumpsIn(v.dir)).toHaveLength(2);
    expect(result.stderr).toContain(`pruned ${join(v.dir, 'pms-20200101T020000Z.dump')}`);
  });

  it('prunes nothing when the dump fails', () => {
    // GIVEN an old dump, and a Secret with a wrong password
    const v = volume();
    writeFileSync(join(v.dir, 'pms-20200101T020000Z.dump'), 'old dump');
    const t = Date.now() / 1000 - (synthesized.retentionDays + 5) * 86_400;
    utimesSync(join(v.dir, 'pms-20200101T020000Z.dump'), t, t);
    const options = {
      configMaps: [synthesized.scripts],
      claims: { [BACKUP_NAMES.claim]: v.dir },
      secrets: { [SECRET]: { ...BACKUP_USER, password: 'wrong' } },
      services: { 'pms-postgres:5432': `127.0.0.1:${pg.port}` },
      workDir: work,
      baseEnv: pg.baseEnv(),
    };
    // WHEN the backup job runs
    const result = runCronJob(synthesized.backup, options);
    // THEN it fails, leaves no partial file and keeps the old dump
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('FAILED');
    expect(readdirSync(v.dir)).toEqual(['pms-20200101T020000Z.dump']);
  });

  it('fails verification when the newest dump is corrupt', () => {
    // GIVEN a good dump, then a newer one that is truncated garbage
    const v = volume();
    expect(v.backup().status).toBe(0);
    writeFileSync(join(v.dir, 'pms-29991231T235959Z.dump'), 'PGDMP this is not a dump', { mode: 0o600 });
    // WHEN the verify job runs
    const result = v.verify();
    // THEN it fails, naming the dump it could not read
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('pms-29991231T235959Z.dump');
    expect(result.stderr).toContain('FAILED');
  });

  it('verifies the newest timestamped dump, not a file that merely starts with the prefix', () => {
    // GIVEN a good dump, and files named like dumps that the backup did not write and that sort after it
    const v = volume();
    expect(v.backup().status).toBe(0);
    const [dump] = dumpsIn(v.dir);
    writeFileSync(join(v.dir, 'pms-manual.dump'), 'PGDMP not ours', { mode: 0o600 });
    writeFileSync(join(v.dir, 'pms-audit-x.dump'), 'PGDMP not ours', { mode: 0o600 });
    // WHEN the verify job runs
    const result = v.verify();
    // THEN it verifies the timestamped dump and succeeds
    expect(result.status, explain(result)).toBe(0);
    expect(result.stderr).toContain(`OK: ${join(v.dir, dump!)} restores`);
    expect(result.stderr).not.toContain('pms-manual.dump');
  });

  it('fails verification when an expected table is empty in the dump', () => {
    // GIVEN a dump taken while appointments was empty
    const v = volume();
    pg.sql('pms', 'BEGIN; CREATE TABLE appointments_saved AS SELECT * FROM appointments; TRUNCATE appointments; COMMIT;');
    try {
      expect(v.backup().status).toBe(0);
    } finally {
      pg.sql('pms', 'BEGIN; INSERT INTO appointments SELECT * FROM appointments_saved; DROP TABLE appointments_saved; COMMIT;');
    }
    // WHEN the verify job runs
    const result = v.verify();
    // THEN the sanity query fails it
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('table appointments is empty');
  });

  it('fails verification when there is no dump at all', () => {
    // GIVEN an empty backup volume WHEN the verify job runs THEN it fails
    const result = volume().verify();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('no pms-<YYYYmmddTHHMMSSZ>.dump');
  });

  it.each([
    ['writes a plain SQL dump instead of custom format', (s: string) => s.replace('--format=custom', '--format=plain'), 'backup failed'],
    ['dumps the schema without data', (s: string) => s.replace('pg_dump --format=custom', 'pg_dump --schema-only --format=custom'), 'verification failed'],
    ['leaves dumps readable by others', (s: string) => s.replace('umask 077', 'umask 022').replace('chmod 0600 "$partial"', 'chmod 0644 "$partial"'), 'dump mode is 644'],
    ['dumps the wrong database', (s: string) => s.replace('pg_dump --format=custom', 'pg_dump --dbname=postgres --format=custom'), 'verification failed'],
  ])('the round-trip check fails when the backup script %s', (_why, mutate, reason) => {
    // GIVEN a broken backup script, shipped the same way
    const broken = withScript(synthesized.scripts, 'db-backup.sh', mutate);
    // WHEN the same round trip runs THEN it throws, for the expected reason
    expect(() => backupVerifyRestoreRoundTrip(broken)).toThrow(reason);
  });
});
