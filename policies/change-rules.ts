/**
 * Change rules: what a change to the flag files must respect, comparing the files at a base (the
 * merge base of the pull request, lib/base.ts) with the files now. `flagops check` and the edit
 * commands both call {@link checkChangeRules} against the same base.
 */
import type { EnvironmentModel, ProjectModel } from '../lib/project.ts';
import type { FlagState } from './flag-schemas.ts';
import { error, type Finding } from './findings.ts';
import { describeExposure, exposure } from './state-rules.ts';

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
    // A file with the same text as on the base has no change: skipped without comparing entries.
    if (baseEnv?.source && baseEnv.source.text === env.source?.text) continue;
    const names = [...new Set([...(baseEnv?.names ?? []), ...env.names])];
    for (const flag of names) {
      const before = baseEnv?.states[flag];
      const after = env.states[flag];
      if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ environment: env.settings.name, flag, before, after });
    }
  }
  return changes;
}


/**
 * The change rules, for every flag entry that differs between `base` and `current`. `baseLabel`
 * names the base in messages (`origin/main (merge base 1a2b3c4d5e6f)`).
 */
export function checkChangeRules(base: ProjectModel, current: ProjectModel, baseLabel = 'the files before the change'): Finding[] {
  const findings: Finding[] = [];
  for (const change of flagChanges(base, current)) {
    const env = current.environments.find((e) => e.settings.name === change.environment)!;
    if (!change.after || !env.source) continue;
    findings.push(...checkChange(base, current, env, change, baseLabel));
  }
  return findings;
}

function checkChange(base: ProjectModel, current: ProjectModel, env: EnvironmentModel, { flag, before, after }: FlagChange, baseLabel: string): Finding[] {
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
