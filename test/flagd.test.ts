/**
 * The flag ConfigMap proved with the real OpenFeature evaluator (@openfeature/flagd-core): every
 * flag is on for its declared share of users, a disabled flag resolves to off without an error,
 * and the legacy boolean file matches the brief.
 */
import { FlagdCore } from '@openfeature/flagd-core';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Chart, Testing } from 'cdk8s';
import { FLAGD_KEY, FeatureFlagConfigMap, LEGACY_KEY, flagdFlagSet, type FeatureFlag } from '../constructs/feature-flag-config-map.ts';
import { read, REPO_ROOT } from './helpers.ts';

const KEYS = 10_000;
const ENVIRONMENTS = ['dev', 'staging', 'production'] as const;

function configMapData(env: string): Record<string, string> {
  return parse(read(REPO_ROOT, `dist/${env}/configmap-feature-flags-config.yaml`)).data;
}
function states(env: string): Record<string, { enabled: boolean; rollout: number }> {
  return parse(read(REPO_ROOT, `environments/${env}/flags.yaml`)).flags;
}
const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

function shareOn(core: FlagdCore, flag: string): number {
  let on = 0;
  for (let i = 0; i < KEYS; i++) {
    const r = core.resolveBooleanEvaluation(flag, false, { targetingKey: `patient-${i}` }, silent);
    expect(r.errorCode).toBeUndefined();
    if (r.value) on++;
  }
  return (100 * on) / KEYS;
}

describe('flags.flagd.json', () => {
  for (const env of ENVIRONMENTS) {
    it(`turns each ${env} flag on for its declared rollout share, within 2 points`, () => {
      // GIVEN the committed flag set loaded into the real flagd evaluator
      const core = new FlagdCore(undefined, silent);
      core.setConfigurations(configMapData(env)[FLAGD_KEY]!);
      // WHEN 10,000 targeting keys are evaluated per flag
      for (const [flag, state] of Object.entries(states(env))) {
        const expected = state.enabled ? state.rollout : 0;
        // THEN the share that gets `true` matches the declared exposure
        expect(Math.abs(shareOn(core, flag) - expected), `${env} ${flag}`).toBeLessThanOrEqual(2);
      }
    });
  }

  it('resolves the kill-switched production flag to off, without an error', () => {
    const core = new FlagdCore(undefined, silent);
    core.setConfigurations(configMapData('production')[FLAGD_KEY]!);
    const r = core.resolveBooleanEvaluation('sms_appointment_reminders_enabled', true, { targetingKey: 'patient-1' }, silent);
    expect(r.value).toBe(false);
    expect(r.errorCode).toBeUndefined();
    expect(r.variant).toBe('off');
  });

  it('carries the audit fields as scalar flag metadata, and no whole-set version that every change would rewrite', () => {
    const set = JSON.parse(configMapData('production')[FLAGD_KEY]!);
    expect(set.$schema).toBe('https://flagd.dev/schema/v0/flags.json');
    expect(set.metadata).toEqual({ flagSetId: 'pms-production' });
    const meta = set.flags.telehealth_appointments_enabled.metadata;
    expect(meta).toMatchObject({ ticket: 'TICKET-12345', changedBy: 'admin@pms.example.com', approvedBy: 'lead@pms.example.com', rollout: 25 });
    for (const flag of Object.values(set.flags) as { metadata: Record<string, unknown> }[]) {
      for (const v of Object.values(flag.metadata)) expect(['string', 'number', 'boolean']).toContain(typeof v);
    }
  });

  it('writes a partial rollout as fractional targeting with integer weights summing to 100, on first', () => {
    const set = JSON.parse(configMapData('production')[FLAGD_KEY]!);
    expect(set.flags.telehealth_appointments_enabled.targeting).toEqual({ fractional: [['on', 25], ['off', 75]] });
    expect(set.flags.telehealth_appointments_enabled.defaultVariant).toBe('off');
    expect(set.flags.patient_portal_messaging_enabled.targeting).toBeUndefined();
    expect(set.flags.patient_portal_messaging_enabled.defaultVariant).toBe('on');
  });

  it('raising a rollout only turns users on: everyone on at 5% is still on at 25%', () => {
    const flag = (rollout: number): FeatureFlag => ({
      name: 'x_enabled', description: 'x', owner: 'team-x', type: 'release', enabled: true, rollout, reason: 'r', changedBy: 'a@b.c', changedAt: '2026-01-01T00:00:00Z',
    });
    const at5 = new FlagdCore(undefined, silent);
    at5.setConfigurations(JSON.stringify(flagdFlagSet('production', [flag(5)])));
    const at25 = new FlagdCore(undefined, silent);
    at25.setConfigurations(JSON.stringify(flagdFlagSet('production', [flag(25)])));
    let movedOff = 0;
    let movedOn = 0;
    for (let i = 0; i < KEYS; i++) {
      const ctx = { targetingKey: `user-${i}` };
      const before = at5.resolveBooleanEvaluation('x_enabled', false, ctx, silent).value;
      const after = at25.resolveBooleanEvaluation('x_enabled', false, ctx, silent).value;
      if (before && !after) movedOff++;
      if (!before && after) movedOn++;
    }
    expect(movedOff).toBe(0);
    expect(Math.abs((100 * movedOn) / KEYS - 20)).toBeLessThanOrEqual(2);
  });

  it('has a data checksum (stamped at deploy time) that changes when any flag changes, and only then', () => {
    const base: FeatureFlag = { name: 'x_enabled', description: 'x', owner: 'team-x', type: 'ops', enabled: true, rollout: 100, reason: 'r', changedBy: 'a@b.c', changedAt: '2026-01-01T00:00:00Z' };
    const v = (f: FeatureFlag) => new FeatureFlagConfigMap(new Chart(Testing.app(), 'c'), 'flags', { environment: 'dev', flags: [f] }).checksum;
    expect(v(base)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v(base)).toBe(v({ ...base }));
    expect(v(base)).not.toBe(v({ ...base, enabled: false }));
  });
});

describe('feature_flags.json', () => {
  it('is the backend format: {"<env>": {flag: bool}}, true only when enabled at 100%', () => {
    for (const env of ENVIRONMENTS) {
      const legacy = JSON.parse(configMapData(env)[LEGACY_KEY]!);
      expect(Object.keys(legacy)).toEqual([env]);
      const expected = Object.fromEntries(
        Object.entries(states(env))
          .map(([flag, s]) => [flag, s.enabled && s.rollout === 100] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
      expect(legacy[env]).toEqual(expected);
    }
    const production = JSON.parse(configMapData('production')[LEGACY_KEY]!).production;
    expect(production.telehealth_appointments_enabled).toBe(false); // at 25%: invisible to a boolean reader
    expect(production.patient_portal_messaging_enabled).toBe(true);
  });
});
