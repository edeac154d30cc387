/**
 * The audit trail rebuilt from git: one entry per flag state change that reached main, in each
 * environment's flag file, in the compliance team's format (BRIEF section 6) plus the commit that
 * landed it and the pull request's commits behind it.
 *
 * It follows the first-parent history of main (`refs/remotes/origin/main` by default): each commit
 * on it is a landed change (a merge, or a direct commit) and is compared with its first parent, so a
 * state that existed only on a branch (0 -> 25% -> 5% in two branch commits) is never reported as an
 * environment's state; the merge says 0 -> 5%, with the branch commits as detail.
 *
 * Git work: one `git log --first-parent --follow` per environment (renames kept), one `git log
 * --full-history` for the branch commits, one `git rev-list` for the order (and, when merges are
 * involved, the parents), and one `git cat-file --batch` for every file version. A shallow clone's
 * history is cut: the commit at the cut is the starting state, never a list of flags "added".
 */
import { parse } from 'yaml';
import { shallowBoundary } from './base.ts';
import { git, readBlobs, repositoryPaths } from './git.ts';
import { statesFile } from '../workspace/project.ts';
import { shortSha } from '../../common/text/sha.ts';

export type AuditEventType = 'feature_flag_toggled' | 'feature_flag_rollout_changed' | 'feature_flag_added' | 'feature_flag_removed';

/** A commit behind a landed change: the pull request's commits that touched the flag file. */
export interface AuditCommit {
  readonly commit: string;
  /** `Name <email>`. */
  readonly author: string;
  /** Committer date, UTC. */
  readonly date: string;
  readonly subject: string;
}

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
  /** `reason`; for a removal, the subject of the commit that removed it ({@link removalCommit}). */
  readonly reason: string;
  /** `rollout` after; null when removed. */
  readonly rollout_percentage: number | null;
  readonly previous_rollout_percentage: number | null;
  /** `ticket`; for a removal, the first ticket id in that subject. */
  readonly approval_ticket: string | null;
  readonly approved_by: string | null;
  /** The commit on main that landed the change (a merge, or a direct commit). */
  readonly commit: string;
  /** `Name <email>`. */
  readonly commit_author: string;
  /** Committer date, UTC. */
  readonly commit_date: string;
  /** The commits that made the change: the pull request's commits touching the file, or the direct commit. */
  readonly commits: readonly AuditCommit[];
}

export interface AuditFilter {
  readonly environment?: string;
  readonly flag?: string;
  /** Entries whose timestamp is at or after this instant. */
  readonly since?: Date;
}

/** Where a shallow history is cut. */
export interface HistoryCut {
  readonly commit: string;
  readonly date: string;
  readonly environments: readonly string[];
}

export interface AuditTrail {
  readonly entries: readonly AuditEntry[];
  /** Versions of a flag file that could not be read (not YAML), skipped. */
  readonly warnings: readonly string[];
  /** Set when the history is shallow and cut before the flag files began. */
  readonly cut?: HistoryCut;
}

export interface Commit {
  readonly sha: string;
  readonly parents: readonly string[];
  readonly author: string;
  readonly authorEmail: string;
  readonly date: string;
  readonly subject: string;
}

