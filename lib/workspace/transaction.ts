/**
 * All-or-nothing writes: every command that writes (synth, the edit commands) writes all its files
 * (flag files and dist/) as one transaction, so a failure or a kill at any instant leaves the old
 * state of every file, the new state of every file, or a journal that the next flagops command
 * that writes completes before doing anything else.
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
 * Both are idempotent, and only a command that writes does either ({@link recoverTransactions});
 * the journal is input like any other file, so it is read first and trusted only as flagops writes
 * it ({@link readJournal}; who may complete one: lib/workspace/journal.ts). Writes never go through
 * a symbolic link: every path's folders and the target are checked with lstat before any file
 * moves, and a link is refused ({@link LinkError}).
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../../common/text/errors.ts';
import { printable } from '../../common/text/printable.ts';

/** The folder holding interrupted transactions (ignored by git, never committed; absent between commands). */
export const JOURNAL_DIR = '.flagops';

export interface Transaction {
  /** Path relative to the project root → new content. */
  readonly writes: ReadonlyMap<string, string>;
  /** Paths relative to the project root to delete. */
  readonly removes: readonly string[];
}

/** What a transaction does, as written to its journal (`plan.json`, then `COMMITTED`). */
export interface Plan {
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
 * Fault injection for the crash tests: with `FLAGOPS_CRASH_AFTER=n`, the process kills itself with
 * SIGKILL after the n-th file-system step of a transaction (each transaction counts its own steps).
 * Never set outside tests. Returns the function each step calls.
 */
function crashPoint(): () => void {
  const limit = Number(process.env.FLAGOPS_CRASH_AFTER || Infinity);
  let steps = 0;
  return () => {
    steps += 1;
    if (steps >= limit) process.kill(process.pid, 'SIGKILL');
  };
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
  const step = crashPoint();
  const journal = join(root, JOURNAL_DIR);
  mkdirSync(journal, { recursive: true });
  const dir = join(journal, `txn-${process.pid}-${Date.now()}`);
  mkdirSync(join(dir, 'files'), { recursive: true });
  let plan: Plan;
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
    plan = { writes, removes: [...txn.removes] };
    writeDurably(join(dir, 'plan.json'), JSON.stringify(plan), 0o644);
    syncDir(join(dir, 'files'));
    syncDir(dir);
    step();
  } catch (e) {
    rmSync(dir, { recursive: true });
    removeIfEmpty(journal);
    throw e;
  }
  renameSync(join(dir, 'plan.json'), join(dir, 'COMMITTED'));
  syncDir(dir);
  step();
  complete(root, dir, plan, step);
}

/**
 * Applies a committed transaction folder (idempotent) and removes it. Every target is checked
 * before any file moves: a link anywhere on the way stops the whole write, not half of it.
 */
function complete(root: string, dir: string, plan: Plan, step: () => void): void {
  for (const w of plan.writes) assertPlainPath(root, w.path);
  for (const path of plan.removes) assertPlainPath(root, path);
  const touched = new Set<string>();
  for (const w of plan.writes) {
    const staged = join(dir, w.staged);
    if (!existsSync(staged)) continue; // renamed into place before an interruption
    const target = join(root, w.path);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(staged, target);
    touched.add(dirname(target));
    step();
  }
  for (const path of plan.removes) {
    rmSync(join(root, path), { force: true });
    touched.add(dirname(join(root, path)));
    step();
  }
  for (const d of touched) syncDir(d);
  rmSync(dir, { recursive: true });
  removeIfEmpty(join(root, JOURNAL_DIR));
}

/** Removes the folder `dir` if it is empty (rmdir refuses one that is not). */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty, or absent
  }
}

/** Whether `root` holds a journal, or something in its place (cheap: one lstat; a link counts). */
export function hasJournal(root: string): boolean {
  try {
    lstatSync(join(root, JOURNAL_DIR));
    return true;
  } catch {
    return false;
  }
}

