/**
 * What a change does, for review: the flag changes per environment (from policies/change-rules.ts'
 * flagChanges) and the synthesized objects that change, each with a unified YAML diff. Plain data
 * out; cli/commands/diff.ts renders it as text, markdown or JSON.
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { parse } from 'yaml';
import { changeKind, flagChanges, usersSwitching, type ChangeKind, type FlagChange } from '../../policies/change-rules.ts';
import { describeExposure, exposure } from '../../policies/state-rules.ts';
import { parseFlags, removalCommit, ticketIn } from './audit.ts';
import type { CodeReview } from '../code/code-changes.ts';
import type { RuleChange } from '../../policies/judged-by-base.ts';
import { DIST, readDist } from '../workspace/dist.ts';
import { gitReader, listTree, readBlobs, repositoryPaths, tryGit } from './git.ts';
import { flagConfigMapPath } from '../../constructs/names.ts';
import { statesFile } from '../workspace/project.ts';
import type { ProjectModel } from '../../model/flags.ts';
import type { Finding } from '../../model/findings.ts';

/** One flag's change in one environment, as a reviewer reads it. */
export interface FlagReview {
  readonly environment: string;
  readonly flag: string;
  readonly kind: ChangeKind;
  /** `off`, `on 25%`, `absent`. */
  readonly before: string;
  readonly after: string;
  /** Share of users whose result changes; undefined when nobody switches. */
  readonly switching?: { readonly percent: number; readonly to: 'on' | 'off' };
  readonly reason?: string;
  readonly ticket?: string;
  readonly changedBy?: string;
  readonly approvedBy?: string;
  /**
   * For a removed flag: what users get without it (`afterwards`, why), and the commit its reason,
   * ticket and author come from; without `commit` the removal is not committed yet, and has none.
   */
  readonly removal?: { readonly afterwards: string; readonly why: string; readonly commit?: string };
}

/** The commit of a change that removed a flag from an environment's file ({@link removalCommits}). */
export interface RemovalCommit {
  readonly commit: string;
  readonly subject: string;
  readonly authorEmail: string;
}

/** What a review needs to say what a removal does, beyond the two models. */
export interface RemovalFacts {
  /** By `environment|flag`: the commit the removal's reason and ticket come from, once committed. */
  readonly commits: ReadonlyMap<string, RemovalCommit>;
  /** When the code was searched: the folders searched, and where the code still reads each removed flag that was on (`file:line`). */
  readonly code?: { readonly folders: readonly string[]; readonly reads: ReadonlyMap<string, readonly string[]> };
}

export type ObjectChange = 'added' | 'removed' | 'changed';

/** One synthesized object that changes. */
export interface ObjectReview {
  /** `dist/<env>/<kind>-<name>.yaml`. */
  readonly path: string;
  readonly environment: string;
  readonly change: ObjectChange;
  /** `ConfigMap pms/feature-flags-config`. */
  readonly object: string;
  /** True for Secrets, and for text that is not YAML (it could be one): their content is never shown. */
  readonly hidden: boolean;
  /** Unified diff of the YAML (absent when hidden). */
  readonly patch?: string;
}

export interface Review {
  /** Changes to what judges flag changes (settings, prerequisites, identities): shown above the flags. */
  readonly rules: readonly RuleChange[];
  readonly flags: readonly FlagReview[];
  readonly objects: readonly ObjectReview[];
  /** What the change does to the flags' code references (when the source folders were compared). */
  readonly code?: CodeReview;
  /**
   * `drift` findings, as `flagops check` reports them: committed dist/ files that differ from a
   * fresh synth of the same flag files (hand edits, a synth not committed), are missing or stale.
   */
  readonly drift?: readonly Finding[];
}

/** The flag changes between two project models, in promotion and file order. */
export function reviewFlags(base: ProjectModel, current: ProjectModel, removals: RemovalFacts = { commits: new Map() }): FlagReview[] {
  return flagChanges(base, current).map((c) => {
    if (!c.after) return reviewRemoval(c, removals);
    const shown = c.after;
    return {
      environment: c.environment,
      flag: c.flag,
      kind: changeKind(c),
      before: describeExposure(c.before),
      after: describeExposure(c.after),
      switching: usersSwitching(c),
      reason: shown.reason,
      ticket: shown.ticket,
      changedBy: shown.changed_by,
      approvedBy: shown.approved_by,
    };
  });
}

/**
 * A removed flag: the code path kept decides what users get (without the flag the code takes its
 * default, off; code that no longer reads it keeps the on path), and its reason, ticket and author
 * are those of the commit that removes it, as `flagops audit` records them (lib/review/audit.ts'
 * removalCommit); before that commit there are none yet.
 */
