/**
 * The audit trail rebuilt from git: one entry per flag state change in each environment's flag
 * file, in the compliance team's format (BRIEF section 6) plus the commit that made it.
 *
 * Only commits touching the flag files are read: one `git log --follow` per environment (so a
 * renamed flag file keeps its history), one `git rev-list` to order commits across environments,
 * and one `git cat-file --batch` for every file version. Each commit is compared with its own
 * parent's version of the file (from `--raw`), so branches and merges attribute every change to
 * the commit that made it.
 */
import { parse } from 'yaml';
import { git, readBlobs } from './git.ts';
import { statesFile } from './project.ts';

export type AuditEventType = 'feature_flag_toggled' | 'feature_flag_rollout_changed' | 'feature_flag_added' | 'feature_flag_removed';

/** One audit entry: the compliance format, then the commit fields. Keys in this order. */
export interface AuditEntry {
  /** When the change was made (`changed_at`; for a removal, the commit date). */
  readonly timestamp: string;
  readonly event_type: AuditEventType;
  /** Who made it (`changed_by`; for a removal, the commit author's e-mail). */
  readonly user_id: string;
  readonly feature_flag: string;
  /** `enabled` before; null when the flag was added. */
  readonly previous_state: boolean | null;
  /** `enabled` after; null when the flag was removed. */
  readonly new_state: boolean | null;
  readonly environment: string;
  /** `reason`; for a removal, the commit subject. */
  readonly reason: string;
  /** `rollout` after; null when removed. */
  readonly rollout_percentage: number | null;
  readonly previous_rollout_percentage: number | null;
  /** `ticket`; for a removal, the first ticket id in the commit subject. */
  readonly approval_ticket: string | null;
  readonly approved_by: string | null;
  readonly commit: string;
  /** `Name <email>`. */
  readonly commit_author: string;
  /** Committer date, UTC. */
  readonly commit_date: string;
}

export interface AuditFilter {
  readonly environment?: string;
  readonly flag?: string;
  /** Entries whose timestamp is at or after this instant. */
  readonly since?: Date;
}

export interface AuditTrail {
  readonly entries: readonly AuditEntry[];
  /** Versions of a flag file that could not be read (not YAML), skipped. */
  readonly warnings: readonly string[];
}

interface Commit {
  readonly sha: string;
  readonly author: string;
  readonly authorEmail: string;
  readonly date: string;
  readonly subject: string;
}

interface FileChange {
  readonly commit: Commit;
  readonly environment: string;
  /** Blob SHAs; undefined when the file did not exist on that side. */
  readonly oldBlob: string | undefined;
  readonly newBlob: string | undefined;
  readonly path: string;
}

/** Raw state of one flag as found in a historical file (not validated: history may predate rules). */
export interface RawState {
  readonly enabled?: unknown;
  readonly rollout?: unknown;
  readonly reason?: unknown;
  readonly ticket?: unknown;
  readonly changed_by?: unknown;
  readonly changed_at?: unknown;
  readonly approved_by?: unknown;
}
export type Flags = ReadonlyMap<string, RawState>;

const NULL_SHA = /^0+$/;
const SEP = '\x1f';

/** Builds the audit trail of `environments` (promotion order) from the history of HEAD. */
export function auditTrail(root: string, environments: readonly string[], filter: AuditFilter = {}): AuditTrail {
  const envs = filter.environment ? environments.filter((e) => e === filter.environment) : environments;
  const changes = envs.flatMap((env) => fileHistory(root, env));
  if (changes.length === 0) return { entries: [], warnings: [] };
  const rank = commitOrder(root, [...new Set(changes.map((c) => c.path))]);
  const envIndex = new Map(envs.map((e, i) => [e, i]));
  changes.sort((a, b) => (rank.get(a.commit.sha) ?? 0) - (rank.get(b.commit.sha) ?? 0) || envIndex.get(a.environment)! - envIndex.get(b.environment)!);

  const blobs = readBlobs(root, changes.flatMap((c) => [c.oldBlob, c.newBlob].filter((b): b is string => b !== undefined)));
  const parsed = new Map<string, Flags | undefined>();
  const entryBlocks = new Map<string, RawState | undefined>();
  const flagsOf = (sha: string | undefined): Flags | undefined => {
    if (sha === undefined) return new Map();
    if (!parsed.has(sha)) parsed.set(sha, parseFlags(blobs.get(sha), entryBlocks));
    return parsed.get(sha);
  };

  const entries: AuditEntry[] = [];
  const warnings: string[] = [];
  const lastGood = new Map<string, Flags>();
  for (const change of changes) {
    const after = flagsOf(change.newBlob);
    if (!after) {
      warnings.push(`${change.commit.sha.slice(0, 12)}: ${change.path} is not a readable flag file; skipped`);
      continue;
    }
    const before = flagsOf(change.oldBlob) ?? lastGood.get(change.environment) ?? new Map<string, RawState>();
    lastGood.set(change.environment, after);
    entries.push(...entriesOf(change, before, after));
  }
  const since = filter.since?.getTime();
  return {
    // --since keeps a change when it was made (changed_at) or merged (commit date) on or after the
    // date, so a change prepared before a periodic audit's cut-off but merged after it is not lost.
    entries: entries.filter(
      (e) => (!filter.flag || e.feature_flag === filter.flag) && (since === undefined || Date.parse(e.timestamp) >= since || Date.parse(e.commit_date) >= since),
    ),
    warnings,
  };
}