/** One transaction an interrupted command left in the journal. */
export interface PendingTransaction {
  /** Its folder, `txn-<pid>-<time>`. */
  readonly name: string;
  /** Its plan when it reached the commit point (`COMMITTED`): then it is completed, else discarded. */
  readonly plan?: Plan;
}

/** What `.flagops/` holds: its transactions, or why it is not a journal flagops may complete. */
export type JournalContents = { readonly ok: true; readonly transactions: readonly PendingTransaction[] } | { readonly ok: false; readonly problem: string };

/**
 * Whether a journal may name a path: `removal` for a file it deletes. The writers' own set (flag
 * files, `dist/<env>/` manifests, the OpenFeature manifest), see lib/workspace/journal.ts.
 */
export type MayName = (path: string, removal: boolean) => boolean;

/** The only paths a transaction may name: plain relative paths under environments/ or dist/. */
const SAFE_PATH = /^(environments|dist)(\/(?!\.\.?(\/|$))[A-Za-z0-9._-]+)+$/;

/** Whether a journal may name `path` at all: a plain relative path under environments/ or dist/, without `.` or `..` segments. */
export const isJournalPath = (path: string): boolean => SAFE_PATH.test(path);

/** The largest plan read (a plan names each file once: megabytes would be tens of thousands of files). */
const MAX_PLAN_BYTES = 16 * 1024 * 1024;

const shown = (path: string): string => printable(path);

/**
 * Reads the journal under `root` and changes nothing. It is input like any other file, so it is
 * trusted only as flagops writes it: `.flagops/` and each `txn-<pid>-<time>` in it plain folders,
 * every file in them a plain file with a single link (a symbolic or hard link would move a file
 * from elsewhere into the project), and each committed plan naming only paths `mayName` accepts.
 * What vanishes while it reads (a flagops process finishing its own write) is passed over.
 */
