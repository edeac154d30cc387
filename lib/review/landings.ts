/**
 * When each flag's state landed on main: the commit on the first-parent history that gave it, read
 * from git for the soak time (policies/change-rules.ts judges, lib/rollout/pipeline.ts shows it).
 */
import { landingKey, type Landing, type LandingRequest } from '../../policies/change-rules.ts';
import { fileHistory, parseFlags, type FileChange, type RawState } from './audit.ts';
import { shallowBoundary } from './base.ts';
import { readBlobs } from './git.ts';

/** Blobs read per `git cat-file --batch` while walking a file's history back. */
const BATCH = 16;

const rawExposure = (s: RawState | undefined): number | undefined =>
  s === undefined ? undefined : s.enabled === true && typeof s.rollout === 'number' ? s.rollout : 0;

/**
 * For each requested environment and flag, the commit on the first-parent history of `commit`
 * (the base of a change, on main) that gave the flag the exposure it has at `commit`: the commit
 * whose first parent had another exposure (or no entry). Missing when the flag has no entry there.
 * A shallow history's first commit is marked `cut`: the state is at least that old.
 */
export function landings(root: string, commit: string, requests: readonly LandingRequest[]): Map<string, Landing> {
  const result = new Map<string, Landing>();
  const byEnv = new Map<string, Set<string>>();
  for (const r of requests) byEnv.set(r.environment, new Set([...(byEnv.get(r.environment) ?? []), r.flag]));
  if (byEnv.size === 0) return result;
  const boundary = shallowBoundary(root);
  for (const [environment, flags] of byEnv) {
    const history = fileHistory(root, environment, commit);
    if (history.length === 0) continue;
    const blocks = new Map<string, RawState | undefined>();
    const blobs = new Map<string, string>();
    const flagsOf = (sha: string | undefined) => (sha === undefined ? new Map<string, RawState>() : parseFlags(blobs.get(sha), blocks));
    const load = (from: number) => {
      const slice = history.slice(from, from + BATCH).flatMap((c) => [c.oldBlob, c.newBlob]).filter((b): b is string => b !== undefined && !blobs.has(b));
      for (const [sha, text] of readBlobs(root, slice)) blobs.set(sha, text);
    };
    load(0);
    const now = flagsOf(history[0]!.newBlob);
    const pending = new Map<string, number>();
    for (const flag of flags) {
      const e = rawExposure(now?.get(flag));
      if (e !== undefined) pending.set(flag, e);
    }
    const land = (flag: string, change: FileChange, cut: boolean) => {
      result.set(landingKey(environment, flag), { commit: change.commit.sha, at: change.commit.date, ...(cut ? { cut } : {}) });
      pending.delete(flag);
    };
    for (let i = 0; i < history.length && pending.size > 0; i++) {
      if (i % BATCH === 0 && i > 0) load(i);
      const change = history[i]!;
      const cut = boundary.has(change.commit.sha) && change.commit.parents.length === 0;
      const before = flagsOf(change.oldBlob);
      for (const [flag, e] of [...pending]) {
        // An unreadable older version cannot show the step: it landed here at the latest.
        if (cut || !before || rawExposure(before.get(flag)) !== e) land(flag, change, cut);
      }
    }
  }
  return result;
}

