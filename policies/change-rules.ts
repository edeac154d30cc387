/**
 * Change rules: what a change to the flag files must respect, comparing the files at a base (the
 * pull request's base, or the file as it was before an edit command) with the files now.
 * `flagops check --base REF` and the edit commands both call {@link checkChangeRules}.
 */
import type { EnvironmentModel, ProjectModel } from '../lib/project.ts';
import type { FlagState } from './flag-schemas.ts';
import { error, type Finding } from './findings.ts';
import { checkInvariants, exposure } from './state-rules.ts';

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
    const names = [...new Set([...(baseEnv?.names ?? []), ...env.names])];
    for (const flag of names) {
      const before = baseEnv?.states[flag];
      const after = env.states[flag];
      if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ environment: env.settings.name, flag, before, after });
    }
  }
  return changes;
}


export function checkChangeRules(base: ProjectModel, current: ProjectModel): Finding[] {
  const findings: Finding[] = [];
  for (const change of flagChanges(base, current)) {
    const env = current.environments.find((e) => e.settings.name === change.environment)!;
    if (!change.after || !env.source) continue;
    findings.push(...checkChange(current, env, change));
  }
  return findings;
}

function checkChange(current: ProjectModel, env: EnvironmentModel, { flag, before, after }: FlagChange): Finding[] {
  const findings: Finding[] = [];
  const at = env.source!;
  const a = after!;
  const stateChanged = !before || before.enabled !== a.enabled || before.rollout !== a.rollout;
  if (before && stateChanged && !(Date.parse(a.changed_at) > Date.parse(before.changed_at))) {
    findings.push(
      error(
        at.locate(['flags', flag, 'changed_at']),
        'audit-not-updated',
        `flag '${flag}' changed state in ${env.settings.name} but changed_at (${a.changed_at}) is not newer than before; set changed_at and changed_by for this change`,
      ),
    );
  }
  if (before && stateChanged && a.changed_by === before.changed_by && a.reason === before.reason && a.ticket === before.ticket) {
    findings.push(
      error(
        at.locate(['flags', flag, 'reason']),
        'audit-not-updated',
        `flag '${flag}' changed state in ${env.settings.name} but keeps the previous change's changed_by, reason and ticket; say who made this change and why`,
      ),
    );
  }
  const from = exposure(before);
  const to = exposure(a);
  if (to <= from) return findings; // lowering exposure only needs the audit fields
  findings.push(...checkInvariants(current, env, flag, a, 'error'));
  const { rolloutSteps, rolloutOneStepAtATime, name } = env.settings;
  if (rolloutOneStepAtATime) {
    const next = rolloutSteps.find((s) => s > from);
    if (next !== undefined && to > next) {
      findings.push(
        error(
          at.locate(['flags', flag, 'rollout']),
          'rollout-one-step',
          `flag '${flag}' jumps from ${from}% to ${to}% in ${name}; raise it one step at a time (next step: ${next}%)`,
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
