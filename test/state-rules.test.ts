/**
 * policies/state-rules.ts in-process, on small hand-written flag files (docs/testing.md#mutation-testing):
 * each rule's whole list of findings (place, severity, rule id, message) compared exactly, with the
 * nearby cases that must give none, so a changed condition, bound, severity or message fails a test.
 * test/flag-rules.test.ts covers the same rule ids end to end on the sample project.
 */
import { describe, expect, it } from 'vitest';
import { resolveEnvironmentSettings, type EnvironmentConfig } from '../model/environments.ts';
import type { FlagState } from '../model/flag-schemas.ts';
import type { Finding } from '../model/findings.ts';
import type { ProjectModel } from '../model/flags.ts';
import { checkInvariants, checkStateRules, CLOCK_SKEW_MS, describeExposure, exposure, flagServingRule } from '../policies/state-rules.ts';
import { NOW } from './helpers.ts';
import { ALL, at, CATALOG, catalog, DEV, finding, flags, LEAD, model, SAM, STAGING, PRODUCTION, statesPath as file, type Entry } from './support/flag-model.ts';

const stateRules = (m: ProjectModel): Finding[] => checkStateRules(m, { now: new Date(NOW) });

describe('checkStateRules: a consistent project', () => {
  it('has no finding: every flag in every environment, upstream at 100%, prerequisites on, tickets, approvals, no future timestamp', () => {
    const texts = {
      [CATALOG]: catalog({ alpha_enabled: { expires: '2026-11-23' }, beta_enabled: { requires: ['alpha_enabled'] }, gamma_enabled: {} }),
      [file('dev')]: flags('dev', { alpha_enabled: { enabled: true, rollout: 100, ticket: undefined }, beta_enabled: { enabled: true, rollout: 100, ticket: undefined }, gamma_enabled: { ticket: undefined } }),
      [file('staging')]: flags('staging', { alpha_enabled: { enabled: true, rollout: 100 }, beta_enabled: { enabled: true, rollout: 50 }, gamma_enabled: {} }),
      [file('production')]: flags('production', { alpha_enabled: { enabled: true, rollout: 5, approved_by: LEAD, changed_at: NOW }, beta_enabled: {}, gamma_enabled: {} }),
    };
    expect(stateRules(model(texts))).toEqual([]);
  });
});

describe('checkStateRules: the catalog', () => {
  it('[unknown-prerequisite] a flag requiring itself, and one requiring a flag not in the catalog (with a "did you mean")', () => {
    const texts = { [CATALOG]: catalog({ alpha_enabled: { requires: ['alpha_enabled'] }, beta_enabled: { requires: ['alpha_enabled', 'alpah_enabled', 'unrelated_enabled'] }, gamma_enabled: {} }) };
    expect(stateRules(model(texts, []))).toEqual([
      finding(at(texts, CATALOG, 'alpha_enabled]'), 'error', 'unknown-prerequisite', "flag 'alpha_enabled' cannot require itself"),
      finding(at(texts, CATALOG, 'alpah_enabled'), 'error', 'unknown-prerequisite', "flag 'beta_enabled' requires 'alpah_enabled', which is not in the catalog (did you mean 'alpha_enabled'?)"),
      finding(at(texts, CATALOG, 'unrelated_enabled'), 'error', 'unknown-prerequisite', "flag 'beta_enabled' requires 'unrelated_enabled', which is not in the catalog"),
    ]);
  });

  it('[unknown-prerequisite] gives a "did you mean" for the first 20 unknown prerequisites only', () => {
    const typos = Array.from({ length: 21 }, (_, i) => `alpha${i + 1}_enabled`);
    const texts = { [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: { requires: typos } }) };
    expect(stateRules(model(texts, []))).toEqual(
      typos.map((typo, i) =>
        finding(at(texts, CATALOG, i === 20 ? `${typo}]` : `${typo},`), 'error', 'unknown-prerequisite', `flag 'beta_enabled' requires '${typo}', which is not in the catalog${i < 20 ? " (did you mean 'alpha_enabled'?)" : ''}`),
      ),
    );
  });

  it('[flag-expired] warns on a flag whose expires is before today; the last day itself and later, or no expires, are fine', () => {
    const texts = { [CATALOG]: catalog({ past_enabled: { expires: '2026-11-22' }, today_enabled: { expires: '2026-11-23' }, later_enabled: { expires: '2026-11-24' }, open_enabled: {} }) };
    expect(stateRules(model(texts, []))).toEqual([
      finding(
        at(texts, CATALOG, '2026-11-22'),
        'warning',
        'flag-expired',
        "flag 'past_enabled' expired on 2026-11-22: remove it from the code and the catalog, or extend 'expires' (see `flagops stale`)",
      ),
    ]);
  });

  it('[date-format] a flag that expires before it was created; expiring on the day it was created is fine', () => {
    const texts = { [CATALOG]: catalog({ backwards_enabled: { created: '2026-12-02', expires: '2026-12-01' }, same_day_enabled: { created: '2026-12-05', expires: '2026-12-05' }, ok_enabled: { created: '2026-12-01', expires: '2026-12-09' } }) };
    expect(stateRules(model(texts, []))).toEqual([
      finding(at(texts, CATALOG, '2026-12-01'), 'error', 'date-format', "flag 'backwards_enabled' expires (2026-12-01) before it was created (2026-12-02)"),
    ]);
  });
});

