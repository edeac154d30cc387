/**
 * The automatic rollback of `flagops monitor --rollback`: on a breach, the kill switch is prepared
 * as a commit on a new branch `flagops/rollback/<flag>-<UTC time>`, started from the tip of main
 * (`refs/remotes/<remote>/main`, never a tag of that name), and with `push` pushed there, ready for
 * a pull request. It never writes to main, nor to the working tree the monitor runs in: the edit
 * runs in a temporary `git worktree`, with the same code as `flagops disable` (every rule, against
 * main), and the worktree is removed afterwards whatever happens. The branch is created only once
 * its commit exists.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editFlagState, type EditOutcome } from '../edits/edits.ts';
import { UsageError } from '../../common/text/errors.ts';
import { refLabel, resolveRef, tryGit } from '../review/git.ts';
import { printable } from '../../common/text/printable.ts';
import { redactUrl } from '../../common/text/redact.ts';
import { openWorkspace } from '../workspace/workspace.ts';
import { shortSha } from '../../common/text/sha.ts';

export interface RollbackRequest {
  readonly flag: string;
  readonly environment: string;
  /** The audit reason: names the signal, its value and the threshold. */
  readonly reason: string;
  readonly ticket?: string;
  /** `changed_by`, and the commit's e-mail when git has none configured. */
  readonly by: string;
  readonly at: Date;
}

/** Where the rollback branch starts and goes, checked before monitoring starts. */
export interface RollbackTarget {
  /** The top of the git repository and the project's folder inside it (`''` or `ops/`). */
  readonly top: string;
  readonly prefix: string;
  /** The remote to push to, when asked. */
  readonly push?: string;
  /** What the branch starts from: `refs/remotes/origin/main` (fully qualified: never a tag of that name), or `HEAD` when there is no such ref. */
  readonly startRef: string;
}

export type RollbackResult =
  /** The branch exists (and was pushed, when asked). */
  | { readonly status: 'prepared'; readonly branch: string; readonly commit: string; readonly start: string; readonly pushed?: string; readonly outcome: EditOutcome }
  /** The flag is already off there on main: nothing to roll back. */
  | { readonly status: 'already-off'; readonly start: string; readonly summary: string }
  /** The kill switch was refused by a rule (findings in the outcome); no branch. */
  | { readonly status: 'refused'; readonly start: string; readonly outcome: EditOutcome }
  /** Something failed; `branch` is set when the branch exists locally (complete) but was not pushed. */
  | { readonly status: 'failed'; readonly problem: string; readonly branch?: string; readonly commit?: string };

const run = (cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) => spawnSync('git', args, { cwd, encoding: 'utf8', env });

/** One line of git's stderr, printable, without credentials in URLs. */
const gitProblem = (stderr: string): string =>
  printable(
    stderr
      .split('\n')
      .map((l) => l.replace(/^(error|fatal|remote): /, '').trim())
      .filter((l) => l !== '' && !/^hint: /.test(l))
      .map((l) => l.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi, (u) => redactUrl(u)))
      .join('; ')
      .slice(0, 500),
  );

/**
 * Checks, before monitoring starts, that a rollback branch can be made here: a git repository
 * with a commit, and the remote to push to. Throws UsageError otherwise.
 */
export function rollbackTarget(root: string, push: string | undefined): RollbackTarget {
  const top = tryGit(root, ['rev-parse', '--show-toplevel'])?.trim();
  if (!top || !resolveRef(root, 'HEAD')) throw new UsageError('--rollback prepares the kill switch as a git commit, and this project is not in a git repository with a commit');
  const prefix = tryGit(root, ['rev-parse', '--show-prefix'])?.trim() ?? '';
  if (push !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(push) || tryGit(root, ['remote', 'get-url', push]) === undefined) {
      throw new UsageError(`--push ${JSON.stringify(redactUrl(push))} is not a remote of this repository: name one of \`git remote\` (a URL is not accepted)`);
    }
  }
  const upstream = `refs/remotes/${push ?? 'origin'}/main`;
  return { top, prefix, push, startRef: resolveRef(root, upstream) ? upstream : 'HEAD' };
}