export function readJournal(root: string, mayName: MayName): JournalContents {
  const refuse = (problem: string): JournalContents => ({ ok: false, problem });
  const kind = (path: string): 'absent' | 'link' | 'dir' | 'file' | 'other' => {
    try {
      const st = lstatSync(join(root, path));
      if (st.isSymbolicLink()) return 'link';
      if (st.isDirectory()) return 'dir';
      return st.isFile() && st.nlink === 1 ? 'file' : 'other';
    } catch {
      return 'absent';
    }
  };
  /** Why `path` is not what flagops writes there; undefined when it is, or when it is gone. */
  const unlike = (path: string, wanted: 'dir' | 'file'): JournalContents | undefined => {
    const found = kind(path);
    if (found === wanted || found === 'absent') return undefined;
    const what = found === 'link' ? 'a symbolic link' : wanted === 'dir' ? 'not a folder' : 'not a plain file with a single link';
    return refuse(`${shown(path)} is ${what}, so ${JOURNAL_DIR}/ is not a journal flagops can trust`);
  };
  const list = (path: string): string[] | undefined => {
    try {
      return readdirSync(join(root, path)).sort();
    } catch {
      return undefined;
    }
  };
  const foreign = (path: string): JournalContents => refuse(`${shown(path)} is not part of a journal flagops wrote (it keeps only txn-<pid>-<time> folders in ${JOURNAL_DIR}/, each with files/, plan.json or COMMITTED)`);
  const top = unlike(JOURNAL_DIR, 'dir');
  if (top) return top;
  const transactions: PendingTransaction[] = [];
  for (const name of list(JOURNAL_DIR) ?? []) {
    const dir = `${JOURNAL_DIR}/${name}`;
    const bad = unlike(dir, 'dir');
    if (bad) return bad;
    if (!/^txn-\d+-\d+$/.test(name)) return foreign(dir);
    const entries = list(dir);
    if (!entries) continue; // completed meanwhile
    for (const entry of entries) {
      if (entry !== 'files' && entry !== 'plan.json' && entry !== 'COMMITTED') return foreign(`${dir}/${entry}`);
      const wrong = unlike(`${dir}/${entry}`, entry === 'files' ? 'dir' : 'file');
      if (wrong) return wrong;
    }
    const staged = entries.includes('files') ? list(`${dir}/files`) : [];
    // A files/ it cannot list (no read permission) would keep its staged files from being checked.
    if (!staged && kind(`${dir}/files`) !== 'absent') return refuse(`${shown(dir)}/files cannot be listed, so ${JOURNAL_DIR}/ is not a journal flagops can trust`);
    for (const file of staged ?? []) {
      if (!/^\d+$/.test(file)) return foreign(`${dir}/files/${file}`);
      const wrong = unlike(`${dir}/files/${file}`, 'file');
      if (wrong) return wrong;
    }
    if (!entries.includes('COMMITTED')) {
      transactions.push({ name });
      continue;
    }
    const plan = readPlan(join(root, dir, 'COMMITTED'));
    if (typeof plan !== 'string') transactions.push({ name, plan });
    else if (kind(`${dir}/COMMITTED`) !== 'absent') return refuse(`${shown(dir)} is not a journal flagops wrote: ${plan}`);
  }
  return { ok: true, transactions };

  /** A committed plan, checked; or what is wrong with it. */
  function readPlan(file: string): Plan | string {
    let plan: Plan;
    try {
      if (lstatSync(file).size > MAX_PLAN_BYTES) return 'its plan is larger than any flagops writes';
      plan = JSON.parse(readFileSync(file, 'utf8')) as Plan;
    } catch {
      return 'its plan is not the JSON flagops writes';
    }
    if (!plan || !Array.isArray(plan.writes) || !Array.isArray(plan.removes)) return 'its plan is not the JSON flagops writes';
    for (const w of plan.writes as unknown[]) {
      const { path, staged } = (w ?? {}) as Partial<Record<'path' | 'staged', unknown>>;
      if (typeof path !== 'string' || typeof staged !== 'string' || !/^files\/\d+$/.test(staged)) return 'its plan is not the JSON flagops writes';
      if (!isJournalPath(path) || !mayName(path, false)) return `its plan names ${shown(JSON.stringify(path))}, which no flagops command writes`;
    }
    for (const path of plan.removes as unknown[]) {
      if (typeof path !== 'string') return 'its plan is not the JSON flagops writes';
      if (!isJournalPath(path) || !mayName(path, true)) return `its plan removes ${shown(JSON.stringify(path))}, which no flagops command removes`;
    }
    return plan;
  }
}

export interface Recovery {
  /** Files of the interrupted transactions completed (their new state is now on disk). */
  readonly completed: readonly string[];
  /** Interrupted preparations discarded (the old state was never touched). */
  readonly discarded: number;
}

/**
 * Completes or discards what an interrupted command left in the journal, once {@link readJournal}
 * trusts it (else a UsageError says what to do, and nothing is touched). Call it holding the
 * project's lock, before reading the project, and only from a command that writes.
 */
export function recoverTransactions(root: string, mayName: MayName): Recovery {
  const journal = readJournal(root, mayName);
  if (!journal.ok) throw new UsageError(`${journal.problem}; flagops never replays it: delete it (rm -r ${JOURNAL_DIR}), check the flag files and dist/ with git status, and run the command again`);
  const completed: string[] = [];
  let discarded = 0;
  for (const { name, plan } of journal.transactions) {
    const dir = join(root, JOURNAL_DIR, name);
    if (plan) {
      try {
        complete(root, dir, plan, crashPoint());
      } catch (e) {
        if (e instanceof LinkError) throw new LinkError(e.path, `cannot complete the interrupted write in ${JOURNAL_DIR}/${name}: ${e.message}`);
        throw e;
      }
      completed.push(...plan.writes.map((w) => w.path), ...plan.removes);
    } else {
      rmSync(dir, { recursive: true });
      discarded++;
    }
  }
  removeIfEmpty(join(root, JOURNAL_DIR));
  return { completed, discarded };
}
