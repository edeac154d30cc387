/**
 * lib/edits/edits.ts called in-process (docs/testing.md#mutation-testing): the edit commands'
 * core (enable, rollout, disable, add, restore, remove) on scratch copies of the sample project,
 * each outcome asserted whole (applied, summary, findings, files, base, notes), the exact text
 * written into the users' flag files, and nothing written when an edit is refused. The CLI's own
 * tests (test/edit.test.ts, test/restore-remove.test.ts) show the same commands as a user runs them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addFlag, editFlagState, removeFlag, restoreFlags, type AddFlag, type EditOutcome, type RemoveFlag, type RestoreFlags, type StateEdit, type StateEditKind } from '../lib/edits/edits.ts';
import { openWorkspace, UsageError, type Workspace } from '../lib/workspace/workspace.ts';
import { commitAll, setFlag } from './flag-history.ts';
import { BILL_PAY_EXPIRES, git, read, replaceIn, REPO_ROOT, SAMPLE_BACKEND, snapshot, tempProject, write, type ProjectOptions } from './helpers.ts';
import { pushToNewOrigin } from './support/git-server.ts';

const CATALOG = 'environments/catalog.yaml';
const DEV = 'environments/dev/flags.yaml';
const STAGING = 'environments/staging/flags.yaml';
const PROD = 'environments/production/flags.yaml';
const PROD_CM = 'dist/production/configmap-feature-flags-config.yaml';
/** When every edit here is made; the milliseconds are dropped from `changed_at`. */
const AT = new Date('2026-11-23T12:00:00.789Z');
const STAMP = '2026-11-23T12:00:00Z';
const SAM = 'sam.lee@pms.example.com';
const LEAD = 'lead@pms.example.com';
const NO_GIT = 'this project is not in a git repository with a commit, so there is no base to compare with: commit it first, or pass --base REF; this edit is judged against the files before it';
const BEFORE = 'the files before this edit';

async function project(options: ProjectOptions = {}): Promise<{ dir: string; ws: Workspace }> {
  const dir = tempProject(options);
  return { dir, ws: await openWorkspace(dir) };
}

const stateEdit = (kind: StateEditKind, flag: string, environment: string, extra: Partial<StateEdit> = {}): StateEdit => ({
  kind,
  flag,
  environment,
  reason: 'Planned',
  ticket: 'TICKET-1',
  by: SAM,
  approvedBy: LEAD,
  at: AT,
  ...extra,
});

/** The outcome with its dist/ plan reduced to what it writes and removes. */
function whole(outcome: EditOutcome): Record<string, unknown> {
  const { dist, ...rest } = outcome;
  return dist ? { ...rest, dist: { write: dist.write.map((w) => (w.added ? `${w.path} (added)` : w.path)), remove: dist.remove } } : rest;
}

/** An edit its findings refuse, judged against the files before it (the scratch copy has no commit): nothing is written. */
const refusedBefore = (summary: string, findings: readonly unknown[]): Record<string, unknown> => ({ applied: false, summary, findings, files: [PROD], base: BEFORE, baseNote: NO_GIT });
/** An edit refused before any base is read: the file it writes (or its entry there) has errors. */
const cannotEdit = (summary: string, findings: readonly unknown[]): Record<string, unknown> => ({ applied: false, summary, findings, files: [PROD], base: 'none' });
/** An edit of a flag already in the state asked for: nothing changed. */
const alreadySo = (summary: string): EditOutcome => ({ applied: false, noop: true, summary, findings: [], files: [], base: 'none' });

/** Rejects with a UsageError (a usage mistake: exit 2), with exactly `message`. */
async function usageError(edit: Promise<unknown>, message: string): Promise<void> {
  const error = await edit.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  expect((error as Error).message).toBe(message);
}

/** The lines of a flag entry as the edits write them, each field on a line (`undefined`: left out). */
function entry(flag: string, fields: Readonly<Record<string, string | number | boolean | undefined>>): string {
  return [`  ${flag}:`, ...Object.entries(fields).flatMap(([k, v]) => (v === undefined ? [] : [`    ${k}: ${String(v)}`]))].join('\n');
}

const flagd = (dir: string, path = PROD_CM): { flags: Record<string, { defaultVariant: string; targeting?: unknown; metadata?: Record<string, unknown> }> } =>
  JSON.parse(parse(read(dir, path)).data['flags.flagd.json']);

/** The sample's production entry of telehealth_appointments_enabled (on 25%), with its comments. */
const TELEHEALTH_PROD = [
  '  telehealth_appointments_enabled:',
  '    enabled: true',
  '    rollout: 25                   # percent of users, integer 0..100',
  '    reason: Gradual rollout - Phase 2 (25% of users)',
  '    ticket: TICKET-12345          # required in staging and production',
  '    changed_by: admin@pms.example.com',
  '    changed_at: 2026-11-16T10:30:00Z',
  '    approved_by: lead@pms.example.com   # required in production, must differ from changed_by',
].join('\n');

/** The sample's production entry of e_prescribing_enabled (on 5%). */
const PRESCRIBING_PROD = entry('e_prescribing_enabled', {
  enabled: true,
  rollout: 5,
  reason: 'Gradual rollout - Phase 1 (5% of prescribers)',
  ticket: 'TICKET-12501',
  changed_by: SAM,
  changed_at: '2026-11-18T15:00:00Z',
  approved_by: LEAD,
});

