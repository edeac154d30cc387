/** The few git operations flagops needs, through the git command line. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FileReader } from '../workspace/project.ts';
import { shortSha } from '../text/sha.ts';


/** Whether `ref` as the user wrote it is the SHA `commit` (either may be abbreviated, to 7 digits at least). */
export function isShaOf(ref: string, commit: string): boolean {
  if (!/^[0-9a-f]{7,64}$/i.test(ref)) return false;
  const [a, b] = [ref.toLowerCase(), commit.toLowerCase()];
  return a.startsWith(b) || b.startsWith(a);
}

/** A ref for text output: a hex SHA in its short form, a name (branch, tag, HEAD~2) as written. */
export const refLabel = (ref: string): string => (/^[0-9a-f]{13,64}$/i.test(ref) ? shortSha(ref.toLowerCase()) : ref);

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
  if (!mayBeInRepository(root)) return undefined;
  return tryGit(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])?.trim() || undefined;
}

/** Where a folder of a repository is, as git reports it. */
export interface RepositoryPaths {
  /** The folder relative to the top of the work tree: '' at the top, else ending in '/'. */
  readonly prefix: string;
  /** Where git keeps the list of a shallow clone's cut commits (it may not exist), absolute. */
  readonly shallowFile: string;
}

const pathLookups = new Map<string, RepositoryPaths>();

/**
 * {@link RepositoryPaths} of `root`: one git process for both, once per folder and run (neither
 * changes while flagops runs). Throws as {@link git} does outside a repository.
 */
export function repositoryPaths(root: string): RepositoryPaths {
  let paths = pathLookups.get(root);
  if (!paths) {
    const [prefix = '', shallow = ''] = git(root, ['rev-parse', '--show-prefix', '--git-path', 'shallow']).split('\n');
    paths = { prefix: prefix.trim(), shallowFile: resolve(root, shallow.trim()) };
    pathLookups.set(root, paths);
  }
  return paths;
}

/**
 * False when `root` is certainly not in a git repository: no `.git` in it or any folder above, and
 * no variable that points git at a repository elsewhere. A project outside git then spends no git
 * process (about 20 ms each) on learning that there are no commits.
 */
export function mayBeInRepository(root: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GIT_DIR || env.GIT_WORK_TREE || env.GIT_COMMON_DIR) return true;
  // A few stats, asked each time: a folder may become a repository while a process runs.
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/** The default base of a change: the merge base with origin/main when it exists. */
export function defaultBase(root: string): string | undefined {
  if (!resolveRef(root, 'origin/main')) return undefined;
  return tryGit(root, ['merge-base', 'HEAD', 'origin/main'])?.trim() || undefined;
}

/**
 * Reads files as they are at a commit; a file absent there reads as undefined. Paths are relative
 * to `root`, which may be a folder inside the repository (`rev:./path` is relative to the cwd).
 */
export function gitReader(root: string, commit: string): FileReader {
  return { read: (path) => tryGit(root, ['show', `${commit}:./${path}`]) };
}

/** `git config user.email`, or undefined. */
export function gitUserEmail(root: string): string | undefined {
  return tryGit(root, ['config', 'user.email'])?.trim() || undefined;
}

/**
 * Which of `paths` (files or folders relative to `root`) git tracks, in the index or in HEAD: the
 * files under them, relative to `root`. Empty outside a repository.
 */
export function trackedPaths(root: string, paths: readonly string[]): string[] {
  if (!mayBeInRepository(root)) return [];
  const specs = paths.map((p) => `:(literal)${p}`);
  // --with-tree adds what HEAD has and the index lost (a `git rm --cached` not yet committed); a repository without a commit has no HEAD.
  const out = tryGit(root, ['ls-files', '-z', '--with-tree=HEAD', '--', ...specs]) ?? tryGit(root, ['ls-files', '-z', '--', ...specs]) ?? '';
  return [...new Set(out.split('\0').filter(Boolean))];
}

/**
 * Reads many blobs with one `git cat-file --batch` process (by object name: a SHA or `rev:path`).
 * Missing objects are absent from the result.
 */
export function readBlobs(root: string, names: readonly string[]): Map<string, string> {
  const result = new Map<string, string>();
  const unique = [...new Set(names)];
  if (unique.length === 0) return result;
  const r = spawnSync('git', ['cat-file', '--batch'], { cwd: root, input: `${unique.join('\n')}\n`, maxBuffer: 1024 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git cat-file --batch failed: ${r.stderr.toString()}`);
  const out = r.stdout;
  let pos = 0;
  for (const name of unique) {
    const eol = out.indexOf(0x0a, pos);
    const header = out.subarray(pos, eol).toString('utf8');
    pos = eol + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) continue;
    const size = Number(header.slice(header.lastIndexOf(' ') + 1));
    result.set(name, out.subarray(pos, pos + size).toString('utf8'));
    pos += size + 1;
  }
  return result;
}

/** The files under `dir` at `commit`: path (relative to `root`) to blob SHA. */
export function listTree(root: string, commit: string, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const out = tryGit(root, ['ls-tree', '-r', '-z', commit, '--', dir]) ?? '';
  for (const rec of out.split('\0')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(rec);
    if (m) files.set(m[2]!, m[1]!);
  }
  return files;
}

/**
 * Files that differ between `commit` and the working tree (tracked ones, and untracked ones git
 * does not ignore), relative to `root`; a file outside `root` keeps its path from the top of the
 * repository, after a `/`. Undefined when git cannot tell.
 */
export function changedFiles(root: string, commit: string): string[] | undefined {
  const prefix = tryGit(root, ['rev-parse', '--show-prefix'])?.trim();
  const tracked = tryGit(root, ['diff', '--name-only', '--no-renames', '-z', commit, '--', ':/']);
  const untracked = tryGit(root, ['ls-files', '--others', '--exclude-standard', '--full-name', '-z', '--', ':/']);
  if (prefix === undefined || tracked === undefined || untracked === undefined) return undefined;
  const names = [...new Set([...tracked.split('\0'), ...untracked.split('\0')].filter(Boolean))].sort();
  return names.map((n) => (n.startsWith(prefix) ? n.slice(prefix.length) : `/${n}`));
}
