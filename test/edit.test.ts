/**
 * The edit commands (enable, rollout, disable, add): comment-preserving, atomic, refused edits
 * change nothing, the kill switch is always allowed, and concurrent edits never lose a change.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compareDist } from '../lib/rollout/drill.ts';
import { BIN, flagops, flagopsProcess, git, NOW, read, replaceIn, tempProject, write } from './helpers.ts';

const PROD = 'environments/production/flags.yaml';
const STAGING = 'environments/staging/flags.yaml';
const AUDIT = ['--by', 'admin@pms.example.com', '--approved-by', 'lead@pms.example.com', '--ticket', 'TICKET-12346'];

/** sha256 of every file under environments/ and dist/, by path. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = `${rel}/${name}`;
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else out[path] = createHash('sha256').update(readFileSync(join(dir, path))).digest('hex');
    }
  };
  walk('environments');
  walk('dist');
  return out;
}

/** The lines of `after` that differ from `before` (same line count assumed). */
function changedLines(before: string, after: string): number[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  return a.flatMap((l, i) => (l === b[i] ? [] : [i + 1]));
}

describe('flagops rollout', () => {
  it("rejects --to values that are not plain whole numbers 0..100 ('' is not 0), and writes nothing", async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    for (const to of ['', ' ', '0x19', '2.5e1', '1e2', '25.0', '+25', '-0', '101', '٢٥', 'Infinity']) {
      const r = await flagops(dir, 'rollout', 'telehealth_appointments_enabled', '--env', 'production', '--to', to, '--reason', 'x', ...AUDIT);
      expect(r.code, `--to ${JSON.stringify(to)}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toContain(`a rollout is a whole number of percent from 0 to 100, written in digits; got ${JSON.stringify(to)}`);
    }
    expect(snapshot(dir)).toEqual(before);
  });

  it('changes only the flag entry it edits, keeping comments and alignment', async () => {
    // GIVEN the sample project
    const dir = tempProject();
    const before = read(dir, PROD);
    // WHEN telehealth goes from 25% to 50% in production
    const r = await flagops(dir, 'rollout', 'telehealth_appointments_enabled', '--env', 'production', '--to', '50', '--reason', 'Gradual rollout - Phase 3 (50% of users)', ...AUDIT);
    // THEN it succeeds and only the five changed lines of that entry differ
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = read(dir, PROD);
    expect(changedLines(before, after)).toEqual([10, 11, 12, 14]);
    expect(after).toContain('    rollout: 50                   # percent of users, integer 0..100\n');
    expect(after).toContain('    ticket: TICKET-12346          # required in staging and production\n');
    expect(after).toContain(`    changed_at: ${NOW}\n`);
    expect(after).toContain('    approved_by: lead@pms.example.com   # required in production, must differ from changed_by\n');
    // AND the ConfigMap is re-synthesized
    expect(JSON.parse(flagdOf(dir)).flags.telehealth_appointments_enabled.targeting).toEqual({ fractional: [['on', 50], ['off', 50]] });
  });

  it('refuses to skip a production step and leaves every file byte-identical', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '100', '--reason', 'all at once', ...AUDIT);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/environments\/production\/flags.yaml:\d+:\d+: error: flag 'e_prescribing_enabled' goes from 5% on the base \(the files before this edit\) to 100% in production; production moves one step per pull request \(next step: 25%\) \[rollout-one-step\]/);
    expect(r.stdout).toContain('no file was changed');
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses to raise a flag in production that staging does not have at 100%', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'enable', 'insurance_eligibility_checks_enabled', '--env', 'production', '--reason', 'go', ...AUDIT);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error: flag 'insurance_eligibility_checks_enabled' is raised to 5% in production while staging has it on 50% on the base.*\[promotion-order\]/);
    expect(r.stdout).not.toMatch(/warning: .*\[promotion-order\]/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses to raise a flag whose prerequisite is not at 100% there', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/staging/flags.yaml', 'rollout: 100\n    reason: Secure messaging accepted', 'rollout: 50\n    reason: Secure messaging accepted');
    const r = await flagops(dir, 'rollout', 'secure_document_upload_enabled', '--env', 'dev', '--to', '100', '--reason', 'x', '--by', 'a@pms.example.com');
    expect(r.code).toBe(0); // already at 100% in dev: nothing to do
    expect(r.stdout).toContain('already on 100%');
    const raised = await flagops(dir, 'disable', 'secure_document_upload_enabled', '--env', 'staging', '--reason', 'reset', '--ticket', 'TICKET-1', '--by', 'a@pms.example.com');
    expect(raised.code, raised.stdout).toBe(0);
    const r2 = await flagops(dir, 'enable', 'secure_document_upload_enabled', '--env', 'staging', '--rollout', '25', '--reason', 'again', '--ticket', 'TICKET-2', '--by', 'a@pms.example.com');
    expect(r2.code).toBe(1);
    expect(r2.stdout).toMatch(/error: flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled', which is on 50% in staging on the base.*\[prerequisite\]/);
  });

  it('refuses a change whose changed_at is not newer than the entry it replaces', async () => {
    const dir = tempProject();
    process.env.FLAGOPS_NOW = '2026-11-01T00:00:00Z';
    try {
      const r = await flagops(dir, 'rollout', 'telehealth_appointments_enabled', '--env', 'production', '--to', '50', '--reason', 'x', ...AUDIT);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('[audit-not-updated]');
    } finally {
      delete process.env.FLAGOPS_NOW;
    }
  });

  it('with --dry-run reports what would change and writes nothing', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'rollout', 'telehealth_appointments_enabled', '--env', 'production', '--to', '50', '--reason', 'x', '--dry-run', ...AUDIT);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would write environments/production/flags.yaml');
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('flagops disable (the kill switch)', () => {
  it('is allowed even when the promotion order is already broken, and needs no approver', async () => {
    // GIVEN staging has telehealth kill-switched, so production (25%) is ahead of staging
    const dir = tempProject();
    const off = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'staging', '--reason', 'Kill switch: video vendor outage', '--ticket', 'INC-2301', '--by', 'oncall@pms.example.com');
    expect(off.code, off.stdout).toBe(0);
    // WHEN production is kill-switched too, without --approved-by
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch: video vendor outage', '--ticket', 'INC-2301', '--by', 'oncall@pms.example.com');
    // THEN it is applied, the flag reads off, and the old approver is not left on the new change
    expect(r.code, r.stdout).toBe(0);
    const text = read(dir, PROD);
    expect(text).toContain('    enabled: false\n    rollout: 25                   # percent of users');
    expect(text).toContain('reason: "Kill switch: video vendor outage"');
    expect(text.split('telehealth_appointments_enabled:')[1]!.split('appointment_waitlist_enabled:')[0]).not.toContain('approved_by');
    expect(JSON.parse(flagdOf(dir)).flags.telehealth_appointments_enabled.defaultVariant).toBe('off');
  });

  it('says so and changes nothing when the flag is already off', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'disable', 'sms_appointment_reminders_enabled', '--env', 'production', '--reason', 'x', '--ticket', 'INC-1', '--by', 'a@pms.example.com');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('already off; nothing changed');
    expect(snapshot(dir)).toEqual(before);
  });

  it('in an incident needs only --reason and an incident id in production (who comes from git config)', () => {
    // GIVEN a clone as the on-call engineer has it
    const dir = tempProject({ git: true });
    git(dir, 'config', 'user.email', 'oncall@pms.example.com');
    // WHEN the kill switch is pulled with the incident id as the ticket
    const r = flagopsProcess(dir, ['disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Video vendor outage', '--ticket', 'INC-2291']);
    // THEN it is applied
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const entry = parse(read(dir, PROD)).flags.telehealth_appointments_enabled;
    expect(entry).toMatchObject({ enabled: false, ticket: 'INC-2291', changed_by: 'oncall@pms.example.com', reason: 'Video vendor outage' });
  });

  it('names the option to pass when it is refused, not only the YAML field', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Video vendor outage', '--by', 'oncall@pms.example.com');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error: flag 'telehealth_appointments_enabled' needs a 'ticket' in production; pass --ticket ID \(a change ticket, or an incident id such as INC-2291\) \[ticket-required\]/);
    expect(snapshot(dir)).toEqual(before);
    const raise = await flagops(dir, 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Phase 2', '--ticket', 'TICKET-1', '--by', 'sam.lee@pms.example.com');
    expect(raise.code).toBe(1);
    expect(raise.stdout).toMatch(/needs 'approved_by' \(a second person\); pass --approved-by EMAIL \[approval-required\]/);
  });
});

function flagdOf(dir: string): string {
  return parse(read(dir, 'dist/production/configmap-feature-flags-config.yaml')).data['flags.flagd.json'];
}

describe('flagops add', () => {
  it('declares the flag in the catalog and off in every environment, keeping every comment', async () => {
    const dir = tempProject();
    const catalogBefore = read(dir, 'environments/catalog.yaml');
    const prodBefore = read(dir, PROD);
    const r = await flagops(dir, 'add', 'referral_tracking_enabled', '--description', 'Track referrals to specialists.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'Declared for the referrals project', '--ticket', 'TICKET-13001', '--by', 'sam.lee@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const catalog = read(dir, 'environments/catalog.yaml');
    expect(catalog.startsWith(catalogBefore.trimEnd())).toBe(true);
    expect(catalog.slice(catalogBefore.trimEnd().length)).toBe(
      '\n  referral_tracking_enabled:\n    description: Track referrals to specialists.\n    owner: team-clinical\n    type: release\n    created: 2026-11-23\n    expires: 2027-06-30\n',
    );
    const prod = read(dir, PROD);
    expect(prod.startsWith(prodBefore.trimEnd())).toBe(true);
    expect(prod).toContain('  referral_tracking_enabled:\n    enabled: false\n    rollout: 0\n    reason: Declared for the referrals project\n    ticket: TICKET-13001\n');
    expect((await flagops(dir, 'check')).code).toBe(0);
  });

  it('is refused without a ticket, because staging and production need one: a usage error naming --ticket', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'add', 'referral_tracking_enabled', '--description', 'x', '--owner', 'team-clinical', '--type', 'ops', '--reason', 'x', '--by', 'a@pms.example.com');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing required option '--ticket <id>' (staging and production need a ticket");
    expect(snapshot(dir)).toEqual(before);
  });

  it('rejects a bad flag name before it reaches any file: one clear error, no stack trace', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    const r = await flagops(dir, 'add', 'ReferralTracking', '--description', 'x', '--owner', 'team-clinical', '--type', 'ops', '--reason', 'x', '--ticket', 'T-1', '--by', 'a@pms.example.com');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('flagops: error: flag "ReferralTracking" is not a flag name: snake_case, ending in _enabled, at most 63 characters (for example referral_tracking_enabled)');
    expect(snapshot(dir)).toEqual(before);
  });

  it('never splices YAML syntax from a name or --requires into the files', async () => {
    const dir = tempProject();
    const before = snapshot(dir);
    for (const args of [
      ['x_enabled:\n    enabled: true\n  evil_enabled'],
      ['referral_enabled', '--requires', 'telehealth_appointments_enabled]\nevil: [x'],
      ['referral_enabled', '--requires', '*alias'],
    ]) {
      const r = await flagops(dir, 'add', ...args, '--description', 'x', '--owner', 'team-clinical', '--type', 'ops', '--reason', 'x', '--ticket', 'TICKET-1', '--by', 'a@pms.example.com');
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(/^flagops: error: (flag|--requires) ".*" is not a flag name/);
    }
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('edit commands as a user runs them', () => {
  it('take changed_by from git config user.email when --by is not given', () => {
    const dir = tempProject({ git: true });
    const r = flagopsProcess(dir, ['rollout', 'appointment_waitlist_enabled', '--env', 'staging', '--to', '50', '--reason', 'More data', '--ticket', 'TICKET-12412']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(read(dir, STAGING)).toContain('changed_by: tester@pms.example.com');
    expect(git(dir, 'status', '--porcelain')).toBe(' M dist/staging/configmap-feature-flags-config.yaml\n M environments/staging/flags.yaml\n');
  });

  it('exit 2 with a message for an unknown flag or environment', async () => {
    const dir = tempProject();
    const a = await flagops(dir, 'disable', 'nope_enabled', '--env', 'production', '--reason', 'x', '--by', 'a@b.co');
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("unknown flag 'nope_enabled'");
    const b = await flagops(dir, 'disable', 'maintenance_mode_enabled', '--env', 'qa', '--reason', 'x', '--by', 'a@b.co');
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("unknown environment 'qa'");
  });

  it('never lose a change when two edits run at the same time', async () => {
    // GIVEN two engineers editing different flags of the same file at the same moment
    const dir = tempProject();
    const run = (args: string[]) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, FLAGOPS_NOW: NOW }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code ?? -1));
      });
    const codes = await Promise.all([
      run(['rollout', 'appointment_waitlist_enabled', '--env', 'staging', '--to', '50', '--reason', 'a', '--ticket', 'T-1', '--by', 'a@pms.example.com']),
      run(['rollout', 'insurance_eligibility_checks_enabled', '--env', 'staging', '--to', '100', '--reason', 'b', '--ticket', 'T-2', '--by', 'b@pms.example.com']),
      run(['disable', 'e_prescribing_enabled', '--env', 'staging', '--reason', 'c', '--ticket', 'T-3', '--by', 'c@pms.example.com']),
    ]);
    // THEN all succeed and every change is in the file and in dist/
    expect(codes).toEqual([0, 0, 0]);
    const text = read(dir, STAGING);
    expect(text).toContain('rollout: 50\n    reason: a\n');
    expect(text).toContain('rollout: 100\n    reason: b\n');
    expect(text).toContain('enabled: false\n    rollout: 100\n    reason: c\n');
    expect((await flagops(dir, 'check')).code).toBe(0);
  });
});

describe('the kill switch with problems elsewhere', () => {
  it('is applied even when another environment has an error, which it reports but does not fix', async () => {
    // GIVEN a typo in dev's flag file
    const dir = tempProject();
    replaceIn(dir, 'environments/dev/flags.yaml', '    rollout: 50\n', '    rolout: 50\n');
    const devBefore = read(dir, 'dist/dev/configmap-feature-flags-config.yaml');
    // WHEN production's telehealth is kill-switched
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch: outage', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    // THEN the kill switch is applied, the dev problem is shown, and dev's dist/ is untouched
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('[unknown-field]');
    expect(r.stdout).toContain('are outside the entry this kill switch writes and do not block it');
    expect(read(dir, PROD)).toContain('    enabled: false\n    rollout: 25 ');
    expect(read(dir, 'dist/dev/configmap-feature-flags-config.yaml')).toBe(devBefore);
    expect(JSON.parse(flagdOf(dir)).flags.telehealth_appointments_enabled.defaultVariant).toBe('off');
  });

  it('still refuses a raise while another file has an error', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/dev/flags.yaml', '    rollout: 50\n', '    rolout: 50\n');
    const before = snapshot(dir);
    const r = await flagops(dir, 'rollout', 'telehealth_appointments_enabled', '--env', 'production', '--to', '50', '--reason', 'x', ...AUDIT);
    expect(r.code).toBe(1);
    expect(snapshot(dir)).toEqual(before);
  });

  it('is applied when another entry of the same file is broken, changing only its own flag in dist/', async () => {
    // GIVEN a typo in e_prescribing_enabled's entry in production (the model would leave that flag out)
    const dir = tempProject();
    replaceIn(dir, PROD, 'rollout: 5\n', 'rolout: 5\n');
    const cmBefore = parse(read(dir, 'dist/production/configmap-feature-flags-config.yaml'));
    // WHEN telehealth is kill-switched in production
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch: outage', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    // THEN it is applied, the typo is reported, and the ConfigMap changes in that flag only
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('[unknown-field]');
    expect(r.stdout).toContain('wrote dist/production/configmap-feature-flags-config.yaml');
    const cmAfter = parse(read(dir, 'dist/production/configmap-feature-flags-config.yaml'));
    expect(compareDist(new Map([['cm', cmBefore]]), new Map([['cm', cmAfter]]), 'cm', 'production', 'telehealth_appointments_enabled').unexpected).toEqual([]);
    const flagd = JSON.parse(cmAfter.data['flags.flagd.json']);
    expect(flagd.flags.telehealth_appointments_enabled).toMatchObject({ defaultVariant: 'off', metadata: { enabled: false, reason: 'Kill switch: outage', ticket: 'INC-1' } });
    expect(flagd.flags.telehealth_appointments_enabled.targeting).toBeUndefined();
    expect(flagd.flags.e_prescribing_enabled).toEqual(JSON.parse(cmBefore.data['flags.flagd.json']).flags.e_prescribing_enabled);
    // AND once the typo is fixed, a full synth agrees with what the kill switch wrote
    replaceIn(dir, PROD, 'rolout: 5\n', 'rollout: 5\n');
    const check = await flagops(dir, 'check');
    expect(check.stdout).not.toContain('[drift]');
  });

  it('is applied when another environment holds hostile YAML (an alias bomb), which it reports', async () => {
    const dir = tempProject();
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    write(dir, 'environments/staging/flags.yaml', `${read(dir, 'environments/staging/flags.yaml')}\n${bomb}\n`);
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch: outage', '--ticket', 'INC-3', '--by', 'oncall@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/environments\/staging\/flags\.yaml:\d+:\d+: error: .*\[yaml-anchor\]/);
    expect(JSON.parse(flagdOf(dir)).flags.telehealth_appointments_enabled.defaultVariant).toBe('off');
  });

  it('is refused, with the findings, when its own file cannot be trusted (an anchor in it)', async () => {
    const dir = tempProject();
    replaceIn(dir, PROD, '    approved_by: lead@pms.example.com   # required in production, must differ from changed_by\n', '    approved_by: &lead lead@pms.example.com\n');
    const before = snapshot(dir);
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'x', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/environments\/production\/flags\.yaml:15:\d+: error: .*\[yaml-anchor\]/);
    expect(r.stdout).toContain('no file was changed');
    expect(snapshot(dir)).toEqual(before);
  });

  it('is applied when the catalog has an error, and reports it', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/catalog.yaml', '    owner: team-platform\n    type: ops\n    created: 2026-03-09\n  audit_log', '    ownr: team-platform\n    type: ops\n    created: 2026-03-09\n  audit_log');
    const r = await flagops(dir, 'disable', 'read_replica_reporting_enabled', '--env', 'production', '--reason', 'Kill switch: replica lag', '--ticket', 'INC-2', '--by', 'oncall@pms.example.com');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('environments/catalog.yaml');
    expect(JSON.parse(flagdOf(dir)).flags.read_replica_reporting_enabled.defaultVariant).toBe('off');
  });

  it('is refused only for a problem in the entry it writes that it cannot fix, naming it', async () => {
    const dir = tempProject();
    replaceIn(dir, PROD, '    rollout: 25                   # percent of users, integer 0..100\n', '    rollout: 25\n    rollot: 3\n');
    const before = snapshot(dir);
    const r = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'x', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/environments\/production\/flags\.yaml:\d+:\d+: error: .*rollot.*\[unknown-field\]/);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('edits of unusual but valid YAML', () => {
  it('replace a block scalar and append after it without touching the next entry', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/dev/flags.yaml', '    reason: Compare provider edits with and without draft summaries\n', '    reason: >-\n      Compare provider edits with\n      and without draft summaries\n');
    const r = await flagops(dir, 'rollout', 'ai_visit_summaries_enabled', '--env', 'dev', '--to', '100', '--reason', 'All test patients', '--ticket', 'TICKET-2', '--by', 'lena.fischer@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(read(dir, 'environments/dev/flags.yaml')).toContain('    rollout: 100\n    reason: All test patients\n    ticket: TICKET-2\n    changed_by: lena.fischer@pms.example.com\n');
    expect((await flagops(dir, 'check')).code).toBe(0);
  });

  it('adds a field after a block scalar that ends the entry, inside that entry', async () => {
    // GIVEN the kill-switched SMS flag's entry ends with a block-scalar reason and has no approver
    const dir = tempProject();
    replaceIn(dir, PROD, '    reason: "Kill switch: carrier retries sent duplicate reminders (INC-2291)"\n    ticket: TICKET-12755\n    changed_by: oncall@pms.example.com\n    changed_at: 2026-11-20T02:14:00Z\n',
      '    ticket: TICKET-12755\n    changed_by: oncall@pms.example.com\n    changed_at: 2026-11-20T02:14:00Z\n    reason: |\n      Kill switch: carrier retries sent\n      duplicate reminders (INC-2291)\n');
    // WHEN it is enabled again with an approver (a field the entry does not have yet)
    const r = await flagops(dir, 'enable', 'sms_appointment_reminders_enabled', '--env', 'production', '--reason', 'Carrier fixed the retries', '--ticket', 'TICKET-12800', '--by', 'dana.okafor@pms.example.com', '--approved-by', 'lead@pms.example.com');
    // THEN the approver lands in that entry, right before the next flag
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(read(dir, PROD)).toContain('    reason: Carrier fixed the retries\n    approved_by: lead@pms.example.com\n  e_prescribing_enabled:\n');
    expect((await flagops(dir, 'check')).code).toBe(0);
  });

  it('keep the column of a trailing comment when a value changes length', async () => {
    const dir = tempProject();
    const r = await flagops(dir, 'rollout', 'telehealth_appointments_enabled', '--env', 'production', '--to', '50', '--reason', 'x', '--by', 'admin@pms.example.com', '--approved-by', 'lead@pms.example.com', '--ticket', 'T-2');
    expect(r.code, r.stdout).toBe(0);
    expect(read(dir, PROD)).toContain('    ticket: T-2                   # required in staging and production\n');
  });

  it('keep CRLF line endings', async () => {
    const dir = tempProject();
    write(dir, 'environments/dev/flags.yaml', read(dir, 'environments/dev/flags.yaml').replace(/\n/g, '\r\n'));
    const r = await flagops(dir, 'enable', 'maintenance_mode_enabled', '--env', 'dev', '--reason', 'Planned maintenance', '--by', 'ops@pms.example.com', '--approved-by', 'lead@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const text = read(dir, 'environments/dev/flags.yaml');
    expect(text.split('\n').slice(0, -1).every((l) => l.endsWith('\r'))).toBe(true);
    expect(text).toContain('approved_by: lead@pms.example.com\r\n');
  });

  it('explain instead of crashing when an entry is written in flow style', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/dev/flags.yaml', "  maintenance_mode_enabled:\n    enabled: false\n    rollout: 0\n    reason: Declared off; turned on only during planned maintenance\n    ticket: TICKET-10002\n    changed_by: ops@pms.example.com\n    changed_at: 2026-01-12T08:00:00Z\n",
      "  maintenance_mode_enabled: {enabled: false, rollout: 0, reason: Declared off, ticket: TICKET-10002, changed_by: ops@pms.example.com, changed_at: 2026-01-12T08:00:00Z}\n");
    const r = await flagops(dir, 'enable', 'maintenance_mode_enabled', '--env', 'dev', '--reason', 'x', '--by', 'ops@pms.example.com');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/environments\/dev\/flags.yaml:\d+:\d+: flags.maintenance_mode_enabled is written in flow style/);
    expect(r.stderr).not.toContain('internal error');
  });
});