describe('editFlagState: a raise', () => {
  it('rewrites the state and audit fields of its entry in place, keeping comments and their columns, and synthesizes dist/ of that environment only', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('rollout', 'telehealth_appointments_enabled', 'production', { rollout: 50 }));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'production: telehealth_appointments_enabled on 25% -> on 50%',
      findings: [],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
      dist: { write: [PROD_CM], remove: [] },
    });
    const written = [
      '  telehealth_appointments_enabled:',
      '    enabled: true',
      '    rollout: 50                   # percent of users, integer 0..100',
      '    reason: Planned',
      '    ticket: TICKET-1              # required in staging and production',
      `    changed_by: ${SAM}`,
      `    changed_at: ${STAMP}`,
      '    approved_by: lead@pms.example.com   # required in production, must differ from changed_by',
    ].join('\n');
    expect(read(dir, PROD)).toBe(before[PROD]!.replace(TELEHEALTH_PROD, written));
    expect(flagd(dir).flags.telehealth_appointments_enabled!.targeting).toEqual({ fractional: [['on', 50], ['off', 50]] });
    const after = snapshot(dir);
    expect(Object.keys(after).filter((p) => after[p] !== before[p])).toEqual([PROD_CM, PROD]);
  });

  it('with dryRun judges and plans dist/ the same, and writes nothing', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('rollout', 'telehealth_appointments_enabled', 'production', { rollout: 50 }), { dryRun: true });
    expect(whole(r)).toEqual({
      applied: false,
      summary: 'production: telehealth_appointments_enabled on 25% -> on 50%',
      findings: [],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
      dist: { write: [PROD_CM], remove: [] },
    });
    expect(snapshot(dir)).toEqual(before);
  });

  it('enable without a rollout takes the first step above 0 of the environment, and writes no approver when none is given', async () => {
    const { dir, ws } = await project();
    const text = read(dir, DEV);
    const r = await editFlagState(ws, stateEdit('enable', 'maintenance_mode_enabled', 'dev', { approvedBy: undefined, ticket: undefined }));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'dev: maintenance_mode_enabled off -> on 5%',
      findings: [],
      files: [DEV],
      base: BEFORE,
      baseNote: NO_GIT,
      dist: { write: ['dist/dev/configmap-feature-flags-config.yaml'], remove: [] },
    });
    const old = entry('maintenance_mode_enabled', {
      enabled: false,
      rollout: 0,
      reason: 'Declared off; turned on only during planned maintenance',
      ticket: 'TICKET-10002',
      changed_by: 'ops@pms.example.com',
      changed_at: '2026-01-12T08:00:00Z',
    });
    expect(text).toContain(`${old}\n`);
    expect(read(dir, DEV)).toBe(text.replace(old, entry('maintenance_mode_enabled', { enabled: true, rollout: 5, reason: 'Planned', changed_by: SAM, changed_at: STAMP })));
  });

  it('enable at the rollout an off flag already has is a change, not a no-op', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('enable', 'sms_appointment_reminders_enabled', 'production', { rollout: 50 }), { dryRun: true });
    expect(r.noop).toBeUndefined();
    expect(r.summary).toBe('production: sms_appointment_reminders_enabled off -> on 50%');
    expect(r.findings.map((f) => f.rule)).toEqual(['rollout-one-step']);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a rollout of 0 for enable, a flag already on, and a rollout without a target, as usage errors', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    await usageError(editFlagState(ws, stateEdit('enable', 'lab_results_auto_release_enabled', 'staging', { rollout: 0 })), 'enable needs a rollout above 0 (got 0); to turn a flag off use flagops disable');
    await usageError(
      editFlagState(ws, stateEdit('enable', 'telehealth_appointments_enabled', 'production', { rollout: 50 })),
      "flag 'telehealth_appointments_enabled' is already on (25%) in production; use flagops rollout to change the percentage",
    );
    await usageError(editFlagState(ws, stateEdit('rollout', 'lab_results_auto_release_enabled', 'staging')), 'rollout needs --to N');
    expect(snapshot(dir)).toEqual(before);
  });

  it('a rollout to 0 turns the flag off, keeping nothing of the old percentage', async () => {
    const { dir, ws } = await project();
    const text = read(dir, STAGING);
    const r = await editFlagState(ws, stateEdit('rollout', 'insurance_eligibility_checks_enabled', 'staging', { rollout: 0, approvedBy: undefined }));
    expect(r.summary).toBe('staging: insurance_eligibility_checks_enabled on 50% -> off');
    expect(r.applied).toBe(true);
    expect(read(dir, STAGING)).toBe(text.replace(/( {2}insurance_eligibility_checks_enabled:\n)(?:.*\n){6}/, `$1    enabled: false\n    rollout: 0\n    reason: Planned\n    ticket: TICKET-1\n    changed_by: ${SAM}\n    changed_at: ${STAMP}\n`));
  });

  it('says so and writes nothing when the flag is already in that state', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    expect(await editFlagState(ws, stateEdit('rollout', 'telehealth_appointments_enabled', 'production', { rollout: 25 }))).toEqual(alreadySo('production: telehealth_appointments_enabled is already on 25%; nothing changed'));
    expect(snapshot(dir)).toEqual(before);
  });

  it('is refused, with the findings and nothing written, when the change breaks a rule', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('rollout', 'e_prescribing_enabled', 'production', { rollout: 100 }));
    expect(whole(r)).toEqual({
      applied: false,
      summary: 'production: e_prescribing_enabled on 5% -> on 100%',
      findings: [
        {
          file: PROD,
          line: 33,
          col: 14,
          severity: 'error',
          rule: 'rollout-one-step',
          message: "flag 'e_prescribing_enabled' goes from 5% on the base (the files before this edit) to 100% in production; production moves one step per pull request (next step: 25%)",
        },
      ],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
    });
    expect(snapshot(dir)).toEqual(before);
  });
});

/** The finding on a flag file that ends in `  stray: [`. */
const STRAY = [{ file: PROD, line: 124, col: 1, severity: 'error', rule: 'yaml-syntax', message: 'Flow sequence in block collection must be sufficiently indented and end with a ]' }];

describe('editFlagState: what it cannot edit', () => {
  it('an unknown environment or flag is a usage error, for a raise and for the kill switch alike', async () => {
    const { ws } = await project();
    const env = "unknown environment 'prod' (did you mean 'production'?); known: dev, staging, production";
    await usageError(editFlagState(ws, stateEdit('enable', 'lab_results_auto_release_enabled', 'prod')), env);
    await usageError(editFlagState(ws, stateEdit('rollout', 'lab_results_auto_release_enabled', 'prod', { rollout: 0 })), env);
    await usageError(editFlagState(ws, stateEdit('disable', 'lab_results_auto_release_enabled', 'prod')), env);
    const typo = "unknown flag 'lab_result_auto_release_enabled' (did you mean 'lab_results_auto_release_enabled'?): it is not in environments/catalog.yaml";
    await usageError(editFlagState(ws, stateEdit('enable', 'lab_result_auto_release_enabled', 'staging')), typo);
    await usageError(editFlagState(ws, stateEdit('disable', 'lab_result_auto_release_enabled', 'staging')), typo);
    const absent = "unknown flag 'zzz_enabled': it is not in environments/catalog.yaml (declare it with flagops add)";
    await usageError(editFlagState(ws, stateEdit('enable', 'zzz_enabled', 'staging')), absent);
    await usageError(editFlagState(ws, stateEdit('disable', 'zzz_enabled', 'staging')), absent);
  });

  it('the kill switch refuses a name that is no flag name even where the catalog cannot say (a catalog that is not YAML)', async () => {
    const { dir, ws } = await project();
    write(dir, CATALOG, `${read(dir, CATALOG)}  stray: [\n`);
    await usageError(editFlagState(ws, stateEdit('disable', 'Telehealth', 'production')), "unknown flag 'Telehealth': it is not in environments/catalog.yaml (declare it with flagops add)");
    await usageError(editFlagState(ws, stateEdit('disable', `${'a'.repeat(56)}_enabled`, 'production')), `unknown flag '${'a'.repeat(56)}_enabled': it is not in environments/catalog.yaml (declare it with flagops add)`);
  });

  it('a flag without an entry in the file, or with an invalid one, is a usage error naming the file', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, STAGING, '  maintenance_mode_enabled:\n', '  maintenance_mode_enable:\n');
    replaceIn(dir, STAGING, '    rollout: 0\n    reason: Waiting', '    rollout: none\n    reason: Waiting');
    await usageError(editFlagState(ws, stateEdit('enable', 'maintenance_mode_enabled', 'staging')), "flag 'maintenance_mode_enabled' has no entry in environments/staging/flags.yaml");
    await usageError(
      editFlagState(ws, stateEdit('disable', 'maintenance_mode_enabled', 'staging')),
      "flag 'maintenance_mode_enabled' has no entry in environments/staging/flags.yaml (did you mean 'maintenance_mode_enable'?)",
    );
    await usageError(editFlagState(ws, stateEdit('enable', 'lab_results_auto_release_enabled', 'staging')), "flag 'lab_results_auto_release_enabled' is invalid in environments/staging/flags.yaml; run flagops check, fix it, then raise it");
  });

  it('in a file that is not YAML, an enable of a flag already on and a rollout without a target get the same answer as a raise', async () => {
    const { dir, ws } = await project();
    write(dir, PROD, `${read(dir, PROD)}  stray: [\n`);
    const cannot = (flag: string) => cannotEdit(`production: ${flag} cannot be edited: environments/production/flags.yaml has errors`, STRAY);
    expect(await editFlagState(ws, stateEdit('enable', 'telehealth_appointments_enabled', 'production', { rollout: 50 }))).toEqual(cannot('telehealth_appointments_enabled'));
    expect(await editFlagState(ws, stateEdit('rollout', 'telehealth_appointments_enabled', 'production'))).toEqual(cannot('telehealth_appointments_enabled'));
  });

  it("a raise in a file that is not YAML is refused with that file's findings only", async () => {
    const { dir, ws } = await project();
    replaceIn(dir, DEV, '    rollout: 50\n', '    rolout: 50\n');
    write(dir, PROD, `${read(dir, PROD)}  stray: [\n`);
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('rollout', 'e_prescribing_enabled', 'production', { rollout: 25 }));
    expect(r).toEqual(cannotEdit('production: e_prescribing_enabled cannot be edited: environments/production/flags.yaml has errors', STRAY));
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('editFlagState: the edit lock', () => {
  it('takes over the lock of an edit that is gone, and says so through onNote', async () => {
    const { dir, ws } = await project();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    write(dir, '.flagops.lock', `${JSON.stringify({ pid: gone, host: hostname(), since: '2026-11-23T11:00:00Z', command: 'flagops disable' })}\n`);
    const notes: string[] = [];
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true, onNote: (n) => notes.push(n) });
    expect(r.summary).toBe('production: e_prescribing_enabled on 5% -> off');
    expect(notes).toEqual([`took over the edit lock of a flagops process that is gone (pid ${gone} on ${hostname()} since 2026-11-23T11:00:00Z (flagops disable))`]);
  });
});

