/**
 * `flagops restore` (git is the backup: a restore is a reviewed change) and `flagops remove` (a
 * flag retired as a reviewed change), with real git, round-tripping through `flagops check`.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../lib/review/audit.ts';
import type { Review } from '../lib/review/review.ts';
import { flagops, flagopsWith, git, initRepository, read, REPO_ROOT, SAMPLE_BACKEND, tempProject, write, type CliResult } from './helpers.ts';
import { commitAll, setFlag } from './flag-history.ts';

const PROD = 'environments/production/flags.yaml';
const AUDIT = ['--ticket', 'INC-2300', '--by', 'oncall@pms.example.com'];
const errorsOf = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));

/** The sample project with the sample backend at its configured source folder (environments/project.ts), committed on main. */
function withBackend(): string {
  const dir = tempProject();
  cpSync(join(REPO_ROOT, BACKEND), join(dir, BACKEND), { recursive: true });
  initRepository(dir);
  return dir;
}
const BACKEND = SAMPLE_BACKEND;

/** GIVEN the sample on main (A), then a commit at 11:00 raising e_prescribing 5% -> 25% and telehealth 25% -> 50%, and kill-switching patient portal messaging in production. */
function afterARelease(): { dir: string; before: string } {
  const dir = tempProject({ git: true });
  const before = git(dir, 'rev-parse', 'HEAD').trim();
  const who = { changed_by: 'sam.lee@pms.example.com', ticket: 'TICKET-13500', reason: 'Release train', changed_at: '2026-11-23T10:50:00Z' };
  setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, ...who });
  setFlag(dir, 'production', 'telehealth_appointments_enabled', { rollout: 50, ...who });
  setFlag(dir, 'production', 'patient_portal_messaging_enabled', { enabled: false, approved_by: undefined, ...who });
  commitAll(dir, 'release train', { date: '2026-11-23T11:00:00Z' });
  return { dir, before };
}

describe('flagops restore', () => {
  it('sets flags back to their state at a commit as one change with fresh audit fields, and round-trips through check and diff', async () => {
    const { dir, before } = afterARelease();
    await flagops(dir, 'synth');
    commitAll(dir, 'synth', { date: '2026-11-23T11:01:00Z' });
    // WHEN the two raised flags are restored to their state before the release
    const r = await flagops(dir, 'restore', '--env', 'production', '--to', before, '--flag', 'e_prescribing_enabled', 'telehealth_appointments_enabled', '--reason', 'Restore the pre-release state (INC-2300)', ...AUDIT, '--approved-by', 'lead@pms.example.com');
    // THEN both go back, flag by flag, with the new audit fields
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`production: 2 flags back to their state at ${before} (${before.slice(0, 12)})`);
    expect(r.stdout).toContain('  e_prescribing_enabled: on 25% -> on 5%');
    expect(r.stdout).toContain('  telehealth_appointments_enabled: on 50% -> on 25%');
    const prod = read(dir, PROD);
    expect(prod).toContain('    rollout: 25                   # percent of users, integer 0..100\n    reason: Restore the pre-release state (INC-2300)\n    ticket: INC-2300              # required in staging and production');
    // AND flagops diff shows it flag by flag, and check passes against main
    const diff = JSON.parse((await flagops(dir, 'diff', '--base', 'main', '--format', 'json')).stdout) as Review;
    expect(diff.flags.map((f) => [f.flag, f.kind, f.before, f.after, f.reason])).toEqual([
      ['telehealth_appointments_enabled', 'lowered', 'on 50%', 'on 25%', 'Restore the pre-release state (INC-2300)'],
      ['e_prescribing_enabled', 'lowered', 'on 25%', 'on 5%', 'Restore the pre-release state (INC-2300)'],
    ]);
    const check = await flagops(dir, 'check', '--base', 'main');
    expect(check.code, check.stdout).toBe(0);
    // AND restoring again changes nothing
    const again = await flagops(dir, 'restore', '--env', 'production', '--to', before, '--flag', 'e_prescribing_enabled', '--reason', 'again', ...AUDIT);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('every flag restored is already in its state at');
  });

  it('judges a raise like any other: a whole-environment restore that would jump a kill switch back to 100% is refused, and writes nothing', async () => {
    const { dir, before } = afterARelease();
    await flagops(dir, 'synth');
    commitAll(dir, 'synth', { date: '2026-11-23T11:01:00Z' });
    const was = read(dir, PROD);
    // WHEN the whole environment is restored (patient portal messaging: off -> on 100%)
    const r = await flagops(dir, 'restore', '--env', 'production', '--to', before, '--reason', 'Back to before the release', ...AUDIT, '--approved-by', 'lead@pms.example.com');
    // THEN one step at a time refuses the raise, and no file changes
    expect(r.code).toBe(1);
    expect(errorsOf(r, 'rollout-one-step')).toEqual([expect.stringContaining("flag 'patient_portal_messaging_enabled' goes from 0% on the base")]);
    expect(r.stdout).toContain('no file was changed');
    expect(read(dir, PROD)).toBe(was);
  });

  it('is a usage error for a --to that is not a commit, an unknown environment or flag, and outside git', async () => {
    const { dir } = afterARelease();
    const bad = await flagops(dir, 'restore', '--env', 'production', '--to', 'no-such-tag', '--reason', 'x', ...AUDIT);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("flagops: error: --to 'no-such-tag' is not a commit in this repository: name a branch, a tag or a commit SHA");
    expect((await flagops(dir, 'restore', '--env', 'qa', '--to', 'HEAD', '--reason', 'x')).code).toBe(2);
    const flag = await flagops(dir, 'restore', '--env', 'production', '--to', 'HEAD~1', '--flag', 'nope_enabled', '--reason', 'x', ...AUDIT);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown flag 'nope_enabled'");
    const plain = await flagops(tempProject(), 'restore', '--env', 'production', '--to', 'HEAD', '--reason', 'x', ...AUDIT);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('not in a git repository');
  });
});

