/**
 * Who may complete an interrupted write, and what every other command says about one.
 *
 * The journal (`.flagops/`, lib/workspace/transaction.ts) and the edit lock (`.flagops.lock`,
 * lib/workspace/lock.ts) are one machine's working files, never part of a change: a pull request
 * can commit them (`git add -f`), so what they hold is untrusted input.
 *
 * - A command that only reads (check, diff, audit, status, list, ...) changes nothing, ever: no
 *   journal is completed or discarded, no lock taken over. It says what it finds (a note), and
 *   `check` reports it as findings: a journal or lock in git (`tracked-journal`, `tracked-lock`:
 *   they must never reach main), and an interrupted write still pending (`interrupted-write`: the
 *   working tree may be half-written).
 * - A command that writes (synth, the edits) completes or discards an interrupted write first,
 *   under the edit lock, but only a journal that git does not track, that {@link readJournal}
 *   trusts (plain folders and files, no links), and whose plan names only files flagops writes:
 *   flag files, `dist/<env>/` manifests, the OpenFeature manifest ({@link journalMayName}).
 *   Anything else is refused (exit 2) with what to do; nothing is replayed.
 * - A `.flagops.lock` that git tracks is ignored (with a note): the lock is taken elsewhere.
 */
import { PROJECT_DEFAULTS, type EnvironmentSettings, type ProjectSettings } from '../../model/environments.ts';
import { error, type Finding } from '../../model/findings.ts';
import { trackedPaths } from '../review/git.ts';
import { UsageError } from '../../common/text/errors.ts';
import { printable } from '../../common/text/printable.ts';
import { isEnvironmentManifest, isGeneratedProjectFile } from './dist.ts';
import { clearDeadLock, describeOwner, LOCK_FILE, lockPlace, withLock } from './lock.ts';
import { CATALOG_FILE, statesFile } from './project.ts';
import { hasJournal, JOURNAL_DIR, readJournal, recoverTransactions, type JournalContents, type MayName } from './transaction.ts';

/** Rule ids of the findings of `flagops check` about the journal and the lock (docs/rules.md). */
export const TRACKED_JOURNAL = 'tracked-journal';
export const TRACKED_LOCK = 'tracked-lock';
export const INTERRUPTED_WRITE = 'interrupted-write';

/** What the journal's checks need of a workspace (a Workspace is one). */
export interface JournalScope {
  readonly root: string;
  readonly settings: readonly EnvironmentSettings[];
  readonly project?: ProjectSettings;
}

/**
 * The paths a journal may name: those flagops' writers write (the edits: the catalog and each
 * environment's flag file; synth and the edits: `dist/<env>/` manifests and the OpenFeature
 * manifest), and the removals {@link planDist} makes (stale manifests, a moved OpenFeature manifest).
 */
export function journalMayName(scope: JournalScope): MayName {
  const environments = scope.settings.map((s) => s.name);
  const flagFiles = new Set([CATALOG_FILE, ...environments.map(statesFile)]);
  const manifest = (scope.project ?? PROJECT_DEFAULTS).openFeatureManifest;
  return (path, removal) =>
    flagFiles.has(path) || isEnvironmentManifest(path, environments) || path === manifest || (removal && isGeneratedProjectFile(scope.root, path, environments));
}

/** What git tracks of the journal and the lock. */
interface Tracked {
  readonly journal: readonly string[];
  readonly lock: boolean;
}

function tracked(root: string): Tracked {
  const paths = trackedPaths(root, [JOURNAL_DIR, LOCK_FILE]);
  return { journal: paths.filter((p) => p !== LOCK_FILE), lock: paths.includes(LOCK_FILE) };
}

/** `2 files: a, b` (at most four named). */
function fileList(paths: readonly string[]): string {
  const shown = paths.slice(0, 4).map(printable).join(', ');
  return `${paths.length} file${paths.length === 1 ? '' : 's'}: ${shown}${paths.length > 4 ? ', ...' : ''}`;
}

const inGit = (files: readonly string[]): string =>
  `${JOURNAL_DIR}/ is in git (${files.length} file${files.length === 1 ? '' : 's'}, such as ${printable(files[0]!)})`;

const REMOVE_LOCK = `git rm --cached ${LOCK_FILE}`;

/** What the journal holds, as far as reading it tells (nothing is changed). */
type JournalState =
  | { readonly kind: 'none' }
  | { readonly kind: 'tracked'; readonly files: readonly string[] }
  | { readonly kind: 'untrusted'; readonly problem: string }
  | { readonly kind: 'pending'; readonly committed: readonly string[] };

function journalState(scope: JournalScope, trackedJournal: readonly string[]): JournalState {
  if (trackedJournal.length > 0) return { kind: 'tracked', files: trackedJournal };
  if (!hasJournal(scope.root)) return { kind: 'none' };
  const contents: JournalContents = readJournal(scope.root, journalMayName(scope));
  if (!contents.ok) return { kind: 'untrusted', problem: contents.problem };
  if (contents.transactions.length === 0) return { kind: 'none' };
  return { kind: 'pending', committed: contents.transactions.flatMap((t) => (t.plan ? [...t.plan.writes.map((w) => w.path), ...t.plan.removes] : [])) };
}