describe('editFlagState: the kill switch', () => {
  it('writes off, keeps the percentage and drops the old approver, and synthesizes dist/ of that environment', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production', { approvedBy: undefined, ticket: 'INC-2291', reason: 'Kill switch: outage' }));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'production: e_prescribing_enabled on 5% -> off',
      findings: [],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
      notes: [],
      dist: { write: [PROD_CM], remove: [] },
    });
    expect(read(dir, PROD)).toBe(
      before[PROD]!.replace(PRESCRIBING_PROD, entry('e_prescribing_enabled', { enabled: false, rollout: 5, reason: '"Kill switch: outage"', ticket: 'INC-2291', changed_by: SAM, changed_at: STAMP })),
    );
    expect(flagd(dir).flags.e_prescribing_enabled!.defaultVariant).toBe('off');
    const after = snapshot(dir);
    expect(Object.keys(after).filter((p) => after[p] !== before[p])).toEqual([PROD_CM, PROD]);
  });

  it('with dryRun writes nothing', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true });
    expect([r.applied, r.summary, r.dist?.write.map((w) => w.path)]).toEqual([false, 'production: e_prescribing_enabled on 5% -> off', [PROD_CM]]);
    expect(snapshot(dir)).toEqual(before);
  });

  it('says so and writes nothing when the flag is already off', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    expect(await editFlagState(ws, stateEdit('disable', 'sms_appointment_reminders_enabled', 'production'))).toEqual(alreadySo('production: sms_appointment_reminders_enabled is already off; nothing changed'));
    expect(snapshot(dir)).toEqual(before);
  });

  it('is refused, writing nothing, for an error in the entry it writes (production needs a ticket)', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production', { ticket: undefined }));
    expect(r).toEqual({
      applied: false,
      summary: 'production: e_prescribing_enabled on 5% -> off',
      findings: [{ file: PROD, line: 31, col: 3, severity: 'error', rule: 'ticket-required', message: "flag 'e_prescribing_enabled' needs a 'ticket' in production" }],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
    });
    expect(snapshot(dir)).toEqual(before);
  });

  it('a rollout that lowers is judged as the kill switch: applied while another file has errors, which it names in a note', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, DEV, '    rollout: 50\n', '    rolout: 50\n');
    const text = read(dir, STAGING);
    const devDist = read(dir, 'dist/dev/configmap-feature-flags-config.yaml');
    const r = await editFlagState(ws, stateEdit('rollout', 'insurance_eligibility_checks_enabled', 'staging', { rollout: 25 }));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'staging: insurance_eligibility_checks_enabled on 50% -> on 25%',
      findings: DEV_TYPO,
      files: [STAGING],
      base: BEFORE,
      baseNote: NO_GIT,
      notes: ['tolerated: environments/dev/flags.yaml has errors (lines 42, 44); the kill switch does not depend on them, but flagops check and CI fail until they are fixed'],
      dist: { write: ['dist/staging/configmap-feature-flags-config.yaml'], remove: [] },
    });
    expect(read(dir, STAGING)).toBe(text.replace(/( {2}insurance_eligibility_checks_enabled:\n)(?:.*\n){6}/, `$1    enabled: true\n    rollout: 25\n    reason: Planned\n    ticket: TICKET-1\n    changed_by: ${SAM}\n    changed_at: ${STAMP}\n    approved_by: ${LEAD}\n`));
    expect(read(dir, 'dist/dev/configmap-feature-flags-config.yaml')).toBe(devDist);
  });

  it('a lowering that leaves a warning in its own entry is applied, the warning reported once (flag serving off in production)', async () => {
    const { dir } = await project();
    replaceIn(dir, 'environments/production/environment.ts', '  flagServing: { replicas: 2 },', "  flagServing: { mode: 'none' },");
    const ws = await openWorkspace(dir);
    const r = await editFlagState(ws, stateEdit('rollout', 'telehealth_appointments_enabled', 'production', { rollout: 5 }), { dryRun: true });
    const servingOff = (flag: string, line: number, rollout: number) => ({
      file: PROD,
      line,
      col: 14,
      severity: 'warning',
      rule: 'flag-serving-off',
      message: `flag '${flag}' is at ${rollout}% in production, but flag serving is off there (flagServing.mode: 'none' in environments/production/environment.ts): nothing evaluates flags.flagd.json, and feature_flags.json says true only at 100%, so this rollout does not reach users (it is off for everyone)`,
    });
    expect([r.applied, r.summary, r.findings, r.notes]).toEqual([
      false,
      'production: telehealth_appointments_enabled on 25% -> on 5%',
      [servingOff('telehealth_appointments_enabled', 10, 5), servingOff('e_prescribing_enabled', 33, 5), servingOff('secure_document_upload_enabled', 63, 25), servingOff('billing_export_v2_enabled', 86, 50)],
      [],
    ]);
  });

  it('a raise, or a rollout that leaves the exposure as it is (off at 50% to 0%), is no lowering: another file\'s errors block it', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, DEV, '    rollout: 50\n', '    rolout: 50\n');
    const before = snapshot(dir);
    const raise = await editFlagState(ws, stateEdit('rollout', 'e_prescribing_enabled', 'production', { rollout: 25 }));
    expect(whole(raise)).toEqual(refusedBefore('production: e_prescribing_enabled on 5% -> on 25%', DEV_TYPO));
    const same = await editFlagState(ws, stateEdit('rollout', 'sms_appointment_reminders_enabled', 'production', { rollout: 0 }));
    expect(whole(same)).toEqual(refusedBefore('production: sms_appointment_reminders_enabled off -> off', DEV_TYPO));
    expect(snapshot(dir)).toEqual(before);
  });

  it('with another entry of its own file broken, rewrites only its flag in the committed ConfigMap, and says why in notes', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    rollout: 5\n', '    rolout: 5\n');
    replaceIn(dir, CATALOG, 'Patients can book and join telehealth video appointments.', 'Telehealth video visits.');
    const cm = flagd(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'telehealth_appointments_enabled', 'production', { approvedBy: undefined }));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'production: telehealth_appointments_enabled on 25% -> off',
      findings: [
        { file: PROD, line: 30, col: 3, severity: 'error', rule: 'missing-field', message: "missing required field 'rollout' in flag 'e_prescribing_enabled'" },
        { file: PROD, line: 32, col: 5, severity: 'error', rule: 'unknown-field', message: "unknown field 'rolout' in flag 'e_prescribing_enabled' (did you mean 'rollout'?); allowed: enabled, rollout, reason, ticket, changed_by, changed_at, approved_by" },
      ],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
      notes: [
        'tolerated: environments/production/flags.yaml has errors outside the entry of telehealth_appointments_enabled (lines 30, 32); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
        "dist/production: only telehealth_appointments_enabled's data in the flag ConfigMap was rewritten; the full synthesis waits until environments/production/flags.yaml has no errors (flagops synth)",
      ],
      dist: { write: [PROD_CM], remove: [] },
    });
    const after = flagd(dir);
    expect(after.flags.e_prescribing_enabled).toEqual(cm.flags.e_prescribing_enabled);
    // the flag's definition comes from the catalog as it is now (its description changed), its state from the entry written
    const { targeting, ...kept } = cm.flags.telehealth_appointments_enabled!;
    expect(targeting).toEqual({ fractional: [['on', 25], ['off', 75]] });
    expect(after.flags.telehealth_appointments_enabled).toEqual({
      ...kept,
      defaultVariant: 'off',
      metadata: { description: 'Telehealth video visits.', owner: 'team-scheduling', type: 'release', expires: '2027-01-31', enabled: false, rollout: 25, reason: 'Planned', ticket: 'TICKET-1', changedBy: SAM, changedAt: STAMP },
    });
  });
});

