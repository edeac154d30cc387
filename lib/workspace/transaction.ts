/**
 * All-or-nothing writes: every command that writes (synth, the edit commands) writes all its files
 * (flag files and dist/) as one transaction, so a failure or a kill at any instant leaves the old
 * state of every file, the new state of every file, or a journal that the next flagops command
 * completes before doing anything else.
 *
 * A transaction is a folder under `.flagops/`:
 *
 * 1. every new file is written in full into it (`files/<n>`, with the mode of the file it
 *    replaces) and flushed to disk, then the plan (`plan.json`: target paths and removals);
 * 2. the plan is renamed to `COMMITTED`: the one atomic step that decides the outcome;
 * 3. each staged file is renamed over its target (same file system, so each is atomic), removed
 *    files are deleted, and the folder is removed.
 *
 * A folder without `COMMITTED` is an interrupted preparation: discarded (the project is still in
 * its old state). A folder with it is completed (renames of files still staged; removals again).
 * Both are idempotent. Writes never go through a symbolic link: every path's folders and the
 * target are checked with lstat first, and a link is refused ({@link LinkError}).
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../text/errors.ts';

/** The folder holding interrupted transactions (ignored by git; empty or absent between commands). */
export const JOURNAL_DIR = '.flagops';

export interface Transaction {
  /** Path relative to the project root → new content. */
  readonly writes: ReadonlyMap<string, string>;
  /** Paths relative to the project root to delete. */
  readonly removes: readonly string[];
}

interface Plan {
  readonly writes: readonly { readonly path: string; readonly staged: string }[];
  readonly removes: readonly string[];
}

/** A write or delete that would go through a symbolic link, or onto something that is not a file. */
export class LinkError extends UsageError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Fault injection for the crash test: with `FLAGOPS_CRASH_AFTER=n`, the process kills itself with
 * SIGKILL after its n-th file-system step of a transaction. Never set outside tests.
 */
let steps = 0;
function step(): void {
  const limit = process.env.FLAGOPS_CRASH_AFTER;
  if (limit === undefined) return;
  steps += 1;
  if (steps >= Number(limit)) process.kill(process.pid, 'SIGKILL');
}

/**
 * Refuses a path (relative to `root`) whose existing folders or target are symbolic links, or whose
 * folders are not folders. `kind` says what the target must be when it exists.
 */
export function assertPlainPath(root: string, path: string, kind: 'file' | 'dir' = 'file'): void {
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const rel = parts.slice(0, i + 1).join('/');
    let st;
    try {
      st = lstatSync(join(root, rel));
    } catch {
      return; // does not exist: nothing below it exists either
    }
    const last = i === parts.length - 1;
    if (st.isSymbolicLink()) {
      throw new LinkError(rel, `${rel} is a symbolic link; flagops never writes or deletes through links: replace it with a plain ${last && kind === 'file' ? 'file' : 'folder'} (git rm it, then run flagops synth)`);
    }
    if (!last && !st.isDirectory()) throw new LinkError(rel, `${rel} is not a folder, so ${path} cannot be written`);
    if (last && kind === 'file' && !st.isFile()) throw new LinkError(rel, `${rel} is not a regular file, so flagops does not replace it`);
    if (last && kind === 'dir' && !st.isDirectory()) throw new LinkError(rel, `${rel} is not a folder`);
  }
}

function writeDurably(path: string, text: string, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems cannot fsync a folder; the rename is still atomic
  }
}