export interface FileChange {
  readonly commit: Commit;
  readonly environment: string;
  /** Blob SHAs; undefined when the file did not exist on that side. */
  readonly oldBlob: string | undefined;
  readonly newBlob: string | undefined;
  /** The file's path after the commit, relative to the top of the repository. */
  readonly path: string;
  /** Every name in the commit's raw line (both, for a rename). */
  readonly names: readonly string[];
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
const FORMAT = `--format=%x01%H${SEP}%P${SEP}%an${SEP}%ae${SEP}%cI${SEP}%s`;

/**
 * Builds the audit trail of `environments` (promotion order) from the first-parent history of
 * `ref` (the main branch: the commit of `refs/remotes/origin/main`, or HEAD when there is none;
 * a short name would let a tag named like the branch stand in for it).
 */
export function auditTrail(root: string, environments: readonly string[], filter: AuditFilter = {}, ref = 'HEAD'): AuditTrail {
  const envs = filter.environment ? environments.filter((e) => e === filter.environment) : environments;
  const { changes, chain: logged } = readHistories(root, envs, ref);
  // Newest first: the order of the one git log when every file came from it, else main's whole chain
  // (its last line is empty, and no change is ranked by it).
  const chain = logged ?? git(root, ['rev-list', '--first-parent', ref]).split('\n');
  const rank = new Map(chain.map((sha, i) => [sha, chain.length - i]));
  // Oldest first; a stable sort, so the changes of one commit stay in the order of `envs`, as read.
  changes.sort((a, b) => (rank.get(a.commit.sha) ?? 0) - (rank.get(b.commit.sha) ?? 0));
  const details = branchCommits(root, ref, changes);

  const blobs = readBlobs(root, changes.flatMap((c) => [c.oldBlob, c.newBlob].filter((b) => b !== undefined)));
  const parsed = new Map<string, Flags | undefined>();
  const entryBlocks = new Map<string, RawState | undefined>();
  const flagsOf = (sha: string | undefined): Flags | undefined => {
    if (sha === undefined) return new Map();
    if (!parsed.has(sha)) parsed.set(sha, parseFlags(blobs.get(sha), entryBlocks));
    return parsed.get(sha);
  };

  const boundary = shallowBoundary(root);
  let cut: { commit: string; date: string; environments: string[] } | undefined;
  const entries: AuditEntry[] = [];
  const warnings: string[] = [];
  const lastGood = new Map<string, Flags>();
  for (const change of changes) {
    const after = flagsOf(change.newBlob);
    if (!after) {
      warnings.push(`${shortSha(change.commit.sha)}: ${change.path} is not a readable flag file; skipped`);
      continue;
    }
    if (boundary.has(change.commit.sha)) {
      // The shallow history starts here (git shows the commit without parents): this is the state at
      // the cut, not a list of additions.
      cut ??= { commit: change.commit.sha, date: change.commit.date, environments: [] };
      cut.environments.push(change.environment);
      lastGood.set(change.environment, after);
      continue;
    }
    const before = flagsOf(change.oldBlob) ?? lastGood.get(change.environment) ?? new Map<string, RawState>();
    lastGood.set(change.environment, after);
    entries.push(...entriesOf(change, before, after, details.get(`${change.commit.sha}|${change.environment}`) ?? [change.commit]));
  }
  const since = filter.since?.getTime();
  return {
    // --since keeps a change when it was made (changed_at) or merged (commit date) on or after the
    // date, so a change prepared before a periodic audit's cut-off but merged after it is not lost.
    entries: entries.filter(
      (e) => (!filter.flag || e.feature_flag === filter.flag) && (since === undefined || Date.parse(e.timestamp) >= since || Date.parse(e.commit_date) >= since),
    ),
    warnings,
    ...(cut ? { cut } : {}),
  };
}

/**
 * Every commit on the first-parent history of `ref` that changed the environments' flag files: one
 * `git log` for all of them; an environment whose file appears in the middle of the history (it
 * was renamed, or moved into this folder) is read again with `--follow`, which takes one path.
 */
export function histories(root: string, environments: readonly string[], ref: string): FileChange[] {
  return readHistories(root, environments, ref).changes;
}

/**
 * {@link histories}, with `chain`: the commits of the one `git log` in first-parent order, newest
 * first, when no environment had to be read again (undefined otherwise).
 */
function readHistories(root: string, environments: readonly string[], ref: string): { changes: FileChange[]; chain?: string[] } {
  const { prefix } = repositoryPaths(root);
  const byPath = new Map(environments.map((env) => [`${prefix}${statesFile(env)}`, env]));
  const all = logChanges(root, ref, [], environments.map(statesFile), (path) => byPath.get(path));
  let followed = false;
  const changes = environments.flatMap((env) => {
    const own = all.filter((c) => c.environment === env);
    // The oldest change of a file always adds it; in a commit with parents, it was renamed, moved
    // into this folder, or is new since.
    const first = own[own.length - 1];
    const appeared = first !== undefined && first.commit.parents.length > 0;
    if (!appeared) return own;
    followed = true;
    return logChanges(root, ref, ['--follow'], [statesFile(env)], () => env);
  });
  return { changes, ...(followed ? {} : { chain: [...new Set(all.map((c) => c.commit.sha))] }) };
}

/**
 * Every commit on the first-parent history of `ref` that changed one environment's flag file,
 * following renames, newest first. Also used for the soak time (lib/rollout/pipeline.ts).
 */
export function fileHistory(root: string, environment: string, ref: string): FileChange[] {
  return histories(root, [environment], ref);
}

function logChanges(root: string, ref: string, extra: readonly string[], paths: readonly string[], environmentOf: (path: string) => string | undefined): FileChange[] {
  const out = git(root, ['log', '--first-parent', '--diff-merges=first-parent', ...extra, '-M', '--raw', '--no-abbrev', '--no-color', FORMAT, ref, '--', ...paths]);
  const changes: FileChange[] = [];
  for (const record of out.split('\x01').slice(1)) {
    const [header, ...rest] = record.split('\n');
    const commit = parseCommit(header!);
    for (const raw of rest.filter((l) => l.startsWith(':'))) {
      const [meta, ...names] = raw.split('\t');
      const [, , oldSha, newSha] = meta!.split(' ') as [string, string, string, string];
      const environment = environmentOf(names[names.length - 1]!);
      if (environment === undefined) continue;
      changes.push({
        commit,
        environment,
        oldBlob: NULL_SHA.test(oldSha) ? undefined : oldSha,
        newBlob: NULL_SHA.test(newSha) ? undefined : newSha,
        path: names[names.length - 1]!,
        names,
      });
    }
  }
  return changes;
}

function parseCommit(header: string): Commit {
  const [sha, parents, author, authorEmail, date, subject] = header.split(SEP) as [string, string, string, string, string, string];
  return { sha, parents: parents.split(' ').filter(Boolean), author, authorEmail, date: utc(date), subject };
}

const detailOf = (c: Commit): AuditCommit => ({ commit: c.sha, author: `${c.author} <${c.authorEmail}>`, date: c.date, subject: c.subject });

/**
 * For each landed merge (`<merge sha>|<environment>`), the commits it brought to main that touched
 * that environment's flag file, oldest first. A commit belongs to the first first-parent commit
 * that reaches it; walking the first-parent chain from the oldest, each commit claims what its
 * parents reach and nothing claimed before (its first parent, the commit before it on the chain,
 * is claimed already), so every commit is visited once.
 */
function branchCommits(root: string, ref: string, changes: readonly FileChange[]): Map<string, Commit[]> {
  const result = new Map<string, Commit[]>();
  const merges = new Set(changes.filter((c) => c.commit.parents.length > 1).map((c) => c.commit.sha));
  if (merges.size === 0) return result;
  // Every name each environment's file had (a rename's raw line carries both), top-relative.
  const pathsOf = new Map<string, Set<string>>();
  for (const c of changes) pathsOf.set(c.environment, new Set([...(pathsOf.get(c.environment) ?? new Set<string>()), ...c.names]));
  const allPaths = [...new Set(changes.flatMap((c) => c.names))];
  const touched = new Map<string, { commit: Commit; paths: string[] }>();
  const log = git(root, ['log', '--full-history', '--no-merges', '--name-only', '--no-color', FORMAT, ref, '--', ...allPaths.map((p) => `:(top)${p}`)]);
  for (const record of log.split('\x01').slice(1)) {
    const [header, ...names] = record.split('\n');
    const commit = parseCommit(header!);
    touched.set(commit.sha, { commit, paths: names });
  }
  const parents = new Map<string, string[]>();
  for (const line of git(root, ['rev-list', '--parents', ref]).split('\n')) {
    const [sha, ...ps] = line.split(' ');
    if (sha) parents.set(sha, ps);
  }
  const chain: string[] = [];
  for (let c: string | undefined = git(root, ['rev-parse', '--verify', `${ref}^{commit}`]).trim(); c; c = parents.get(c)?.[0]) chain.push(c);
  const claimed = new Set<string>();
  const byMerge = new Map<string, string[]>();
  // Every commit rev-list listed, with the parents it follows (none at a shallow cut).
  const parentsOf = (sha: string): string[] => parents.get(sha)!;
  for (const c of chain.reverse()) {
    claimed.add(c);
    const collected: string[] = [];
    const stack = [...parentsOf(c)];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (claimed.has(x)) continue;
      claimed.add(x);
      if (touched.has(x)) collected.push(x);
      stack.push(...parentsOf(x));
    }
    if (merges.has(c)) byMerge.set(c, collected);
  }
  for (const change of changes) {
    const brought = byMerge.get(change.commit.sha);
    if (!brought) continue;
    const paths = pathsOf.get(change.environment)!;
    const commits = brought
      .map((sha) => touched.get(sha)!)
      .filter((t) => t.paths.some((p) => paths.has(p)))
      .map((t) => t.commit)
      .sort((a, b) => a.date.localeCompare(b.date) || a.sha.localeCompare(b.sha));
    result.set(`${change.commit.sha}|${change.environment}`, commits);
  }
  return result;
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

/** What {@link yamlOf} gives for text that is not YAML. */
const NOT_YAML = Symbol();

/** `text` as the YAML parser reads it, or {@link NOT_YAML}. */
function yamlOf(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return NOT_YAML;
  }
}