const pendingWrite = (committed: readonly string[]): string =>
  `${JOURNAL_DIR}/ holds an interrupted write that reached its commit point (${fileList(committed)}): the files may be half-written`;
const COMPLETE_IT = 'run flagops synth (or the interrupted edit again) to complete it';
const DISCARDED_NEXT = `${JOURNAL_DIR}/ holds an interrupted write that had not reached its commit point: the files are as they were before it; the next flagops synth or edit discards it`;

/**
 * What a command that only reads says about the journal, as notes; it changes nothing. Costs one
 * lstat when there is no journal.
 */
export function noteJournal(scope: JournalScope, onNote: (note: string) => void): void {
  if (!hasJournal(scope.root)) return;
  const state = journalState(scope, tracked(scope.root).journal);
  switch (state.kind) {
    case 'tracked':
      return onNote(`${inGit(state.files)}: flagops never replays a journal from git and left it alone; remove it: git rm -r --cached ${JOURNAL_DIR}, then commit`);
    case 'untrusted':
      return onNote(`${state.problem}; flagops left it alone, so the files may be half-written: delete it (rm -r ${JOURNAL_DIR}) and check the flag files and dist/ with git status`);
    case 'pending':
      if (state.committed.length > 0) return onNote(`${pendingWrite(state.committed)}; ${COMPLETE_IT}`);
      return onNote(DISCARDED_NEXT);
  }
}

/**
 * `flagops check`'s findings about the journal and the lock: in git (they must never reach main),
 * or an interrupted write pending here (the files checked may be half-written). An interrupted
 * write that changed no file yet is only a note. Changes nothing.
 */
export function journalFindings(scope: JournalScope, onNote: (note: string) => void): Finding[] {
  const t = tracked(scope.root);
  const journal = { file: JOURNAL_DIR, line: 0, col: 0 };
  const findings: Finding[] = [];
  if (t.lock) {
    findings.push(
      error(
        { file: LOCK_FILE, line: 0, col: 0 },
        TRACKED_LOCK,
        `${LOCK_FILE} is in git: it is the edit lock of a flagops process on one machine, never part of a change (on main, every edit would find it held); remove it: ${REMOVE_LOCK}, then commit`,
      ),
    );
  }
  const state = journalState(scope, t.journal);
  const judged = 'this check judged them as they are';
  switch (state.kind) {
    case 'tracked':
      findings.push(
        error(journal, TRACKED_JOURNAL, `${inGit(state.files)}: it is the journal of an interrupted write on one machine, never part of a change, and flagops never replays a journal from git; remove it: git rm -r --cached ${JOURNAL_DIR}, then commit`),
      );
      break;
    case 'untrusted':
      findings.push(
        error(journal, INTERRUPTED_WRITE, `${state.problem}; flagops left it alone, so the files may be half-written, and ${judged}: delete it (rm -r ${JOURNAL_DIR}), check the flag files and dist/ with git status, then check again`),
      );
      break;
    case 'pending':
      if (state.committed.length > 0) findings.push(error(journal, INTERRUPTED_WRITE, `${pendingWrite(state.committed)}, and ${judged}; ${COMPLETE_IT}, then check again`));
      else onNote(DISCARDED_NEXT);
      break;
  }
  return findings;
}

/**
 * What a command that writes does before it reads the project: ignore a lock file git tracks (with
 * a note), take over the lock of a dead flagops process, and complete or discard an interrupted
 * write it may trust, under the edit lock. A journal in git, or one it does not trust, is refused
 * (UsageError, exit 2) and left as it is; for the kill switch, a journal in git is only a note.
 */
export async function prepareToWrite(scope: JournalScope, onNote: (note: string) => void, options: { readonly killSwitch?: boolean } = {}): Promise<void> {
  const { root } = scope;
  const t = tracked(root);
  if (t.lock) {
    onNote(`${LOCK_FILE} is in git, so it is not a lock of this machine: flagops ignores it and takes its edit lock in the git folder; remove it: ${REMOVE_LOCK}, then rm ${LOCK_FILE}, and commit`);
  }
  const place = lockPlace(root, t.lock);
  const dead = clearDeadLock(place);
  if (dead) onNote(`took over the edit lock of a flagops process that is gone (${describeOwner(dead)})`);
  if (!hasJournal(root)) return;
  if (t.journal.length > 0 && options.killSwitch) {
    // Only a problem in its own entry blocks the kill switch: the journal from git is neither replayed nor touched.
    onNote(`${inGit(t.journal)}: flagops never replays a journal from git and left it alone; the kill switch goes ahead (flagops check fails until it is removed: git rm -r --cached ${JOURNAL_DIR}, then commit)`);
    return;
  }
  if (t.journal.length > 0) {
    throw new UsageError(`${inGit(t.journal)}: flagops never replays a journal from git; remove it (git rm -r --cached ${JOURNAL_DIR}, then rm -r ${JOURNAL_DIR}), commit, and run the command again`);
  }
  await withLock(
    root,
    async () => {
      const r = recoverTransactions(root, journalMayName(scope));
      if (r.completed.length > 0) onNote(`completed an interrupted write before going on (${fileList(r.completed)})`);
      if (r.discarded > 0) onNote('discarded an interrupted write that had not reached its commit point; the files are as they were before it');
    },
    { onNote, place },
  );
}