describe('checkStateRules: each environment', () => {
  it('says nothing about an environment file that does not parse, or does not exist (the parser reports those)', () => {
    const texts = { [CATALOG]: catalog({ alpha_enabled: {} }), [file('dev')]: 'environment: dev\nflags: [\n' };
    expect(stateRules(model(texts, ALL, false))).toEqual([]);
  });

  it('compares no names with a catalog that does not parse: no entry is called missing or unknown', () => {
    const texts = { [CATALOG]: 'flags: [\n', [file('dev')]: flags('dev', { alpha_enabled: {} }) };
    expect(stateRules(model(texts, [DEV], false))).toEqual([]);
  });

  it('[environment-name] a file that declares another environment; one that declares none is left to the schema', () => {
    const texts = {
      [CATALOG]: catalog({ alpha_enabled: {} }),
      [file('dev')]: flags(undefined, { alpha_enabled: {} }),
      [file('staging')]: flags('production', { alpha_enabled: {} }),
    };
    expect(stateRules(model(texts, [DEV, STAGING], false))).toEqual([
      finding(at(texts, file('staging'), 'production'), 'error', 'environment-name', "this file declares environment 'production' but lives in environments/staging/"),
    ]);
  });

  it('[missing-flag-state] a catalog flag without an entry, reported at the flags key', () => {
    const texts = { [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {} }), [file('dev')]: flags('dev', { alpha_enabled: {} }) };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(at(texts, file('dev'), 'flags:'), 'error', 'missing-flag-state', "catalog flag 'beta_enabled' has no entry in dev; add one (flagops add creates it off everywhere)"),
    ]);
  });

  it('[unknown-flag] an entry the catalog lacks, with a "did you mean" among the catalog flags this file has no entry for', () => {
    // alpah_enabled is a typo of alpha_enabled, which the file has: the hint names only flags it lacks.
    const texts = { [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {} }), [file('dev')]: flags('dev', { alpha_enabled: {}, alpah_enabled: {}, betta_enabled: {} }) };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(at(texts, file('dev'), 'flags:'), 'error', 'missing-flag-state', "catalog flag 'beta_enabled' has no entry in dev; add one (flagops add creates it off everywhere)"),
      finding(at(texts, file('dev'), 'alpah_enabled'), 'error', 'unknown-flag', "flag 'alpah_enabled' is not declared in environments/catalog.yaml"),
      finding(at(texts, file('dev'), 'betta_enabled'), 'error', 'unknown-flag', "flag 'betta_enabled' is not declared in environments/catalog.yaml (did you mean 'beta_enabled'?)"),
    ]);
  });

  it('[unknown-flag] gives a "did you mean" for the first 20 unknown entries of a file only', () => {
    const typos = Array.from({ length: 21 }, (_, i) => `alpha${i + 1}_enabled`);
    const texts = { [CATALOG]: catalog({ alpha_enabled: {} }), [file('dev')]: flags('dev', Object.fromEntries(typos.map((t) => [t, {}]))) };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(at(texts, file('dev'), 'flags:'), 'error', 'missing-flag-state', "catalog flag 'alpha_enabled' has no entry in dev; add one (flagops add creates it off everywhere)"),
      ...typos.map((typo, i) =>
        finding(at(texts, file('dev'), `${typo}:`), 'error', 'unknown-flag', `flag '${typo}' is not declared in environments/catalog.yaml${i < 20 ? " (did you mean 'alpha_enabled'?)" : ''}`),
      ),
    ]);
  });

  it('[unknown-flag] looks for a "did you mean" among at most 1000 catalog flags the file lacks', () => {
    const names = Array.from({ length: 1001 }, (_, i) => `flag${String(i).padStart(4, '0')}_enabled`);
    const unknown = (lacking: number): Finding[] => {
      // the file has an entry for every catalog flag but the first `lacking`, and one typo of the first
      const texts = { [CATALOG]: catalog(Object.fromEntries(names.map((n) => [n, {}]))), [file('dev')]: flags('dev', Object.fromEntries([...names.slice(lacking), 'flag0000x_enabled'].map((n) => [n, {}]))) };
      return stateRules(model(texts, [DEV])).filter((f) => f.rule === 'unknown-flag');
    };
    const message = (hint: string) => [`flag 'flag0000x_enabled' is not declared in environments/catalog.yaml${hint}`];
    expect(unknown(1000).map((f) => f.message)).toEqual(message(" (did you mean 'flag0000_enabled'?)"));
    expect(unknown(1001).map((f) => f.message)).toEqual(message(''));
  });

  it('[missing-flag-state] [unknown-flag] keeps the first 1000 of a file, then one finding that counts the rest', () => {
    const names = (prefix: string) => Array.from({ length: 1001 }, (_, i) => `${prefix}${String(i).padStart(4, '0')}_enabled`);
    const texts = { [CATALOG]: catalog(Object.fromEntries(names('flag').map((n) => [n, {}]))), [file('dev')]: flags('dev', Object.fromEntries(names('other').map((n) => [n, {}]))) };
    const found = stateRules(model(texts, [DEV]));
    const counted = (rule: string): Finding => ({
      file: file('dev'),
      line: 0,
      col: 0,
      severity: 'error',
      rule,
      message: `1 more [${rule}] error in environments/dev/flags.yaml not listed: flagops keeps the first 1000 of one rule in one file`,
      omitted: 1,
    });
    expect(found).toHaveLength(2002);
    expect(found[0]).toEqual(finding(at(texts, file('dev'), 'flags:'), 'error', 'missing-flag-state', "catalog flag 'flag0000_enabled' has no entry in dev; add one (flagops add creates it off everywhere)"));
    expect(found[999]!.message).toMatch(/^catalog flag 'flag0999_enabled' has no entry/);
    expect(found[1000]).toEqual(finding(at(texts, file('dev'), 'other0000_enabled'), 'error', 'unknown-flag', "flag 'other0000_enabled' is not declared in environments/catalog.yaml"));
    expect(found[1999]!.message).toMatch(/^flag 'other0999_enabled' is not declared/);
    expect(found.slice(2000)).toEqual([counted('missing-flag-state'), counted('unknown-flag')]);
  });

  it('[rollout-step] a rollout the environment does not allow, listing the steps', () => {
    const texts = { [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {} }), [file('dev')]: flags('dev', { alpha_enabled: { rollout: 30 }, beta_enabled: { rollout: 25 } }) };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(at(texts, file('dev'), '30'), 'error', 'rollout-step', "flag 'alpha_enabled' rollout 30 is not an allowed step in dev (0, 5, 25, 50, 100)"),
    ]);
  });

  it('[ticket-required] an entry without a ticket where the environment requires one, reported at its key', () => {
    const texts = {
      [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {} }),
      [file('dev')]: flags('dev', { alpha_enabled: { ticket: undefined }, beta_enabled: {} }),
      [file('staging')]: flags('staging', { alpha_enabled: {}, beta_enabled: { ticket: undefined } }),
    };
    expect(stateRules(model(texts, [DEV, STAGING]))).toEqual([
      finding(at(texts, file('staging'), 'beta_enabled'), 'error', 'ticket-required', "flag 'beta_enabled' needs a 'ticket' in staging"),
    ]);
  });

  it('[approval-required] an enabled entry without approved_by where the environment requires approval; a disabled one needs none', () => {
    const texts = {
      [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {}, gamma_enabled: {} }),
      [file('dev')]: flags('dev', { alpha_enabled: { enabled: true, rollout: 100 }, beta_enabled: { enabled: true, rollout: 100 }, gamma_enabled: { enabled: true, rollout: 100 } }),
      [file('production')]: flags('production', { alpha_enabled: { enabled: true, rollout: 100 }, beta_enabled: {}, gamma_enabled: { enabled: true, rollout: 100, approved_by: LEAD } }),
    };
    expect(stateRules(model(texts, [DEV, { ...PRODUCTION, promotesFrom: 'dev' }]))).toEqual([
      finding(at(texts, file('production'), 'alpha_enabled'), 'error', 'approval-required', "flag 'alpha_enabled' is enabled in production and needs 'approved_by' (a second person)"),
    ]);
  });

  it('[four-eyes] approved by the person who changed it, whatever the case of the address, in any environment', () => {
    const texts = {
      [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {} }),
      [file('dev')]: flags('dev', { alpha_enabled: { approved_by: 'Sam.Lee@PMS.example.com' }, beta_enabled: { approved_by: LEAD } }),
    };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(
        at(texts, file('dev'), 'Sam.Lee'),
        'error',
        'four-eyes',
        "flag 'alpha_enabled' is approved by the person who changed it (sam.lee@pms.example.com); the approver must be someone else",
      ),
    ]);
  });

  it('[future-timestamp] changed_at more than 5 minutes after now; up to 5 minutes of clock skew is tolerated', () => {
    const plus = (ms: number) => new Date(Date.parse(NOW) + ms).toISOString().replace('.000Z', 'Z');
    expect(CLOCK_SKEW_MS).toBe(300_000);
    const texts = {
      [CATALOG]: catalog({ now_enabled: {}, skew_enabled: {}, future_enabled: {} }),
      [file('dev')]: flags('dev', { now_enabled: { changed_at: plus(0) }, skew_enabled: { changed_at: plus(300_000) }, future_enabled: { changed_at: plus(301_000) } }),
    };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(at(texts, file('dev'), '2026-11-23T12:05:01Z'), 'error', 'future-timestamp', "flag 'future_enabled' changed_at 2026-11-23T12:05:01Z is in the future"),
    ]);
  });
});

