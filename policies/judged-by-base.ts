/**
 * Judged by main (BRIEF §5): a change is judged by the rules that were on the base, never by the
 * ones it brings. The change rules, the soak time, the approval and ticket requirements and the
 * prerequisites of every flag are taken from the base's `environment.ts` settings and catalog; the
 * identities that prove who changed and who approved, from the base's `.github/flagops-identities`.
 * A change to any of them is itself a finding ({@link checkRulesChanges}) that needs its own
 * approval, and `flagops diff` shows it above the flags.
 *
 * Pure functions of plain data: lib/review/base-project.ts reads the base, cli/commands/check.ts
 * and diff.ts call these.
 */
import type { EnvironmentSettings } from '../model/environments.ts';
import type { FlagDefinition } from '../model/flag-schemas.ts';
import type { ProjectModel } from '../model/flags.ts';
import { error, warning, type Finding, type Location } from '../model/findings.ts';
import { fileScopeKey, IDENTITIES_FILE, type ApprovalScope, type PullRequestFacts } from '../model/pull-request.ts';

/**
 * The current model as the base's rules see it: every environment that exists on the base carries
 * the base's settings (promotion order, rollout steps, one step at a time, soak time, ticket and
 * approval requirements), and every flag that exists on the base requires what it required there
 * as well as what it requires now. Environments and flags the change adds keep their own.
 * Returns `current` itself when nothing differs.
 */
export function judgedModel(base: ProjectModel, current: ProjectModel): ProjectModel {
  const baseSettings = new Map(base.environments.map((e) => [e.settings.name, e.settings]));
  let changed = false;
  const environments = current.environments.map((env) => {
    const settings = baseSettings.get(env.settings.name);
    if (!settings || sameValue(settings, env.settings)) return env;
    changed = true;
    return { ...env, settings };
  });
  const flags: Record<string, FlagDefinition> = { ...current.catalog.flags };
  for (const [name, def] of Object.entries(current.catalog.flags)) {
    const before = base.catalog.flags[name]?.requires ?? [];
    const now = def.requires ?? [];
    const union = [...now, ...before.filter((r) => !now.includes(r))];
    if (union.length === now.length) continue;
    changed = true;
    flags[name] = { ...def, requires: union };
  }
  return changed ? { catalog: { ...current.catalog, flags }, environments } : current;
}

/** One change to what judges changes. */
export interface RuleChange {
  /** The file it is in: `environments/production/environment.ts`, `environments/catalog.yaml`, `.github/flagops-identities`. */
  readonly file: string;
  /** Where, in the working tree (line 0 when the key is gone). */
  readonly at: Location;
  /** What changed, as a reviewer names it: `soakMinutes`, `e_prescribing_enabled requires`, `@sam-lee`. */
  readonly subject: string;
  /** The environment whose settings these are (undefined for the catalog and the identities). */
  readonly environment?: string;
  /** The value on the base and now, as text (`absent` when there is none). */
  readonly before: string;
  readonly after: string;
}

/** The judges of a project, on the base or now, as plain data. */
export interface Judges {
  readonly settings: readonly EnvironmentSettings[];
  /** Text of each `environments/<env>/environment.ts`, by path (to locate a key). */
  readonly settingsFiles: ReadonlyMap<string, string>;
  readonly catalog: ProjectModel['catalog'];
  /** Lower-case login → e-mails; the text, to locate a line. */
  readonly identities: ReadonlyMap<string, readonly string[]>;
  readonly identitiesText?: string;
}

const ABSENT = 'absent';
const settingsFile = (env: string): string => `environments/${env}/environment.ts`;

/** Every difference between the judges on the base and now, in file order. */
export function rulesChanges(base: Judges, current: Judges): RuleChange[] {
  const changes: RuleChange[] = [];
  const names = [...new Set([...base.settings.map((s) => s.name), ...current.settings.map((s) => s.name)])];
  for (const name of names) {
    const file = settingsFile(name);
    const before = base.settings.find((s) => s.name === name);
    const after = current.settings.find((s) => s.name === name);
    const text = current.settingsFiles.get(file);
    if (!before || !after) {
      changes.push({ file, at: { file, line: 0, col: 0 }, subject: 'environment', environment: name, before: before ? 'declared' : ABSENT, after: after ? 'declared' : ABSENT });
      continue;
    }
    const a = flatten(before);
    const b = flatten(after);
    for (const key of [...new Set([...a.keys(), ...b.keys()])]) {
      if (key === 'name' || a.get(key) === b.get(key)) continue;
      changes.push({ file, at: locateKey(file, text, key), subject: key, environment: name, before: a.get(key) ?? ABSENT, after: b.get(key) ?? ABSENT });
    }
  }
  for (const name of current.catalog.names) {
    const was = base.catalog.flags[name];
    const now = current.catalog.flags[name];
    if (!was || !now) continue;
    const before = [...(was.requires ?? [])].sort();
    const after = [...(now.requires ?? [])].sort();
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    const at = current.catalog.source?.locate(['flags', name, 'requires'], 'key') ?? { file: current.catalog.file, line: 0, col: 0 };
    changes.push({ file: current.catalog.file, at, subject: `${name} requires`, before: listOf(before), after: listOf(after) });
  }
  const logins = [...new Set([...base.identities.keys(), ...current.identities.keys()])].sort();
  for (const login of logins) {
    const before = [...(base.identities.get(login) ?? [])].sort();
    const after = [...(current.identities.get(login) ?? [])].sort();
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    changes.push({ file: IDENTITIES_FILE, at: locateLogin(current.identitiesText, login), subject: `@${login}`, before: before.length ? before.join(' ') : ABSENT, after: after.length ? after.join(' ') : ABSENT });
  }
  return changes;
}

