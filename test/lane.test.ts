/**
 * The kill-switch fast lane's classification: what counts as "only lowers exposure" (unit tests of
 * classifyLane), and `flagops diff --format json` saying so on a real git repository.
 */
import { describe, expect, it } from 'vitest';
import { classifyLane, type FlagReview } from '../lib/review/review.ts';
import { flagops, tempProject, write } from './helpers.ts';
import { setFlag } from './flag-history.ts';

const ENVS = ['dev', 'staging', 'production'];

/** A reviewed flag change; `kind` decides the lane. */
const change = (environment: string, kind: FlagReview['kind'], flag = 'telehealth_appointments_enabled'): FlagReview => ({
  environment,
  flag,
  kind,
  before: kind === 'added' ? 'absent' : 'on 25%',
  after: kind === 'kill-switch' ? 'off' : kind === 'lowered' ? 'on 5%' : kind === 'raised' ? 'on 50%' : kind === 'removed' ? 'absent' : 'on 25%',
});
const filesOf = (...envs: string[]) => envs.flatMap((e) => [`environments/${e}/flags.yaml`, `dist/${e}/configmap-feature-flags-config.yaml`]);

describe('classifyLane: what counts as lowering only', () => {
  it('takes a kill switch in production, with its flag file and ConfigMap, into the fast lane for production', () => {
    expect(classifyLane([change('production', 'kill-switch')], filesOf('production'), ENVS)).toEqual({ fast: true, environments: ['production'], reasons: [] });
  });

  it('takes a lower rollout, and kill switches in two environments at once, into the fast lane for each', () => {
    const lane = classifyLane([change('staging', 'kill-switch'), change('production', 'lowered', 'e_prescribing_enabled')], filesOf('staging', 'production'), ENVS);
    expect(lane).toEqual({ fast: true, environments: ['staging', 'production'], reasons: [] });
  });

  it('accepts the OpenFeature Operator FeatureFlag of a lowered environment, and a flag file whose ConfigMap did not change', () => {
    expect(classifyLane([change('production', 'kill-switch')], ['environments/production/flags.yaml', 'dist/production/featureflag-feature-flags.yaml'], ENVS).fast).toBe(true);
    expect(classifyLane([change('production', 'kill-switch')], ['environments/production/flags.yaml'], ENVS).fast).toBe(true);
  });

  it('keeps a raise in the full lane, even next to a kill switch', () => {
    const lane = classifyLane([change('production', 'kill-switch'), change('production', 'raised', 'e_prescribing_enabled')], filesOf('production'), ENVS);
    expect(lane.fast).toBe(false);
    expect(lane.reasons).toEqual(['production: e_prescribing_enabled raises exposure (on 25% -> on 50%)']);
  });

  it('keeps added, removed and updated-without-lowering flags in the full lane, each with its reason', () => {
    for (const [kind, before, after, words] of [
      ['added', 'absent', 'on 25%', 'is added'],
      ['removed', 'on 25%', 'absent', 'is removed'],
      ['updated', 'on 25%', 'on 25%', 'changes without lowering exposure'],
    ] as const) {
      expect(classifyLane([change('dev', kind)], filesOf('dev'), ENVS), kind).toEqual({
        fast: false,
        environments: ['dev'],
        reasons: [`dev: telehealth_appointments_enabled ${words} (${before} -> ${after})`],
      });
    }
  });

  it('names every flag that does not lower exposure, in the order given, next to the kill switches', () => {
    const flags = [change('staging', 'raised', 'e_prescribing_enabled'), change('production', 'kill-switch'), change('production', 'updated', 'online_bill_pay_enabled')];
    expect(classifyLane(flags, filesOf('staging', 'production'), ENVS)).toEqual({
      fast: false,
      environments: ['staging', 'production'],
      reasons: ['staging: e_prescribing_enabled raises exposure (on 25% -> on 50%)', 'production: online_bill_pay_enabled changes without lowering exposure (on 25% -> on 25%)'],
    });
  });

  it('keeps a change with no flag change in the full lane', () => {
    expect(classifyLane([], [], ENVS)).toEqual({ fast: false, environments: [], reasons: ['no flag changes state'] });
  });

  it('keeps a flag file changed without a state change in the full lane, naming the file (no environment has a lowered flag)', () => {
    expect(classifyLane([], ['environments/production/flags.yaml'], ENVS)).toEqual({
      fast: false,
      environments: [],
      reasons: ['no flag changes state', 'changes environments/production/flags.yaml, which is not a flag file or flag ConfigMap of an environment with a lowered flag'],
    });
  });

  it('keeps a kill switch that also changes code, policies, the catalog, the workflow or another object in the full lane', () => {
    for (const file of ['lib/edits/edits.ts', 'policies/change-rules.ts', 'environments/catalog.yaml', '/.github/workflows/flagops.yml', 'dist/production/prometheusrule-pms-alerts.yaml', 'environments/production/environment.ts']) {
      const lane = classifyLane([change('production', 'kill-switch')], [...filesOf('production'), file], ENVS);
      expect(lane, file).toEqual({ fast: false, environments: ['production'], reasons: [`changes ${file}, which is not a flag file or flag ConfigMap of production`] });
    }
  });

  it("keeps a kill switch in production with another environment's files changed in the full lane", () => {
    for (const file of filesOf('dev')) {
      const lane = classifyLane([change('production', 'kill-switch')], [...filesOf('production'), file], ENVS);
      expect(lane, file).toEqual({ fast: false, environments: ['production'], reasons: [`changes ${file}, which is not a flag file or flag ConfigMap of production`] });
    }
  });

  it('names every environment with a lowered flag when a change to another file keeps kill switches in two of them in the full lane', () => {
    const lane = classifyLane([change('staging', 'kill-switch'), change('production', 'lowered')], [...filesOf('staging', 'production'), 'environments/catalog.yaml'], ENVS);
    expect(lane).toEqual({ fast: false, environments: ['staging', 'production'], reasons: ['changes environments/catalog.yaml, which is not a flag file or flag ConfigMap of staging, production'] });
  });

  it('lists at most 20 reasons: 19 of them, then how many more', () => {
    const reasons = (n: number) => classifyLane([change('production', 'kill-switch')], Array.from({ length: n }, (_, i) => `src/file-${i}.ts`), ENVS).reasons;
    const said = (i: number) => `changes src/file-${i}.ts, which is not a flag file or flag ConfigMap of production`;
    expect(reasons(20)).toEqual(Array.from({ length: 20 }, (_, i) => said(i)));
    expect(reasons(21)).toEqual([...Array.from({ length: 19 }, (_, i) => said(i)), 'and 2 more']);
    expect(reasons(50)).toEqual([...Array.from({ length: 19 }, (_, i) => said(i)), 'and 31 more']);
  });
});

