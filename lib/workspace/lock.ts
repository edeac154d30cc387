/**
 * The project's edit lock: one writer at a time (edits, synth, recovery of an interrupted edit).
 *
 * `.flagops.lock` at the project root holds who took it (pid, host, command, time). It is created
 * atomically with its content (a temporary file hard-linked into place, which fails if the lock
 * exists), so a lock file is never empty. A lock whose owner is dead (same host, pid gone) is taken
 * over at once, with a note; any other wait is bounded, and the error says who holds the lock.
 *
 * A lock is one machine's state, never part of a change: when git tracks `.flagops.lock` (someone
 * committed it with `git add -f`), that file is left alone and the lock is taken in git's own
 * folder instead (`git rev-parse --git-path flagops.lock`), which no commit can hold. Every flagops
 * process of the working tree decides the same way, from the same index and HEAD.
 */
import { existsSync, linkSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { trackedPaths, tryGit } from '../review/git.ts';
import { UsageError } from '../../common/text/errors.ts';

export const LOCK_FILE = '.flagops.lock';

/** Where a project's lock is taken. */
export interface LockPlace {
  /** The lock file, absolute. */
  readonly path: string;
  /** Git tracks `.flagops.lock`, so the lock is in git's folder and that file is ignored. */
  readonly trackedLock: boolean;
}

/**
 * Where the lock of the project at `root` is: `.flagops.lock`, or git's folder when git tracks
 * that file (`trackedLock`: whether it does, when the caller has asked git already).
 */
export function lockPlace(root: string, trackedLock = trackedPaths(root, [LOCK_FILE]).length > 0): LockPlace {
  if (!trackedLock) return { path: join(root, LOCK_FILE), trackedLock };
  const inGit = tryGit(root, ['rev-parse', '--git-path', 'flagops.lock'])?.trim();
  if (!inGit) throw new UsageError(`${LOCK_FILE} is in git, and git does not say where its folder is, so flagops cannot take its edit lock; remove the file from git: git rm --cached ${LOCK_FILE}, then commit`);
  return { path: resolve(root, inGit), trackedLock };
}

/** Who holds (or held) the lock. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** RFC 3339. */
  readonly since: string;
  readonly command: string;
}

export interface LockOptions {
  /** How long to wait for a live owner, in ms. @default FLAGOPS_LOCK_WAIT (seconds) or 10 s */
  readonly waitMs?: number;
  /** Told when a dead owner's lock is taken over. */
  readonly onNote?: (note: string) => void;
  /** What this process is doing, for whoever finds the lock. @default the command line */
  readonly command?: string;
  /** Where the lock is, when the caller knows. @default {@link lockPlace} of the root */
  readonly place?: LockPlace;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { pid: o.pid, host: o.host, since: String(o.since ?? '?'), command: String(o.command ?? '?') };
  } catch {
    // unreadable or vanished: handled by the caller
  }
  return undefined;
}

export const describeOwner = (o: LockOwner): string =>
  `pid ${o.pid} on ${JSON.stringify(o.host).slice(1, -1)} since ${JSON.stringify(o.since).slice(1, -1)} (${JSON.stringify(o.command).slice(1, -1).slice(0, 120)})`;

/**
 * Removes what a killed flagops process left of the lock at `place` on this host: the lock file of
 * a dead owner, and half-made lock files (`<lock>.<pid>.<time>.tmp`) of dead processes. Cheap; run
 * by every command that writes, before it reads the project (a command that only reads never
 * deletes a file). Returns the dead owner, when there was one.
 */
export function clearDeadLock(place: LockPlace): LockOwner | undefined {
  const { path } = place;
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'));
  } catch {
    return undefined;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)\./.exec(name.slice(prefix.length))?.[1]);
    if (pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(dir, name), { force: true });
  }
  const owner = existsSync(path) ? readOwner(path) : undefined;
  if (owner && owner.host === hostname() && owner.pid !== process.pid && !alive(owner.pid)) {
    const again = readOwner(path);
    if (again && again.pid === owner.pid && again.since === owner.since) rmSync(path, { force: true });
    return owner;
  }
  return undefined;
}

function lockWaitFromEnv(): number {
  const raw = process.env.FLAGOPS_LOCK_WAIT;
  const seconds = raw !== undefined && /^\d{1,4}(\.\d+)?$/.test(raw) ? Number(raw) : 10;
  return seconds * 1000;
}

/** Runs `fn` holding the project's lock. */
export async function withLock<T>(root: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const place = options.place ?? lockPlace(root);
  const { path } = place;
  const shown = place.trackedLock ? path : LOCK_FILE;
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    command: options.command ?? ['flagops', ...process.argv.slice(2)].join(' '),
  };
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(me)}\n`, { mode: 0o644 });
  } catch (e) {
    throw new UsageError(`cannot take the edit lock: ${(e as NodeJS.ErrnoException).code ?? 'error'} writing in ${root}`);
  }
  const deadline = Date.now() + (options.waitMs ?? lockWaitFromEnv());
  let delay = 25;
  try {
    for (;;) {
      try {
        linkSync(temp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readOwner(path);
      if (owner && owner.host === me.host && owner.pid !== process.pid && !alive(owner.pid)) {
        // Remove only the file we judged: if another process took it over meanwhile, its content differs.
        const again = readOwner(path);
        if (again && again.pid === owner.pid && again.since === owner.since) rmSync(path, { force: true });
        options.onNote?.(`took over the edit lock of a flagops process that is gone (${describeOwner(owner)})`);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = owner ? `another flagops process holds the edit lock: ${describeOwner(owner)}` : `${shown} exists and is not readable`;
        const fix = owner && owner.host !== me.host ? `; if that process is gone, delete ${shown}` : `; wait for it to finish, or if it hangs, stop it (kill ${owner?.pid ?? '<pid>'})`;
        throw new UsageError(`${who}${fix}`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 250);
    }
  } finally {
    rmSync(temp, { force: true });
  }
  try {
    return await fn();
  } finally {
    const owner = readOwner(path);
    if (owner && owner.pid === me.pid && owner.since === me.since && owner.host === me.host) rmSync(path, { force: true });
  }
}
