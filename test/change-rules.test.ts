import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { landings } from '../lib/review/landings.ts';
import { diskReader, loadEnvironmentSettings, parseProject, statesFile } from '../lib/workspace/project.ts';
import { overlay } from '../lib/workspace/workspace.ts';
import { setFields, type ScalarValue } from '../common/yaml/yaml-edit.ts';
import type { Finding } from '../model/findings.ts';
import { checkChangeRules, landingKey, soakNeeds } from '../policies/change-rules.ts';
import { flagops, git, REPO_ROOT, replaceIn, tempProject, type CliResult } from './helpers.ts';
import { commitAll, setFlag } from './flag-history.ts';

/** A fresh audit stamp for a changed flag, newer than every sample timestamp. */
const fresh = { changed_at: '2026-11-23T11:00:00Z', changed_by: 'sam.lee@pms.example.com', ticket: 'TICKET-13000', reason: 'Next phase' };

/** GIVEN the sample project committed on main, WHEN `edit` changes the working tree and dist/ is re-synthesized. */
async function checkAgainstMain(edit: (dir: string) => void, setup?: (dir: string) => void): Promise<CliResult> {
  const dir = tempProject({ git: true });
  if (setup) {
    setup(dir);
    expect((await flagops(dir, 'synth')).code).toBe(0);
    commitAll(dir, 'base state', { date: '2026-11-22T10:00:00Z' });
  }
  edit(dir);
  const synth = await flagops(dir, 'synth');
  expect(synth.code, synth.stdout).toBe(0);
  return flagops(dir, 'check', '--base', 'main');
}

/** Fields to set per environment and flag, as one change. */
type Edits = Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, ScalarValue>>>>>>;

/**
 * The change rules alone, on plain models: the sample project as the base, and the same with `edits`
 * applied (comment-preserving, in memory) as the change. Returns the findings of `rule`.
 */
async function ruleFindings(edits: Edits, rule: string): Promise<Finding[]> {
  const settings = await loadEnvironmentSettings(REPO_ROOT);
  const disk = diskReader(REPO_ROOT);
  const changed = new Map<string, string>();
  for (const [env, flags] of Object.entries(edits)) {
    const file = statesFile(env);
    for (const [flag, fields] of Object.entries(flags)) changed.set(file, setFields(changed.get(file) ?? disk.read(file)!, ['flags', flag], fields));
  }
  const base = parseProject(settings, disk).model;
  const current = parseProject(settings, overlay(disk, changed));
  expect(current.findings.filter((f) => f.severity === 'error')).toEqual([]);
  return checkChangeRules(base, current.model, 'main').filter((f) => f.rule === rule);
}

const errorsOf = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));

/**
 * Two tests: `edits`, made as one change, are refused by `rule` with an error saying `message` at the
 * production flag file, both by the rule alone (plain models) and by `flagops check --base` (exit 1).
 */
function refusedAsOneChange(rule: string, edits: Edits, message: string): void {
  it(`${rule}: the rule alone refuses the change`, async () => {
    const findings = await ruleFindings(edits, rule);
    expect(findings).toEqual([expect.objectContaining({ severity: 'error', file: 'environments/production/flags.yaml', message })]);
  });

  it(`${rule}: flagops check --base main exits 1 with the error`, async () => {
    const r = await checkAgainstMain((dir) => {
      for (const [env, flags] of Object.entries(edits)) for (const [flag, fields] of Object.entries(flags)) setFlag(dir, env, flag, fields);
    });
    expect(r.code, r.stdout).toBe(1);
    expect(errorsOf(r, rule)).toEqual([expect.stringMatching(/^environments\/production\/flags\.yaml:\d+:\d+: error: /)]);
    expect(errorsOf(r, rule)[0]).toContain(`${message} [${rule}]`);
  });
}