describe('checkStateRules: the invariants of a state, as warnings', () => {
  it('[promotion-order] a flag on in an environment whose upstream does not have it at 100%', () => {
    const on = (rollout: number): Entry => ({ enabled: true, rollout });
    const off = (rollout: number): Entry => ({ enabled: false, rollout });
    // each flag's entry in dev, then in staging
    const entries: Record<string, [Entry, Entry]> = {
      half_enabled: [on(50), on(25)],
      off_enabled: [off(100), on(5)],
      full_enabled: [on(100), on(100)],
      down_enabled: [off(0), off(50)],
      zero_enabled: [off(0), on(0)],
    };
    const inEnvironment = (i: number) => Object.fromEntries(Object.entries(entries).map(([name, states]) => [name, states[i]!]));
    const texts = { [CATALOG]: catalog(Object.fromEntries(Object.keys(entries).map((name) => [name, {}]))), [file('dev')]: flags('dev', inEnvironment(0)), [file('staging')]: flags('staging', inEnvironment(1)) };
    expect(stateRules(model(texts, [DEV, STAGING]))).toEqual([
      finding(at(texts, file('staging'), '25', 'half_enabled'), 'warning', 'promotion-order', "flag 'half_enabled' is on 25% in staging while dev has it on 50%; it must be on 100% in dev first"),
      finding(at(texts, file('staging'), '5', 'off_enabled'), 'warning', 'promotion-order', "flag 'off_enabled' is on 5% in staging while dev has it off; it must be on 100% in dev first"),
    ]);
  });

  it('[promotion-order] says nothing when the upstream environment has no entry for the flag (missing-flag-state does)', () => {
    const texts = {
      [CATALOG]: catalog({ alpha_enabled: {} }),
      [file('dev')]: flags('dev', {}),
      [file('staging')]: flags('staging', { alpha_enabled: { enabled: true, rollout: 25 } }),
    };
    expect(stateRules(model(texts, [DEV, STAGING])).map((f) => f.rule)).toEqual(['missing-flag-state']);
  });

  it('[prerequisite] a flag on where a flag it requires is not at 100%', () => {
    const texts = {
      [CATALOG]: catalog({
        base_enabled: {},
        full_enabled: {},
        needs_half_enabled: { requires: ['base_enabled'] },
        needs_full_enabled: { requires: ['full_enabled'] },
        off_needs_half_enabled: { requires: ['base_enabled'] },
        needs_absent_enabled: { requires: ['absent_enabled'] },
        absent_enabled: {},
      }),
      [file('dev')]: flags('dev', {
        base_enabled: { enabled: true, rollout: 50 },
        full_enabled: { enabled: true, rollout: 100 },
        needs_half_enabled: { enabled: true, rollout: 5 },
        needs_full_enabled: { enabled: true, rollout: 5 },
        off_needs_half_enabled: { enabled: false, rollout: 100 },
        needs_absent_enabled: { enabled: true, rollout: 5 },
      }),
    };
    expect(stateRules(model(texts, [DEV]))).toEqual([
      finding(at(texts, file('dev'), 'flags:'), 'error', 'missing-flag-state', "catalog flag 'absent_enabled' has no entry in dev; add one (flagops add creates it off everywhere)"),
      finding(at(texts, file('dev'), 'true', 'needs_half_enabled'), 'warning', 'prerequisite', "flag 'needs_half_enabled' requires 'base_enabled', which is on 50% in dev; it must be on 100% there first"),
    ]);
  });

  it('checkInvariants reports the same problems as errors when asked to (the change rules do)', () => {
    const texts = {
      [CATALOG]: catalog({ base_enabled: {}, flag_enabled: { requires: ['base_enabled'] } }),
      [file('dev')]: flags('dev', { base_enabled: { enabled: true, rollout: 100 }, flag_enabled: { enabled: true, rollout: 25 } }),
      [file('staging')]: flags('staging', { base_enabled: { enabled: true, rollout: 5 }, flag_enabled: { enabled: true, rollout: 50 } }),
    };
    const m = model(texts, [DEV, STAGING]);
    const staging = m.environments[1]!;
    expect(checkInvariants(m, staging, 'flag_enabled', staging.states.flag_enabled!, 'error')).toEqual([
      finding(at(texts, file('staging'), '50', 'flag_enabled'), 'error', 'promotion-order', "flag 'flag_enabled' is on 50% in staging while dev has it on 25%; it must be on 100% in dev first"),
      finding(at(texts, file('staging'), 'true', 'flag_enabled'), 'error', 'prerequisite', "flag 'flag_enabled' requires 'base_enabled', which is on 5% in staging; it must be on 100% there first"),
    ]);
  });
});