describe('editFlagState: the kill switch with problems around it', () => {
  it('names both broken files in its note, and says when its own catalog entry cannot be read', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    rollout: 5\n', '    rolout: 5\n');
    replaceIn(dir, CATALOG, '    description: Patients can book', '    descripton: Patients can book');
    const cm = flagd(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'telehealth_appointments_enabled', 'production', { approvedBy: undefined }));
    expect(r.applied).toBe(true);
    expect(r.notes).toEqual([
      'tolerated: environments/catalog.yaml has errors (lines 8, 9); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      'tolerated: environments/production/flags.yaml has errors outside the entry of telehealth_appointments_enabled (lines 30, 32); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      "dist/production: only telehealth_appointments_enabled's data in the flag ConfigMap was rewritten; the full synthesis waits until environments/catalog.yaml and environments/production/flags.yaml have no errors (flagops synth)",
      "the catalog entry of telehealth_appointments_enabled cannot be read (environments/catalog.yaml:8:3: missing required field 'description' in flag 'telehealth_appointments_enabled' [missing-field]), so dist/ keeps the flag's committed description, owner, type and expiry",
    ]);
    const { targeting: _, ...kept } = cm.flags.telehealth_appointments_enabled!;
    expect(flagd(dir).flags.telehealth_appointments_enabled).toEqual({
      ...kept,
      defaultVariant: 'off',
      metadata: { ...kept.metadata, approvedBy: undefined, enabled: false, reason: 'Planned', ticket: 'TICKET-1', changedBy: SAM, changedAt: STAMP },
    });
  });

  it('lists the first 8 lines of a file with errors, in order, then "..."', async () => {
    const { dir, ws } = await project();
    const dev = read(dir, DEV);
    const cut = dev.indexOf('  secure_document_upload_enabled:');
    write(dir, DEV, dev.slice(0, cut) + dev.slice(cut).replaceAll('    rollout: 100\n', '    rolout: 100\n'));
    replaceIn(dir, DEV, '    changed_at: 2026-08-10T14:05:00Z', '    changed_at: 2027-08-10T14:05:00Z'); // in the future: found after the typos below it
    for (const flag of ['telehealth_appointments_enabled', 'appointment_waitlist_enabled', 'sms_appointment_reminders_enabled', 'e_prescribing_enabled']) {
      setFlag(dir, 'production', flag, { enabled: 'maybe' });
    }
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'staging'), { dryRun: true });
    expect(r.notes).toEqual([
      'tolerated: environments/dev/flags.yaml has errors (lines 13, 56, 58, 63, 65, 70, 72, 77, ...); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      'tolerated: environments/production/flags.yaml has errors (lines 9, 17, 25, 32); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
    ]);
  });

  it('waits for the files with errors only, not for one with a warning', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, CATALOG, BILL_PAY_EXPIRES, '    expires: 2026-06-30\n');
    replaceIn(dir, PROD, '    rollout: 5\n', '    rolout: 5\n');
    const r = await editFlagState(ws, stateEdit('disable', 'telehealth_appointments_enabled', 'production', { approvedBy: undefined }), { dryRun: true });
    expect(r.notes).toEqual([
      'tolerated: environments/production/flags.yaml has errors outside the entry of telehealth_appointments_enabled (lines 30, 32); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      "dist/production: only telehealth_appointments_enabled's data in the flag ConfigMap was rewritten; the full synthesis waits until environments/production/flags.yaml has no errors (flagops synth)",
    ]);
  });

  it('lists exactly 8 lines without "...", and one line as "line"', async () => {
    const { dir, ws } = await project();
    for (const flag of ['telehealth_appointments_enabled', 'appointment_waitlist_enabled', 'sms_appointment_reminders_enabled', 'lab_results_auto_release_enabled', 'ai_visit_summaries_enabled', 'patient_portal_messaging_enabled', 'secure_document_upload_enabled', 'insurance_eligibility_checks_enabled']) {
      setFlag(dir, 'production', flag, { enabled: 'maybe' });
    }
    replaceIn(dir, DEV, '    changed_at: 2026-08-10T14:05:00Z', '    changed_at: 2027-08-10T14:05:00Z');
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'staging'), { dryRun: true });
    expect(r.notes).toEqual([
      'tolerated: environments/dev/flags.yaml has errors (line 13); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      'tolerated: environments/production/flags.yaml has errors (lines 9, 17, 25, 40, 47, 54, 62, 70); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
    ]);
  });

  it('names the files in order, and a file whose errors have no line without lines', async () => {
    const { dir, ws } = await project();
    unlinkSync(join(dir, STAGING));
    replaceIn(dir, PROD, '    rollout: 0\n    reason: Waiting for the staging experiment results', '    rolout: 0\n    reason: Waiting for the staging experiment results');
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true });
    expect(r.notes).toEqual([
      'tolerated: environments/production/flags.yaml has errors outside the entry of e_prescribing_enabled (lines 16, 18); the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      'tolerated: environments/staging/flags.yaml has errors; the kill switch does not depend on them, but flagops check and CI fail until they are fixed',
      "dist/production: only e_prescribing_enabled's data in the flag ConfigMap was rewritten; the full synthesis waits until environments/production/flags.yaml has no errors (flagops synth)",
    ]);
  });

  it('a warning elsewhere is reported but is no tolerated error', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, CATALOG, BILL_PAY_EXPIRES, '    expires: 2026-06-30\n');
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true });
    expect(r.findings.map((f) => [f.file, f.severity, f.rule])).toEqual([[CATALOG, 'warning', 'flag-expired']]);
    expect(r.notes).toEqual([]);
  });

  it('is refused, with the findings of its entry only, when its own entry cannot be trusted (an anchor)', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    approved_by: lead@pms.example.com   # required in production, must differ from changed_by\n', '    approved_by: &lead lead@pms.example.com\n');
    replaceIn(dir, PROD, '    rollout: 5\n', '    rollout: *lead\n');
    const before = snapshot(dir);
    expect(await editFlagState(ws, stateEdit('disable', 'telehealth_appointments_enabled', 'production'))).toEqual(cannotEdit('production: telehealth_appointments_enabled cannot be edited: its entry in environments/production/flags.yaml has errors', [{ file: PROD, line: 15, col: 18, severity: 'error', rule: 'yaml-anchor', message: "anchor '&lead': write out every value (anchors and aliases let an edit of one entry change another)" }]));
    expect(snapshot(dir)).toEqual(before);
  });

  it('is refused when where its entry ends is uncertain (a second entry of the flag)', async () => {
    const { dir, ws } = await project();
    write(dir, PROD, `${read(dir, PROD)}${TELEHEALTH_PROD}\n`);
    const before = snapshot(dir);
    expect(await editFlagState(ws, stateEdit('disable', 'telehealth_appointments_enabled', 'production'))).toEqual({
      applied: false,
      summary: 'production: telehealth_appointments_enabled cannot be edited: where its entry ends in environments/production/flags.yaml is uncertain',
      findings: [
        {
          file: PROD,
          line: 123,
          col: 3,
          severity: 'error',
          rule: 'kill-switch-entry',
          message: "'telehealth_appointments_enabled' has 2 entries (lines 8, 123): keep one, delete the others; the kill switch writes only lines it can tell belong to its entry, so it waits for that fix",
        },
      ],
      files: [PROD],
      base: 'none',
    });
    expect(snapshot(dir)).toEqual(before);
  });

  it('writes an entry that fails the schema whole (a field missing), judged by what it says', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    reason: Gradual rollout - Phase 1 (5% of prescribers)\n', '');
    const text = read(dir, PROD);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'));
    expect([r.applied, r.summary, r.findings]).toEqual([true, 'production: e_prescribing_enabled on 5% -> off', []]);
    expect(read(dir, PROD)).toBe(
      text.replace(
        PRESCRIBING_PROD.replace('    reason: Gradual rollout - Phase 1 (5% of prescribers)\n', ''),
        entry('e_prescribing_enabled', { enabled: false, rollout: 5, ticket: 'TICKET-1', changed_by: SAM, changed_at: STAMP, approved_by: LEAD, reason: 'Planned' }),
      ),
    );
  });

  it('writes back the rollout it can read of an entry that fails the schema, as a plain number', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    rollout: 5\n    reason: Gradual rollout - Phase 1 (5% of prescribers)\n', '    rollout: 5.0\n');
    const text = read(dir, PROD);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'));
    expect([r.applied, r.findings]).toEqual([true, []]);
    expect(read(dir, PROD)).toBe(
      text.replace(
        entry('e_prescribing_enabled', { enabled: true, rollout: '5.0', ticket: 'TICKET-12501', changed_by: SAM, changed_at: '2026-11-18T15:00:00Z', approved_by: LEAD }),
        entry('e_prescribing_enabled', { enabled: false, rollout: 5, ticket: 'TICKET-1', changed_by: SAM, changed_at: STAMP, approved_by: LEAD, reason: 'Planned' }),
      ),
    );
  });

  it('keeps a rollout it cannot read in an entry that fails the schema, and is refused by it', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    rollout: 5\n', '    rollout: five\n');
    const before = snapshot(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'));
    expect(whole(r)).toEqual({
      applied: false,
      summary: 'production: e_prescribing_enabled on 0% -> off',
      findings: [{ file: PROD, line: 33, col: 14, severity: 'error', rule: 'wrong-type', message: "flag 'e_prescribing_enabled' field 'rollout' must be an integer, got string \"five\"" }],
      files: [PROD],
      base: BEFORE,
      baseNote: NO_GIT,
    });
    expect(snapshot(dir)).toEqual(before);
  });

  it('an entry that fails the schema but says enabled: false is already off; one whose enabled is not false is turned off', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, PROD, '    reason: Waiting for the staging experiment results\n', '');
    replaceIn(dir, PROD, '    enabled: true\n    rollout: 5\n', '    enabled: "yes"\n    rollout: 5\n');
    const before = snapshot(dir);
    expect(await editFlagState(ws, stateEdit('disable', 'appointment_waitlist_enabled', 'production'))).toEqual(alreadySo('production: appointment_waitlist_enabled is already off; nothing changed'));
    expect(snapshot(dir)).toEqual(before);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true });
    expect([r.applied, r.noop, r.summary, r.findings]).toEqual([
      false,
      undefined,
      'production: e_prescribing_enabled off -> off',
      [{ file: PROD, line: 16, col: 3, severity: 'error', rule: 'missing-field', message: "missing required field 'reason' in flag 'appointment_waitlist_enabled'" }],
    ]);
  });
});

