/**
 * policies/change-rules.ts in-process on small hand-written flag files (docs/testing.md#mutation-testing):
 * each rule's whole finding (place, rule, message) compared exactly, the soak facts given as plain
 * data, and the helpers reviewers' output is built from (`changeKind`, `usersSwitching`,
 * `soakNeeds`, `soakSteps`). test/change-rules.test.ts covers the same rules on the sample project
 * and through `flagops check --base` with real git histories.
 */
import { describe, expect, it } from 'vitest';
import type { FlagState } from '../model/flag-schemas.ts';
import { changeKind, checkChangeRules, flagChanges, landingKey, soakNeeds, soakSteps, usersSwitching, type FlagChange, type Landing } from '../policies/change-rules.ts';
import { resolveEnvironmentSettings } from '../model/environments.ts';
import { at, CATALOG, catalog, DEV, finding, flags, LEAD, model, PRODUCTION, SAM, STAGING, statesPath, type Entry } from './support/flag-model.ts';

const PROD = statesPath('production');
const STAGE = statesPath('staging');
/** A newer audit stamp than the base's, by someone else, for a changed entry. */
const FRESH: Entry = { changed_at: '2026-11-20T10:00:00Z', changed_by: LEAD, reason: 'Next step', ticket: 'OPS-2', approved_by: LEAD };
/** Where a finding about `flag`'s `field` points: its value in `path`. */
const valueOf = (t: Record<string, string>, path: string, flag: string, field: string) => {
  const key = at(t, path, `${field}: `, `${flag}:`);
  return { ...key, col: key.col + field.length + 2 };
};
const on = (rollout: number, extra: Entry = {}): Entry => ({ enabled: true, rollout, ...extra });

/** Flag files per environment (dev, staging, production), with one catalog of `alpha_enabled` and `beta_enabled` (beta_enabled requires alpha_enabled). */
function texts(dev: Record<string, Entry>, staging: Record<string, Entry>, production: Record<string, Entry>): Record<string, string> {
  return {
    [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: { requires: ['alpha_enabled'] } }),
    [statesPath('dev')]: flags('dev', dev),
    [STAGE]: flags('staging', staging),
    [PROD]: flags('production', production),
  };
}

const BASE = texts({ alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100), beta_enabled: on(50) }, { alpha_enabled: on(100), beta_enabled: on(5) });

describe('change rules on plain models', () => {
  it('promotion-order: a raise while the change lowers upstream is refused at the raised entry, naming the lowered state', () => {
    // GIVEN alpha_enabled on 100% in staging on the base WHEN one change lowers staging to 50% and raises production 5% -> 25%
    const base = texts({ alpha_enabled: on(100) }, { alpha_enabled: on(100) }, { alpha_enabled: on(5) });
    const now = texts({ alpha_enabled: on(100) }, { alpha_enabled: on(50, FRESH) }, { alpha_enabled: on(25, FRESH) });
    // THEN one finding, at production's alpha_enabled rollout
    expect(checkChangeRules(model(base), model(now), 'main')).toEqual([
      finding(valueOf(now, PROD, 'alpha_enabled', 'rollout'), 'error', 'promotion-order', "flag 'alpha_enabled' is raised to 25% in production while this change lowers it in staging to on 50%; it must stay on 100% in staging"),
    ]);
  });

  it('promotion-order: a raise while upstream is under 100% on the base, at the raised entry', () => {
    const now = texts({ alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100), beta_enabled: on(50) }, { alpha_enabled: on(100), beta_enabled: on(25, FRESH) });
    expect(checkChangeRules(model(BASE), model(now), 'main')).toEqual([
      finding(valueOf(now, PROD, 'beta_enabled', 'rollout'), 'error', 'promotion-order', "flag 'beta_enabled' is raised to 25% in production while staging has it on 50% on the base (main); it must be on 100% in staging on main first (one environment per pull request)"),
    ]);
  });

  it('prerequisite: lowered by this change, at the raised flag\'s enabled field', () => {
    const base = texts({ alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100), beta_enabled: on(5) });
    const now = texts({ alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(50, FRESH), beta_enabled: on(25, FRESH) });
    expect(checkChangeRules(model(base), model(now), 'main')).toEqual([
      finding(valueOf(now, PROD, 'beta_enabled', 'enabled'), 'error', 'prerequisite', "flag 'beta_enabled' requires 'alpha_enabled', which is lowered to on 50% in production by this change; it must be on 100% there on main first"),
    ]);
  });

  it('names the base "the files before the change" when no label is given', () => {
    const now = texts({ alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100), beta_enabled: on(50) }, { alpha_enabled: on(100), beta_enabled: on(25, FRESH) });
    expect(checkChangeRules(model(BASE), model(now)).map((f) => f.message)).toEqual([
      "flag 'beta_enabled' is raised to 25% in production while staging has it on 50% on the base (the files before the change); it must be on 100% in staging on main first (one environment per pull request)",
    ]);
  });

  it('flagChanges lists only entries that differ, for an environment the base does not have too', () => {
    const current = model(BASE);
    const withoutDev = model(BASE, [STAGING, PRODUCTION]);
    expect(flagChanges(current, current)).toEqual([]);
    expect(flagChanges(withoutDev, current).map((c) => `${c.environment}/${c.flag}`)).toEqual(['dev/alpha_enabled', 'dev/beta_enabled']);
  });
});

