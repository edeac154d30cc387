/**
 * Flag debt: the flags that should be cleaned up, each with its reasons (`flagops stale`, and the
 * per-owner counts of `flagops status`). Three signals, joined per flag:
 *
 * - **expired**: the catalog's `expires` is in the past;
 * - **fully rolled out**: a release or experiment flag on at 100% in every environment for longer
 *   than a number of days. *Since when* comes from git, not from the hand-edited `changed_at`: the
 *   audit trail (lib/review/audit.ts, main's first-parent history) says when the change that put each
 *   environment at 100% landed on main; the flag is fully rolled out since the last of those. A flag
 *   that was already at 100% when its flag file entered the history (an imported state) has no
 *   landing to go by: its `changed_at` then counts, when it is earlier (the state was reviewed with
 *   the import). A shallow history counts from its cut (at least that long);
 * - **unreferenced**: no code in the source folders uses it (lib/code/code-refs.ts).
 */
import { auditTrail } from '../review/audit.ts';
import { UPSTREAM_REF } from '../review/base.ts';
import { resolveRef } from '../review/git.ts';
import type { ProjectModel } from '../../model/flags.ts';
import { exposure } from '../../policies/state-rules.ts';
import type { FlagType } from '../../model/flag-schemas.ts';
import { shortSha } from '../../common/text/sha.ts';

/** Where a "since" comes from. */
export type SinceSource =
  /** The commit on main that landed the change. */
  | 'git'
  /** `changed_at` of a state that was at 100% when the history began, or of a project outside git. */
  | 'changed_at'
  /** The cut of a shallow history: at least since then. */
  | 'history-cut';

export interface Since {
  /** RFC 3339 UTC. */
  readonly at: string;
  readonly source: SinceSource;
}

export type DebtReason =
  | { readonly why: 'expired'; readonly since: string }
  | { readonly why: 'fully-rolled-out'; readonly since: string; readonly days: number; readonly source: SinceSource }
  | { readonly why: 'unreferenced'; readonly folders: readonly string[] };

export interface StaleFlag {
  readonly flag: string;
  readonly owner: string;
  readonly type: FlagType;
  readonly reasons: readonly DebtReason[];
}

export interface FullRollouts {
  /** Per flag at 100% in every environment on main: since when. */
  readonly since: ReadonlyMap<string, Since>;
  /** What the caller should tell the user about how this was derived (no git, a shallow history). */
  readonly note?: string;
}

/**
 * The branch whose history counts: the commit of `refs/remotes/origin/main` (never a tag of that
 * name), else HEAD (as `flagops audit`). Undefined outside git.
 */
export function mainRef(root: string): string | undefined {
  return resolveRef(root, UPSTREAM_REF) ?? (resolveRef(root, 'HEAD') ? 'HEAD' : undefined);
}

/**
 * Since when each flag of `model` has been at 100% in every environment, by main's history. A flag
 * at 100% everywhere in the files but not (yet) on main is not in the map.
 */