describe('the base an edit is judged against', () => {
  it("is origin/main's merge base when the clone has one, with no note, for a raise and for the kill switch", async () => {
    const { dir, ws } = await project({ git: true });
    pushToNewOrigin(dir);
    const head = git(dir, 'rev-parse', 'HEAD').trim().slice(0, 12);
    const raise = await editFlagState(ws, stateEdit('rollout', 'e_prescribing_enabled', 'production', { rollout: 25 }), { dryRun: true });
    expect([raise.summary, raise.findings, raise.base, raise.baseNote]).toEqual(['production: e_prescribing_enabled on 5% -> on 25%', [], `origin/main, merge base ${head}`, undefined]);
    const kill = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true });
    expect([kill.summary, kill.findings, kill.base, kill.baseNote]).toEqual(['production: e_prescribing_enabled on 5% -> off', [], `origin/main, merge base ${head}`, undefined]);
  });

  it('is HEAD without origin/main, and says CI will judge against origin/main', async () => {
    const { dir, ws } = await project({ git: true });
    const head = git(dir, 'rev-parse', 'HEAD').trim().slice(0, 12);
    const note = `no origin/main in this clone, so the change has no base: run \`git fetch origin main:refs/remotes/origin/main\` (GitHub Actions: actions/checkout with \`fetch-depth: 0\`), or pass --base REF; this edit is judged against HEAD ${head}, and CI will judge the pull request against origin/main`;
    const raise = await editFlagState(ws, stateEdit('rollout', 'e_prescribing_enabled', 'production', { rollout: 25 }), { dryRun: true });
    expect([raise.base, raise.baseNote]).toEqual([`HEAD ${head}`, note]);
    const kill = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production', { ticket: undefined }), { dryRun: true });
    expect([kill.applied, kill.findings.map((f) => f.rule), kill.base, kill.baseNote]).toEqual([false, ['ticket-required'], `HEAD ${head}`, note]);
  });

  it("judges the kill switch's entry against the base's entry, not the working tree's", async () => {
    // GIVEN an uncommitted raise to 50%, stamped at the very time of the kill switch
    const { dir, ws } = await project({ git: true });
    setFlag(dir, 'production', 'telehealth_appointments_enabled', { rollout: 50, changed_at: STAMP, changed_by: SAM, reason: 'Phase 3' });
    // WHEN it is kill-switched / THEN changed_at is newer than on the base (the committed 25%), so it is applied
    const r = await editFlagState(ws, stateEdit('disable', 'telehealth_appointments_enabled', 'production'), { dryRun: true });
    expect([r.summary, r.findings]).toEqual(['production: telehealth_appointments_enabled on 50% -> off', []]);
  });

  it("refuses a kill switch whose changed_at is not newer than the base's entry (a clock behind the base)", async () => {
    const { dir, ws } = await project({ git: true });
    setFlag(dir, 'production', 'e_prescribing_enabled', { changed_at: '2026-11-23T12:30:00Z', reason: 'Phase 1 again' });
    commitAll(dir, 'a later stamp', { date: '2026-11-23T12:30:00Z' });
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production'), { dryRun: true });
    expect([r.applied, r.findings.map((f) => `${f.line}:${f.rule}`)]).toEqual([false, ['37:audit-not-updated']]);
  });

  it("judges the kill switch with the environment's settings on the base (a ticket required there is required here)", async () => {
    const { dir } = await project({ git: true });
    replaceIn(dir, 'environments/production/environment.ts', '  requireTicket: true,\n', '  requireTicket: false,\n');
    const ws = await openWorkspace(dir);
    const r = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'production', { ticket: undefined }), { dryRun: true });
    expect([r.applied, r.findings.map((f) => `${f.line}:${f.rule}`)]).toEqual([false, ['31:ticket-required']]);
  });

  it('judges the kill switch without a base entry where the base has no such entry, or no such file (an environment the change adds)', async () => {
    const { dir } = await project({ git: true });
    cpSync(join(dir, 'environments/dev'), join(dir, 'environments/qa'), { recursive: true });
    replaceIn(dir, 'environments/qa/flags.yaml', 'environment: dev\n', 'environment: qa\n');
    replaceIn(dir, 'environments/qa/environment.ts', "namespace: 'pms-dev'", "namespace: 'pms-qa'");
    setFlag(dir, 'qa', 'secure_document_upload_enabled', { enabled: false }); // its prerequisite is absent in qa on the base
    const ws = await openWorkspace(dir);
    const qa = await editFlagState(ws, stateEdit('disable', 'e_prescribing_enabled', 'qa'), { dryRun: true });
    expect([qa.summary, qa.findings.map((f) => f.rule), qa.notes]).toEqual(['qa: e_prescribing_enabled on 100% -> off', [], []]);
    expect(qa.dist!.write).toContainEqual({ path: 'dist/qa/configmap-feature-flags-config.yaml', text: expect.any(String), added: true });
    // a flag added since the base, on in dev
    const add = await addFlag(ws, { flag: 'referral_tracking_enabled', description: 'Track referrals.', owner: 'team-clinical', type: 'ops', reason: 'New', ticket: 'TICKET-2', by: SAM, at: new Date('2026-11-23T11:00:00Z') });
    expect(add.applied).toBe(true);
    setFlag(dir, 'dev', 'referral_tracking_enabled', { enabled: true, rollout: 5 });
    const dev = await editFlagState(ws, stateEdit('disable', 'referral_tracking_enabled', 'dev'), { dryRun: true });
    expect([dev.summary, dev.findings.map((f) => f.rule), dev.notes]).toEqual(['dev: referral_tracking_enabled on 5% -> off', [], []]);
  });
});

