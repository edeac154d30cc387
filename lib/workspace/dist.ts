/**
 * Write step: puts synthesized files under dist/<env>/ (and the project-wide files, such as the
 * OpenFeature flag manifest, elsewhere under dist/) atomically, only touching files whose content
 * changed, removing files of objects that no longer exist. Also the drift check.
 */
import { accessSync, constants, lstatSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { isFlagopsManifest } from '../../synth/openfeature-manifest.ts';
import type { EnvironmentManifests, ProjectFile } from '../../model/manifests.ts';
import { error, type Finding } from '../../model/findings.ts';
import { isLink, linkIn } from './links.ts';
import { describeKind, entryKind, kindOf, mib, readRegularFile, type EntryKind } from './regular-files.ts';
import { commitTransaction, type Transaction } from './transaction.ts';

export const DIST = 'dist';

/** Largest file read under dist/: far above any manifest flagops writes (a ConfigMap stays under 1 MiB). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * A path under dist/ that flagops would read or write but that is not what it must be: a
 * directory, FIFO, socket or device named like a manifest, a `dist/<env>` that is not a folder, a
 * manifest over {@link MAX_MANIFEST_BYTES} or one the system will not let it read. Never opened
 * for reading, replaced or deleted; a `dist-entry` finding (see {@link distEntryFindings}).
 */
export interface DistEntryProblem {
  /** Relative to the project root. */
  readonly path: string;
  /** What is wrong, after the path: `is a directory, not a file`. */
  readonly what: string;
}

/** The committed manifests of one environment that could be read, and the entries that could not. */
export interface DistFolder {
  /** Path (relative to root) to text: every regular `*.yaml` file of dist/<env>/. */
  readonly files: Map<string, string>;
  readonly problems: readonly DistEntryProblem[];
}

/** The committed manifests of one environment: path (relative to root) to text. */
export function readDist(root: string, environment: string): Map<string, string> {
  return readDistFolder(root, environment).files;
}

/**
 * The `*.yaml` files of dist/<env>/. Links are never followed (lib/workspace/links.ts reports
 * them): a linked folder or file reads as absent. Anything else that is not a regular file is a
 * problem, never opened (lib/workspace/regular-files.ts).
 */
export function readDistFolder(root: string, environment: string, contents = true): DistFolder {
  const dir = `${DIST}/${environment}`;
  const files = new Map<string, string>();
  const problems: DistEntryProblem[] = [];
  if (isLink(root, DIST) || isLink(root, dir)) return { files, problems };
  const kind = entryKind(join(root, dir));
  if (kind === undefined) return { files, problems };
  if (kind !== 'directory') return { files, problems: [notAFolder(dir, kind)] };
  for (const entry of entriesOf(root, dir)) {
    const path = `${dir}/${entry.name}`;
    if (!entry.name.endsWith('.yaml') || entry.isSymbolicLink()) continue;
    const text = contents || !entry.isFile() ? readManifest(root, path, entry.isFile() ? undefined : kindOf(entry)) : checkManifest(root, path);
    if (typeof text === 'string') files.set(path, text);
    else if (text) problems.push(text);
  }
  return { files, problems };
}

/** The entries of a folder, sorted by name; none when it cannot be listed. */
function entriesOf(root: string, dir: string): Dirent[] {
  try {
    return readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

/**
 * The text of a manifest file, a problem when it is not a readable regular file of at most
 * {@link MAX_MANIFEST_BYTES}, or undefined when it is absent or a link (reported as `symlink`).
 * `kind`, when the listing already told, is a kind other than a regular file: not opened.
 */
function readManifest(root: string, path: string, kind?: EntryKind): string | DistEntryProblem | undefined {
  const file = kind ? { status: 'not-a-file' as const, kind } : readRegularFile(join(root, path), MAX_MANIFEST_BYTES);
  switch (file.status) {
    case 'read':
      return file.bytes.toString('utf8');
    case 'absent':
      return undefined;
    case 'not-a-file':
      return file.kind === 'symbolic link' ? undefined : notAFile(path, file.kind);
    default:
      return problemOf(path, file);
  }
}

function problemOf(path: string, file: { status: 'too-large'; size: number } | { status: 'unreadable'; code: string }): DistEntryProblem {
  if (file.status === 'too-large') return { path, what: `is ${mib(file.size)}, larger than any manifest flagops writes (at most ${mib(MAX_MANIFEST_BYTES, 0)}), so it is not read` };
  return { path, what: `cannot be read (${file.code === 'EACCES' || file.code === 'EPERM' ? 'permission denied' : file.code})` };
}

/** {@link readManifest}'s problems without reading the file: its size, and whether it may be read. */
function checkManifest(root: string, path: string): DistEntryProblem | undefined {
  let size: number;
  try {
    size = lstatSync(join(root, path)).size;
    accessSync(join(root, path), constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : problemOf(path, { status: 'unreadable', code: code ?? String(e) });
  }
  return size > MAX_MANIFEST_BYTES ? problemOf(path, { status: 'too-large', size }) : undefined;
}

const notAFile = (path: string, kind: EntryKind): DistEntryProblem => ({ path, what: `is ${describeKind(kind)}, not a file` });
const notAFolder = (path: string, kind: EntryKind): DistEntryProblem => ({ path, what: `is ${describeKind(kind)}, not a folder` });

/**
 * `dist-entry` findings: every path under dist/ that flagops reads or writes and that is not what
 * it must be (see {@link DistEntryProblem}): dist/ and each dist/<env>/ folder, the `*.yaml` files
 * in them, the project-wide files (`projectFiles`, the OpenFeature manifest) and the folders on
 * their way, and any other `.json` entry outside the environments' folders. Links are left to
 * `symlink` (lib/workspace/links.ts).
 */
export function distEntryFindings(root: string, environments: readonly string[], projectFiles: readonly string[] = []): Finding[] {
  if (isLink(root, DIST)) return [];
  const kind = entryKind(join(root, DIST));
  if (kind === undefined) return [];
  if (kind !== 'directory') return [distEntryFinding(notAFolder(DIST, kind))];
  const problems = environments.flatMap((env) => readDistFolder(root, env, false).problems);
  const seen = new Set(problems.map((p) => p.path));
  const add = (p: DistEntryProblem | undefined) => {
    if (p && !seen.has(p.path)) {
      seen.add(p.path);
      problems.push(p);
    }
  };
  for (const file of projectFiles) {
    if (linkIn(root, file) !== undefined) continue;
    const parts = file.split('/');
    for (let i = 2; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      const k = entryKind(join(root, folder));
      if (k !== undefined && k !== 'directory') add(notAFolder(folder, k));
    }
    const k = entryKind(join(root, file));
    if (k !== undefined && k !== 'file') add(notAFile(file, k));
  }
  for (const p of generatedProjectFiles(root, environments).problems) add(p);
  return problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map(distEntryFinding);
}

function distEntryFinding(p: DistEntryProblem): Finding {
  const fix = p.what.endsWith('not a folder')
    ? `flagops writes manifests into a plain folder at ${p.path}/`
    : 'flagops reads and writes only plain files in dist/, and never opens, replaces or deletes anything else';
  return error({ file: p.path, line: 0, col: 0 }, 'dist-entry', `${p.path} ${p.what}: ${fix}; remove it, then run \`npx flagops synth\``);
}

/**
 * Whether `path` is a manifest of one of `environments` as {@link readDist} and synthesis name
 * them: a `.yaml` file right in `dist/<env>/`.
 */
export function isEnvironmentManifest(path: string, environments: readonly string[]): boolean {
  const m = /^dist\/([^/]+)\/[^/]+\.yaml$/.exec(path);
  return m !== null && environments.includes(m[1]!);
}

/**
 * Whether `path` is a project-wide file that {@link planDist} may remove as stale: a `.json` file
 * under dist/, outside every environment's folder, that is a flagops manifest (or is gone already).
 */
export function isGeneratedProjectFile(root: string, path: string, environments: readonly string[]): boolean {
  if (!path.startsWith(`${DIST}/`) || !path.endsWith('.json') || environments.some((env) => path.startsWith(`${DIST}/${env}/`))) return false;
  if (linkIn(root, path) !== undefined) return false;
  let exists = true;
  try {
    lstatSync(join(root, path));
  } catch {
    exists = false;
  }
  if (!exists) return true;
  const text = readManifest(root, path);
  return typeof text === 'string' && isFlagopsManifest(text);
}

export interface DistPlan {
  /** `before`: the text on disk (absent for an added file). */
  readonly write: readonly { path: string; text: string; added: boolean; before?: string }[];
  readonly remove: readonly string[];
  readonly unchanged: number;
}

/** The project-wide files to write, and the names of every environment (whose dist/ folders they stay out of). */
export interface ProjectFiles {
  readonly files: readonly ProjectFile[];
  readonly environments: readonly string[];
}

/**
 * What writing `manifests` (and `project`'s files, when given) would change on disk. A project
 * file that flagops wrote at a path no longer configured (a moved OpenFeature manifest) is stale.
 */
export function planDist(root: string, manifests: readonly EnvironmentManifests[], project?: ProjectFiles): DistPlan {
  const write: { path: string; text: string; added: boolean; before?: string }[] = [];
  const remove: string[] = [];
  let unchanged = 0;
  const plan = (existing: Map<string, string>, files: readonly { path: string; text: string }[]) => {
    for (const file of files) {
      const before = existing.get(file.path);
      if (before === file.text) unchanged++;
      else write.push({ path: file.path, text: file.text, added: before === undefined, before });
      existing.delete(file.path);
    }
    remove.push(...existing.keys());
  };
  for (const env of manifests) plan(readDist(root, env.environment), env.files);
  if (project) {
    const existing = generatedProjectFiles(root, project.environments).files;
    for (const f of project.files) {
      const text = linkIn(root, f.path) === undefined ? readManifest(root, f.path) : undefined;
      if (typeof text === 'string') existing.set(f.path, text);
    }
    plan(existing, project.files);
  }
  return { write, remove, unchanged };
}

/**
 * The project-wide files flagops wrote under dist/, outside every dist/<env>/: `.json` files that
 * are OpenFeature manifests with flagops' `$comment`; and the `.json` entries there that are not
 * regular files (never opened). Links are not followed; nothing else is touched.
 */
function generatedProjectFiles(root: string, environments: readonly string[]): { files: Map<string, string>; problems: DistEntryProblem[] } {
  const files = new Map<string, string>();
  const problems: DistEntryProblem[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || isLink(root, dir)) return;
    for (const e of entriesOf(root, dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory() && !(dir === DIST && environments.includes(e.name))) walk(path, depth + 1);
      else if (e.name.endsWith('.json') && !e.isSymbolicLink() && !e.isDirectory()) {
        const text = readManifest(root, path, e.isFile() ? undefined : kindOf(e));
        if (typeof text === 'string') {
          if (isFlagopsManifest(text)) files.set(path, text);
        } else if (text) problems.push(text);
      }
    }
  };
  walk(DIST, 0);
  return { files, problems };
}

/** A plan as the files of a transaction (lib/workspace/transaction.ts). */
export function distTransaction(plan: DistPlan): Transaction {
  return { writes: new Map(plan.write.map((f) => [f.path, f.text])), removes: [...plan.remove] };
}

/** Applies a plan all-or-nothing: every file written and every stale file removed, or none. */
export function applyDist(root: string, plan: DistPlan): void {
  commitTransaction(root, distTransaction(plan));
}

/** What every `drift` finding says to do. */
export const DRIFT_FIX = 'run `npx flagops synth` and commit dist/';

/** `drift` findings: every committed file that differs from a fresh synth, is missing, or is stale. */
export function driftFindings(root: string, manifests: readonly EnvironmentManifests[], project?: ProjectFiles): Finding[] {
  const plan = planDist(root, manifests, project);
  const fix = DRIFT_FIX;
  return [
    ...plan.write.map((f) =>
      error(
        { file: f.path, line: f.added ? 0 : firstDifferentLine(f.before ?? '', f.text), col: f.added ? 0 : 1 },
        'drift',
        f.added ? `${f.path} is missing from the committed dist/; ${fix}` : `${f.path} differs from a fresh synth; ${fix}`,
      ),
    ),
    ...plan.remove.map((path) => error({ file: path, line: 0, col: 0 }, 'drift', `${path} is no longer synthesized (stale); ${fix}`)),
  ];
}

function firstDifferentLine(a: string, b: string): number {
  const la = a.split('\n');
  const lb = b.split('\n');
  const n = Math.max(la.length, lb.length);
  for (let i = 0; i < n; i++) if (la[i] !== lb[i]) return i + 1;
  return 1;
}