const listOf = (items: readonly string[]): string => (items.length === 0 ? '[]' : `[${items.join(', ')}]`);

/** A settings object as dotted keys → JSON values (arrays whole). */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

const sameValue = (a: unknown, b: unknown): boolean => {
  const x = flatten(a);
  const y = flatten(b);
  return x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
};

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The line of a dotted settings key in an environment.ts: its first part's line, then the last part's at or after it. */
function locateKey(file: string, text: string | undefined, key: string): Location {
  if (text === undefined) return { file, line: 0, col: 0 };
  const lines = text.split('\n');
  const parts = key.split('.');
  const find = (name: string, from: number): Location | undefined => {
    const re = new RegExp(`^(\\s*)(['"]?)${escapeRegExp(name)}\\2\\s*:`);
    for (let i = from; i < lines.length; i++) {
      const m = re.exec(lines[i]!);
      if (m) return { file, line: i + 1, col: m[1]!.length + 1 };
    }
    return undefined;
  };
  const first = find(parts[0]!, 0);
  if (!first) return { file, line: 0, col: 0 };
  return (parts.length > 1 ? find(parts.at(-1)!, first.line - 1) : undefined) ?? first;
}

function locateLogin(text: string | undefined, login: string): Location {
  const lines = text?.split('\n') ?? [];
  const i = lines.findIndex((l) => l.trim().toLowerCase().startsWith(`@${login}`) && /^\s*@[A-Za-z0-9-]+(\s|$)/.test(l) && l.trim().split(/\s+/)[0]!.toLowerCase() === `@${login}`);
  return i < 0 ? { file: IDENTITIES_FILE, line: 0, col: 0 } : { file: IDENTITIES_FILE, line: i + 1, col: lines[i]!.indexOf('@') + 1 };
}

/** The rule id of a change to what judges changes. */
export const RULES_CHANGE = 'rules-change';

/** Who may approve a change to the rules: listed in the base's identities, and none of the pull request's authors. */
export interface RulesApprovalFacts {
  readonly pr: PullRequestFacts;
  /** The base's identities (lower-case login → e-mails). */
  readonly baseIdentities: ReadonlyMap<string, readonly string[]>;
  /** Per approving login (lower case): what its approval covers. */
  readonly scopes: ReadonlyMap<string, ApprovalScope>;
}

/**
 * Findings for changes to what judges changes. Without the pull request's facts (a local check)
 * each is a warning that says what CI will require; with them, an error unless someone listed in
 * the base's identities who authored none of its commits approved the pull request at its head (or
 * at a commit where the changed file was already as it is now).
 */
export function checkRulesChanges(changes: readonly RuleChange[], baseLabel: string, facts?: RulesApprovalFacts): Finding[] {
  if (changes.length === 0) return [];
  const approvers = facts ? rulesApprovers(facts) : undefined;
  return changes.map((c) => {
    const what = `${c.environment ? `${c.environment} ` : ''}${c.subject}: ${c.before} -> ${c.after}`;
    const head = `this change alters what judges flag changes (${what}); it is judged by the base's rules (${baseLabel}), which apply until it lands, and`;
    if (!approvers) {
      return warning(c.at, RULES_CHANGE, `${head} CI requires an approval from someone in the base's ${IDENTITIES_FILE} who authored none of its commits`);
    }
    if (approvers.some((a) => a.covers(c.file))) return undefined;
    const seen = approvers.length === 0 ? 'no approval counts' : approvers.map((a) => `@${a.login} (${a.why(c.file)})`).join(', ');
    return error(c.at, RULES_CHANGE, `${head} needs an approval from someone in the base's ${IDENTITIES_FILE} who authored none of its commits, given at the head commit or with ${c.file} as it is now: ${seen}`);
  }).filter((f): f is Finding => f !== undefined);
}

interface RulesApprover {
  readonly login: string;
  /** Whether the approval covers the change of `file`. */
  covers(file: string): boolean;
  /** Why it does not cover `file`. */
  why(file: string): string;
}

/** Every approving login, with what its approval covers for a change to the rules. */
function rulesApprovers({ pr, baseIdentities, scopes }: RulesApprovalFacts): RulesApprover[] {
  const authors = new Set(pr.authors.flatMap((a) => [a.login, a.committerLogin]).filter((l): l is string => l !== undefined && l.toLowerCase() !== 'web-flow').map((l) => l.toLowerCase()));
  if (pr.opener) authors.add(pr.opener.toLowerCase());
  return pr.approvals.map(({ login }) => {
    const key = login.toLowerCase();
    const scope = scopes.get(key);
    // A base without identities (the file's first pull request) can only ask for someone else's approval.
    const listed = baseIdentities.size === 0 || baseIdentities.has(key);
    const author = authors.has(key);
    return {
      login,
      covers: (file) => listed && !author && scope !== undefined && !scope.missing && (scope.atHead || scope.unchanged.has(fileScopeKey(file))),
      why: (file) => (!listed ? `not in the base's ${IDENTITIES_FILE}` : author ? 'an author of the pull request' : describeScope(scope, `${file} changed since`)),
    };
  });
}

/** Why an approval does not cover something: given on another commit where it differed, or on a commit this clone lacks. */
export function describeScope(scope: ApprovalScope | undefined, changedSince: string): string {
  if (!scope) return 'approval unknown';
  if (scope.missing) return `approved commit ${scope.commit ?? 'unknown'}, which is not in this clone`;
  return `approved commit ${scope.commit ?? 'unknown'}, not the head; ${changedSince} it`;
}