function reviewRemoval(c: FlagChange, facts: RemovalFacts): FlagReview {
  const level = exposure(c.before);
  const reads = facts.code?.reads.get(c.flag);
  const off = { afterwards: `${level}% of users switch off`, switching: { percent: level, to: 'off' as const } };
  const outcome =
    level === 0
      ? { afterwards: 'users stay off', why: 'without the flag the code takes its default, off' }
      : reads && reads.length > 0
        ? { ...off, why: `${reads[0]}${reads.length > 1 ? ` (and ${reads.length - 1} more)` : ''} still reads it and gets its default, off` }
        : level < 100
          ? { ...off, why: 'without the flag the code takes its default, off' }
          : facts.code
            ? { afterwards: 'users stay on', why: `no code in ${facts.code.folders.join(', ')} reads it, so it always takes the on path` }
            : { afterwards: 'users stay on if no code reads it any more', why: 'the code was not searched here (no sourceFolders); flagops remove --keep-code-path checks it' };
  const commit = facts.commits.get(`${c.environment}|${c.flag}`);
  return {
    environment: c.environment,
    flag: c.flag,
    kind: 'removed',
    before: describeExposure(c.before),
    after: describeExposure(undefined),
    ...('switching' in outcome ? { switching: outcome.switching } : {}),
    ...(commit ? { reason: commit.subject, ticket: ticketIn(commit.subject) ?? undefined, changedBy: commit.authorEmail } : {}),
    removal: { afterwards: outcome.afterwards, why: outcome.why, ...(commit ? { commit: commit.commit } : {}) },
  };
}

/**
 * For each removed flag (`environment|flag`) whose removal is committed (the flag is gone from the
 * environment's file at HEAD), the commit since `base` that the audit will take its reason and
 * ticket from: of the commits that changed that file (merges left out), the newest whose subject
 * names the flag, else the newest.
 */
export function removalCommits(root: string, base: string, removed: readonly { readonly environment: string; readonly flag: string }[]): Map<string, RemovalCommit> {
  const found = new Map<string, RemovalCommit>();
  if (removed.length === 0) return found;
  const environments = [...new Set(removed.map((r) => r.environment))];
  const head = gitReader(root, 'HEAD');
  const atHead = new Map(environments.map((env) => [env, parseFlags(head.read(statesFile(env)))]));
  const { prefix } = repositoryPaths(root);
  const log = tryGit(root, ['log', '--no-merges', '--name-only', '--no-color', '--format=%x01%H%x1f%ae%x1f%s', `${base}..HEAD`, '--', ...environments.map(statesFile)]) ?? '';
  // Oldest first, each with the files it changed (paths from the top of the repository).
  const commits = log
    .split('\x01')
    .slice(1)
    .map((record) => {
      const [header, ...names] = record.split('\n');
      const [commit, authorEmail, subject] = header!.split('\x1f') as [string, string, string];
      return { commit, authorEmail, subject, files: new Set(names) };
    })
    .reverse();
  for (const { environment, flag } of removed) {
    if (atHead.get(environment)?.has(flag) !== false) continue; // still there at HEAD: not committed
    const touching = commits.filter((c) => c.files.has(`${prefix}${statesFile(environment)}`));
    const commit = removalCommit(touching, flag);
    if (commit) found.set(`${environment}|${flag}`, { commit: commit.commit, subject: commit.subject, authorEmail: commit.authorEmail });
  }
  return found;
}

/** Manifest files (path to text) of dist/ at a commit. */
export function distAtCommit(root: string, commit: string): Map<string, string> {
  // The manifests of each dist/<env>/ folder itself, as on disk (a folder named like a manifest holds none).
  const tree = [...listTree(root, commit, DIST)].filter(([path]) => /^[^/]+\/[^/]+\/[^/]+\.yaml$/.test(path));
  const blobs = readBlobs(root, tree.map(([, sha]) => sha));
  return new Map(tree.map(([path, sha]) => [path, blobs.get(sha) ?? '']));
}

/** Manifest files (path to text) of dist/ on disk, for the given environments. */
export function distOnDisk(root: string, environments: readonly string[]): Map<string, string> {
  return new Map(environments.flatMap((env) => [...readDist(root, env)]));
}

/** The objects that differ between two sets of manifest files, sorted by path. */
export function reviewObjects(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): ObjectReview[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const reviews: ObjectReview[] = [];
  for (const path of paths) {
    const a = before.get(path);
    const b = after.get(path);
    if (a === b) continue;
    const change: ObjectChange = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
    const meta = identify((b ?? a)!);
    const hidden = meta.secret || (a !== undefined && identify(a).secret);
    const patch = hidden
      ? undefined
      : createTwoFilesPatch(a === undefined ? '/dev/null' : `a/${path}`, b === undefined ? '/dev/null' : `b/${path}`, a ?? '', b ?? '', undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY }).trimEnd();
    reviews.push({ path, environment: path.split('/')[1] ?? '', change, object: meta.label, hidden, patch });
  }
  return reviews;
}

/**
 * How a manifest is named in a review (`ConfigMap pms/feature-flags-config`), and whether its content
 * must not be shown: a Secret, or text that is not YAML (it could be a Secret).
 */
