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
  if (changes.length === 0) return { entries: [], warnings: [] };
  // Newest first: the order of the one git log when every file came from it, else main's whole chain.
  const chain = logged ?? git(root, ['rev-list', '--first-parent', ref]).split('\n').filter(Boolean);
  const rank = new Map(chain.map((sha, i) => [sha, chain.length - i]));
  const envIndex = new Map(envs.map((e, i) => [e, i]));
  changes.sort((a, b) => (rank.get(a.commit.sha) ?? 0) - (rank.get(b.commit.sha) ?? 0) || envIndex.get(a.environment)! - envIndex.get(b.environment)!);
  const details = branchCommits(root, ref, changes);

  const blobs = readBlobs(root, changes.flatMap((c) => [c.oldBlob, c.newBlob].filter((b): b is string => b !== undefined)));
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
    if (boundary.has(change.commit.sha) && change.commit.parents.length === 0) {
      // The shallow history starts here: this is the state at the cut, not a list of additions.
      cut ??= { commit: change.commit.sha, date: change.commit.date, environments: [] };
      cut.environments.push(change.environment);
      lastGood.set(change.environment, after);
      continue;
    }
    const before = flagsOf(change.oldBlob) ?? lastGood.get(change.environment) ?? new Map<string, RawState>();
    lastGood.set(change.environment, after);
    entries.push(...entriesOf(change, before, after, details.get(`${change.commit.sha}|${change.environment}`) ?? [detailOf(change.commit)]));
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
    const first = own[own.length - 1];
    const appeared = first !== undefined && first.oldBlob === undefined && first.commit.parents.length > 0;
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
 * that reaches it; walking the first-parent chain from the oldest, each merge claims what its other
 * parents reach and nothing claimed before, so every commit is visited once.
 */
function branchCommits(root: string, ref: string, changes: readonly FileChange[]): Map<string, AuditCommit[]> {
  const result = new Map<string, AuditCommit[]>();
  const merges = new Set(changes.filter((c) => c.commit.parents.length > 1).map((c) => c.commit.sha));
  if (merges.size === 0) return result;
  // Every name each environment's file had (a rename's raw line carries both), top-relative.
  const pathsOf = new Map<string, Set<string>>();
  for (const c of changes) pathsOf.set(c.environment, new Set([...(pathsOf.get(c.environment) ?? []), ...c.names]));
  const allPaths = [...new Set(changes.flatMap((c) => c.names))];
  const touched = new Map<string, { commit: Commit; paths: string[] }>();
  const log = git(root, ['log', '--full-history', '--no-merges', '--name-only', '--no-color', FORMAT, ref, '--', ...allPaths.map((p) => `:(top)${p}`)]);
  for (const record of log.split('\x01').slice(1)) {
    const [header, ...names] = record.split('\n');
    const commit = parseCommit(header!);
    touched.set(commit.sha, { commit, paths: names.filter(Boolean) });
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
  for (const c of chain.reverse()) {
    claimed.add(c);
    const collected: string[] = [];
    const stack = [...(parents.get(c) ?? []).slice(1)];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (claimed.has(x)) continue;
      claimed.add(x);
      if (merges.has(c) && touched.has(x)) collected.push(x);
      stack.push(...(parents.get(x) ?? []));
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
      .sort((a, b) => a.date.localeCompare(b.date) || a.sha.localeCompare(b.sha))
      .map(detailOf);
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
      const fast = plainEntry(block);
      if (fast !== undefined) {
        blocks.set(key, fast);
      } else {
        try {
          blocks.set(key, asState((parse(key) as Record<string, unknown> | null)?.[name]));
        } catch {
          blocks.set(key, undefined);
        }
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

const FIELD = /^( +)([a-z_]+):(?: +(.*))?$/;
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
    const value = scalar(m[3]);
    if (value === undefined || m[2]! in state) return undefined;
    state[m[2]!] = value;
  }
  return state as RawState;
}

function scalar(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  let text = raw;
  if (text.startsWith('"') || text.startsWith("'")) {
    const quote = text[0]!;
    const end = text.indexOf(quote, 1);
    if (quote === '"' ? text.includes('\\') : text.slice(1).includes("''")) return undefined;
    if (end < 0) return undefined;
    const rest = text.slice(end + 1);
    if (rest !== '' && !/^ +(#.*)?$/.test(rest)) return undefined;
    return text.slice(1, end);
  }
  const comment = text.indexOf(' #');
  if (comment >= 0) text = text.slice(0, comment);
  text = text.replace(/ +$/, '');
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^(0|-?[1-9]\d{0,8})$/.test(text)) return Number(text);
  // Timestamps and dates are text in YAML 1.2's core schema (what `yaml` reads by default).
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) return text;
  if (text === '' || text.endsWith(':') || NOT_A_STRING.test(text) || !PLAIN_SAFE.test(text) || /\t/.test(text)) return undefined;
  return text;
}

function entriesOf(change: FileChange, before: Flags, after: Flags, commits: readonly AuditCommit[]): AuditEntry[] {
  const { commit, environment } = change;
  const entries: AuditEntry[] = [];
  const base = { environment, commit: commit.sha, commit_author: `${commit.author} <${commit.authorEmail}>`, commit_date: commit.date, commits };
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
      user_id: (removal && /<([^<>]*)>$/.exec(removal.author)?.[1]) ?? commit.authorEmail,
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
  const names = new RegExp(`(^|[^a-z0-9_])${flag.replace(/[^a-z0-9_]/g, '')}($|[^a-z0-9_])`);
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
const utc = (iso: string): string => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
