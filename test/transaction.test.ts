/**
 * lib/workspace/transaction.ts on its own, in this process: the all-or-nothing write (what it writes,
 * flushes and removes, in which order, and what a kill after any of its steps leaves), the journal
 * reader (every way a `.flagops/` can be what flagops never writes: links, hard links, foreign
 * names, malformed plans, paths that leave the project) and the recovery (complete or discard,
 * idempotent, never through a link). The commands' view of the same is in journal.test.ts and
 * write-safety.test.ts; this file pins each branch so that mutation testing
 * (docs/testing.md#mutation-testing) sees a test fail for every bug planted in the module.
 *
 * `node:fs` is wrapped (test/support/fs-trace.ts: each call passed on unchanged) so that a test can
 * see the order of the writes, flushes and renames a transaction makes, and make a step fail or a
 * folder vanish at a chosen call, as a file system, a user without read permission or a concurrent
 * flagops process would.
 */
import { chmodSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../common/text/errors.ts';
import { assertPlainPath, commitTransaction, hasJournal, isJournalPath, LinkError, readJournal, recoverTransactions, type MayName, type Transaction } from '../lib/workspace/transaction.ts';
import { snapshot } from './helpers.ts';
import { before, fsCalls, fsTrace, systemError } from './support/fs-trace.ts';

vi.mock('node:fs', async (importOriginal) => (await import('./support/fs-trace.ts')).tracedFs(await importOriginal()));

beforeEach(() => {
  fsTrace.hooks.length = 0;
  // No test here may kill the test process: a kill asked for is recorded by the test that asks for it.
  vi.spyOn(process, 'kill').mockImplementation(() => {
    throw new Error('process.kill was called where no crash was asked for (FLAGOPS_CRASH_AFTER)');
  });
});
afterEach(() => {
  expect(fsTrace.hooks, 'every hook a test set was reached').toEqual([]);
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const FLAGS = 'environments/dev/flags.yaml';
const A = 'dist/dev/a.yaml';
const B = 'dist/dev/b.yaml';
const NEW = 'dist/dev/new.yaml';
/** Lets any path through: the writers' own list (lib/workspace/journal.ts) aside, what the module checks alone. */
const anyPath: MayName = () => true;

/** A scratch project: environments/dev/flags.yaml, dist/dev/a.yaml and dist/dev/b.yaml, each holding its own path. */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'flagops-txn-'));
  for (const path of [FLAGS, A, B]) put(root, path, `old ${path}\n`);
  fsTrace.root = root;
  return root;
}