describe('change rules through flagops check --base', () => {
  describe('promotion-order', () => {
    it('rejects raising a flag in production while staging is below 100%', async () => {
      // GIVEN appointment_waitlist_enabled at 25% in staging WHEN production turns it on at 5%
      const r = await checkAgainstMain((dir) =>
        setFlag(dir, 'production', 'appointment_waitlist_enabled', { enabled: true, rollout: 5, approved_by: 'lead@pms.example.com', ...fresh }),
      );
      // THEN check fails with a promotion-order error at the production entry
      expect(r.code).toBe(1);
      const errors = errorsOf(r, 'promotion-order');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^environments\/production\/flags\.yaml:\d+:\d+: error: flag 'appointment_waitlist_enabled' is raised to 5% in production while staging has it on 25% on the base \(main, merge base [0-9a-f]{12}\); it must be on 100% in staging on main first \(one environment per pull request\) \[promotion-order\]$/);
    });

    it('rejects raising a flag in staging while dev is below 100%', async () => {
      // GIVEN dev lowered ai_visit_summaries_enabled to 50% on main WHEN staging turns it on
      const r = await checkAgainstMain(
        (dir) => setFlag(dir, 'staging', 'ai_visit_summaries_enabled', { enabled: true, rollout: 5, ...fresh }),
        (dir) => setFlag(dir, 'dev', 'ai_visit_summaries_enabled', { enabled: true, rollout: 50, ...fresh, changed_at: '2026-11-22T09:00:00Z' }),
      );
      // THEN the staging change is an error
      expect(r.code).toBe(1);
      expect(errorsOf(r, 'promotion-order')[0]).toContain("flag 'ai_visit_summaries_enabled' is raised to 5% in staging while dev has it on 50% on the base (main, merge base ");
    });

    it('accepts raising a flag in production that staging has at 100%', async () => {
      // GIVEN e_prescribing_enabled at 100% in staging WHEN production goes 5% -> 25%
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, ...fresh }));
      // THEN check passes
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/flagops check \(base: main, merge base [0-9a-f]{12}\): no problems$/m);
    });

    describe('a raise downstream while the same pull request lowers the flag upstream (staging 100% -> 50%, production 5% -> 25%)', () => {
      // GIVEN e_prescribing_enabled on 100% in staging and 5% in production on the base
      refusedAsOneChange(
        'promotion-order',
        { staging: { e_prescribing_enabled: { enabled: true, rollout: 50, ...fresh } }, production: { e_prescribing_enabled: { rollout: 25, approved_by: 'lead@pms.example.com', ...fresh } } },
        "flag 'e_prescribing_enabled' is raised to 25% in production while this change lowers it in staging to on 50%; it must stay on 100% in staging",
      );
    });

    it('never blocks a kill switch, even when the flag is ahead of its upstream environment', async () => {
      // GIVEN staging lowered below production on main (a warning, not an error)
      const r = await checkAgainstMain(
        (dir) => setFlag(dir, 'production', 'telehealth_appointments_enabled', { enabled: false, approved_by: undefined, ...fresh }),
        (dir) => setFlag(dir, 'staging', 'telehealth_appointments_enabled', { enabled: false, ...fresh, changed_at: '2026-11-22T09:00:00Z' }),
      );
      // WHEN production turns it off THEN check passes
      expect(r.code, r.stdout).toBe(0);
      expect(errorsOf(r, 'promotion-order')).toEqual([]);
    });
  });

  describe('prerequisite', () => {
    const lowerPortal = (dir: string) =>
      setFlag(dir, 'production', 'patient_portal_messaging_enabled', { rollout: 50, ...fresh, changed_at: '2026-11-22T09:00:00Z' });

    it('rejects raising a flag whose prerequisite is below 100% in that environment', async () => {
      // GIVEN patient_portal_messaging_enabled at 50% in production on main
      // WHEN secure_document_upload_enabled (which requires it) goes 25% -> 50%
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'secure_document_upload_enabled', { rollout: 50, ...fresh }), lowerPortal);
      // THEN check fails with a prerequisite error
      expect(r.code).toBe(1);
      const errors = errorsOf(r, 'prerequisite');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain("flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled', which is on 50% in production");
    });

    describe('a raise while the same pull request lowers the prerequisite (on 100% on the base)', () => {
      // GIVEN patient_portal_messaging_enabled on 100% in production on the base
      refusedAsOneChange(
        'prerequisite',
        { production: { patient_portal_messaging_enabled: { rollout: 50, ...fresh }, secure_document_upload_enabled: { rollout: 50, ...fresh } } },
        "flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled', which is lowered to on 50% in production by this change; it must be on 100% there on main first",
      );
    });

    it('accepts raising a flag whose prerequisite is at 100%', async () => {
      // GIVEN patient_portal_messaging_enabled at 100% in production WHEN secure_document_upload_enabled goes 25% -> 50%
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'secure_document_upload_enabled', { rollout: 50, ...fresh }));
      // THEN check passes
      expect(r.code, r.stdout).toBe(0);
    });

    it('accepts lowering a flag whose prerequisite is below 100%', async () => {
      // GIVEN the prerequisite at 50% WHEN secure_document_upload_enabled goes 25% -> 5%
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'secure_document_upload_enabled', { rollout: 5, ...fresh }), lowerPortal);
      // THEN lowering exposure is never blocked
      expect(r.code, r.stdout).toBe(0);
      expect(errorsOf(r, 'prerequisite')).toEqual([]);
    });
  });

  describe('rollout-one-step', () => {
    it('rejects a production rollout that skips a step', async () => {
      // GIVEN e_prescribing_enabled at 5% in production WHEN it jumps to 50%
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 50, ...fresh }));
      // THEN check fails naming the next step
      expect(r.code).toBe(1);
      expect(errorsOf(r, 'rollout-one-step')).toEqual([
        expect.stringContaining("flag 'e_prescribing_enabled' goes from 5% on the base (main, merge base "),
      ]);
    });

    it('accepts a production rollout to the next step', async () => {
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, ...fresh }));
      expect(r.code, r.stdout).toBe(0);
      expect(errorsOf(r, 'rollout-one-step')).toEqual([]);
    });

    it('accepts skipping steps outside production', async () => {
      // GIVEN dev allows any order of steps WHEN a dev flag goes 0% -> 100%
      const r = await checkAgainstMain((dir) => setFlag(dir, 'dev', 'lab_results_auto_release_enabled', { enabled: true, rollout: 100, ...fresh }));
      expect(errorsOf(r, 'rollout-one-step')).toEqual([]);
    });
  });

  describe('audit-not-updated', () => {
    it('rejects a state change that keeps the old changed_at', async () => {
      // GIVEN e_prescribing_enabled at 5% in production WHEN it goes to 25% with the old audit fields
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25 }));
      // THEN check fails at changed_at
      expect(r.code).toBe(1);
      const errors = errorsOf(r, 'audit-not-updated');
      expect(errors).toHaveLength(2);
      expect(errors.join('\n')).toContain("flag 'e_prescribing_enabled' changed state in production but changed_at (2026-11-18T15:00:00Z) is not newer than on the base (main, merge base ");
      expect(errors.join('\n')).toContain('keeps the changed_by, reason and ticket it had on the base (main, merge base ');
    });

    it('rejects a state change that only bumps changed_at, keeping who, why and the ticket', async () => {
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, changed_at: '2026-11-23T11:00:00Z' }));
      const errors = errorsOf(r, 'audit-not-updated');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain("flag 'e_prescribing_enabled' changed state in production but keeps the changed_by, reason and ticket it had on the base (main, merge base ");
    });

    it('rejects a kill switch without fresh audit fields too', async () => {
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'telehealth_appointments_enabled', { enabled: false }));
      expect(errorsOf(r, 'audit-not-updated')).toHaveLength(2);
    });

    it('accepts a state change with a new changed_at and changed_by', async () => {
      const r = await checkAgainstMain((dir) => setFlag(dir, 'production', 'telehealth_appointments_enabled', { enabled: false, approved_by: undefined, ...fresh }));
      expect(r.code, r.stdout).toBe(0);
      expect(errorsOf(r, 'audit-not-updated')).toEqual([]);
    });
  });

  describe('soak-time', () => {
    /** GIVEN production e_prescribing_enabled raised 5% -> 25% by a commit on main at `landed`. */
    async function landedAt(landed: string, options: { branchAt?: string } = {}): Promise<string> {
      const dir = tempProject({ git: true });
      if (options.branchAt) git(dir, 'checkout', '-q', '-b', 'phase-2');
      setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, ...fresh, changed_at: '2026-11-01T09:00:00Z', approved_by: 'lead@pms.example.com' });
      expect((await flagops(dir, 'synth')).code).toBe(0);
      commitAll(dir, 'Phase 2', { date: options.branchAt ?? landed });
      if (options.branchAt) {
        git(dir, 'checkout', '-q', 'main');
        mergeAt(dir, 'phase-2', landed);
      }
      return dir;
    }

    /** The next step, 25% -> 50%, checked against main at NOW (2026-11-23T12:00:00Z). */
    async function nextStep(dir: string): Promise<CliResult> {
      setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 50, ...fresh, reason: 'Phase 3', changed_at: '2026-11-23T11:59:00Z' });
      expect((await flagops(dir, 'synth')).code).toBe(0);
      return flagops(dir, 'check', '--base', 'main');
    }

    it('rejects the next production step 15 minutes after the previous one landed on main, saying when it becomes possible', async () => {
      // GIVEN 25% landed on main at 11:45 WHEN 50% is checked at 12:00
      const r = await nextStep(await landedAt('2026-11-23T11:45:00Z'));
      // THEN soak-time fails at the rollout, naming the landing commit, the setting and the time it becomes possible
      expect(r.code).toBe(1);
      const errors = errorsOf(r, 'soak-time');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        /^environments\/production\/flags\.yaml:\d+:\d+: error: flag 'e_prescribing_enabled' is raised to 50% in production, but the step before it \(production: on 25%\) has been on main only since 2026-11-23T11:45:00Z \(commit [0-9a-f]{12}\); production holds each step for 30 minutes \(soakMinutes in environments\/production\/environment\.ts\): the next step is possible from 2026-11-23T12:15:00Z \[soak-time\]$/,
      );
    });

    it('accepts the next production step once the previous one has been on main for 30 minutes', async () => {
      const r = await nextStep(await landedAt('2026-11-23T11:30:00Z'));
      expect(r.code, r.stdout).toBe(0);
      expect(errorsOf(r, 'soak-time')).toEqual([]);
    });

    it('measures from the merge that landed the step, not from the branch commit or changed_at', async () => {
      // GIVEN the 25% step committed on a branch at 09:00 (changed_at 1 November) and merged at 11:50
      const dir = await landedAt('2026-11-23T11:50:00Z', { branchAt: '2026-11-23T09:00:00Z' });
      // WHEN the next step is checked at 12:00 THEN it waits until 12:20
      const r = await nextStep(dir);
      expect(errorsOf(r, 'soak-time')).toEqual([expect.stringContaining('has been on main only since 2026-11-23T11:50:00Z')]);
      expect(errorsOf(r, 'soak-time')[0]).toContain('the next step is possible from 2026-11-23T12:20:00Z');
    });

    it('never holds back lowering exposure', async () => {
      // GIVEN 25% landed a minute ago WHEN the kill switch is pulled
      const dir = await landedAt('2026-11-23T11:59:00Z');
      setFlag(dir, 'production', 'e_prescribing_enabled', { enabled: false, approved_by: undefined, ...fresh, reason: 'Kill switch', changed_at: '2026-11-23T11:59:30Z' });
      expect((await flagops(dir, 'synth')).code).toBe(0);
      const r = await flagops(dir, 'check', '--base', 'main');
      // THEN nothing holds it
      expect(r.code, r.stdout).toBe(0);
    });

    it("holds the first step of an environment until the upstream environment's 100% has soaked there", async () => {
      // GIVEN staging holds each step for 60 minutes, and appointment_waitlist_enabled reached 100% in staging at 11:30
      const dir = tempProject({ git: true });
      replaceIn(dir, 'environments/staging/environment.ts', "requireTicket: true,", 'requireTicket: true,\n  soakMinutes: 60,');
      setFlag(dir, 'staging', 'appointment_waitlist_enabled', { rollout: 100, ...fresh, changed_at: '2026-11-23T11:20:00Z' });
      expect((await flagops(dir, 'synth')).code).toBe(0);
      commitAll(dir, 'waitlist to 100% in staging', { date: '2026-11-23T11:30:00Z' });
      // WHEN production turns it on at 5% at 12:00
      setFlag(dir, 'production', 'appointment_waitlist_enabled', { enabled: true, rollout: 5, approved_by: 'lead@pms.example.com', ...fresh });
      expect((await flagops(dir, 'synth')).code).toBe(0);
      const r = await flagops(dir, 'check', '--base', 'main');
      // THEN it waits for staging's soak time, until 12:30
      expect(errorsOf(r, 'soak-time')).toEqual([
        expect.stringContaining(
          "flag 'appointment_waitlist_enabled' is raised to 5% in production, but the step before it (staging: on 100%) has been on main only since 2026-11-23T11:30:00Z",
        ),
      ]);
      expect(errorsOf(r, 'soak-time')[0]).toContain('staging holds each step for 60 minutes before production may follow (soakMinutes in environments/staging/environment.ts): the next step is possible from 2026-11-23T12:30:00Z');
    });

    it('is a pure rule over plain data: no landing data, no finding; the landing found in git is the commit that changed the exposure', async () => {
      // GIVEN 25% landed at 11:45 and the next step in the working tree
      const dir = await landedAt('2026-11-23T11:45:00Z');
      const landing = git(dir, 'rev-parse', 'HEAD').trim();
      setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 50, ...fresh });
      const { loadEnvironmentSettings, parseProject, diskReader } = await import('../lib/workspace/project.ts');
      const { gitReader } = await import('../lib/review/git.ts');
      const settings = await loadEnvironmentSettings(dir);
      const base = parseProject(settings, gitReader(dir, landing)).model;
      const current = parseProject(settings, diskReader(dir)).model;
      // WHEN the rule runs without and with the facts
      const needs = soakNeeds(base, current);
      expect(needs).toEqual([{ environment: 'production', flag: 'e_prescribing_enabled' }]);
      const found = landings(dir, landing, needs);
      expect(found.get(landingKey('production', 'e_prescribing_enabled'))).toEqual({ commit: landing, at: '2026-11-23T11:45:00Z' });
      const at = (now: string) => checkChangeRules(base, current, 'main', { now: new Date(now), landings: found }).filter((f) => f.rule === 'soak-time');
      // THEN it judges only with the facts, and only before the soak time is over
      expect(checkChangeRules(base, current, 'main').filter((f) => f.rule === 'soak-time')).toEqual([]);
      expect(at('2026-11-23T12:14:59Z')).toHaveLength(1);
      expect(at('2026-11-23T12:15:00Z')).toEqual([]);
    });
  });
});

/** Merges `branch` into the checked-out branch with a merge commit dated `date` (what GitHub's merge button records). */
function mergeAt(dir: string, branch: string, date: string): void {
  const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  const r = spawnSync('git', ['-c', 'user.name=RM', '-c', 'user.email=rm@pms.example.com', 'merge', '-q', '--no-ff', '-m', `Merge ${branch}`, branch], { cwd: dir, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`git merge failed: ${r.stderr}`);
}