const newFlag = (extra: Partial<AddFlag> = {}): AddFlag => ({
  flag: 'referral_tracking_enabled',
  description: 'Track referrals to specialists.',
  owner: 'team-clinical',
  type: 'release',
  expires: '2027-06-30',
  reason: 'Declared for the referrals project',
  ticket: 'TICKET-13001',
  by: SAM,
  at: new Date('2026-11-23T23:59:59.999Z'),
  ...extra,
});

describe('addFlag', () => {
  it('declares the flag at the end of the catalog and off at the end of every flag file, created on the day of the change', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await addFlag(ws, newFlag({ requires: ['telehealth_appointments_enabled', 'e_prescribing_enabled'] }));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'added referral_tracking_enabled: off in dev, staging, production',
      findings: [],
      files: [CATALOG, DEV, STAGING, PROD],
      base: BEFORE,
      baseNote: NO_GIT,
      dist: { write: ['dist/dev/configmap-feature-flags-config.yaml', 'dist/staging/configmap-feature-flags-config.yaml', PROD_CM, 'dist/openfeature/flags.json'], remove: [] },
    });
    expect(read(dir, CATALOG)).toBe(
      `${before[CATALOG]}  referral_tracking_enabled:\n    description: Track referrals to specialists.\n    owner: team-clinical\n    type: release\n    created: 2026-11-23\n    expires: 2027-06-30\n    requires: [telehealth_appointments_enabled, e_prescribing_enabled]\n`,
    );
    for (const file of [DEV, STAGING, PROD]) {
      expect(read(dir, file)).toBe(`${before[file]}${entry('referral_tracking_enabled', { enabled: false, rollout: 0, reason: 'Declared for the referrals project', ticket: 'TICKET-13001', changed_by: SAM, changed_at: '2026-11-23T23:59:59Z' })}\n`);
    }
  });

  it('writes no requires for an empty list, and no expires or ticket when none is given', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await addFlag(ws, newFlag({ type: 'ops', expires: undefined, ticket: undefined, requires: [] }), { dryRun: true });
    expect(r.applied).toBe(false);
    expect(r.findings.map((f) => `${f.file}:${f.rule}`)).toEqual([`${STAGING}:ticket-required`, `${PROD}:ticket-required`]);
    expect(snapshot(dir)).toEqual(before);
    const ops = await addFlag(ws, newFlag({ type: 'ops', expires: undefined, requires: [] }));
    expect(ops.applied).toBe(true);
    expect(read(dir, CATALOG)).toBe(`${before[CATALOG]}  referral_tracking_enabled:\n    description: Track referrals to specialists.\n    owner: team-clinical\n    type: ops\n    created: 2026-11-23\n`);
  });

  it('refuses a name that is no flag name, in the flag or in requires, before anything is read', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const rule = 'is not a flag name: snake_case, ending in _enabled, at most 63 characters (for example referral_tracking_enabled)';
    await usageError(addFlag(ws, newFlag({ flag: 'ReferralTracking' })), `flag "ReferralTracking" ${rule}`);
    await usageError(addFlag(ws, newFlag({ requires: ['telehealth_appointments_enabled', '*alias'] })), `--requires "*alias" ${rule}`);
    const long = `${'a'.repeat(55)}_enabled`;
    await usageError(addFlag(ws, newFlag({ flag: `a${long}` })), `flag "a${long}" ${rule}`);
    expect(snapshot(dir)).toEqual(before);
    const dry = await addFlag(ws, newFlag({ flag: long }), { dryRun: true });
    expect([dry.applied, dry.summary, dry.findings]).toEqual([false, `added ${long}: off in dev, staging, production`, []]);
    expect(snapshot(dir)).toEqual(before);
  });

  it('is refused, writing nothing, when a synthesized manifest breaks a policy (a ConfigMap over 1 MiB)', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    const r = await addFlag(ws, newFlag({ description: 'x'.repeat(1_100_000) }));
    expect([r.applied, r.dist, [...new Set(r.findings.map((f) => `${f.severity}:${f.rule}`))]]).toEqual([false, undefined, ['error:configmap-size']]);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a flag the catalog has, and says which file does not exist', async () => {
    const { dir, ws } = await project();
    await usageError(addFlag(ws, newFlag({ flag: 'telehealth_appointments_enabled' })), "flag 'telehealth_appointments_enabled' is already in environments/catalog.yaml");
    unlinkSync(join(dir, STAGING));
    await usageError(addFlag(ws, newFlag()), 'environments/staging/flags.yaml does not exist');
    unlinkSync(join(dir, CATALOG));
    await usageError(addFlag(ws, newFlag()), 'environments/catalog.yaml does not exist');
  });
});

/** GIVEN the sample on main (returned: its commit), then a commit raising e_prescribing 5% -> 25% and telehealth 25% -> 50%, kill-switching patient portal messaging, and adding two flags. */
async function afterARelease(): Promise<{ dir: string; ws: Workspace; before: string }> {
  const { dir, ws } = await project({ git: true });
  const before = git(dir, 'rev-parse', 'HEAD').trim();
  const who = { changed_by: SAM, ticket: 'TICKET-13500', reason: 'Release train', changed_at: '2026-11-23T10:50:00Z' };
  setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, ...who });
  setFlag(dir, 'production', 'telehealth_appointments_enabled', { rollout: 50, ...who });
  setFlag(dir, 'production', 'patient_portal_messaging_enabled', { enabled: false, approved_by: undefined, ...who });
  expect((await addFlag(ws, newFlag({ at: new Date('2026-11-23T10:50:00Z') }))).applied).toBe(true);
  expect((await addFlag(ws, newFlag({ flag: 'visit_notes_export_enabled', at: new Date('2026-11-23T10:50:00Z') }))).applied).toBe(true);
  commitAll(dir, 'release train', { date: '2026-11-23T11:00:00Z' });
  return { dir, ws, before };
}

const restore = (to: string, extra: Partial<RestoreFlags> = {}): RestoreFlags => ({ environment: 'production', to, reason: 'Restore (INC-2300)', ticket: 'INC-2300', by: SAM, approvedBy: LEAD, at: AT, ...extra });