describe('flagops diff --format json says which lane a change takes', () => {
  it('puts flagops disable in the fast lane, and the same kill switch with a code change in the full lane', async () => {
    // GIVEN the sample on main, and a kill switch in the working tree
    const dir = tempProject({ git: true });
    const off = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch (INC-2500)', '--ticket', 'INC-2500', '--by', 'oncall@pms.example.com');
    expect(off.code, off.stdout).toBe(0);
    // WHEN diff runs THEN it is the fast lane for production, said in every format
    const json = JSON.parse((await flagops(dir, 'diff', '--base', 'main', '--format', 'json')).stdout);
    expect(json.lane).toEqual({ fast: true, environments: ['production'], reasons: [] });
    expect((await flagops(dir, 'diff', '--base', 'main')).stdout).toContain('Kill-switch fast lane: this change only lowers exposure (production)');
    expect((await flagops(dir, 'diff', '--base', 'main', '--format', 'markdown')).stdout).toContain('> Kill-switch fast lane: this change only lowers exposure (production)');
    // AND with a new file next to it, the full lane, naming the file
    write(dir, 'environments/production/notes.md', 'why\n');
    const full = JSON.parse((await flagops(dir, 'diff', '--base', 'main', '--format', 'json')).stdout);
    expect(full.lane).toEqual({ fast: false, environments: ['production'], reasons: ['changes environments/production/notes.md, which is not a flag file or flag ConfigMap of production'] });
  });

  it('puts a raise in the full lane and says nothing of a lane in text', async () => {
    const dir = tempProject({ git: true });
    setFlag(dir, 'dev', 'lab_results_auto_release_enabled', { rollout: 50, changed_at: '2026-11-23T11:00:00Z', reason: 'More', changed_by: 'sam.lee@pms.example.com' });
    const json = JSON.parse((await flagops(dir, 'diff', '--base', 'main', '--format', 'json')).stdout);
    expect(json.lane.fast).toBe(false);
    expect((await flagops(dir, 'diff', '--base', 'main')).stdout).not.toContain('fast lane');
  });
});
