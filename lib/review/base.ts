/**
 * The base of a change: the commit a pull request (or a local edit) is judged against. `check`,
 * `diff` and the edit commands all find it here, so a local edit is refused exactly when CI would
 * refuse it.
 *
 * The base is the merge base of HEAD and `--base REF` (default `origin/main`, resolved as
 * `refs/remotes/origin/main` only): for a branch, the commit it forked from; for GitHub's merge ref
 * (refs/pull/N/merge), the tip of main. A `--base` that git finds ambiguous is a usage error. When
 * it cannot be found (no `origin/main`, a shallow clone that does not reach the merge base, an
 * unknown ref), the caller says so: {@link BaseResult} carries the one-line problem and its fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isShaOf, refLabel, repositoryPaths, resolveRef, tryGit } from './git.ts';
import { shortSha } from '../../common/text/sha.ts';

/**
 * The default upstream a change is compared with, as messages name it. Never given to git: git
 * resolves `origin/main` in refs/tags/ before refs/remotes/, so a tag of that name pushed by anyone
 * would stand in for main.
 */
export const DEFAULT_UPSTREAM = 'origin/main';
/** The same, fully qualified: the one form flagops resolves (exactly, see {@link resolveRef}). */
export const UPSTREAM_REF = 'refs/remotes/origin/main';

export interface ChangeBase {
  /** What the base was named by: `--base REF`, `origin/main`, or `HEAD` (a local fallback). */
  readonly ref: string;
  /** Full SHA of the commit the change is judged against. */
  readonly commit: string;
  /** Full SHA of the commit `ref` names (the tip of main), of which `commit` is the merge base with HEAD. */
  readonly tip: string;
  /** True when the base is the merge base of HEAD and `ref` (always, except for the HEAD fallback). */
  readonly mergeBase: boolean;
}

export type BaseResult =
  | { readonly ok: true; readonly base: ChangeBase; readonly warning?: undefined }
  /** No base as asked: `problem` is one line with the fix; `fallback` is HEAD when there is one. */
  | { readonly ok: false; readonly problem: string; readonly fallback?: ChangeBase };

/**
 * `origin/main, merge base 1a2b3c4d5e6f`; `HEAD 1a2b3c4d5e6f`; a base given as a SHA is shown once,
 * short: `1a2b3c4d5e6f` (`--base <full SHA>` in CI), or `0f0f0f0f0f0f, merge base 1a2b3c4d5e6f`.
 */
export function describeBase(base: ChangeBase): string {
  if (isShaOf(base.ref, base.commit)) return shortSha(base.commit);
  return `${refLabel(base.ref)}${base.mergeBase ? ', merge base' : ''} ${shortSha(base.commit)}`;
}

/**
 * Whether flagops runs under CI, where a missing base is an error: `CI` or `GITHUB_ACTIONS` set to
 * anything but empty, `false` or `0` (CI services set `true`, `1`, `yes` or their own name). The
 * suite's rule for "required here" is this one too (test/support/requirements.ts).
 */
export function underCi(env: NodeJS.ProcessEnv): boolean {
  return isSet(env.CI) || isSet(env.GITHUB_ACTIONS);
}
const isSet = (v: string | undefined): boolean => {
  const value = (v ?? '').trim().toLowerCase();
  return value !== '' && value !== 'false' && value !== '0';
};

/** Whether the repository at `root` is a shallow clone. */
export function isShallow(root: string): boolean {
  return tryGit(root, ['rev-parse', '--is-shallow-repository'])?.trim() === 'true';
}

/** The commits where a shallow clone's history is cut (their parents are missing). */
export function shallowBoundary(root: string): Set<string> {
  let path: string;
  try {
    path = repositoryPaths(root).shallowFile;
  } catch {
    return new Set(); // not a repository
  }
  if (!existsSync(path)) return new Set();
  // One SHA a line, as git writes it.
  return new Set(readFileSync(path, 'utf8').split('\n').filter((l) => l !== ''));
}

const UNSHALLOW = 'fetch the full history: `git fetch --unshallow origin` (GitHub Actions: actions/checkout with `fetch-depth: 0`)';

/**
 * Finds the base of the change in the repository at `root`: the merge base of HEAD and `explicit`
 * (or `refs/remotes/origin/main`, never a tag or branch named `origin/main`). Throws only a
 * UsageError, for an `explicit` name that git finds ambiguous.
 */
export function findBase(root: string, explicit?: string): BaseResult {
  const head = resolveRef(root, 'HEAD');
  if (!head) {
    return { ok: false, problem: 'this project is not in a git repository with a commit, so there is no base to compare with: commit it first, or pass --base REF' };
  }
  const fallback: ChangeBase = { ref: 'HEAD', commit: head, tip: head, mergeBase: false };
  const ref = explicit ?? DEFAULT_UPSTREAM;
  const target = explicit === undefined ? resolveRef(root, UPSTREAM_REF) : resolveRef(root, explicit, '--base');
  const shallow = isShallow(root);
  if (!target) {
    const remote = /^(?:refs\/remotes\/)?origin\/([^\s:~^]+)$/.exec(ref)?.[1];
    const fetch = remote ? `\`git fetch${shallow ? ' --unshallow' : ''} origin ${remote}:refs/remotes/origin/${remote}\`` : undefined;
    const ci = '(GitHub Actions: actions/checkout with `fetch-depth: 0`)';
    if (explicit !== undefined) {
      const fix = fetch ? `run ${fetch} ${ci}` : shallow ? `this clone is shallow: ${UNSHALLOW}` : 'fetch it, or name another ref';
      return { ok: false, problem: `--base ${ref} is not a commit in this repository: ${fix}`, fallback };
    }
    return { ok: false, problem: `no ${ref} in this clone, so the change has no base: run ${fetch!} ${ci}, or pass --base REF`, fallback };
  }
  const mergeBase = tryGit(root, ['merge-base', 'HEAD', target])?.trim();
  if (!mergeBase) {
    const problem = shallow
      ? `HEAD and ${ref} have no common commit in this shallow clone, so the change has no base: ${UNSHALLOW}`
      : `HEAD and ${ref} share no history (unrelated histories), so the change has no base: pass --base REF`;
    return { ok: false, problem, fallback };
  }
  return { ok: true, base: { ref, commit: mergeBase, tip: target, mergeBase: true } };
}