export function fullRollouts(root: string, model: ProjectModel): FullRollouts {
  const envs = model.environments.map((e) => e.settings.name);
  const ref = mainRef(root);
  if (!ref) {
    const since = new Map<string, Since>();
    for (const name of model.catalog.names) {
      const states = model.environments.map((e) => e.states[name]);
      if (states.length > 0 && states.every((s) => exposure(s) === 100)) since.set(name, { at: states.map((s) => s!.changed_at).sort().at(-1)!, source: 'changed_at' });
    }
    return { since, note: 'not a git repository: "at 100% since" is taken from changed_at' };
  }
  const trail = auditTrail(root, envs, {}, ref);
  // Per environment and flag: since when it has been at 100% (undefined: not at 100% on main).
  const perEnv = new Map<string, Since | undefined>();
  // The commit where each environment's flag file enters the history: its flags' states were imported.
  const first = new Map<string, string>();
  for (const e of trail.entries) if (!first.has(e.environment) && !trail.cut?.environments.includes(e.environment)) first.set(e.environment, e.commit);
  for (const e of trail.entries) {
    const key = `${e.environment}\0${e.feature_flag}`;
    const full = e.new_state === true && e.rollout_percentage === 100;
    if (!full) {
      perEnv.set(key, undefined);
      continue;
    }
    if (perEnv.get(key) !== undefined) continue; // was already at 100%
    const imported = e.event_type === 'feature_flag_added' && e.commit === first.get(e.environment) && Date.parse(e.timestamp) < Date.parse(e.commit_date);
    perEnv.set(key, imported ? { at: e.timestamp, source: 'changed_at' } : { at: e.commit_date, source: 'git' });
  }
  const cut = trail.cut;
  const since = new Map<string, Since>();
  for (const name of model.catalog.names) {
    const states = model.environments.map((e) => e.states[name]);
    if (states.length === 0 || !states.every((s) => exposure(s) === 100)) continue;
    const each: Since[] = [];
    for (const env of envs) {
      const key = `${env}\0${name}`;
      // Unchanged since a shallow history's cut, where it was (as now) at 100%: at least since the cut.
      const s = perEnv.has(key) ? perEnv.get(key) : cut?.environments.includes(env) ? { at: cut.date, source: 'history-cut' as const } : undefined;
      if (!s) break;
      each.push(s);
    }
    if (each.length === envs.length) since.set(name, each.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a)));
  }
  return { since, ...(cut ? { note: `the history is shallow (cut at ${shortSha(cut.commit)}): "at 100% since" is at least since ${cut.date.slice(0, 10)} for flags unchanged since` } : {}) };
}

export interface DebtOptions {
  readonly now: Date;
  /** How long at 100% everywhere makes a release or experiment flag stale. */
  readonly days: number;
  readonly fullRollouts: ReadonlyMap<string, Since>;
  /** References per flag in `folders`; undefined when the code was not searched. */
  readonly references?: { readonly folders: readonly string[]; readonly counts: ReadonlyMap<string, number> };
}

/** The flags with at least one reason to clean them up, in catalog order. Pure. */
export function flagDebt(model: ProjectModel, options: DebtOptions): StaleFlag[] {
  const today = options.now.toISOString().slice(0, 10);
  const stale: StaleFlag[] = [];
  for (const name of model.catalog.names) {
    const def = model.catalog.flags[name];
    if (!def) continue;
    const reasons: DebtReason[] = [];
    if (def.expires && def.expires < today) reasons.push({ why: 'expired', since: def.expires });
    const full = options.fullRollouts.get(name);
    if (full && def.type !== 'ops' && def.type !== 'permission') {
      const days = Math.floor((options.now.getTime() - Date.parse(full.at)) / 86_400_000);
      if (days > options.days) reasons.push({ why: 'fully-rolled-out', since: full.at.slice(0, 10), days, source: full.source });
    }
    const refs = options.references;
    if (refs && (refs.counts.get(name) ?? 0) === 0) reasons.push({ why: 'unreferenced', folders: refs.folders });
    if (reasons.length > 0) stale.push({ flag: name, owner: def.owner, type: def.type, reasons });
  }
  return stale;
}

/** One reason as a phrase: `expired on 2026-06-30`, `on at 100% everywhere since 2026-04-06 (231 days)`, `no code uses it`. */
export function describeReason(r: DebtReason): string {
  switch (r.why) {
    case 'expired':
      return `expired on ${r.since}`;
    case 'fully-rolled-out':
      return `on at 100% everywhere since ${r.source === 'history-cut' ? 'at least ' : ''}${r.since} (${r.days} days${r.source === 'changed_at' ? ', per changed_at' : ''})`;
    case 'unreferenced':
      return 'no code uses it';
  }
}

/** Stale flags per owner team, owners sorted. */
export function staleByOwner(stale: readonly StaleFlag[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of stale) counts.set(s.owner, (counts.get(s.owner) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
