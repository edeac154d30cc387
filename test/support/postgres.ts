/**
 * Test support for the backup scripts: a throwaway PostgreSQL (Debian's `postgresql` package,
 * initdb into a temp dir, listening on 127.0.0.1 only, run as a non-root user), and a runner that
 * executes a synthesized CronJob's container the way the kubelet would: same command, arguments
 * and environment, its volumes replaced by local directories and its Secret references by values.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../model/manifests.ts';
import { onFreePort } from './ports.ts';

/** The newest `/usr/lib/postgresql/<major>/bin` holding initdb, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], 'bin') : undefined;
}

/** PostgreSQL refuses to run as root: as root, commands run as `nobody` (uid/gid 65534). */
const RUN_AS = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as the unprivileged database user with exactly `env` (nothing inherited). */
export function runAsDbUser(command: string, args: readonly string[], env: Record<string, string>, cwd: string): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 45_000, ...RUN_AS });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary directory the database user owns. */
export function userTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (RUN_AS.uid !== undefined) chownSync(dir, RUN_AS.uid, RUN_AS.gid!);
  return dir;
}

/** A directory the database user owns. */
export function userDir(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (RUN_AS.uid !== undefined) chownSync(dir, RUN_AS.uid, RUN_AS.gid!);
  return dir;
}


/** A running throwaway PostgreSQL server. */
export class TestPostgres {
  readonly root: string;
  /** The TCP port on 127.0.0.1 (0 until the server has started). */
  port = 0;
  readonly bin: string;
  private readonly data: string;
  private readonly socket: string;

  private constructor(bin: string, root: string) {
    this.bin = bin;
    this.root = root;
    this.data = join(root, 'pgdata');
    this.socket = userDir(root, 'sock');
  }