/** Writes `text` to `path` under `root`, creating its folders. */
function put(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** The transaction the tests commit: two files written (one of them new), one removed. */
const TXN: Transaction = { writes: new Map([[FLAGS, `new ${FLAGS}\n`], [NEW, `new ${NEW}\n`]]), removes: [B] };

/** The project after {@link TXN}. */
function afterTxn(root: string): Record<string, string> {
  const files = snapshot(root);
  files[FLAGS] = `new ${FLAGS}\n`;
  files[NEW] = `new ${NEW}\n`;
  delete files[B];
  return files;
}

interface JournalSpec {
  /** Staged texts, as `files/0`, `files/1`, ... */
  readonly files?: readonly string[];
  /** The plan: its text when it is not an object. */
  readonly plan?: unknown;
  /** Written as `COMMITTED` (true, the default) or `plan.json` (an interrupted preparation). */
  readonly committed?: boolean;
}

/** Writes a transaction folder `.flagops/<name>` as flagops writes one. */
function journal(root: string, name: string, spec: JournalSpec = {}): string {
  const dir = join(root, '.flagops', name);
  mkdirSync(join(dir, 'files'), { recursive: true });
  (spec.files ?? []).forEach((text, n) => writeFileSync(join(dir, 'files', String(n)), text));
  if (spec.plan !== undefined) writeFileSync(join(dir, spec.committed === false ? 'plan.json' : 'COMMITTED'), typeof spec.plan === 'string' ? spec.plan : JSON.stringify(spec.plan));
  return dir;
}

/** A plan writing each path from `files/<n>` in order, and removing `removes`. */
const plan = (writes: readonly string[], removes: readonly string[] = []) => ({ writes: writes.map((path, n) => ({ path, staged: `files/${n}` })), removes });

/** The error `run` throws (the test fails when it throws none). */
function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

/** What a LinkError says: its path and message. */
function linkError(run: () => unknown): { path: string; message: string } {
  const e = thrown(run);
  expect(e).toBeInstanceOf(LinkError);
  return { path: (e as LinkError).path, message: e.message };
}

const TRUST = 'so .flagops/ is not a journal flagops can trust';
const FOREIGN = 'is not part of a journal flagops wrote (it keeps only txn-<pid>-<time> folders in .flagops/, each with files/, plan.json or COMMITTED)';
const NOT_JSON = 'its plan is not the JSON flagops writes';

describe('commitTransaction: every file written and removed, or none', () => {
  it('writes each file, removes each file named, and leaves nothing of its journal', () => {
    const root = project();
    const expected = afterTxn(root);
    commitTransaction(root, TXN);
    expect(snapshot(root)).toEqual(expected);
    expect(existsSync(join(root, '.flagops'))).toBe(false);
  });

  it('flushes each staged file and the plan before the commit point, then the folders after each step, and closes every file it opens', () => {
    const root = project();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-23T12:00:00Z'));
    const txn = `.flagops/txn-${process.pid}-${Date.parse('2026-11-23T12:00:00Z')}`;
    const flushed = (path: string) => [`open ${path}`, `fsync ${path}`, `close ${path}`];
    const written = (path: string) => [`open ${path}`, `write ${path}`, `fsync ${path}`, `close ${path}`];
    expect(fsCalls(root, () => commitTransaction(root, TXN))).toEqual([
      'mkdir .flagops',
      `mkdir ${txn}/files`,
      ...written(`${txn}/files/0`),
      ...written(`${txn}/files/1`),
      ...written(`${txn}/plan.json`),
      ...flushed(`${txn}/files`),
      ...flushed(txn),
      `rename ${txn}/plan.json -> ${txn}/COMMITTED`,
      ...flushed(txn),
      'mkdir environments/dev',
      `rename ${txn}/files/0 -> ${FLAGS}`,
      'mkdir dist/dev',
      `rename ${txn}/files/1 -> ${NEW}`,
      `rm ${B}`,
      ...flushed('environments/dev'),
      ...flushed('dist/dev'),
      `rm ${txn}`,
      'rmdir .flagops',
    ]);
  });

  it('a file system that cannot flush a folder: the write still completes', () => {
    const root = project();
    const expected = afterTxn(root);
    before('fsync', 'dist/dev', () => {
      throw systemError('EINVAL', 'fsync', 'dist/dev');
    });
    commitTransaction(root, TXN);
    expect(snapshot(root)).toEqual(expected);
  });

  it('keeps the mode of each file it replaces; a new file gets 0644', () => {
    const root = project();
    chmodSync(join(root, FLAGS), 0o640);
    chmodSync(join(root, A), 0o600);
    commitTransaction(root, { writes: new Map([[FLAGS, 'x\n'], [A, 'y\n'], [NEW, 'z\n']]), removes: [] });
    expect([FLAGS, A, NEW].map((p) => statSync(join(root, p)).mode & 0o7777)).toEqual([0o640, 0o600, 0o644]);
  });

  it('an empty transaction touches nothing, not even the folder it was given', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'flagops-txn-')), 'absent');
    commitTransaction(root, { writes: new Map(), removes: [] });
    expect(existsSync(root)).toBe(false);
  });

  it('a transaction that only writes, and one that only removes, each does its part', () => {
    const root = project();
    commitTransaction(root, { writes: new Map([[A, 'written\n']]), removes: [] });
    expect(readFileSync(join(root, A), 'utf8')).toBe('written\n');
    commitTransaction(root, { writes: new Map(), removes: [B] });
    expect(existsSync(join(root, B))).toBe(false);
    expect(existsSync(join(root, '.flagops'))).toBe(false);
  });

  it("leaves another transaction's folder in .flagops/ alone, and .flagops/ with it", () => {
    const root = project();
    journal(root, 'txn-1-1', { files: ['staged\n'] });
    const other = snapshot(join(root, '.flagops'));
    commitTransaction(root, TXN);
    expect(snapshot(join(root, '.flagops'))).toEqual(other);
    expect(readFileSync(join(root, NEW), 'utf8')).toBe(`new ${NEW}\n`);
  });

  it('refuses a write or a removal through a linked folder before any file changes', () => {
    const root = project();
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
    writeFileSync(join(elsewhere, 'b.yaml'), 'elsewhere\n');
    rmSync(join(root, 'dist', 'dev'), { recursive: true });
    symlinkSync(elsewhere, join(root, 'dist', 'dev'));
    const untouched = { project: snapshot(root), elsewhere: snapshot(elsewhere) };
    const viaLink = { path: 'dist/dev', message: 'dist/dev is a symbolic link; flagops never writes or deletes through links: replace it with a plain folder (git rm it, then run flagops synth)' };
    expect(linkError(() => commitTransaction(root, TXN))).toEqual(viaLink);
    expect(linkError(() => commitTransaction(root, { writes: new Map(), removes: [B] }))).toEqual(viaLink);
    expect(snapshot(root)).toEqual(untouched.project);
    expect(snapshot(elsewhere)).toEqual(untouched.elsewhere);
    expect(existsSync(join(root, '.flagops'))).toBe(false);
  });

  it('refuses a .flagops that is a link or a file, before any file changes', () => {
    const write: Transaction = { writes: new Map([[FLAGS, 'x\n']]), removes: [] };
    const linked = project();
    symlinkSync(mkdtempSync(join(tmpdir(), 'flagops-elsewhere-')), join(linked, '.flagops'));
    expect(linkError(() => commitTransaction(linked, write))).toEqual({
      path: '.flagops',
      message: '.flagops is a symbolic link; flagops never writes or deletes through links: replace it with a plain folder (git rm it, then run flagops synth)',
    });
    const file = project();
    writeFileSync(join(file, '.flagops'), '');
    expect(linkError(() => commitTransaction(file, write))).toEqual({ path: '.flagops', message: '.flagops is not a folder' });
    for (const root of [linked, file]) expect(readFileSync(join(root, FLAGS), 'utf8')).toBe(`old ${FLAGS}\n`);
  });

  it('an error while it stages removes the transaction folder and is passed on; no file changes', () => {
    for (const step of [1, 2, 3]) {
      const root = project();
      const old = snapshot(root);
      const failure = new Error(`failed after step ${step}`);
      vi.stubEnv('FLAGOPS_CRASH_AFTER', String(step));
      vi.spyOn(process, 'kill').mockImplementation(() => {
        throw failure;
      });
      expect(thrown(() => commitTransaction(root, TXN))).toBe(failure);
      expect(snapshot(root), `step ${step}`).toEqual(old);
      expect(existsSync(join(root, '.flagops'))).toBe(false);
    }
  });

  it('killed after any of its file-system steps: the old state before the commit point, the new state after it, once recovered', () => {
    // steps: 1-2 stage the two files, 3 writes the plan, 4 commits, 5-6 move the files into place, 7 removes
    for (let step = 1; step <= 8; step++) {
      const root = project();
      const old = snapshot(root);
      const next = afterTxn(root);
      const killed = mkdtempSync(join(tmpdir(), 'flagops-killed-'));
      const kills: unknown[][] = [];
      vi.stubEnv('FLAGOPS_CRASH_AFTER', String(step));
      vi.spyOn(process, 'kill').mockImplementation((...args: unknown[]) => {
        // what a SIGKILL would leave: the project as it is at this instant
        if (kills.length === 0) cpSync(root, killed, { recursive: true });
        kills.push(args);
        return true as const;
      });
      commitTransaction(root, TXN);
      vi.unstubAllEnvs();
      expect(snapshot(root), `step ${step}: the transaction itself goes on (the kill is only recorded)`).toEqual(next);
      if (step === 8) {
        expect(kills, 'a transaction of 7 steps is never killed after an 8th').toEqual([]);
        continue;
      }
      expect(kills[0], `step ${step}`).toEqual([process.pid, 'SIGKILL']);
      const recovery = recoverTransactions(killed, anyPath);
      const committed = step >= 4;
      expect(recovery, `step ${step}`).toEqual(committed ? { completed: [FLAGS, NEW, B], discarded: 0 } : { completed: [], discarded: 1 });
      expect(snapshot(killed), `step ${step}`).toEqual(committed ? next : old);
      expect(existsSync(join(killed, '.flagops'))).toBe(false);
    }
  });
});