describe('restoreFlags', () => {
  it('sets the flags named back to their state at a commit, with fresh audit fields, as one change', async () => {
    const { dir, ws, before } = await afterARelease();
    const head = git(dir, 'rev-parse', 'HEAD').trim().slice(0, 12);
    const text = read(dir, PROD);
    const notes: string[] = [];
    const r = await restoreFlags(ws, restore(before, { flags: ['e_prescribing_enabled', 'telehealth_appointments_enabled'] }), { onNote: (n) => notes.push(n) });
    expect(notes).toEqual([]);
    expect(whole(r)).toEqual({
      applied: true,
      summary: `production: 2 flags back to their state at ${before} (${before.slice(0, 12)})`,
      details: ['e_prescribing_enabled: on 25% -> on 5%', 'telehealth_appointments_enabled: on 50% -> on 25%'],
      findings: [
        {
          file: PROD,
          line: 61,
          col: 14,
          severity: 'warning',
          rule: 'prerequisite',
          message: "flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled', which is off in production; it must be on 100% there first",
        },
      ],
      files: [PROD],
      base: `HEAD ${head}`,
      baseNote: expect.stringContaining('no origin/main in this clone'),
      dist: { write: [PROD_CM], remove: [] },
    });
    const audit = { reason: 'Restore (INC-2300)', ticket: 'INC-2300', changed_by: SAM, changed_at: STAMP, approved_by: LEAD };
    const release = { reason: 'Release train', ticket: 'TICKET-13500', changed_by: SAM, changed_at: '2026-11-23T10:50:00Z', approved_by: LEAD };
    expect(read(dir, PROD)).toBe(
      text
        .replace(entry('e_prescribing_enabled', { enabled: true, rollout: 25, ...release }), entry('e_prescribing_enabled', { enabled: true, rollout: 5, ...audit }))
        .replace(
          TELEHEALTH_PROD.replace('rollout: 25 ', 'rollout: 50 ').replace('Gradual rollout - Phase 2 (25% of users)', 'Release train').replace('TICKET-12345    ', 'TICKET-13500    ').replace('admin@pms.example.com', SAM).replace('2026-11-16T10:30:00Z', '2026-11-23T10:50:00Z'),
          TELEHEALTH_PROD.replace('Gradual rollout - Phase 2 (25% of users)', 'Restore (INC-2300)').replace('TICKET-12345    ', 'INC-2300        ').replace('admin@pms.example.com', SAM).replace('2026-11-16T10:30:00Z', STAMP),
        ),
    );
  });

  it('one flag back is said in the singular; a restore that changes nothing says so', async () => {
    const { dir, ws, before } = await afterARelease();
    const r = await restoreFlags(ws, restore(before, { flags: ['e_prescribing_enabled'] }), { dryRun: true });
    expect([r.summary, r.details]).toEqual([`production: 1 flag back to its state at ${before} (${before.slice(0, 12)})`, ['e_prescribing_enabled: on 25% -> on 5%']]);
    expect((await restoreFlags(ws, restore(before), { dryRun: true })).details).toHaveLength(3); // one flag left as it is, and no onNote to tell
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    expect(await restoreFlags(ws, restore('HEAD'))).toEqual(alreadySo(`production: every flag restored is already in its state at HEAD (${head.slice(0, 12)}); nothing changed`));
  });

  it('restores the whole environment by default, leaving flags added since as they are (a note), judged like any change', async () => {
    const { dir, ws, before } = await afterARelease();
    const snap = snapshot(dir);
    const notes: string[] = [];
    const r = await restoreFlags(ws, restore(before), { onNote: (n) => notes.push(n) });
    expect(notes).toEqual([`left as they are (no entry in environments/production/flags.yaml at ${before}): referral_tracking_enabled, visit_notes_export_enabled`]);
    expect([r.applied, r.details, r.findings.map((f) => f.rule)]).toEqual([
      false,
      ['telehealth_appointments_enabled: on 50% -> on 25%', 'e_prescribing_enabled: on 25% -> on 5%', 'patient_portal_messaging_enabled: off -> on 100%'],
      ['rollout-one-step'],
    ]);
    expect(snapshot(dir)).toEqual(snap);
  });

  it('is a usage error outside git, for a ref that is no commit, an unknown flag, and a flag or file it cannot restore from', async () => {
    await usageError(restoreFlags((await project()).ws, restore('HEAD')), 'flagops restore reads the flags at a git ref, and this project is not in a git repository with a commit');
    const { dir, ws, before } = await afterARelease();
    const short = before.slice(0, 12);
    await usageError(restoreFlags(ws, restore('no-such-tag')), "--to 'no-such-tag' is not a commit in this repository: name a branch, a tag or a commit SHA (`git log --oneline -- environments/production/flags.yaml` lists the changes; fetch it first if it is on the server)");
    git(dir, 'tag', 'release', before);
    git(dir, 'branch', 'release', 'HEAD');
    const tip = git(dir, 'rev-parse', 'HEAD').trim().slice(0, 12);
    await usageError(
      restoreFlags(ws, restore('release')),
      `--to release is ambiguous: git finds refs/tags/release (${short}) and refs/heads/release (${tip}); pass the full ref you mean: --to refs/tags/release or --to refs/heads/release`,
    );
    await usageError(restoreFlags(ws, restore(before, { environment: 'prod' })), "unknown environment 'prod' (did you mean 'production'?); known: dev, staging, production");
    await usageError(restoreFlags(ws, restore(before, { flags: ['nope_enabled'] })), "unknown flag 'nope_enabled': it is not in environments/catalog.yaml");
    await usageError(
      restoreFlags(ws, restore(before, { flags: ['referral_tracking_enabled'] })),
      `flag 'referral_tracking_enabled' has no valid entry in environments/production/flags.yaml at ${before} (${short}), so it cannot be restored from there`,
    );
    // a ref where the file has errors
    write(dir, PROD, `${read(dir, PROD)}  stray: [\n`);
    const broken = commitAll(dir, 'broken', { date: '2026-11-23T11:10:00Z' });
    await usageError(restoreFlags(ws, restore(broken)), `environments/production/flags.yaml cannot be read at ${broken} (${broken.slice(0, 12)}): it is missing there or has errors, so there is nothing to restore from`);
    // the file as it is has errors, or the flag's entry is invalid
    await usageError(restoreFlags(ws, restore(before)), 'environments/production/flags.yaml has errors; run flagops check and fix them before restoring');
    git(dir, 'checkout', '-q', 'HEAD~1', '--', PROD);
    replaceIn(dir, PROD, '    rollout: 50                   # percent', '    rollout: half                 # percent');
    await usageError(restoreFlags(ws, restore(before)), "flag 'telehealth_appointments_enabled' is invalid in environments/production/flags.yaml; run flagops check and fix it before restoring");
  });
});

const removal = (flag: string, extra: Partial<RemoveFlag> = {}): RemoveFlag => ({ flag, reason: 'Retired', ticket: 'TICKET-14001', by: SAM, at: AT, ...extra });
const refused = (flag: string, why: string): EditOutcome => ({ applied: false, refused: why, summary: `${flag} was not removed`, findings: [], files: [], base: 'none' });