function parseWhole(text: string): Flags | undefined {
  const doc = yamlOf(text);
  if (doc === NOT_YAML) return undefined;
  const flags = (doc as { flags?: unknown } | null)?.flags;
  if (flags === undefined || flags === null) return new Map();
  if (typeof flags !== 'object' || Array.isArray(flags)) return undefined;
  return new Map(Object.entries(flags as Record<string, unknown>).map(([k, v]) => [k, asState(v)]));
}

/** One entry's block (`name:` alone on its first line, then its fields) read by the YAML parser; undefined when it is not YAML. */
function parseEntry(block: string, name: string): RawState | undefined {
  const doc = yamlOf(block);
  return doc === NOT_YAML ? undefined : asState((doc as Record<string, unknown>)[name]);
}

const asState = (v: unknown): RawState => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as RawState;
const FLAGS_KEY = /^flags:[ \t]*(#.*)?$/;
const ENTRY_KEY = /^ +([A-Za-z0-9_.-]+):[ \t]*(#.*)?$/;
const UNUSUAL = /(^|[\s:,[{-])[&*!][^\s]|<<:|^(---|\.\.\.)|\t/m;

/** The fast path: undefined when the file is not in the plain shape (the caller parses it whole). */
function parseByBlocks(text: string, blocks: Map<string, RawState | undefined>): Flags | undefined {
  if (UNUSUAL.test(text)) return undefined;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => FLAGS_KEY.test(l));
  if (start < 0) return undefined;
  const flags = new Map<string, RawState>();
  /** The entry being read: the indentation of its key, its name, its lines (the key's first). */
  let entry: { indent: number; name: string; lines: string[] } | undefined;
  const flush = (): boolean => {
    if (entry === undefined) return true;
    const key = entry.lines.join('\n');
    if (!blocks.has(key)) blocks.set(key, plainEntry(entry.lines) ?? parseEntry(key, entry.name));
    const state = blocks.get(key);
    if (state === undefined || flags.has(entry.name)) return false;
    flags.set(entry.name, state);
    return true;
  };
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || /^\s*#/.test(line)) {
      entry?.lines.push(line);
      continue;
    }
    if (!line.startsWith(' ')) {
      // the next top-level key ends the flags (a second `flags:` key is left to the full parse)
      if (lines.slice(i).some((l) => FLAGS_KEY.test(l))) return undefined;
      break;
    }
    const depth = line.length - line.trimStart().length;
    if (entry !== undefined && depth > entry.indent) {
      entry.lines.push(line);
    } else if (entry === undefined || depth === entry.indent) {
      // a flag entry starts: only `name:` alone on its line (anything else, e.g. flow style, is parsed whole)
      const m = ENTRY_KEY.exec(line);
      if (!m || !flush()) return undefined;
      entry = { indent: depth, name: m[1]!, lines: [line] };
    } else {
      return undefined;
    }
  }
  return flush() ? flags : undefined;
}

const FIELD = /^( +)([a-z_]+): +(.*)$/;
const PLAIN_SAFE = /^[^\s\-?:,[\]{}#&*!|>'"%@`](?:(?!: | #).)*$/;
/** Plain scalars that may not be text: anything number-like, null-like or boolean-like in any YAML version. */
const NOT_A_STRING = /^(?:[-+]?\.?\d.*|[-+]?\.(?:inf|nan)|null|~|true|false|yes|no|on|off|y|n)$/i;

/**
 * One flag entry of the plain shape (`name:` then `field: value` lines, scalar values) read without
 * the YAML parser: the audit reads tens of thousands of entry versions. Only values whose meaning
 * is certain are read here: `true`/`false`, plain decimal integers, plain text, and quoted text
 * without escapes; anything else (numbers of other forms, nulls, escapes, block scalars, nesting)
 * returns undefined and the YAML parser reads the entry. A property test holds it to `yaml.parse`.
 */
export function plainEntry(lines: readonly string[]): RawState | undefined {
  const state: Record<string, unknown> = {};
  let indent: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || /^\s*#/.test(line)) continue;
    const m = FIELD.exec(line);
    if (!m) return undefined;
    if (indent === undefined) indent = m[1]!.length;
    else if (m[1]!.length !== indent) return undefined;
    const value = scalar(m[3]!);
    if (value === undefined || m[2]! in state) return undefined;
    state[m[2]!] = value;
  }
  return state as RawState;
}

function scalar(raw: string): unknown {
  if (raw.startsWith('"') || raw.startsWith("'")) {
    const quote = raw[0]!;
    if (quote === '"' ? raw.includes('\\') : raw.slice(1).includes("''")) return undefined;
    // Not closed (end -1): the rest is then all of it, which begins with the quote, and no comment.
    const end = raw.indexOf(quote, 1);
    const rest = raw.slice(end + 1);
    if (rest !== '' && !/^ +(#.*)?$/.test(rest)) return undefined;
    return raw.slice(1, end);
  }
  // A comment (` #`) and the spaces before it are not part of a plain value.
  const text = raw.split(' #')[0]!.replace(/ +$/, '');
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^(0|-?[1-9]\d{0,8})$/.test(text)) return Number(text);
  // Timestamps and dates are text in YAML 1.2's core schema (what `yaml` reads by default).
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) return text;
  // (An empty value is not PLAIN_SAFE: it is null in YAML.)
  if (text.endsWith(':') || NOT_A_STRING.test(text) || !PLAIN_SAFE.test(text) || /\t/.test(text)) return undefined;
  return text;
}

/** The entries of one landed change of a flag file; `commits`: the pull request's commits behind it, oldest first, or the direct commit. */
function entriesOf(change: FileChange, before: Flags, after: Flags, commits: readonly Commit[]): AuditEntry[] {
  const { commit, environment } = change;
  const entries: AuditEntry[] = [];
  const base = { environment, commit: commit.sha, commit_author: `${commit.author} <${commit.authorEmail}>`, commit_date: commit.date, commits: commits.map(detailOf) };
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
    // The entry is gone: its record is the subject of the commit that removed it (a pull request's
    // own commit, not the merge that landed it), as `flagops remove` asks for.
    const removal = removalCommit(commits, flag);
    const subject = removal?.subject ?? commit.subject;
    const d = {
      timestamp: removal?.date ?? commit.date,
      user_id: removal?.authorEmail ?? commit.authorEmail,
      reason: subject,
      approval_ticket: ticketIn(subject),
      approved_by: null,
    };
    entries.push(entry(d, 'feature_flag_removed', flag, bool(was.enabled), null, null, num(was.rollout), base));
  }
  return entries;
}