describe('assertPlainPath: never through a link, never onto something that is not a file or folder', () => {
  it('accepts plain folders and a plain file, a folder where one is wanted, and paths that do not exist yet', () => {
    const root = project();
    expect(() => assertPlainPath(root, A)).not.toThrow();
    expect(() => assertPlainPath(root, 'dist/dev', 'dir')).not.toThrow();
    expect(() => assertPlainPath(root, 'dist/dev/new.yaml')).not.toThrow();
    expect(() => assertPlainPath(root, 'dist/staging/new.yaml')).not.toThrow();
    expect(() => assertPlainPath(root, '.flagops', 'dir')).not.toThrow();
  });

  it('refuses a link: the file itself, a folder on the way, the folder wanted', () => {
    const root = project();
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
    rmSync(join(root, A));
    symlinkSync(join(elsewhere, 'a.yaml'), join(root, A));
    const through = (path: string, what: string) => `${path} is a symbolic link; flagops never writes or deletes through links: replace it with a plain ${what} (git rm it, then run flagops synth)`;
    expect(linkError(() => assertPlainPath(root, A))).toEqual({ path: A, message: through(A, 'file') });
    rmSync(join(root, 'environments', 'dev'), { recursive: true });
    symlinkSync(elsewhere, join(root, 'environments', 'dev'));
    expect(linkError(() => assertPlainPath(root, FLAGS))).toEqual({ path: 'environments/dev', message: through('environments/dev', 'folder') });
    expect(linkError(() => assertPlainPath(root, 'environments/dev', 'dir'))).toEqual({ path: 'environments/dev', message: through('environments/dev', 'folder') });
  });

  it('refuses a file where a folder must be, and a folder where a file must be', () => {
    const root = project();
    expect(linkError(() => assertPlainPath(root, `${A}/x.yaml`))).toEqual({ path: A, message: `${A} is not a folder, so ${A}/x.yaml cannot be written` });
    expect(linkError(() => assertPlainPath(root, 'dist/dev'))).toEqual({ path: 'dist/dev', message: 'dist/dev is not a regular file, so flagops does not replace it' });
    expect(linkError(() => assertPlainPath(root, A, 'dir'))).toEqual({ path: A, message: `${A} is not a folder` });
  });
});