describe('removeFlag', () => {
  it('retires a flag off everywhere from the catalog and every flag file, leaving every other byte', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    expect((await addFlag(ws, newFlag({ at: new Date('2026-11-23T10:00:00Z') }))).applied).toBe(true);
    const r = await removeFlag(ws, removal('referral_tracking_enabled'));
    expect(whole(r)).toEqual({
      applied: true,
      summary: 'removed referral_tracking_enabled from the catalog and dev, staging, production (it was off everywhere)',
      findings: [],
      files: [CATALOG, DEV, STAGING, PROD],
      base: BEFORE,
      baseNote: NO_GIT,
      dist: { write: ['dist/dev/configmap-feature-flags-config.yaml', 'dist/staging/configmap-feature-flags-config.yaml', PROD_CM, 'dist/openfeature/flags.json'], remove: [] },
    });
    expect(snapshot(dir)).toEqual(before);
  });

  it('changes only the files that have an entry of the flag', async () => {
    const { dir, ws } = await project();
    const entryInDev = /( {2}maintenance_mode_enabled:\n)(?: {4}.*\n)+/;
    write(dir, DEV, read(dir, DEV).replace(entryInDev, ''));
    const r = await removeFlag(ws, removal('maintenance_mode_enabled'), { dryRun: true });
    expect([r.summary, r.files, r.findings]).toEqual(['removed maintenance_mode_enabled from the catalog and dev, staging, production (it was off everywhere)', [CATALOG, STAGING, PROD], []]);
  });

  it('refuses a flag on for some users, on 100% without keepCodePath, off with it, or required by others', async () => {
    const { dir, ws } = await project();
    const before = snapshot(dir);
    expect(await removeFlag(ws, removal('ai_visit_summaries_enabled'))).toEqual(
      refused('ai_visit_summaries_enabled', 'ai_visit_summaries_enabled is on for some users (dev: on 50%, staging: off, production: off): removing it would switch them. Turn it off everywhere (flagops disable), or take it to 100% everywhere (flagops advance) and remove it from the code, first'),
    );
    expect(await removeFlag(ws, removal('online_bill_pay_enabled'))).toEqual(
      refused('online_bill_pay_enabled', 'online_bill_pay_enabled is on 100% everywhere: without it in the ConfigMap the backend falls back to its default (off) for everyone. Remove the flag from the code first so it always takes the on path, then pass --keep-code-path'),
    );
    expect(await removeFlag(ws, removal('maintenance_mode_enabled', { keepCodePath: true }))).toEqual(
      refused('maintenance_mode_enabled', 'maintenance_mode_enabled is off everywhere (dev: off, staging: off, production: off): without the flag the code keeps its off path; --keep-code-path is for a flag on 100% everywhere whose code always takes the on path'),
    );
    expect(await removeFlag(ws, removal('patient_portal_messaging_enabled', { keepCodePath: true }))).toEqual(
      refused('patient_portal_messaging_enabled', 'secure_document_upload_enabled requires patient_portal_messaging_enabled: take it out of their `requires` in environments/catalog.yaml first'),
    );
    replaceIn(dir, CATALOG, '    type: ops\n    created: 2026-03-09\n', '    type: ops\n    created: 2026-03-09\n    requires: [patient_portal_messaging_enabled]\n');
    expect(await removeFlag(ws, removal('patient_portal_messaging_enabled', { keepCodePath: true }))).toEqual(
      refused('patient_portal_messaging_enabled', 'secure_document_upload_enabled, read_replica_reporting_enabled require patient_portal_messaging_enabled: take it out of their `requires` in environments/catalog.yaml first'),
    );
    expect(snapshot(dir)).toEqual({ ...before, [CATALOG]: read(dir, CATALOG) });
  });

  it('refuses a flag on 100% in some environments only, with keepCodePath or without, before any code is read', async () => {
    const { ws } = await project();
    const why = 'telehealth_appointments_enabled is on for some users (dev: on 100%, staging: on 100%, production: on 25%): removing it would switch them. Turn it off everywhere (flagops disable), or take it to 100% everywhere (flagops advance) and remove it from the code, first';
    expect(await removeFlag(ws, removal('telehealth_appointments_enabled'))).toEqual(refused('telehealth_appointments_enabled', why));
    expect(await removeFlag(ws, removal('telehealth_appointments_enabled', { keepCodePath: true }))).toEqual(refused('telehealth_appointments_enabled', why));
  });

  it('a flag that names itself in requires is not its own dependant, and another entry failing the schema is no dependant', async () => {
    const { dir, ws } = await project();
    replaceIn(dir, CATALOG, '    created: 2026-01-12\n  read_replica', '    created: 2026-01-12\n    requires: [maintenance_mode_enabled]\n  read_replica');
    replaceIn(dir, CATALOG, '    description: Patients can book', '    descripton: Patients can book');
    const r = await removeFlag(ws, removal('maintenance_mode_enabled'), { dryRun: true });
    expect([r.refused, r.summary, [...new Set(r.findings.map((f) => `${f.file}:${f.rule}`))]]).toEqual([
      undefined,
      'removed maintenance_mode_enabled from the catalog and dev, staging, production (it was off everywhere)',
      [`${CATALOG}:missing-field`, `${CATALOG}:unknown-field`],
    ]);
  });

  it('is a usage error for an unknown flag, and for a flag whose entry is invalid somewhere', async () => {
    const { dir, ws } = await project();
    await usageError(removeFlag(ws, removal('nope_enabled')), "unknown flag 'nope_enabled': it is not in environments/catalog.yaml");
    replaceIn(dir, STAGING, '    rollout: 0\n    reason: Declared off', '    rollout: zero\n    reason: Declared off');
    await usageError(removeFlag(ws, removal('maintenance_mode_enabled')), "flag 'maintenance_mode_enabled' is invalid in environments/staging/flags.yaml; run flagops check and fix it first");
  });

  it('with keepCodePath, retires a flag on 100% everywhere that the code no longer reads, or with a note when no code is configured', async () => {
    const { dir, ws } = await project();
    cpSync(join(REPO_ROOT, SAMPLE_BACKEND), join(dir, SAMPLE_BACKEND), { recursive: true });
    const r = await removeFlag(ws, removal('online_bill_pay_enabled', { keepCodePath: true }), { dryRun: true });
    expect([r.summary, r.findings]).toEqual(['removed online_bill_pay_enabled from the catalog and dev, staging, production (it was on 100% everywhere; the code keeps the on path)', []]);
    replaceIn(dir, 'environments/project.ts', `sourceFolders: ['${SAMPLE_BACKEND}'],`, 'sourceFolders: [],');
    const notes: string[] = [];
    const unchecked = await removeFlag(await openWorkspace(dir), removal('online_bill_pay_enabled', { keepCodePath: true }), { dryRun: true, onNote: (n) => notes.push(n) });
    expect(unchecked.summary).toBe(r.summary);
    expect((await removeFlag(await openWorkspace(dir), removal('online_bill_pay_enabled', { keepCodePath: true }), { dryRun: true })).summary).toBe(r.summary);
    expect(notes).toEqual([
      "the code was not checked for online_bill_pay_enabled, as no source folders are set: make sure no code reads it (to have it checked, set sourceFolders in environments/project.ts to the backend's checkout (for example ['../pms-backend']), or set FLAGOPS_SOURCE, or pass --src DIR)",
    ]);
  });

  it('with keepCodePath, refuses while the code still reads the flag, listing every place, and says when the code is missing', async () => {
    const { dir, ws } = await project();
    await usageError(
      removeFlag(ws, removal('audit_log_streaming_enabled', { keepCodePath: true })),
      `--keep-code-path needs the code to check that it no longer reads audit_log_streaming_enabled: sourceFolders (environments/project.ts) folder '${SAMPLE_BACKEND}' does not exist (${dir}/${SAMPLE_BACKEND}): clone the backend's repository there, or set FLAGOPS_SOURCE to where it is checked out (or pass --src DIR)`,
    );
    cpSync(join(REPO_ROOT, SAMPLE_BACKEND), join(dir, SAMPLE_BACKEND), { recursive: true });
    const why = (n: string) =>
      `--keep-code-path says the code no longer reads audit_log_streaming_enabled, but flagops refs finds it in ${n} in ${SAMPLE_BACKEND}: without the flag that code falls back to its default (off) for everyone. Remove it from the code first (always take the on path), then run flagops remove audit_log_streaming_enabled --keep-code-path again`;
    const place = `${SAMPLE_BACKEND}/app/ops/maintenance.py:17:27: details = await flags.audit_log_streaming_enabled_details_async(ctx)`;
    expect(await removeFlag(ws, removal('audit_log_streaming_enabled', { keepCodePath: true }))).toEqual({ ...refused('audit_log_streaming_enabled', why('1 place')), details: [place] });
    mkdirSync(join(dir, 'worker'));
    write(dir, 'worker/again.py', 'def again(flags):\n    return flags.audit_log_streaming_enabled()\n');
    replaceIn(dir, 'environments/project.ts', `sourceFolders: ['${SAMPLE_BACKEND}'],`, `sourceFolders: ['${SAMPLE_BACKEND}', 'worker'],`);
    expect(await removeFlag(await openWorkspace(dir), removal('audit_log_streaming_enabled', { keepCodePath: true }))).toEqual({
      ...refused('audit_log_streaming_enabled', why('2 places').replace(`in ${SAMPLE_BACKEND}:`, `in ${SAMPLE_BACKEND}, worker:`)),
      details: [place, 'worker/again.py:2:18: return flags.audit_log_streaming_enabled()'],
    });
  });
});

/** The findings of the sample's dev file with `rollout: 50` of ai_visit_summaries_enabled misspelt `rolout`. */
const DEV_TYPO = [
  { file: DEV, line: 42, col: 3, severity: 'error', rule: 'missing-field', message: "missing required field 'rollout' in flag 'ai_visit_summaries_enabled'" },
  { file: DEV, line: 44, col: 5, severity: 'error', rule: 'unknown-field', message: "unknown field 'rolout' in flag 'ai_visit_summaries_enabled' (did you mean 'rollout'?); allowed: enabled, rollout, reason, ticket, changed_by, changed_at, approved_by" },
];
