/**
 * Change rules: what a change to the flag files must respect, comparing the files at a base (the
 * merge base of the pull request, lib/review/base.ts) with the files now. `flagops check` and the edit
 * commands both call {@link checkChangeRules} against the same base.
 */
import type { EnvironmentModel, ProjectModel } from '../model/flags.ts';
import type { FlagState } from '../model/flag-schemas.ts';
import { error, type Finding } from '../model/findings.ts';
import { describeExposure, exposure } from './state-rules.ts';
import { shortSha } from '../common/text/sha.ts';

/** One flag's change in one environment. */
export interface FlagChange {
  readonly environment: string;
  readonly flag: string;
  readonly before: FlagState | undefined;
  readonly after: FlagState | undefined;
}

/** The flag entries whose content differs between base and now, in promotion and file order. */
export function flagChanges(base: ProjectModel, current: ProjectModel): FlagChange[] {
  const changes: FlagChange[] = [];
  for (const env of current.environments) {
    const baseEnv = base.environments.find((e) => e.settings.name === env.settings.name);
    // The same parse as on the base (the parse cache hands out one per file and text): no change.
    if (baseEnv?.states === env.states) continue;
    const names = [...new Set([...(baseEnv?.names ?? []), ...env.names])];
    for (const flag of names) {
      const before = baseEnv?.states[flag];
      const after = env.states[flag];
      if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ environment: env.settings.name, flag, before, after });
    }
  }
  return changes;
}


/** When a flag's state on the base landed on main: the commit on main's first-parent history that made it so. */
export interface Landing {
  /** Full SHA of the commit on main (a merge, or a direct commit). */
  readonly commit: string;
  /** Its committer date, RFC 3339 UTC: when it landed on main. */
  readonly at: string;
  /** The history is cut (a shallow clone) at this commit: the state is at least this old. */
  readonly cut?: boolean;
}

/** What the soak-time rule needs, as plain data: "now", and when each state on the base landed on main. */
export interface SoakFacts {
  readonly now: Date;
  /** By {@link landingKey}: the environments and flags {@link soakNeeds} asked for, where known. */
  readonly landings: ReadonlyMap<string, Landing>;
}

export const landingKey = (environment: string, flag: string): string => `${environment}\0${flag}`;

/** One environment and flag whose landing time a change rule needs. */
export interface LandingRequest {
  readonly environment: string;
  readonly flag: string;
}

/**
 * The states whose landing time the soak-time rule needs for this change: for every raise in an
 * environment, the flag's state there (when the environment has a soak time), and when the raise
 * enters the environment (off before), the upstream environment's state (when it has one).
 */
export function soakNeeds(base: ProjectModel, current: ProjectModel): LandingRequest[] {
  const needs: LandingRequest[] = [];
  for (const c of flagChanges(base, current)) {
    if (!c.before || !c.after || exposure(c.after) <= exposure(c.before)) continue;
    for (const step of previousSteps(current, c.environment, exposure(c.before))) needs.push({ environment: step.environment, flag: c.flag });
  }
  return needs;
}

/** The steps a raise in `environment` from exposure `from` follows, with the soak time each must have had on main. */
function previousSteps(model: ProjectModel, environment: string, from: number): { environment: string; minutes: number }[] {
  const settings = model.environments.find((e) => e.settings.name === environment)?.settings;
  if (!settings) return [];
  const steps: { environment: string; minutes: number }[] = [];
  if (settings.soakMinutes > 0) steps.push({ environment, minutes: settings.soakMinutes });
  const upstream = settings.promotesFrom ? model.environments.find((e) => e.settings.name === settings.promotesFrom)?.settings : undefined;
  if (from === 0 && upstream && upstream.soakMinutes > 0) steps.push({ environment: upstream.name, minutes: upstream.soakMinutes });
  return steps;
}

/**
 * The change rules, for every flag entry that differs between `base` and `current`. `baseLabel`
 * names the base in messages (`origin/main (merge base 1a2b3c4d5e6f)`). With `soak` (when the base
 * is a commit: the time each step landed on main), raises are also held to the soak time.
 */