describe('hasJournal: whether anything is in the journal place', () => {
  it('is false without a .flagops, true for a folder, a file or a dangling link', () => {
    const root = project();
    expect(hasJournal(root)).toBe(false);
    mkdirSync(join(root, '.flagops'));
    expect(hasJournal(root)).toBe(true);
    rmSync(join(root, '.flagops'), { recursive: true });
    writeFileSync(join(root, '.flagops'), '');
    expect(hasJournal(root)).toBe(true);
    rmSync(join(root, '.flagops'));
    symlinkSync('nowhere', join(root, '.flagops'));
    expect(hasJournal(root)).toBe(true);
  });
});

describe('isJournalPath: the only paths a journal may name', () => {
  it('a plain relative path under environments/ or dist/, and nothing else', () => {
    for (const path of [FLAGS, A, 'dist/openfeature/flags.json', 'environments/catalog.yaml', 'dist/x']) expect(isJournalPath(path), path).toBe(true);
    for (const path of ['dist', 'environments/', '../dist/dev/a.yaml', 'x/dist/dev/a.yaml', 'dist/dev/a b.yaml', 'dist/dev/a.yaml\n', 'dist/dev/..', 'dist/dev/../../x', 'dist/./x', '/dist/x', 'distx/a']) {
      expect(isJournalPath(path), JSON.stringify(path)).toBe(false);
    }
  });
});