  /** initdb (superuser `postgres`: trust on the socket, scram-sha-256 over TCP) and start on 127.0.0.1. */
  static async start(bin: string): Promise<TestPostgres> {
    const root = userTempDir('flagops-pg-');
    const pg = new TestPostgres(bin, root);
    writeFileSync(join(root, 'pwfile'), 'superuser-secret\n', { mode: 0o600 });
    if (RUN_AS.uid !== undefined) chownSync(join(root, 'pwfile'), RUN_AS.uid, RUN_AS.gid!);
    pg.must(join(bin, 'initdb'), [
      `--pgdata=${pg.data}`, '--username=postgres', `--pwfile=${join(root, 'pwfile')}`,
      '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync',
    ]);
    const log = join(root, 'server.log');
    return onFreePort(async (port) => {
      pg.port = port;
      const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${pg.socket} -c fsync=off`;
      try {
        pg.must(join(bin, 'pg_ctl'), [`--pgdata=${pg.data}`, `--log=${log}`, '--wait', '--timeout=30', `--options=${options}`, 'start']);
      } catch (error) {
        // pg_ctl only says "could not start server": why (a port taken meanwhile?) is in the server's log
        throw new Error(`${String(error)}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
      }
      return pg;
    });
  }

  /** The environment every client run gets: PATH of the postgres image (its bin dir first), nothing else. */
  baseEnv(): Record<string, string> {
    return { PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin`, LC_ALL: 'C', HOME: this.root };
  }

  /** Runs SQL as the superuser over the socket; returns unaligned tuples. */
  sql(database: string, sql: string): string {
    return this.must(join(this.bin, 'psql'), [
      '--no-psqlrc', '--quiet', '--tuples-only', '--no-align', '--set=ON_ERROR_STOP=1',
      `--host=${this.socket}`, `--port=${this.port}`, '--username=postgres', `--dbname=${database}`, '--command', sql,
    ]).trim();
  }

  /** pg_restore as the superuser into an existing database. */
  restore(database: string, dump: string): RunResult {
    return runAsDbUser(join(this.bin, 'pg_restore'), ['--exit-on-error', '--no-owner', '--no-privileges', `--host=${this.socket}`, `--port=${this.port}`, '--username=postgres', `--dbname=${database}`, dump], this.baseEnv(), this.root);
  }

  stop(): void {
    runAsDbUser(join(this.bin, 'pg_ctl'), [`--pgdata=${this.data}`, '--mode=immediate', '--wait', 'stop'], this.baseEnv(), this.root);
    rmSync(this.root, { recursive: true, force: true });
  }

  private must(command: string, args: readonly string[]): string {
    const r = runAsDbUser(command, args, this.baseEnv(), this.root);
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }
}

interface Container {
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodVolume {
  name: string;
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: object;
}

export interface PodRunOptions {
  /** Objects the pod's volumes refer to (ConfigMaps), by name. */
  readonly configMaps: readonly KubeObject[];
  /** Local directory standing in for each PersistentVolumeClaim, by claim name. */
  readonly claims: Readonly<Record<string, string>>;
  /** Secret values: `secrets[name][key]`. */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Service addresses: `{ 'pms-postgres:5432': '127.0.0.1:54321' }` rewrites PGHOST/PGPORT (what cluster DNS does). */
  readonly services: Readonly<Record<string, string>>;
  /** Where emptyDirs and ConfigMap volumes are materialized. */
  readonly workDir: string;
  /** Base environment (PATH of the image). */
  readonly baseEnv: Record<string, string>;
}

/**
 * Runs the first container of a CronJob's pod template exactly as configured: its command and
 * args, its env (values as written, Secret references resolved), with every mountPath mapped to a
 * local directory (in env values and arguments alike).
 */
export function runCronJob(cronJob: KubeObject, options: PodRunOptions): RunResult {
  const pod = (cronJob as unknown as { spec: { jobTemplate: { spec: { template: { spec: { containers: Container[]; volumes?: PodVolume[] } } } } } })
    .spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0]!;
  const mounts = new Map<string, string>();
  for (const m of container.volumeMounts ?? []) {
    const volume = (pod.volumes ?? []).find((v) => v.name === m.name);
    if (!volume) throw new Error(`volumeMount ${m.name} has no volume`);
    mounts.set(m.mountPath, materialize(volume, options));
  }
  const mapPath = (value: string): string => {
    for (const [mountPath, local] of mounts) {
      if (value === mountPath || value.startsWith(`${mountPath}/`)) return local + value.slice(mountPath.length);
    }
    return value;
  };
  const env: Record<string, string> = { ...options.baseEnv };
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const value = options.secrets[ref.name]?.[ref.key];
      if (value === undefined) throw new Error(`env ${e.name}: Secret ${ref.name} key ${ref.key} is not provided`);
      env[e.name] = value;
    } else if (e.value !== undefined) env[e.name] = mapPath(e.value);
    else throw new Error(`env ${e.name}: only values and secretKeyRefs are supported`);
  }
  if (env.PGHOST !== undefined) {
    const target = options.services[`${env.PGHOST}:${env.PGPORT ?? '5432'}`];
    if (!target) throw new Error(`no test address for the database service ${env.PGHOST}:${env.PGPORT}`);
    const [host, port] = target.split(':') as [string, string];
    env.PGHOST = host;
    env.PGPORT = port;
  }
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map(mapPath);
  return runAsDbUser(argv[0]!, argv.slice(1), env, options.workDir);
}

let volumeCounter = 0;

function materialize(volume: PodVolume, options: PodRunOptions): string {
  if (volume.persistentVolumeClaim) {
    const dir = options.claims[volume.persistentVolumeClaim.claimName];
    if (!dir) throw new Error(`no local directory for PersistentVolumeClaim ${volume.persistentVolumeClaim.claimName}`);
    return dir;
  }
  const dir = userDir(options.workDir, `volume-${volume.name}-${++volumeCounter}`);
  if (volume.configMap) {
    const cm = options.configMaps.find((c) => c.metadata.name === volume.configMap!.name);
    if (!cm) throw new Error(`ConfigMap ${volume.configMap.name} was not synthesized`);
    for (const [key, text] of Object.entries((cm.data ?? {}) as Record<string, string>)) writeFileSync(join(dir, key), text, { mode: 0o444 });
    return dir;
  }
  if (volume.emptyDir) return dir;
  throw new Error(`volume ${volume.name}: unsupported type`);
}