describe('flagServingRule', () => {
  const NONE: EnvironmentConfig = { namespace: 'pms-dev', flagServing: { mode: 'none' } };

  it('[flag-serving-off] warns on each partial rollout where nothing serves flags.flagd.json; 0%, 100%, off and flagd environments are fine', () => {
    const dev = resolveEnvironmentSettings('dev', NONE);
    const staging = resolveEnvironmentSettings('staging', { namespace: 'pms-staging' });
    const entries = { partial_enabled: { enabled: true, rollout: 25 }, full_enabled: { enabled: true, rollout: 100 }, zero_enabled: { enabled: true, rollout: 0 }, off_enabled: { enabled: false, rollout: 50 } };
    const texts = { [CATALOG]: catalog(Object.fromEntries(Object.keys(entries).map((n) => [n, {}]))), [file('dev')]: flags('dev', entries), [file('staging')]: flags('staging', entries) };
    const expected = [
      finding(
        at(texts, file('dev'), '25'),
        'warning',
        'flag-serving-off',
        "flag 'partial_enabled' is at 25% in dev, but flag serving is off there (flagServing.mode: 'none' in environments/dev/environment.ts): " +
          'nothing evaluates flags.flagd.json, and feature_flags.json says true only at 100%, so this rollout does not reach users (it is off for everyone)',
      ),
    ];
    const m = model(texts, [dev, staging]);
    expect(flagServingRule(m)).toEqual(expected);
    expect(stateRules(m)).toEqual(expected);
  });

  it('skips an entry that failed the schema, and an environment without a file', () => {
    const dev = resolveEnvironmentSettings('dev', NONE);
    const texts = { [CATALOG]: catalog({ alpha_enabled: {} }), [file('dev')]: 'environment: dev\nflags:\n  alpha_enabled:\n    enabled: true\n    rollout: 25\n' };
    expect(flagServingRule(model(texts, [dev], false))).toEqual([]);
    expect(flagServingRule(model({ [CATALOG]: catalog({}) }, [dev], false))).toEqual([]);
  });
});

describe('exposure and describeExposure', () => {
  const state = (enabled: boolean, rollout: number): FlagState => ({ enabled, rollout, reason: 'r', changed_by: SAM, changed_at: NOW });

  it('exposure: the rollout when enabled, else 0', () => {
    expect([exposure(state(true, 25)), exposure(state(false, 25)), exposure(undefined)]).toEqual([25, 0, 0]);
  });

  it('describeExposure: "on N%", "off" for a kill-switched flag whatever its rollout, "absent" without an entry', () => {
    expect([describeExposure(state(true, 25)), describeExposure(state(false, 25)), describeExposure(undefined)]).toEqual(['on 25%', 'off', 'absent']);
  });
});