describe('readJournal: trusted only as flagops writes it, and nothing is changed', () => {
  it('no journal: nothing to do', () => {
    expect(readJournal(project(), anyPath)).toEqual({ ok: true, transactions: [] });
  });

  it('reads interrupted preparations (before and after their plan) and committed transactions, by name', () => {
    const root = project();
    journal(root, 'txn-12-34', { files: ['a\n', 'b\n'], plan: plan([FLAGS, A], [B]) });
    journal(root, 'txn-5-6', { files: ['a\n'] });
    journal(root, 'txn-7-8', { files: ['a\n'], plan: plan([A]), committed: false });
    journal(root, 'txn-9-10', { plan: plan([], [A]) });
    rmSync(join(root, '.flagops', 'txn-9-10', 'files'), { recursive: true });
    const before = snapshot(root);
    expect(readJournal(root, anyPath)).toEqual({
      ok: true,
      transactions: [{ name: 'txn-12-34', plan: plan([FLAGS, A], [B]) }, { name: 'txn-5-6' }, { name: 'txn-7-8' }, { name: 'txn-9-10', plan: plan([], [A]) }],
    });
    expect(snapshot(root)).toEqual(before);
  });

  it('asks mayName about each path it names: a write as written, a removal as removed', () => {
    const root = project();
    journal(root, 'txn-1-1', { files: ['a\n'], plan: plan([A], [B]) });
    const mayName = vi.fn<MayName>(() => true);
    expect(readJournal(root, mayName).ok).toBe(true);
    expect(mayName.mock.calls).toEqual([
      [A, false],
      [B, true],
    ]);
    const removalsOnly: MayName = (_path, removal) => removal;
    expect(readJournal(root, removalsOnly)).toEqual({ ok: false, problem: `.flagops/txn-1-1 is not a journal flagops wrote: its plan names "${A}", which no flagops command writes` });
    const writesOnly: MayName = (_path, removal) => !removal;
    expect(readJournal(root, writesOnly)).toEqual({ ok: false, problem: `.flagops/txn-1-1 is not a journal flagops wrote: its plan removes "${B}", which no flagops command removes` });
  });

  it('refuses a link anywhere in it: .flagops/, a transaction folder, its plan, a staged file', () => {
    const outside = mkdtempSync(join(tmpdir(), 'flagops-outside-'));
    journal(outside, 'txn-1-1', { files: ['pwned\n'], plan: plan([A]) });
    const cases: [string, (root: string) => void][] = [
      ['.flagops', (root) => symlinkSync(join(outside, '.flagops'), join(root, '.flagops'))],
      ['.flagops/txn-1-1', (root) => (mkdirSync(join(root, '.flagops')), symlinkSync(join(outside, '.flagops', 'txn-1-1'), join(root, '.flagops', 'txn-1-1')))],
      ['.flagops/txn-1-1/COMMITTED', (root) => (journal(root, 'txn-1-1', { files: ['a\n'] }), symlinkSync(join(outside, '.flagops', 'txn-1-1', 'COMMITTED'), join(root, '.flagops', 'txn-1-1', 'COMMITTED')))],
      ['.flagops/txn-1-1/files', (root) => (journal(root, 'txn-1-1', { plan: plan([A]) }), rmSync(join(root, '.flagops', 'txn-1-1', 'files'), { recursive: true }), symlinkSync(join(outside, '.flagops', 'txn-1-1', 'files'), join(root, '.flagops', 'txn-1-1', 'files')))],
      ['.flagops/txn-1-1/files/0', (root) => (journal(root, 'txn-1-1', { plan: plan([A]) }), symlinkSync(join(outside, '.flagops', 'txn-1-1', 'files', '0'), join(root, '.flagops', 'txn-1-1', 'files', '0')))],
    ];
    for (const [link, make] of cases) {
      const root = project();
      make(root);
      const before = snapshot(root);
      expect(readJournal(root, anyPath), link).toEqual({ ok: false, problem: `${link} is a symbolic link, ${TRUST}` });
      const refused = thrown(() => recoverTransactions(root, anyPath));
      expect(refused).toBeInstanceOf(UsageError);
      expect(refused.message).toBe(`${link} is a symbolic link, ${TRUST}; flagops never replays it: delete it (rm -r .flagops), check the flag files and dist/ with git status, and run the command again`);
      expect(snapshot(root), link).toEqual(before);
    }
  });

  it('refuses a staged file or plan with a second hard link: a file from elsewhere would be moved into the project', () => {
    for (const entry of ['files/0', 'COMMITTED']) {
      const root = project();
      const dir = journal(root, 'txn-1-1', { files: ['a\n'], plan: plan([A]) });
      const elsewhere = join(mkdtempSync(join(tmpdir(), 'flagops-elsewhere-')), 'secret');
      writeFileSync(elsewhere, entry === 'COMMITTED' ? JSON.stringify(plan([A])) : 'secret\n');
      rmSync(join(dir, entry));
      linkSync(elsewhere, join(dir, entry));
      expect(readJournal(root, anyPath)).toEqual({ ok: false, problem: `.flagops/txn-1-1/${entry} is not a plain file with a single link, ${TRUST}` });
    }
  });

  it('refuses what flagops never writes in it, by name: escaped when printed, the first in JavaScript order', () => {
    const cases: [string, (root: string) => void][] = [
      ['.flagops/txn-1-1-old', (root) => journal(root, 'txn-1-1-old')],
      ['.flagops/old-txn-1-1', (root) => journal(root, 'old-txn-1-1')],
      ['.flagops/txn-1', (root) => journal(root, 'txn-1')],
      ['.flagops/txn-x-1', (root) => journal(root, 'txn-x-1')],
      ['.flagops/txn-1-x', (root) => journal(root, 'txn-1-x')],
      ['.flagops/txn-1-1\\x1b[31m', (root) => journal(root, 'txn-1-1\x1b[31m')],
      ['.flagops/txn-1-1/notes.txt', (root) => writeFileSync(join(journal(root, 'txn-1-1'), 'notes.txt'), '')],
      ['.flagops/txn-1-1/files/x0', (root) => writeFileSync(join(journal(root, 'txn-1-1'), 'files', 'x0'), '')],
      ['.flagops/txn-1-1/files/0x', (root) => writeFileSync(join(journal(root, 'txn-1-1'), 'files', '0x'), '')],
      ['.flagops/txn-1-1/files/tmp', (root) => writeFileSync(join(journal(root, 'txn-1-1'), 'files', 'tmp'), '')],
      // U+1F600 sorts before U+FF01 in JavaScript (UTF-16), after it in the bytes of UTF-8 (the order the folder is listed in)
      ['.flagops/\u{1f600}', (root) => (journal(root, '\uff01'), journal(root, '\u{1f600}'))],
    ];
    for (const [path, make] of cases) {
      const root = project();
      make(root);
      expect(readJournal(root, anyPath), path).toEqual({ ok: false, problem: `${path} ${FOREIGN}` });
    }
  });

  it('refuses a folder where flagops writes a file and a file where it writes a folder', () => {
    const cases: [string, string, (root: string) => void][] = [
      ['.flagops', 'not a folder', (root) => writeFileSync(join(root, '.flagops'), '')],
      ['.flagops/txn-1-1', 'not a folder', (root) => (mkdirSync(join(root, '.flagops')), writeFileSync(join(root, '.flagops', 'txn-1-1'), ''))],
      ['.flagops/txn-1-1/files', 'not a folder', (root) => (rmSync(journal(root, 'txn-1-1'), { recursive: true }), mkdirSync(join(root, '.flagops', 'txn-1-1')), writeFileSync(join(root, '.flagops', 'txn-1-1', 'files'), ''))],
      ['.flagops/txn-1-1/COMMITTED', 'not a plain file with a single link', (root) => mkdirSync(join(journal(root, 'txn-1-1'), 'COMMITTED'))],
      ['.flagops/txn-1-1/plan.json', 'not a plain file with a single link', (root) => mkdirSync(join(journal(root, 'txn-1-1'), 'plan.json'))],
      ['.flagops/txn-1-1/files/0', 'not a plain file with a single link', (root) => mkdirSync(join(journal(root, 'txn-1-1'), 'files', '0'))],
    ];
    for (const [path, what, make] of cases) {
      const root = project();
      make(root);
      expect(readJournal(root, anyPath), path).toEqual({ ok: false, problem: `${path} is ${what}, ${TRUST}` });
    }
  });

  it('refuses a malformed plan, saying what is wrong with it', () => {
    const staged = { path: A, staged: 'files/0' };
    const cases: [unknown, string][] = [
      ['{"writes": [', NOT_JSON],
      ['null', NOT_JSON],
      [{}, NOT_JSON],
      [{ writes: [] }, NOT_JSON],
      [{ removes: [] }, NOT_JSON],
      [{ writes: {}, removes: [] }, NOT_JSON],
      [{ writes: [], removes: {} }, NOT_JSON],
      [{ writes: [null], removes: [] }, NOT_JSON],
      [{ writes: [{ ...staged, path: 5 }], removes: [] }, NOT_JSON],
      [{ writes: [{ staged: 'files/0' }], removes: [] }, NOT_JSON],
      [{ writes: [{ ...staged, staged: 0 }], removes: [] }, NOT_JSON],
      [{ writes: [{ ...staged, staged: ['files/0'] }], removes: [] }, NOT_JSON],
      [{ writes: [{ ...staged, staged: '../../../files/0' }], removes: [] }, NOT_JSON],
      [{ writes: [{ ...staged, staged: 'files/0/../../../../elsewhere' }], removes: [] }, NOT_JSON],
      [{ writes: [{ ...staged, staged: 'files/' }], removes: [] }, NOT_JSON],
      [{ writes: [], removes: [5] }, NOT_JSON],
      [{ writes: [], removes: [[B]] }, NOT_JSON],
    ];
    for (const [body, problem] of cases) {
      const root = project();
      journal(root, 'txn-12-34', { files: ['a\n'], plan: body });
      expect(readJournal(root, anyPath), JSON.stringify(body)).toEqual({ ok: false, problem: `.flagops/txn-12-34 is not a journal flagops wrote: ${problem}` });
    }
  });

  it('a journal path never leaves the project: "..", absolute and escaped paths are refused even where mayName lets them through, and nothing is written outside', () => {
    const staged = { path: A, staged: 'files/0' };
    const outer = mkdtempSync(join(tmpdir(), 'flagops-outer-'));
    const cases: [unknown, string][] = [
      [{ writes: [{ ...staged, path: 'environments/../../escaped.txt' }], removes: [] }, 'its plan names "environments/../../escaped.txt", which no flagops command writes'],
      [{ writes: [{ ...staged, path: 'dist/dev/../../../escaped.txt' }], removes: [] }, 'its plan names "dist/dev/../../../escaped.txt", which no flagops command writes'],
      [{ writes: [{ ...staged, path: `${outer}/escaped.txt` }], removes: [] }, `its plan names "${outer}/escaped.txt", which no flagops command writes`],
      [{ writes: [{ ...staged, path: 'dist/dev/\u001b[2J.yaml' }], removes: [] }, 'its plan names "dist/dev/\\u001b[2J.yaml", which no flagops command writes'],
      [{ writes: [], removes: ['dist/../../other-checkout/dist/openfeature/flags.json'] }, 'its plan removes "dist/../../other-checkout/dist/openfeature/flags.json", which no flagops command removes'],
      [{ writes: [], removes: ['../escaped.txt'] }, 'its plan removes "../escaped.txt", which no flagops command removes'],
    ];
    for (const [body, problem] of cases) {
      const root = join(outer, 'project');
      rmSync(root, { recursive: true, force: true });
      mkdirSync(join(root, 'environments'), { recursive: true });
      journal(root, 'txn-12-34', { files: ['pwned\n'], plan: body });
      const what = `.flagops/txn-12-34 is not a journal flagops wrote: ${problem}`;
      expect(readJournal(root, anyPath), JSON.stringify(body)).toEqual({ ok: false, problem: what });
      expect(thrown(() => recoverTransactions(root, anyPath)).message).toBe(`${what}; flagops never replays it: delete it (rm -r .flagops), check the flag files and dist/ with git status, and run the command again`);
      expect(readdirSync(outer)).toEqual(['project']);
    }
  });

  it('a plan of 16 MiB is read; one byte more is refused unread', () => {
    const body = JSON.stringify(plan([A]));
    const limit = 16 * 1024 * 1024;
    const root = project();
    journal(root, 'txn-1-1', { files: ['a\n'], plan: body.padEnd(limit, ' ') });
    expect(readJournal(root, anyPath)).toEqual({ ok: true, transactions: [{ name: 'txn-1-1', plan: plan([A]) }] });
    journal(root, 'txn-1-1', { files: ['a\n'], plan: body.padEnd(limit + 1, ' ') });
    expect(readJournal(root, anyPath)).toEqual({ ok: false, problem: '.flagops/txn-1-1 is not a journal flagops wrote: its plan is larger than any flagops writes' });
  });

  it('passes over what vanishes while it reads: a transaction completed meanwhile by the flagops process holding the lock', () => {
    const root = project();
    const gone = (name: string) => () => rmSync(join(root, '.flagops', name), { recursive: true });
    journal(root, 'txn-1-1', { files: ['a\n'], plan: plan([A]) });
    journal(root, 'txn-2-2', { files: ['a\n'], plan: plan([A]) });
    journal(root, 'txn-3-3', { files: ['a\n'], plan: plan([A]) });
    journal(root, 'txn-4-4', { plan: plan([A]) });
    before('readdir', '.flagops/txn-1-1', gone('txn-1-1'));
    before('readFile', '.flagops/txn-2-2/COMMITTED', gone('txn-2-2'));
    before('readdir', '.flagops/txn-3-3/files', () => rmSync(join(root, '.flagops', 'txn-3-3', 'files'), { recursive: true }));
    expect(readJournal(root, anyPath)).toEqual({ ok: true, transactions: [{ name: 'txn-3-3', plan: plan([A]) }, { name: 'txn-4-4', plan: plan([A]) }] });
  });

  it('refuses a files/ folder it cannot list: its staged files could not be checked', () => {
    // GIVEN a committed transaction whose staged file is a hard link to a file outside, in a files/
    // folder that cannot be listed (mode 0300 for a user who is not root: the files can still be renamed)
    const root = project();
    const dir = journal(root, 'txn-1-1', { plan: plan([A]) });
    const secret = join(mkdtempSync(join(tmpdir(), 'flagops-elsewhere-')), 'secret');
    writeFileSync(secret, 'secret\n');
    linkSync(secret, join(dir, 'files', '0'));
    before('readdir', '.flagops/txn-1-1/files', () => {
      throw systemError('EACCES', 'scandir', join(dir, 'files'));
    });
    // THEN it is not trusted
    expect(readJournal(root, anyPath)).toEqual({ ok: false, problem: `.flagops/txn-1-1/files cannot be listed, ${TRUST}` });
  });
});

