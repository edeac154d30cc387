/**
 * Write step: puts synthesized files under dist/<env>/ (and the project-wide files, such as the
 * OpenFeature flag manifest, elsewhere under dist/) atomically, only touching files whose content
 * changed, removing files of objects that no longer exist. Also the drift check.
 */
import { lstatSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isFlagopsManifest } from '../../infra/openfeature-manifest.ts';
import type { EnvironmentManifests, ProjectFile } from '../../model/manifests.ts';
import { error, type Finding } from '../../model/findings.ts';
import { isLink, linkIn } from './links.ts';
import { commitTransaction, type Transaction } from './transaction.ts';

export const DIST = 'dist';

/** The committed manifests of one environment: path (relative to root) to text. */
export function readDist(root: string, environment: string): Map<string, string> {
  const dir = join(root, DIST, environment);
  const files = new Map<string, string>();
  // Links are never followed (lib/workspace/links.ts reports them): a linked folder or file reads as absent.
  if (!existsSync(dir) || isLink(root, DIST) || isLink(root, `${DIST}/${environment}`)) return files;
  for (const name of readdirSync(dir).sort()) {
    const path = `${DIST}/${environment}/${name}`;
    if (name.endsWith('.yaml') && !isLink(root, path)) files.set(path, readFileSync(join(dir, name), 'utf8'));
  }
  return files;
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
  const text = readPlainFile(root, path);
  return text !== undefined && isFlagopsManifest(text);
}

export interface DistPlan {
  readonly write: readonly { path: string; text: string; added: boolean }[];
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
  const write: { path: string; text: string; added: boolean }[] = [];
  const remove: string[] = [];
  let unchanged = 0;
  const plan = (existing: Map<string, string>, files: readonly { path: string; text: string }[]) => {
    for (const file of files) {
      const before = existing.get(file.path);
      if (before === file.text) unchanged++;
      else write.push({ path: file.path, text: file.text, added: before === undefined });
      existing.delete(file.path);
    }
    remove.push(...existing.keys());
  };
  for (const env of manifests) plan(readDist(root, env.environment), env.files);
  if (project) {
    const existing = generatedProjectFiles(root, project.environments);
    for (const f of project.files) {
      const text = readPlainFile(root, f.path);
      if (text !== undefined) existing.set(f.path, text);
    }
    plan(existing, project.files);
  }
  return { write, remove, unchanged };
}

/** A file's text, or undefined when it is absent, not a regular file, or under a symbolic link (never read through). */
function readPlainFile(root: string, path: string): string | undefined {
  if (linkIn(root, path) !== undefined) return undefined;
  try {
    return lstatSync(join(root, path)).isFile() ? readFileSync(join(root, path), 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The project-wide files flagops wrote under dist/, outside every dist/<env>/: `.json` files that
 * are OpenFeature manifests with flagops' `$comment`. Links are not followed; nothing else is touched.
 */
function generatedProjectFiles(root: string, environments: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 8 || isLink(root, dir)) return;
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory() && !(dir === DIST && environments.includes(e.name))) walk(path, depth + 1);
      else if (e.isFile() && e.name.endsWith('.json')) {
        const text = readPlainFile(root, path);
        if (text !== undefined && isFlagopsManifest(text)) found.set(path, text);
      }
    }
  };
  walk(DIST, 0);
  return found;
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
        { file: f.path, line: f.added ? 0 : firstDifferentLine(readFileSync(join(root, f.path), 'utf8'), f.text), col: f.added ? 0 : 1 },
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