/** Every commit that changed one environment's flag file, following renames. */
function fileHistory(root: string, environment: string): FileChange[] {
  const path = statesFile(environment);
  const out = git(root, ['log', '--follow', '-M', '--raw', '--no-abbrev', '--no-color', `--format=%x01%H${SEP}%an${SEP}%ae${SEP}%cI${SEP}%s`, 'HEAD', '--', path]);
  const changes: FileChange[] = [];
  for (const record of out.split('\x01').slice(1)) {
    const [header, ...rest] = record.split('\n');
    const [sha, author, authorEmail, date, subject] = header!.split(SEP) as [string, string, string, string, string];
    const raw = rest.find((l) => l.startsWith(':'));
    if (!raw) continue; // a merge: its changes are attributed to the commits that made them
    const [meta, ...paths] = raw.split('\t');
    const [, , oldSha, newSha] = meta!.split(' ') as [string, string, string, string];
    changes.push({
      commit: { sha, author, authorEmail, date: utc(date), subject },
      environment,
      oldBlob: NULL_SHA.test(oldSha) ? undefined : oldSha,
      newBlob: NULL_SHA.test(newSha) ? undefined : newSha,
      path: paths[paths.length - 1]!,
    });
  }
  return changes;
}

/** Position of each commit touching `paths`: parents before children, otherwise by commit date. */
function commitOrder(root: string, paths: readonly string[]): Map<string, number> {
  const out = git(root, ['rev-list', '--date-order', '--reverse', 'HEAD', '--', ...paths.map((p) => `:(top)${p}`)]);
  return new Map(out.split('\n').filter(Boolean).map((sha, i) => [sha, i]));
}

/**
 * Parses one version of a flag file into its flag entries. Consecutive versions differ in a few
 * entries, so each entry's text block is parsed once (by the `yaml` package) and cached; a file
 * that is not the plain `flags:` block mapping (anchors, flow style, ...) is parsed whole.
 */
export function parseFlags(text: string | undefined, blocks: Map<string, RawState | undefined> = new Map()): Flags | undefined {
  if (text === undefined) return undefined;
  return parseByBlocks(text, blocks) ?? parseWhole(text);
}

function parseWhole(text: string): Flags | undefined {
  try {
    const doc = parse(text) as { flags?: unknown } | null;
    const flags = doc?.flags;
    if (flags === undefined || flags === null) return new Map();
    if (typeof flags !== 'object' || Array.isArray(flags)) return undefined;
    return new Map(Object.entries(flags as Record<string, unknown>).map(([k, v]) => [k, asState(v)]));
  } catch {
    return undefined;
  }
}