describe('recoverTransactions: complete what reached its commit point, discard what did not', () => {
  it('completes a committed transaction and discards a preparation, says which, and leaves no journal', () => {
    const root = project();
    journal(root, 'txn-1-1', { files: [`new ${FLAGS}\n`, `new ${NEW}\n`], plan: plan([FLAGS, NEW], [B]) });
    journal(root, 'txn-2-2', { files: ['never\n'], plan: plan([A]), committed: false });
    const expected = afterTxn(root);
    for (const path of Object.keys(expected)) if (path.startsWith('.flagops/')) delete expected[path];
    expect(recoverTransactions(root, anyPath)).toEqual({ completed: [FLAGS, NEW, B], discarded: 1 });
    expect(snapshot(root)).toEqual(expected);
    expect(existsSync(join(root, '.flagops'))).toBe(false);
  });

  it('nothing to do without a journal, and an empty .flagops/ is removed', () => {
    const root = project();
    const before = snapshot(root);
    expect(recoverTransactions(root, anyPath)).toEqual({ completed: [], discarded: 0 });
    mkdirSync(join(root, '.flagops'));
    expect(recoverTransactions(root, anyPath)).toEqual({ completed: [], discarded: 0 });
    expect(snapshot(root)).toEqual(before);
    expect(existsSync(join(root, '.flagops'))).toBe(false);
  });

  it('is idempotent: a file already moved into place and a file already removed are passed over, the rest is done', () => {
    const root = project();
    const dir = journal(root, 'txn-1-1', { files: [`new ${FLAGS}\n`, `new ${A}\n`], plan: plan([FLAGS, A], [B, NEW]) });
    // the first file was moved into place, and B removed, before the interruption
    cpSync(join(dir, 'files', '0'), join(root, FLAGS));
    rmSync(join(dir, 'files', '0'));
    rmSync(join(root, B));
    expect(recoverTransactions(root, anyPath)).toEqual({ completed: [FLAGS, A, B, NEW], discarded: 0 });
    expect(snapshot(root)).toEqual({ [FLAGS]: `new ${FLAGS}\n`, [A]: `new ${A}\n` });
  });

  it('completes a committed transaction whose files/ is already gone (every file moved, the folder half removed)', () => {
    const root = project();
    const dir = journal(root, 'txn-1-1', { plan: plan([], [B]) });
    rmSync(join(dir, 'files'), { recursive: true });
    expect(recoverTransactions(root, anyPath)).toEqual({ completed: [B], discarded: 0 });
    expect(snapshot(root)).toEqual({ [FLAGS]: `old ${FLAGS}\n`, [A]: `old ${A}\n` });
  });

  it('never writes or deletes through a linked dist/dev: refused before any file moves, naming the transaction and the link', () => {
    for (const [name, files, body] of [
      ['txn-1-1', [`new ${FLAGS}\n`, 'hijacked\n'], plan([FLAGS, A])],
      ['txn-2-2', [`new ${FLAGS}\n`], plan([FLAGS], [B])],
    ] as const) {
      const root = project();
      const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
      cpSync(join(root, 'dist', 'dev'), elsewhere, { recursive: true });
      rmSync(join(root, 'dist', 'dev'), { recursive: true });
      symlinkSync(elsewhere, join(root, 'dist', 'dev'));
      journal(root, name, { files, plan: body });
      const untouched = { project: snapshot(root), elsewhere: snapshot(elsewhere) };
      expect(linkError(() => recoverTransactions(root, anyPath))).toEqual({
        path: 'dist/dev',
        message: `cannot complete the interrupted write in .flagops/${name}: dist/dev is a symbolic link; flagops never writes or deletes through links: replace it with a plain folder (git rm it, then run flagops synth)`,
      });
      expect(snapshot(root)).toEqual(untouched.project);
      expect(snapshot(elsewhere)).toEqual(untouched.elsewhere);
    }
  });

  it('checks every target before any file moves, one already moved into place too: a link there stops the completion', () => {
    // GIVEN a transaction interrupted after moving dist/dev/a.yaml into place, and dist/dev a link since
    const root = project();
    const dir = journal(root, 'txn-1-1', { files: [`new ${A}\n`, `new ${FLAGS}\n`], plan: plan([A, FLAGS]) });
    rmSync(join(dir, 'files', '0'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
    rmSync(join(root, 'dist', 'dev'), { recursive: true });
    symlinkSync(elsewhere, join(root, 'dist', 'dev'));
    const before = snapshot(root);
    // THEN it is refused, naming the link, and no file moves
    expect(linkError(() => recoverTransactions(root, anyPath))).toEqual({
      path: 'dist/dev',
      message: 'cannot complete the interrupted write in .flagops/txn-1-1: dist/dev is a symbolic link; flagops never writes or deletes through links: replace it with a plain folder (git rm it, then run flagops synth)',
    });
    expect(snapshot(root)).toEqual(before);
    expect(snapshot(elsewhere)).toEqual({});
  });

  it('an error that is not about a link is passed on as it is, and the transaction stays to be completed later', () => {
    const root = project();
    journal(root, 'txn-1-1', { files: [`new ${A}\n`], plan: plan([A]) });
    const failure = systemError('EIO', 'rename', '.flagops/txn-1-1/files/0');
    before('rename', '.flagops/txn-1-1/files/0', () => {
      throw failure;
    });
    expect(thrown(() => recoverTransactions(root, anyPath))).toBe(failure);
    expect(readJournal(root, anyPath)).toEqual({ ok: true, transactions: [{ name: 'txn-1-1', plan: plan([A]) }] });
  });
});