export function checkChangeRules(base: ProjectModel, current: ProjectModel, baseLabel = 'the files before the change', soak?: SoakFacts): Finding[] {
  const findings: Finding[] = [];
  for (const change of flagChanges(base, current)) {
    const env = current.environments.find((e) => e.settings.name === change.environment)!;
    if (!change.after || !env.source) continue;
    findings.push(...checkChange(base, current, env, change, baseLabel, soak));
  }
  return findings;
}

function checkChange(base: ProjectModel, current: ProjectModel, env: EnvironmentModel, { flag, before, after }: FlagChange, baseLabel: string, soak: SoakFacts | undefined): Finding[] {
  const findings: Finding[] = [];
  const at = env.source!;
  const a = after!;
  const stateChanged = !before || before.enabled !== a.enabled || before.rollout !== a.rollout;
  if (before && stateChanged && !(Date.parse(a.changed_at) > Date.parse(before.changed_at))) {
    findings.push(
      error(
        at.locate(['flags', flag, 'changed_at']),
        'audit-not-updated',
        `flag '${flag}' changed state in ${env.settings.name} but changed_at (${a.changed_at}) is not newer than on the base (${baseLabel}); set changed_at and changed_by for this change`,
      ),
    );
  }
  if (before && stateChanged && a.changed_by === before.changed_by && a.reason === before.reason && a.ticket === before.ticket) {
    findings.push(
      error(
        at.locate(['flags', flag, 'reason']),
        'audit-not-updated',
        `flag '${flag}' changed state in ${env.settings.name} but keeps the changed_by, reason and ticket it had on the base (${baseLabel}); say who made this change and why`,
      ),
    );
  }
  const from = exposure(before);
  const to = exposure(a);
  if (to <= from) return findings; // lowering exposure only needs the audit fields
  findings.push(...raiseInvariants(base, current, env, flag, to, baseLabel));
  if (soak && before) findings.push(...soakTime(base, current, env, flag, from, to, soak));
  const { rolloutSteps, rolloutOneStepAtATime, name } = env.settings;
  if (rolloutOneStepAtATime) {
    const next = rolloutSteps.find((s) => s > from);
    if (next !== undefined && to > next) {
      findings.push(
        error(
          at.locate(['flags', flag, 'rollout']),
          'rollout-one-step',
          `flag '${flag}' goes from ${from}% on the base (${baseLabel}) to ${to}% in ${name}; ${name} moves one step per pull request (next step: ${next}%)`,
        ),
      );
    }
  }
  return findings;
}

/**
 * A raise is judged on the base: the environment it promotes from must already have the flag on
 * 100% there (merged, so deployed before this change), and so must each prerequisite in this
 * environment. Neither may be lowered by the change itself. So one pull request raises a flag in
 * one environment at most.
 */
function raiseInvariants(base: ProjectModel, current: ProjectModel, env: EnvironmentModel, flag: string, to: number, baseLabel: string): Finding[] {
  const findings: Finding[] = [];
  const at = env.source!;
  const name = env.settings.name;
  const stateIn = (model: ProjectModel, envName: string, f: string) => model.environments.find((e) => e.settings.name === envName)?.states[f];
  const from = env.settings.promotesFrom;
  if (from) {
    const onBase = stateIn(base, from, flag);
    const now = stateIn(current, from, flag);
    if (exposure(onBase) < 100) {
      findings.push(
        error(
          at.locate(['flags', flag, 'rollout']),
          'promotion-order',
          `flag '${flag}' is raised to ${to}% in ${name} while ${from} has it ${describeExposure(onBase)} on the base (${baseLabel}); it must be on 100% in ${from} on main first (one environment per pull request)`,
        ),
      );
    } else if (exposure(now) < 100) {
      findings.push(
        error(
          at.locate(['flags', flag, 'rollout']),
          'promotion-order',
          `flag '${flag}' is raised to ${to}% in ${name} while this change lowers it in ${from} to ${describeExposure(now)}; it must stay on 100% in ${from}`,
        ),
      );
    }
  }
  for (const req of current.catalog.flags[flag]?.requires ?? []) {
    const onBase = stateIn(base, name, req);
    const now = env.states[req];
    if (exposure(onBase) < 100 || exposure(now) < 100) {
      const where = exposure(onBase) < 100 ? `${describeExposure(onBase)} in ${name} on the base (${baseLabel})` : `lowered to ${describeExposure(now)} in ${name} by this change`;
      findings.push(
        error(
          at.locate(['flags', flag, 'enabled']),
          'prerequisite',
          `flag '${flag}' requires '${req}', which is ${where}; it must be on 100% there on main first`,
        ),
      );
    }
  }
  return findings;
}

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** One step a raise must let soak on main first: where, for how long, when it landed and when its soak time is over. */
export interface SoakStep {
  readonly environment: string;
  readonly minutes: number;
  readonly landing: Landing;
  /** Milliseconds since the epoch from which the raise may land. */
  readonly ready: number;
}