function identify(text: string): { secret: boolean; label: string } {
  try {
    const o = parse(text) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
    const kind = typeof o?.kind === 'string' ? o.kind : 'object';
    const name = String(o?.metadata?.name ?? '?');
    const ns = typeof o?.metadata?.namespace === 'string' ? `${o.metadata.namespace}/` : '';
    return { secret: kind === 'Secret', label: `${kind} ${ns}${name}` };
  } catch {
    return { secret: true, label: 'unparsable YAML' };
  }
}

const COUNT_WORDS: Record<ChangeKind, [string, string]> = {
  raised: ['flag raised', 'flags raised'],
  lowered: ['flag lowered', 'flags lowered'],
  'kill-switch': ['kill switch', 'kill switches'],
  added: ['flag added', 'flags added'],
  removed: ['flag removed', 'flags removed'],
  updated: ['flag updated without a state change', 'flags updated without a state change'],
};
const KIND_ORDER: readonly ChangeKind[] = ['raised', 'kill-switch', 'lowered', 'added', 'removed', 'updated'];

/**
 * One line for the whole change: `production: 1 flag raised, 1 kill switch; staging: 1 flag lowered;
 * 3 objects changed`. Environments are listed in the order given (promotion order).
 */
export function summaryLine(review: Review, environments: readonly string[]): string {
  const parts: string[] = [];
  const n = (count: number, [one, many]: readonly [string, string]) => `${count} ${count === 1 ? one : many}`;
  if (review.rules.length > 0) parts.push(n(review.rules.length, ['setting or rule changed', 'settings or rules changed']));
  for (const env of environments) {
    const flags = review.flags.filter((f) => f.environment === env);
    const counts = KIND_ORDER.map((k) => [k, flags.filter((f) => f.kind === k).length] as const).filter(([, c]) => c > 0);
    if (counts.length > 0) parts.push(`${env}: ${counts.map(([k, c]) => n(c, COUNT_WORDS[k])).join(', ')}`);
  }
  const objectCounts = (['added', 'removed', 'changed'] as const)
    .map((k) => [k, review.objects.filter((o) => o.change === k).length] as const)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${c} ${c === 1 ? 'object' : 'objects'} ${k}`);
  if (objectCounts.length > 0) parts.push(objectCounts.join(', '));
  const removable = review.code?.removable.length ?? 0;
  if (removable > 0) parts.push(`${removable} ${removable === 1 ? 'flag loses its last code reference' : 'flags lose their last code reference'}`);
  const drift = review.drift?.length ?? 0;
  if (drift > 0) parts.push(`${drift} ${drift === 1 ? 'file of dist/ differs' : 'files of dist/ differ'} from a fresh synth (drift)`);
  return parts.length > 0 ? parts.join('; ') : 'nothing changes';
}

/**
 * The kill-switch fast lane: a change that only lowers exposure (every flag change a kill switch or
 * a lower rollout) and touches nothing but those environments' flag files and the objects built
 * from flag states. CI then skips the long test suite on the pull request and, after the merge,
 * deploys those environments directly (docs/rollouts.md, "The kill-switch fast lane").
 */
export interface Lane {
  /** True when the change only lowers exposure. */
  readonly fast: boolean;
  /** The environments whose flags the change touches, in promotion order. */
  readonly environments: readonly string[];
  /** Why the change is not in the fast lane; empty when it is. */
  readonly reasons: readonly string[];
}

/** The files a lowering-only change may touch in one environment. */
export const fastLaneFiles = (environment: string): string[] => [statesFile(environment), flagConfigMapPath(environment), `dist/${environment}/featureflag-feature-flags.yaml`];

const NOT_LOWERING: Readonly<Record<ChangeKind, string>> = {
  raised: 'raises exposure',
  added: 'is added',
  removed: 'is removed',
  updated: 'changes without lowering exposure',
  lowered: '',
  'kill-switch': '',
};

/** At most this many reasons are listed; the last one says how many more there are. */
const MAX_REASONS = 20;

/**
 * Classifies a change for CI: `flags` as `flagops diff` reviews them, `files` changed (relative to
 * the project; from git), `environments` in promotion order.
 */
export function classifyLane(flags: readonly FlagReview[], files: readonly string[], environments: readonly string[]): Lane {
  const touched = environments.filter((e) => flags.some((f) => f.environment === e));
  const reasons: string[] = [];
  if (flags.length === 0) reasons.push('no flag changes state');
  for (const f of flags) if (NOT_LOWERING[f.kind]) reasons.push(`${f.environment}: ${f.flag} ${NOT_LOWERING[f.kind]} (${f.before} -> ${f.after})`);
  const allowed = new Set(touched.flatMap(fastLaneFiles));
  for (const file of files) if (!allowed.has(file)) reasons.push(`changes ${file}, which is not a flag file or flag ConfigMap of ${touched.join(', ') || 'an environment with a lowered flag'}`);
  const shown = reasons.length > MAX_REASONS ? [...reasons.slice(0, MAX_REASONS - 1), `and ${reasons.length - MAX_REASONS + 1} more`] : reasons;
  return { fast: reasons.length === 0, environments: touched, reasons: shown };
}
