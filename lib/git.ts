/** The few git operations flagops needs, through the git command line. */
import { execFileSync, spawnSync } from 'node:child_process';
import type { FileReader } from './project.ts';

export function git(root: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** Runs git and returns undefined instead of throwing when it fails. */
export function tryGit(root: string, args: readonly string[]): string | undefined {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return r.status === 0 ? r.stdout : undefined;
}

/** Whether `ref` names a commit in the repository at `root`. */
export function resolveRef(root: string, ref: string): string | undefined {
  return tryGit(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])?.trim() || undefined;
}

/** The default base of a change: the merge base with origin/main when it exists. */
export function defaultBase(root: string): string | undefined {
  if (!resolveRef(root, 'origin/main')) return undefined;
  return tryGit(root, ['merge-base', 'HEAD', 'origin/main'])?.trim() || undefined;
}

/** Reads files as they are at a commit; a file absent there reads as undefined. */
export function gitReader(root: string, commit: string): FileReader {
  return { read: (path) => tryGit(root, ['show', `${commit}:${path}`]) };
}

/** `git config user.email`, or undefined. */
export function gitUserEmail(root: string): string | undefined {
  return tryGit(root, ['config', 'user.email'])?.trim() || undefined;
}