describe('soak time on plain data', () => {
  const SOAKING = [DEV, resolveEnvironmentSettings('staging', { namespace: 'pms-staging', promotesFrom: 'dev', soakMinutes: 60 }), resolveEnvironmentSettings('production', { namespace: 'pms', promotesFrom: 'staging', soakMinutes: 30 })];
  const base = model(texts({ alpha_enabled: on(100) }, { alpha_enabled: on(100) }, { alpha_enabled: on(5) }), SOAKING);
  const now = texts({ alpha_enabled: on(100) }, { alpha_enabled: on(100) }, { alpha_enabled: on(25, FRESH) });
  const landed = (at: string, cut = false): Landing => ({ commit: 'ab'.repeat(20), at, ...(cut ? { cut } : {}) });

  it('soakNeeds asks for the landing of raises only, not of lowerings, additions or removals', () => {
    expect(soakNeeds(base, model(now, SOAKING))).toEqual([{ environment: 'production', flag: 'alpha_enabled' }]);
    const lowered = model(texts({ alpha_enabled: on(100) }, { alpha_enabled: on(100) }, { alpha_enabled: on(1, FRESH) }), SOAKING);
    expect(soakNeeds(base, lowered)).toEqual([]);
    const added = model(texts({ alpha_enabled: on(100), beta_enabled: on(100) }, { alpha_enabled: on(100) }, { alpha_enabled: on(5) }), SOAKING);
    expect(soakNeeds(base, added)).toEqual([]);
  });

  it('soakSteps finds each step by its own environment and flag, never another\'s landing', () => {
    const other = new Map([[landingKey('staging', 'alpha_enabled'), landed('2026-11-20T09:00:00Z')]]);
    expect(soakSteps(model(now, SOAKING), 'production', 'alpha_enabled', 5, other)).toEqual([]);
    expect(landingKey('production', 'alpha_enabled')).not.toBe(landingKey('production', 'beta_enabled'));
  });

  it('a shallow history says the state is at least that old, where the history is cut', () => {
    const landings = new Map([[landingKey('production', 'alpha_enabled'), landed('2026-11-20T09:50:00Z', true)]]);
    const findings = checkChangeRules(base, model(now, SOAKING), 'main', { now: new Date('2026-11-20T10:00:00Z'), landings });
    expect(findings).toEqual([
      finding(
        valueOf(now, PROD, 'alpha_enabled', 'rollout'),
        'error',
        'soak-time',
        "flag 'alpha_enabled' is raised to 25% in production, but the step before it (production: on 5%) has been on main at least since 2026-11-20T09:50:00Z (commit abababababab, where the shallow history is cut); production holds each step for 30 minutes (soakMinutes in environments/production/environment.ts): the next step is possible from 2026-11-20T10:20:00Z",
      ),
    ]);
  });
});

describe('what a change does, as reviewers name it', () => {
  const state = (enabled: boolean, rollout: number): FlagState => ({ enabled, rollout, reason: 'r', ticket: 'OPS-1', changed_by: SAM, changed_at: '2026-11-01T10:00:00Z' }) as FlagState;
  const change = (before: FlagState | undefined, after: FlagState | undefined): FlagChange => ({ environment: 'production', flag: 'alpha_enabled', before, after });

  it('changeKind: added, removed, kill switch, raised, lowered, updated', () => {
    expect(changeKind(change(undefined, state(true, 5)))).toBe('added');
    expect(changeKind(change(state(true, 5), undefined))).toBe('removed');
    expect(changeKind(change(state(true, 5), state(false, 5)))).toBe('kill-switch');
    // turned off at 0%: nobody had it, so nothing is switched off
    expect(changeKind(change(state(true, 0), state(false, 0)))).toBe('updated');
    expect(changeKind(change(state(true, 5), state(true, 25)))).toBe('raised');
    expect(changeKind(change(state(true, 25), state(true, 5)))).toBe('lowered');
    expect(changeKind(change(state(false, 0), state(false, 50)))).toBe('updated');
    expect(changeKind(change(state(true, 5), state(true, 5)))).toBe('updated');
  });

  it('usersSwitching: the difference in exposure, to the side it moves', () => {
    expect(usersSwitching(change(state(true, 5), state(true, 25)))).toEqual({ percent: 20, to: 'on' });
    expect(usersSwitching(change(state(true, 50), state(false, 50)))).toEqual({ percent: 50, to: 'off' });
    expect(usersSwitching(change(undefined, state(true, 10)))).toEqual({ percent: 10, to: 'on' });
    expect(usersSwitching(change(state(true, 5), state(true, 5)))).toBeUndefined();
    expect(usersSwitching(change(state(false, 0), state(false, 50)))).toBeUndefined();
  });
});