describe('flagops remove', () => {
  it('retires a flag that is off everywhere from the catalog and every environment, keeping every other line, and round-trips through check and audit', async () => {
    // GIVEN a flag added and merged, off everywhere
    const dir = tempProject({ git: true });
    const add = await flagops(dir, 'add', 'visit_notes_export_enabled', '--description', 'Export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag', '--ticket', 'TICKET-14000', '--by', 'sam.lee@pms.example.com');
    expect(add.code, add.stdout).toBe(0);
    commitAll(dir, 'add visit notes export', { date: '2026-11-23T09:00:00Z' });
    const added = git(dir, 'rev-parse', 'HEAD').trim();
    // WHEN it is removed
    const r = await flagops(dir, 'remove', 'visit_notes_export_enabled', '--reason', 'Never shipped', '--ticket', 'TICKET-14001', '--by', 'sam.lee@pms.example.com');
    // THEN every file is back to its text before the add, byte for byte
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('removed visit_notes_export_enabled from the catalog and dev, staging, production (it was off everywhere)');
    expect(r.stdout).toContain('next: commit with the subject "Remove visit_notes_export_enabled: Never shipped (TICKET-14001)"');
    expect(git(dir, 'diff', '--stat', `${added}~1`, '--', 'environments', 'dist')).toBe('');
    // AND check passes against the commit that had it, and diff says removed
    const check = await flagops(dir, 'check', '--base', added);
    expect(check.code, check.stdout).toBe(0);
    const diff = JSON.parse((await flagops(dir, 'diff', '--base', added, '--format', 'json')).stdout) as Review;
    expect(diff.flags.map((f) => [f.environment, f.kind])).toEqual([['dev', 'removed'], ['staging', 'removed'], ['production', 'removed']]);
    // AND once committed, the audit reports the removal with the subject's reason and ticket
    commitAll(dir, 'Remove visit_notes_export_enabled: Never shipped (TICKET-14001)', { date: '2026-11-23T10:00:00Z' });
    const audit = (await flagops(dir, 'audit', '--env', 'production', '--flag', 'visit_notes_export_enabled', '--ref', 'HEAD', '--json')).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);
    expect(audit.at(-1)).toMatchObject({ event_type: 'feature_flag_removed', approval_ticket: 'TICKET-14001', previous_state: false, new_state: null });
  });

  it('retires a flag on 100% everywhere only with --keep-code-path, and a flag off everywhere never with it', async () => {
    // GIVEN the sample backend, where no code reads online_bill_pay_enabled (only a comment names it)
    const dir = withBackend();
    const before = read(dir, 'environments/catalog.yaml');
    const refused = await flagops(dir, 'remove', 'online_bill_pay_enabled', '--reason', 'Done', '--ticket', 'TICKET-9000');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('flagops: refused: online_bill_pay_enabled is on 100% everywhere: without it in the ConfigMap the backend falls back to its default (off) for everyone');
    expect(read(dir, 'environments/catalog.yaml')).toBe(before);
    const kept = await flagops(dir, 'remove', 'online_bill_pay_enabled', '--keep-code-path', '--reason', 'Done', '--ticket', 'TICKET-9000');
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    expect(read(dir, 'environments/catalog.yaml')).not.toContain('online_bill_pay_enabled');
    expect(read(dir, 'environments/catalog.yaml')).toContain('  billing_export_v2_enabled:');
    expect((await flagops(dir, 'check', '--base', 'main')).code).toBe(0);
    // AND a flag off everywhere is refused with --keep-code-path (its code would flip on)
    for (const env of ['dev', 'staging', 'production']) setFlag(dir, env, 'lab_results_auto_release_enabled', { enabled: false, rollout: 0 });
    const off = await flagops(dir, 'remove', 'lab_results_auto_release_enabled', '--keep-code-path', '--reason', 'x', '--ticket', 'TICKET-9001');
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('is off everywhere (dev: off, staging: off, production: off): without the flag the code keeps its off path');
  });

  it('refuses --keep-code-path while the configured code still reads the flag, listing every place, and writes nothing', async () => {
    // GIVEN audit_log_streaming_enabled on 100% everywhere, still read by the sample backend's maintenance.py
    const dir = withBackend();
    const files = ['environments/catalog.yaml', 'environments/production/flags.yaml', 'dist/production/configmap-feature-flags-config.yaml'];
    const before = files.map((f) => read(dir, f));
    // WHEN it is removed with --keep-code-path ("the code no longer reads the flag")
    const r = await flagops(dir, 'remove', 'audit_log_streaming_enabled', '--keep-code-path', '--reason', 'Streaming is always on', '--ticket', 'TICKET-9100');
    // THEN it is refused (exit 1), naming every place that reads it and what to do, and no file changes
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `flagops: refused: --keep-code-path says the code no longer reads audit_log_streaming_enabled, but flagops refs finds it in 1 place in ${BACKEND}: without the flag that code falls back to its default (off) for everyone. Remove it from the code first (always take the on path), then run flagops remove audit_log_streaming_enabled --keep-code-path again; no file was changed`,
    );
    expect(r.stderr).toContain(`  ${BACKEND}/app/ops/maintenance.py:17:`);
    expect(r.stderr).toContain('details = await flags.audit_log_streaming_enabled_details_async(ctx)');
    expect(files.map((f) => read(dir, f))).toEqual(before);
    // AND once the code no longer reads it, the same command retires it
    write(dir, `${BACKEND}/app/ops/maintenance.py`, read(dir, `${BACKEND}/app/ops/maintenance.py`).replace('flags.audit_log_streaming_enabled_details_async(ctx)', 'always_streaming()'));
    const done = await flagops(dir, 'remove', 'audit_log_streaming_enabled', '--keep-code-path', '--reason', 'Streaming is always on', '--ticket', 'TICKET-9100');
    expect(done.code, done.stdout + done.stderr).toBe(0);
  });

  it('says so when no source folders are configured, and refuses --keep-code-path when a configured one is missing', async () => {
    // GIVEN the sample without its backend (the configured folder does not exist)
    const missing = tempProject({ git: true });
    const r = await flagops(missing, 'remove', 'online_bill_pay_enabled', '--keep-code-path', '--reason', 'Done', '--ticket', 'TICKET-9000');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`flagops: error: --keep-code-path needs the code to check that it no longer reads online_bill_pay_enabled: sourceFolders (environments/project.ts) folder '${BACKEND}' does not exist`);
    expect(r.stderr).toContain("clone the backend's repository there, or set FLAGOPS_SOURCE to where it is checked out (or pass --src DIR)");
    // AND with no source folders configured, it goes ahead with a note saying the code was not checked
    write(missing, 'environments/project.ts', read(missing, 'environments/project.ts').replace(`sourceFolders: ['${BACKEND}'],`, 'sourceFolders: [],'));
    const unchecked = await flagops(missing, 'remove', 'online_bill_pay_enabled', '--keep-code-path', '--reason', 'Done', '--ticket', 'TICKET-9000');
    expect(unchecked.code, unchecked.stdout + unchecked.stderr).toBe(0);
    expect(unchecked.stderr).toContain(
      "flagops: note: the code was not checked for online_bill_pay_enabled, as no source folders are set: make sure no code reads it (to have it checked, set sourceFolders in environments/project.ts to the backend's checkout (for example ['../pms-backend']), or set FLAGOPS_SOURCE, or pass --src DIR)",
    );
  });

  it("checks --keep-code-path in the backend's checkout named by FLAGOPS_SOURCE or --src, over sourceFolders", async () => {
    // GIVEN sourceFolders naming a checkout where no code reads audit_log_streaming_enabled any more,
    // and another checkout, the real one, that still reads it
    const dir = withBackend();
    const stillReads = mkdtempSync(join(tmpdir(), 'flagops-real-backend-'));
    cpSync(join(dir, BACKEND), stillReads, { recursive: true });
    write(dir, `${BACKEND}/app/ops/maintenance.py`, read(dir, `${BACKEND}/app/ops/maintenance.py`).replace('flags.audit_log_streaming_enabled_details_async(ctx)', 'always_streaming()'));
    git(dir, 'commit', '-qam', 'the stand-in no longer reads it');
    const remove = ['remove', 'audit_log_streaming_enabled', '--keep-code-path', '--reason', 'Streaming is always on', '--ticket', 'TICKET-9100', '--dry-run'];
    // WHEN FLAGOPS_SOURCE names the real checkout / THEN the removal is refused, naming its code
    const byVariable = await flagopsWith(dir, remove, { FLAGOPS_SOURCE: stillReads });
    expect(byVariable.code, byVariable.stdout + byVariable.stderr).toBe(1);
    expect(byVariable.stderr).toContain('but flagops refs finds it in 1 place in ');
    expect(byVariable.stderr).toContain('/app/ops/maintenance.py:17:27: details = await flags.audit_log_streaming_enabled_details_async(ctx)');
    // WHEN --src names it instead / THEN the same
    expect((await flagops(dir, ...remove, '--src', stillReads)).code).toBe(1);
    // WHEN --src names the clean stand-in while FLAGOPS_SOURCE names the real one / THEN --src wins and the removal goes ahead
    const bySrc = await flagopsWith(dir, [...remove, '--src', join(dir, BACKEND)], { FLAGOPS_SOURCE: stillReads });
    expect(bySrc.code, bySrc.stdout + bySrc.stderr).toBe(0);
    // AND FLAGOPS_SOURCE naming a folder that does not exist is a usage error saying what to do
    const wrong = await flagopsWith(dir, remove, { FLAGOPS_SOURCE: join(stillReads, 'nope') });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("FLAGOPS_SOURCE folder '");
    expect(wrong.stderr).toContain("set FLAGOPS_SOURCE to the backend's checkout, or unset it to use sourceFolders in environments/project.ts");
  });

  it('refuses a flag on for some users, or required by another flag, and an unknown flag is a usage error', async () => {
    const dir = tempProject();
    const partial = await flagops(dir, 'remove', 'ai_visit_summaries_enabled', '--reason', 'x');
    expect(partial.code).toBe(1);
    expect(partial.stderr).toContain('flagops: refused: ai_visit_summaries_enabled is on for some users (dev: on 50%, staging: off, production: off)');
    const required = await flagops(dir, 'remove', 'patient_portal_messaging_enabled', '--keep-code-path', '--reason', 'x');
    expect(required.code).toBe(1);
    expect(required.stderr).toContain('flagops: refused: secure_document_upload_enabled requires patient_portal_messaging_enabled: take it out of their `requires`');
    const unknown = await flagops(dir, 'remove', 'nope_enabled', '--reason', 'x');
    expect(unknown.code).toBe(2);
  });

  it('is what flagops stale points to', async () => {
    const r = await flagops(tempProject(), 'stale');
    expect(r.stdout).toContain('remove the flag from the code, then run `flagops remove FLAG` (--keep-code-path for a flag on 100% everywhere)');
  });
});
