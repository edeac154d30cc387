/**
 * `similar-flag-name` (issue 22): a new flag whose name is an existing flag's name with its words
 * in another order, or with one word a letter apart, is most likely a second flag for the same
 * thing. A warning in `add` and `check`, naming the flag it resembles; never for names that only
 * share words, differ in a version number, or differ in a short word (sms, mms).
 */
import { describe, expect, it } from 'vitest';
import { similarFlagNames } from '../policies/flag-names.ts';
import { flagops, read, REPO_ROOT, tempProject, write } from './helpers.ts';

const CATALOG = 'environments/catalog.yaml';
const ADD = ['--description', 'Reminders by SMS.', '--owner', 'team-engagement', '--type', 'ops', '--reason', 'New flag', '--ticket', 'TICKET-22', '--by', 'dev@pms.example.com'];

/** The catalog with one more (valid) flag declared at its end; `check` then also needs its entries. */
function declare(dir: string, name: string): void {
  write(dir, CATALOG, `${read(dir, CATALOG)}  ${name}:\n    description: Another flag.\n    owner: team-engagement\n    type: ops\n    created: 2026-11-01\n`);
}

describe('similar-flag-name', () => {
  it('add warns when the new name has the words of an existing flag in another order, naming it', async () => {
    // GIVEN the sample, which has sms_appointment_reminders_enabled
    const dir = tempProject();
    // WHEN adding appointment_reminders_sms_enabled
    const r = await flagops(dir, 'add', 'appointment_reminders_sms_enabled', ...ADD);
    // THEN the flag is added, with a warning at its catalog entry naming the flag it resembles
    expect(r.code, r.stderr).toBe(0);
    const line = read(dir, CATALOG).split('\n').indexOf('  appointment_reminders_sms_enabled:') + 1;
    expect(r.stdout).toContain(
      `${CATALOG}:${line}:3: warning: flag 'appointment_reminders_sms_enabled' has the words of 'sms_appointment_reminders_enabled' in another order: ` +
        'if both are meant, name them so they can be told apart; if not, use the existing flag and remove this one (flagops remove) [similar-flag-name]',
    );
    // ... and check reports it too (a warning: exit 0)
    const check = await flagops(dir, 'check');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain("warning: flag 'appointment_reminders_sms_enabled' has the words of 'sms_appointment_reminders_enabled' in another order");
  });

  it('check warns for a word one letter apart (added, dropped, changed or two swapped)', async () => {
    const dir = tempProject({ dist: false });
    declare(dir, 'telehealth_appointment_enabled');
    const r = await flagops(dir, 'check');
    expect(r.stdout).toMatch(
      /environments\/catalog\.yaml:\d+:3: warning: flag 'telehealth_appointment_enabled' looks like 'telehealth_appointments_enabled' \('appointment' for 'appointments'\): .* \[similar-flag-name\]/,
    );
  });

  it('says nothing on the sample project, whose flags are all told apart', async () => {
    const r = await flagops(tempProject(), 'check');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('similar-flag-name');
    expect((await flagops(REPO_ROOT, 'check', '--format', 'json')).stdout).not.toContain('similar-flag-name');
  });

  it('compares words, not characters: the cases that are and are not alike', () => {
    const similar = (names: string[]) => similarFlagNames(names).map((s) => [s.name, s.like]);
    // the same words in another order; one word one letter apart (plural, typo, swap)
    expect(similar(['sms_appointment_reminders_enabled', 'appointment_reminders_sms_enabled'])).toEqual([['appointment_reminders_sms_enabled', 'sms_appointment_reminders_enabled']]);
    expect(similar(['lab_results_release_enabled', 'lab_result_release_enabled'])).toEqual([['lab_result_release_enabled', 'lab_results_release_enabled']]);
    expect(similar(['lab_results_release_enabled', 'lab_resutls_release_enabled'])).toEqual([['lab_resutls_release_enabled', 'lab_results_release_enabled']]);
    expect(similar(['release_lab_results_enabled', 'lab_result_release_enabled'])).toEqual([['lab_result_release_enabled', 'release_lab_results_enabled']]);
    // not alike: a version number, a short word (pay, sms), a word more or less, words more than a letter apart
    expect(similar(['billing_export_v2_enabled', 'billing_export_v3_enabled'])).toEqual([]);
    expect(similar(['claims_report2025_enabled', 'claims_report2026_enabled'])).toEqual([]);
    expect(similar(['sms_reminders_enabled', 'mms_reminders_enabled'])).toEqual([]);
    expect(similar(['online_bill_pay_enabled', 'online_bill_play_enabled'])).toEqual([]);
    expect(similar(['lab_results_release_enabled', 'lab_results_enabled'])).toEqual([]);
    expect(similar(['lab_results_auto_release_enabled', 'lab_orders_auto_release_enabled'])).toEqual([]);
    // each flag is said to look like the first flag it resembles, once
    expect(similar(['patient_notes_enabled', 'notes_patient_enabled', 'patient_note_enabled'])).toEqual([
      ['notes_patient_enabled', 'patient_notes_enabled'],
      ['patient_note_enabled', 'patient_notes_enabled'],
    ]);
  });
});
