/** The few git operations flagops needs, through the git command line. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FileReader } from '../workspace/project.ts';
import { shortSha } from '../../common/text/sha.ts';
import { quote, UsageError } from '../../common/text/errors.ts';


/** Whether `ref` as the user wrote it is the SHA `commit` (either may be abbreviated, to 7 digits at least). */
export function isShaOf(ref: string, commit: string): boolean {
  if (!/^[0-9a-f]{7,64}$/i.test(ref)) return false;
  const [a, b] = [ref.toLowerCase(), commit.toLowerCase()];
  return a.startsWith(b) || b.startsWith(a);
}

/**
 * A ref for text output: a hex SHA in its short form, a remote-tracking branch or a branch by its
 * readable name (`refs/remotes/origin/main` is `origin/main`), any other name (tag, HEAD~2) as written.
 */
export const refLabel = (ref: string): string => (/^[0-9a-f]{13,64}$/i.test(ref) ? shortSha(ref.toLowerCase()) : ref.replace(/^refs\/(?:remotes|heads)\/(?=.)/, ''));

export function git(root: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** Runs git and returns undefined instead of throwing when it fails. */
export function tryGit(root: string, args: readonly string[]): string | undefined {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return r.status === 0 ? r.stdout : undefined;
}

/**
 * The commit `ref` names in the repository at `root`, or undefined; never a ref git's shortening
 * rules picked over the one meant:
 *
 * - a full ref name (`refs/remotes/origin/main`, with or without a suffix such as `~2`) is looked up
 *   exactly: git would take `refs/tags/refs/remotes/origin/main` when the ref itself is missing;
 * - a full SHA, `HEAD` (and the other names git keeps in its own folder, which nothing fetched can
 *   shadow) and a revision that names no ref (`@{-1}`) resolve as git resolves them;
 * - a short name goes through git's list (gitrevisions: `refs/<name>`, `refs/tags/<name>`,
 *   `refs/heads/<name>`, `refs/remotes/<name>`, `refs/remotes/<name>/HEAD`; a short SHA too): when
 *   more than one exists, git would pick the first, silently (a tag `origin/main` pushed by anyone
 *   comes before the remote-tracking branch), so this throws a {@link UsageError} naming them all,
 *   said as the `option` the user gave (`--base origin/main`).
 *
 * One git process for a full ref or a short name, like the `git rev-parse` it replaces; more only
 * for a suffix, a name that could be a short SHA, or a name git may read from its own folder.
 */
export function resolveRef(root: string, ref: string, option?: string): string | undefined {
  if (!mayBeInRepository(root)) return undefined;
  const { name, suffix } = splitRevision(ref);
  if (FULL_SHA.test(name) || name === '' || name === '@' || name === 'HEAD') return commitOf(root, ref);
  if (name.startsWith('refs/')) {
    const [found] = lookupRefs(root, [name]);
    return found && (suffix === '' ? found.commit ?? commitOf(root, found.object) : commitOf(root, `${name}${suffix}`));
  }
  const found = lookupRefs(root, SHORT_NAME_RULES.map((rule) => rule(name)));
  if (found.length === 0 || (PSEUDO_REF.test(name) && inGitFolder(root, name))) return commitOf(root, ref);
  const candidates: Candidate[] = [...found.map((r) => ({ name: r.name, commit: r.commit ?? commitOf(root, r.object) })), ...commitsWithPrefix(root, name)];
  if (candidates.length > 1) throw new UsageError(ambiguous(option, ref, suffix, candidates));
  return suffix === '' ? candidates[0]!.commit : commitOf(root, `${candidates[0]!.name}${suffix}`);
}

/** Git's rules for a short ref name after `$GIT_DIR/<name>`, in its order (gitrevisions). */
const SHORT_NAME_RULES: readonly ((name: string) => string)[] = [(n) => `refs/${n}`, (n) => `refs/tags/${n}`, (n) => `refs/heads/${n}`, (n) => `refs/remotes/${n}`, (n) => `refs/remotes/${n}/HEAD`];
const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
/** Names git may read from its own folder (FETCH_HEAD, ORIG_HEAD: capitals and `_` only): they come first in its list. */
const PSEUDO_REF = /^[A-Z_]+$/;

/** `origin/main~2` is the name `origin/main` and the suffix `~2` (a ref name holds none of `~^:` nor `@{`). */
function splitRevision(ref: string): { name: string; suffix: string } {
  const at = ref.search(/[~^:]|@\{/);
  return at < 0 ? { name: ref, suffix: '' } : { name: ref.slice(0, at), suffix: ref.slice(at) };
}

const commitOf = (root: string, revision: string): string | undefined =>
  tryGit(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`])?.trim() || undefined;

const inGitFolder = (root: string, name: string): boolean => {
  const path = tryGit(root, ['rev-parse', '--git-path', name])?.trim();
  return path !== undefined && existsSync(resolve(root, path));
};

interface FoundRef {
  readonly name: string;
  readonly object: string;
  /** The commit it names, when one step of peeling reaches it. */
  readonly commit?: string;
}
interface Candidate {
  readonly name: string;
  readonly commit: string | undefined;
  /** A commit whose SHA starts with the short name (no ref): said as `the commit <SHA>`. */
  readonly sha?: true;
}

/** The refs with exactly these names, in the order of `names` (one `git for-each-ref`). */
function lookupRefs(root: string, names: readonly string[]): FoundRef[] {
  const out = tryGit(root, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)', ...names]) ?? '';
  const found = new Map<string, FoundRef>();
  for (const line of out.split('\n')) {
    const [name = '', object = '', type, peeled, peeledType] = line.split('\0');
    if (!names.includes(name)) continue; // for-each-ref also lists refs below a name (refs/x/y for refs/x)
    found.set(name, { name, object, ...(type === 'commit' ? { commit: object } : peeledType === 'commit' ? { commit: peeled } : {}) });
  }
  return names.flatMap((n) => found.get(n) ?? []);
}

/** For a name that is also a short SHA: the commits it abbreviates (git takes the ref, silently). */
function commitsWithPrefix(root: string, name: string): Candidate[] {
  if (!/^[0-9a-f]{4,63}$/i.test(name)) return [];
  const objects = tryGit(root, ['rev-parse', '--disambiguate=' + name.toLowerCase()])?.split('\n').filter(Boolean) ?? [];
  if (objects.length === 0) return [];
  const r = spawnSync('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: root, input: `${objects.join('\n')}\n`, encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([, type]) => type === 'commit')
    .map(([sha]) => ({ name: sha!, commit: sha, sha: true }));
}

/** `--base origin/main is ambiguous: git finds refs/tags/origin/main (1a2b3c4d5e6f) and refs/remotes/origin/main (...); pass the full ref you mean: ...` */
function ambiguous(option: string | undefined, ref: string, suffix: string, candidates: readonly Candidate[]): string {
  const said = (c: Candidate) => (c.sha ? `the commit ${c.name}` : `${c.name}${c.commit ? ` (${shortSha(c.commit)})` : ''}`);
  const list = (items: readonly string[]) => (items.length === 2 ? items.join(' and ') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);
  const what = option === undefined ? quote(ref) : `${option} ${ref}`;
  const pass = candidates.map((c) => `${option === undefined ? '' : `${option} `}${c.name}${suffix}`);
  return `${what} is ambiguous: git finds ${list(candidates.map(said))}; pass the full ref you mean: ${pass.join(' or ')}`;
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