/**
 * The steps a raise of `flag` in `environment` from exposure `from` waits for (the soak-time rule's),
 * those whose landing is known: the raise is possible once every one is {@link SoakStep.ready}.
 */
export function soakSteps(model: ProjectModel, environment: string, flag: string, from: number, landings: ReadonlyMap<string, Landing>): SoakStep[] {
  return previousSteps(model, environment, from).flatMap((step) => {
    const landing = landings.get(landingKey(step.environment, flag));
    return landing ? [{ ...step, landing, ready: Date.parse(landing.at) + step.minutes * 60_000 }] : [];
  });
}

/**
 * Soak time: a raise waits until the step before it has been on main for the soak time of the
 * environment it happened in, measured from the commit that landed it (its committer date on main,
 * not `changed_at`, which anyone can write). The step before a raise in an environment is the
 * flag's state there; for a raise that enters the environment (off before), also the upstream
 * environment's 100%.
 */
function soakTime(base: ProjectModel, current: ProjectModel, env: EnvironmentModel, flag: string, from: number, to: number, soak: SoakFacts): Finding[] {
  const findings: Finding[] = [];
  const name = env.settings.name;
  for (const { landing, ready, ...step } of soakSteps(current, name, flag, from, soak.landings)) {
    if (soak.now.getTime() >= ready) continue;
    const state = base.environments.find((e) => e.settings.name === step.environment)?.states[flag];
    const since = `${landing.cut ? 'at least since' : 'only since'} ${landing.at} (commit ${shortSha(landing.commit)}${landing.cut ? ', where the shallow history is cut' : ''})`;
    const hold = step.environment === name ? `${name} holds each step for ${step.minutes} minutes` : `${step.environment} holds each step for ${step.minutes} minutes before ${name} may follow`;
    findings.push(
      error(
        env.source!.locate(['flags', flag, 'rollout']),
        'soak-time',
        `flag '${flag}' is raised to ${to}% in ${name}, but the step before it (${step.environment}: ${describeExposure(state)}) has been on main ${since}; ${hold} (soakMinutes in environments/${step.environment}/environment.ts): the next step is possible from ${utc(ready)}`,
      ),
    );
  }
  return findings;
}

/** What a change does to a flag, as reviewers name it. */
export type ChangeKind = 'added' | 'removed' | 'raised' | 'lowered' | 'kill-switch' | 'updated';

/**
 * Classifies a change: `kill-switch` turns an exposed flag off, `raised`/`lowered` move its exposure,
 * `updated` keeps the exposure (audit fields, or the rollout of a flag that stays off).
 */
export function changeKind(c: FlagChange): ChangeKind {
  if (!c.before) return 'added';
  if (!c.after) return 'removed';
  const from = exposure(c.before);
  const to = exposure(c.after);
  if (c.before.enabled && !c.after.enabled && from > 0) return 'kill-switch';
  if (to > from) return 'raised';
  if (to < from) return 'lowered';
  return 'updated';
}

/**
 * The share of users whose result changes, and to which side. Fractional rollouts hash each user
 * to a fixed bucket and list `on` first, so the users on at 5% are a subset of those on at 25%:
 * the share is exactly the difference in exposure (5% to 25% turns 20% on; a kill switch at 50%
 * turns 50% off).
 */
export function usersSwitching(c: FlagChange): { readonly percent: number; readonly to: 'on' | 'off' } | undefined {
  const delta = exposure(c.after) - exposure(c.before);
  if (delta === 0) return undefined;
  return { percent: Math.abs(delta), to: delta > 0 ? 'on' : 'off' };
}