const asState = (v: unknown): RawState => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as RawState;
const FLAGS_KEY = /^flags:[ \t]*(#.*)?$/;
const ENTRY_KEY = /^( +)([A-Za-z0-9_.-]+):[ \t]*(#.*)?$/;
const UNUSUAL = /(^|[\s:,[{-])[&*!][^\s]|<<:|^(---|\.\.\.)|\t/m;

/** The fast path: undefined when the file is not in the plain shape (the caller parses it whole). */
function parseByBlocks(text: string, blocks: Map<string, RawState | undefined>): Flags | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => FLAGS_KEY.test(l));
  if (start < 0) return undefined;
  const flags = new Map<string, RawState>();
  let indent: string | undefined;
  let name: string | undefined;
  let block: string[] = [];
  const flush = (): boolean => {
    if (name === undefined) return true;
    const key = block.join('\n');
    if (!blocks.has(key)) {
      try {
        blocks.set(key, asState((parse(key) as Record<string, unknown> | null)?.[name]));
      } catch {
        blocks.set(key, undefined);
      }
    }
    const state = blocks.get(key);
    if (state === undefined || flags.has(name)) return false;
    flags.set(name, state);
    return true;
  };
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || /^\s*#/.test(line)) {
      block.push(line);
      continue;
    }
    if (!line.startsWith(' ')) {
      // the next top-level key ends the flags (a second `flags:` key is left to the full parse)
      if (lines.slice(i).some((l) => FLAGS_KEY.test(l))) return undefined;
      break;
    }
    const depth = line.length - line.trimStart().length;
    if (indent === undefined || depth === indent.length) {
      // a flag entry starts: only `name:` alone on its line (anything else, e.g. flow style, is parsed whole)
      const m = ENTRY_KEY.exec(line);
      if (!m || !flush()) return undefined;
      indent = m[1]!;
      name = m[2]!;
      block = [line];
    } else if (depth > indent.length && name !== undefined) {
      block.push(line);
    } else {
      return undefined;
    }
  }
  return flush() ? flags : undefined;
}

function entriesOf(change: FileChange, before: Flags, after: Flags): AuditEntry[] {
  const { commit, environment } = change;
  const entries: AuditEntry[] = [];
  const base = { environment, commit: commit.sha, commit_author: `${commit.author} <${commit.authorEmail}>`, commit_date: commit.date };
  const described = (s: RawState) => ({
    timestamp: typeof s.changed_at === 'string' ? s.changed_at : commit.date,
    user_id: typeof s.changed_by === 'string' ? s.changed_by : commit.authorEmail,
    reason: typeof s.reason === 'string' ? s.reason : '',
    approval_ticket: typeof s.ticket === 'string' ? s.ticket : null,
    approved_by: typeof s.approved_by === 'string' ? s.approved_by : null,
  });
  for (const [flag, now] of after) {
    const was = before.get(flag);
    const d = described(now);
    if (!was) {
      entries.push(entry(d, 'feature_flag_added', flag, null, bool(now.enabled), num(now.rollout), null, base));
      continue;
    }
    const toggled = bool(was.enabled) !== bool(now.enabled);
    if (!toggled && num(was.rollout) === num(now.rollout)) continue;
    entries.push(entry(d, toggled ? 'feature_flag_toggled' : 'feature_flag_rollout_changed', flag, bool(was.enabled), bool(now.enabled), num(now.rollout), num(was.rollout), base));
  }
  for (const [flag, was] of before) {
    if (after.has(flag)) continue;
    const d = {
      timestamp: commit.date,
      user_id: commit.authorEmail,
      reason: commit.subject,
      approval_ticket: /\b[A-Z][A-Z0-9]+-\d+\b/.exec(commit.subject)?.[0] ?? null,
      approved_by: null,
    };
    entries.push(entry(d, 'feature_flag_removed', flag, bool(was.enabled), null, null, num(was.rollout), base));
  }
  return entries;
}

function entry(
  d: { timestamp: string; user_id: string; reason: string; approval_ticket: string | null; approved_by: string | null },
  event_type: AuditEventType,
  feature_flag: string,
  previous_state: boolean | null,
  new_state: boolean | null,
  rollout_percentage: number | null,
  previous_rollout_percentage: number | null,
  c: { environment: string; commit: string; commit_author: string; commit_date: string },
): AuditEntry {
  return {
    timestamp: d.timestamp,
    event_type,
    user_id: d.user_id,
    feature_flag,
    previous_state,
    new_state,
    environment: c.environment,
    reason: d.reason,
    rollout_percentage,
    previous_rollout_percentage,
    approval_ticket: d.approval_ticket,
    approved_by: d.approved_by,
    commit: c.commit,
    commit_author: c.commit_author,
    commit_date: c.commit_date,
  };
}

const bool = (v: unknown): boolean => v === true;
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
/** An ISO date with offset, as UTC without milliseconds. */
const utc = (iso: string): string => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