/** Writes `txn` under `root` all-or-nothing. Call it holding the project's lock. */
export function commitTransaction(root: string, txn: Transaction): void {
  if (txn.writes.size === 0 && txn.removes.length === 0) return;
  for (const path of txn.writes.keys()) assertPlainPath(root, path);
  for (const path of txn.removes) assertPlainPath(root, path);
  assertPlainPath(root, JOURNAL_DIR, 'dir');
  const journal = join(root, JOURNAL_DIR);
  mkdirSync(journal, { recursive: true });
  const dir = join(journal, `txn-${process.pid}-${Date.now()}`);
  mkdirSync(join(dir, 'files'), { recursive: true });
  try {
    const writes: { path: string; staged: string }[] = [];
    let n = 0;
    for (const [path, text] of txn.writes) {
      const staged = `files/${n++}`;
      let mode = 0o644;
      try {
        mode = statSync(join(root, path)).mode & 0o7777;
      } catch {
        // a new file: the default mode
      }
      writeDurably(join(dir, staged), text, mode);
      step();
      writes.push({ path, staged });
    }
    const plan: Plan = { writes, removes: [...txn.removes] };
    writeDurably(join(dir, 'plan.json'), JSON.stringify(plan), 0o644);
    syncDir(join(dir, 'files'));
    syncDir(dir);
    step();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    removeIfEmpty(journal);
    throw e;
  }
  renameSync(join(dir, 'plan.json'), join(dir, 'COMMITTED'));
  syncDir(dir);
  step();
  complete(root, dir);
}

/** Applies a committed transaction folder (idempotent) and removes it. */
function complete(root: string, dir: string): void {
  const plan = readPlan(dir);
  if (!plan) throw new UsageError(`${JOURNAL_DIR}/${dir.split(/[\\/]/).pop()} is not a journal flagops wrote; delete ${JOURNAL_DIR}/ and check the flag files with git status`);
  const touched = new Set<string>();
  for (const w of plan.writes) {
    const staged = join(dir, w.staged);
    if (!existsSync(staged)) continue; // renamed into place before an interruption
    assertPlainPath(root, w.path);
    const target = join(root, w.path);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(staged, target);
    touched.add(dirname(target));
    step();
  }
  for (const path of plan.removes) {
    assertPlainPath(root, path);
    rmSync(join(root, path), { force: true });
    touched.add(dirname(join(root, path)));
    step();
  }
  for (const d of touched) syncDir(d);
  rmSync(dir, { recursive: true, force: true });
  removeIfEmpty(join(root, JOURNAL_DIR));
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  } catch {
    // absent
  }
}

export interface Recovery {
  /** Interrupted transactions completed (their new state is now on disk). */
  readonly completed: readonly string[];
  /** Interrupted preparations discarded (the old state was never touched). */
  readonly discarded: number;
}

/** Whether `root` holds an interrupted transaction (cheap: one stat). */
export function hasJournal(root: string): boolean {
  return existsSync(join(root, JOURNAL_DIR));
}

/**
 * Completes or discards what an interrupted command left in the journal. Call it holding the
 * project's lock, before reading the project.
 */
export function recoverTransactions(root: string): Recovery {
  const journal = join(root, JOURNAL_DIR);
  if (!existsSync(journal)) return { completed: [], discarded: 0 };
  assertPlainPath(root, JOURNAL_DIR, 'dir');
  const completed: string[] = [];
  let discarded = 0;
  for (const name of readdirSync(journal).sort()) {
    const dir = join(journal, name);
    if (!name.startsWith('txn-')) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (existsSync(join(dir, 'COMMITTED'))) {
      const plan = readPlan(dir);
      complete(root, dir);
      completed.push(...plan!.writes.map((w) => w.path), ...plan!.removes);
    } else {
      rmSync(dir, { recursive: true, force: true });
      discarded++;
    }
  }
  removeIfEmpty(journal);
  return { completed, discarded };
}

/** The only paths a transaction may name: plain relative paths under environments/ or dist/. */
const SAFE_PATH = /^(environments|dist)(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+)+$/;

/** A journal's plan, checked: a journal is a file in the project, so it is input like any other. */
function readPlan(dir: string): Plan | undefined {
  try {
    const plan = JSON.parse(readFileSync(join(dir, 'COMMITTED'), 'utf8')) as Plan;
    const ok =
      Array.isArray(plan.writes) &&
      Array.isArray(plan.removes) &&
      plan.writes.every((w) => typeof w.path === 'string' && SAFE_PATH.test(w.path) && typeof w.staged === 'string' && /^files\/\d+$/.test(w.staged)) &&
      plan.removes.every((p) => typeof p === 'string' && SAFE_PATH.test(p));
    return ok ? plan : undefined;
  } catch {
    return undefined;
  }
}
