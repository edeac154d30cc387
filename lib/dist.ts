/**
 * Write step: puts synthesized files under dist/<env>/ atomically, only touching files whose
 * content changed, removing files of objects that no longer exist. Also the drift check.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentManifests } from '../infra/synth.ts';
import { error, type Finding } from '../policies/findings.ts';
import { isLink } from './links.ts';
import { commitTransaction, type Transaction } from './transaction.ts';

export const DIST = 'dist';

/** The committed manifests of one environment: path (relative to root) to text. */
export function readDist(root: string, environment: string): Map<string, string> {
  const dir = join(root, DIST, environment);
  const files = new Map<string, string>();
  // Links are never followed (lib/links.ts reports them): a linked folder or file reads as absent.
  if (!existsSync(dir) || isLink(root, DIST) || isLink(root, `${DIST}/${environment}`)) return files;
  for (const name of readdirSync(dir).sort()) {
    const path = `${DIST}/${environment}/${name}`;
    if (name.endsWith('.yaml') && !isLink(root, path)) files.set(path, readFileSync(join(dir, name), 'utf8'));
  }
  return files;
}

export interface DistPlan {
  readonly write: readonly { path: string; text: string; added: boolean }[];
  readonly remove: readonly string[];
  readonly unchanged: number;
}

/** What writing `manifests` would change on disk. */
export function planDist(root: string, manifests: readonly EnvironmentManifests[]): DistPlan {
  const write: { path: string; text: string; added: boolean }[] = [];
  const remove: string[] = [];
  let unchanged = 0;
  for (const env of manifests) {
    const existing = readDist(root, env.environment);
    for (const file of env.files) {
      const before = existing.get(file.path);
      if (before === file.text) unchanged++;
      else write.push({ path: file.path, text: file.text, added: before === undefined });
      existing.delete(file.path);
    }
    remove.push(...existing.keys());
  }
  return { write, remove, unchanged };
}

/** A plan as the files of a transaction (lib/transaction.ts). */
export function distTransaction(plan: DistPlan): Transaction {
  return { writes: new Map(plan.write.map((f) => [f.path, f.text])), removes: [...plan.remove] };
}

/** Applies a plan all-or-nothing: every file written and every stale file removed, or none. */
export function applyDist(root: string, plan: DistPlan): void {
  commitTransaction(root, distTransaction(plan));
}

/** `drift` findings: every committed file that differs from a fresh synth, is missing, or is stale. */
export function driftFindings(root: string, manifests: readonly EnvironmentManifests[]): Finding[] {
  const plan = planDist(root, manifests);
  const fix = 'run `npx flagops synth` and commit dist/';
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