/**
 * The commit a removal's reason and ticket come from (`Remove FLAG: REASON (TICKET)`, the subject
 * `flagops remove` asks for): among the commits that made a change, oldest first, the newest whose
 * subject names the flag, else the newest. `flagops diff` shows the same before the merge.
 */
export function removalCommit<T extends { readonly subject: string }>(commits: readonly T[], flag: string): T | undefined {
  // The name as written (one from before the naming rules may hold `.` or `-`), as a whole word.
  const names = new RegExp(`(^|[^a-z0-9_])${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z0-9_])`);
  for (let i = commits.length - 1; i >= 0; i--) if (names.test(commits[i]!.subject)) return commits[i];
  return commits.at(-1);
}

/** A removal's ticket: the first ticket id (`TICKET-123`, `INC-7`) in its commit subject. */
export const ticketIn = (subject: string): string | null => /\b[A-Z][A-Z0-9]+-\d+\b/.exec(subject)?.[0] ?? null;

function entry(
  d: { timestamp: string; user_id: string; reason: string; approval_ticket: string | null; approved_by: string | null },
  event_type: AuditEventType,
  feature_flag: string,
  previous_state: boolean | null,
  new_state: boolean | null,
  rollout_percentage: number | null,
  previous_rollout_percentage: number | null,
  c: { environment: string; commit: string; commit_author: string; commit_date: string; commits: readonly AuditCommit[] },
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
    commits: c.commits,
  };
}

const bool = (v: unknown): boolean => v === true;
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
/** An ISO date with offset, as UTC without milliseconds. */
const utc = (iso: string): string => `${new Date(iso).toISOString().slice(0, 19)}Z`;
