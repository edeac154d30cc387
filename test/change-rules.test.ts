import { describe, expect, it } from 'vitest';
import { flagops, tempProject, type CliResult } from './helpers.ts';
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

const errorsOf = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));

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
      expect(r.stdout).toMatch(/flagops check \(base: main, merge base [0-9a-f]{12}\): 0 errors/);
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
});