/** `flagops/rollback/<flag>-20261123T101500Z`. */
export const rollbackBranchName = (flag: string, at: Date): string =>
  `flagops/rollback/${flag}-${at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')}`;

/** Prepares the kill switch of `request` on a new branch (see the module comment). Never throws for git failures. */
export async function prepareRollback(target: RollbackTarget, request: RollbackRequest, onNote?: (note: string) => void): Promise<RollbackResult> {
  const start = resolveRef(target.top, target.startRef);
  if (!start) return { status: 'failed', problem: `${refLabel(target.startRef)} is not a commit any more` };
  const startLabel = `${refLabel(target.startRef)} ${shortSha(start)}`;
  const branch = rollbackBranchName(request.flag, request.at);
  if (resolveRef(target.top, `refs/heads/${branch}`)) return { status: 'failed', problem: `branch ${branch} exists already` };
  const tmp = mkdtempSync(join(tmpdir(), 'flagops-rollback-'));
  const tree = join(tmp, 'worktree');
  try {
    const add = run(target.top, ['worktree', 'add', '--quiet', '--detach', tree, start]);
    if (add.status !== 0) return { status: 'failed', problem: `git worktree add failed: ${gitProblem(add.stderr)}` };
    const ws = await openWorkspace(join(tree, target.prefix), onNote, { writes: true });
    const outcome = await editFlagState(ws, { kind: 'disable', flag: request.flag, environment: request.environment, reason: request.reason, ticket: request.ticket, by: request.by, at: request.at }, { onNote });
    if (outcome.noop) return { status: 'already-off', start: startLabel, summary: outcome.summary };
    if (!outcome.applied) return { status: 'refused', start: startLabel, outcome };
    const paths = [...outcome.files, ...(outcome.dist?.write.map((f) => f.path) ?? []), ...(outcome.dist?.remove ?? [])].map((p) => `${target.prefix}${p}`);
    const staged = run(tree, ['add', '-A', '--', ...paths]);
    if (staged.status !== 0) return { status: 'failed', problem: `git add failed: ${gitProblem(staged.stderr)}` };
    const identity = [
      ...(tryGit(tree, ['config', 'user.name'])?.trim() ? [] : ['-c', 'user.name=flagops monitor']),
      ...(tryGit(tree, ['config', 'user.email'])?.trim() ? [] : ['-c', `user.email=${request.by}`]),
    ];
    const message = [
      `Rollback: ${request.flag} off in ${request.environment} (flagops monitor)`,
      '',
      request.reason,
      ...(request.ticket ? ['', `Ticket: ${request.ticket}`] : []),
    ].join('\n');
    const commit = run(tree, [...identity, 'commit', '--quiet', '--no-verify', '-m', message]);
    if (commit.status !== 0) return { status: 'failed', problem: `git commit failed: ${gitProblem(commit.stderr)}` };
    const sha = resolveRef(tree, 'HEAD')!;
    // The branch appears only now, complete; `git branch` refuses to overwrite an existing one.
    const created = run(target.top, ['branch', branch, sha]);
    if (created.status !== 0) return { status: 'failed', problem: `git branch failed: ${gitProblem(created.stderr)}` };
    if (target.push !== undefined) {
      const pushed = run(target.top, ['push', '--quiet', '--porcelain', target.push, `refs/heads/${branch}:refs/heads/${branch}`], { ...process.env, GIT_TERMINAL_PROMPT: '0' });
      if (pushed.status !== 0) {
        const why = gitProblem(`${pushed.stderr}\n${pushed.stdout.split('\n').filter((l) => l.startsWith('!')).join('\n')}`);
        return { status: 'failed', problem: `the push of ${branch} to ${target.push} was refused or failed: ${why}`, branch, commit: sha };
      }
    }
    return { status: 'prepared', branch, commit: sha, start: startLabel, pushed: target.push, outcome };
  } catch (e) {
    if (e instanceof UsageError) return { status: 'failed', problem: e.message };
    throw e;
  } finally {
    run(target.top, ['worktree', 'remove', '--force', tree]);
    run(target.top, ['worktree', 'prune']);
    rmSync(tmp, { recursive: true, force: true });
  }
}
