import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDist, evaluate } from '../lib/rollout/drill.ts';
import { groupedNotes } from '../common/text/notes.ts';
import { generateProject } from '../bench/generate.ts';
import { flagops, read, REPO_ROOT, replaceIn, tempProject } from './helpers.ts';

const snapshot = (dir: string): Map<string, string> => {
  const files = new Map<string, string>();
  for (const sub of ['environments/production', 'dist/production']) {
    for (const name of readdirSync(join(dir, sub))) files.set(`${sub}/${name}`, read(dir, `${sub}/${name}`));
  }
  return files;
};

describe('flagops drill on the sample project', () => {
  it('rolls back every flag that is on in production cleanly, and leaves the project untouched', async () => {
    // GIVEN the sample project
    const dir = tempProject();
    const before = snapshot(dir);
    // WHEN drilling production
    const r = await flagops(dir, 'drill', '--env', 'production');
    // THEN each of the 9 flags that are on passes: allowed, one object changed, off for all keys
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('flagops drill: production: 9 flags on; each kill switch pulled on a scratch copy of the project');
    expect(r.stdout).toMatch(/^FLAG\s+BEFORE\s+ROLLBACK ALLOWED\s+OBJECTS CHANGED\s+OFF FOR ALL\s+PROVIDER SAW IT\s+TIME\s+RESULT$/m);
    expect(r.stdout).toMatch(/^telehealth_appointments_enabled\s+on 25%\s+yes\s+1\s+yes \(1000 keys\)\s+\d+\.\d s\s+\d+\.\d s\s+ok$/m);
    // ... and the OpenFeature flagd provider, on the ConfigMap laid out as the kubelet mounts it, saw every kill switch
    expect(r.stdout).toMatch(/^provider: the OpenFeature flagd provider .* saw each kill switch within \d+\.\d s of the swap/m);
    expect(r.stdout.split('\n').filter((l) => / ok$/.test(l))).toHaveLength(9);
    expect(r.stdout).toContain('flagops drill: production: 9 of 9 flags roll back cleanly');
    // ... the dependant left on is a note, not a failure
    expect(r.stdout).toContain("patient_portal_messaging_enabled: flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled'");
    // ... and nothing in the project changed
    expect(snapshot(dir)).toEqual(before);
  });

  it('drills every environment by default', async () => {
    const r = await flagops(tempProject(), 'drill', '--keys', '50', '--no-propagation');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/flagops drill: dev: (\d+) of \1 flags roll back cleanly/);
    expect(r.stdout).toMatch(/flagops drill: staging: (\d+) of \1 flags roll back cleanly/);
    expect(r.stdout).toContain('flagops drill: production: 9 of 9 flags roll back cleanly');
    // AND in dev, the 12 promotion-order notes that differ only in the flag and its rollout are one, naming every flag
    const dev = r.stdout.slice(r.stdout.indexOf('flagops drill: dev:'), r.stdout.indexOf('flagops drill: staging:'));
    const notes = dev.slice(dev.indexOf('notes (the kill switch is still allowed):\n')).split('\n').slice(1).filter((l) => l.startsWith('  '));
    expect(notes).toEqual([
      "  12 flags: flag '<flag>' is on <N%> in staging while dev has it off; it must be on 100% in dev first [promotion-order]:",
      '    telehealth_appointments_enabled (100%), appointment_waitlist_enabled (25%),',
      '    sms_appointment_reminders_enabled (100%), e_prescribing_enabled (100%), patient_portal_messaging_enabled (100%),',
      '    secure_document_upload_enabled (100%), insurance_eligibility_checks_enabled (50%), online_bill_pay_enabled (100%),',
      '    billing_export_v2_enabled (100%), read_replica_reporting_enabled (100%), audit_log_streaming_enabled (100%),',
      '    break_glass_chart_access_enabled (100%)',
      "  patient_portal_messaging_enabled: flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled', which is off in dev; it must be on 100% there first [prerequisite]",
    ]);
  });

  it('keeps every note of every flag in JSON', async () => {
    const r = await flagops(tempProject(), 'drill', '--env', 'dev', '--flag', 'telehealth_appointments_enabled', 'appointment_waitlist_enabled', '--keys', '10', '--no-propagation', '--json');
    const result = JSON.parse(r.stdout) as { flags: { flag: string; findings: { rule: string; message: string }[] }[] };
    expect(result.flags.map((f) => [f.flag, f.findings.map((x) => `${x.rule}: ${x.message}`)])).toEqual([
      ['telehealth_appointments_enabled', ["promotion-order: flag 'telehealth_appointments_enabled' is on 100% in staging while dev has it off; it must be on 100% in dev first"]],
      ['appointment_waitlist_enabled', ["promotion-order: flag 'appointment_waitlist_enabled' is on 25% in staging while dev has it off; it must be on 100% in dev first"]],
    ]);
  });

  it('reports every flag as JSON, with the flagd evaluation before and after', async () => {
    const r = await flagops(tempProject(), 'drill', '--env', 'production', '--flag', 'telehealth_appointments_enabled', '--json', '--keys', '2000');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.ok).toBe(true);
    const [flag] = result.flags;
    expect(flag).toMatchObject({ flag: 'telehealth_appointments_enabled', before: 'on 25%', allowed: true, unexpected: [], problems: [] });
    expect(flag.objectsChanged).toEqual(['dist/production/configmap-feature-flags-config.yaml']);
    expect(flag.evaluationAfter).toEqual({ keys: 2000, on: 0, errors: 0 });
    // the 25% rollout really was on for about a quarter of the keys before
    expect(flag.evaluationBefore.on / 2000).toBeGreaterThan(0.2);
    expect(flag.evaluationBefore.on / 2000).toBeLessThan(0.3);
  });
});

describe('flagops drill on a sharded flag set', () => {
  it("rolls a flag back changing only its shard and feature_flags.json, and the provider on that shard sees it", async () => {
    // GIVEN a generated project of 600 flags (past one ConfigMap, so sharded), synthesized
    const dir = mkdtempSync(join(tmpdir(), 'flagops-drill-600-'));
    generateProject(dir, 600, REPO_ROOT);
    expect((await flagops(dir, 'synth')).code).toBe(0);
    const on = [...read(dir, 'environments/dev/flags.yaml').matchAll(/^ {2}(\w+):\n {4}enabled: true\n {4}rollout: 100$/gm)].map((m) => m[1]!);
    // WHEN drilling one flag that is on at 100% in dev
    const r = await flagops(dir, 'drill', '--env', 'dev', '--flag', on[0]!, '--json', '--keys', '200');
    // THEN it passes, having changed feature-flags-config and the one shard holding the flag
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [flag] = JSON.parse(r.stdout).flags;
    expect(flag.objectsChanged).toHaveLength(2);
    expect(flag.objectsChanged[0]).toBe('dist/dev/configmap-feature-flags-config.yaml');
    expect(flag.objectsChanged[1]).toMatch(/^dist\/dev\/configmap-feature-flags-shard-\d+-of-\d+\.yaml$/);
    expect(flag).toMatchObject({ unexpected: [], problems: [], evaluationBefore: { keys: 200, on: 200, errors: 0 }, evaluationAfter: { keys: 200, on: 0, errors: 0 } });
    expect(flag.propagation).toMatchObject({ onAfter: 0, errorsAfter: 0, keys: 200 });
  }, 120_000);
});

describe('flagops drill refuses to start from a broken project', () => {
  it('fails when the committed dist/ is not a fresh synth', async () => {
    // GIVEN a hand edit in dist/
    const dir = tempProject();
    replaceIn(dir, 'dist/production/configmap-feature-flags-config.yaml', 'name: feature-flags-config', 'name: feature-flags-config-edited');
    const r = await flagops(dir, 'drill', '--env', 'production');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('flagops drill: production skipped (the drill starts from its committed dist/, as its flag files synthesize it); fix these first:');
    expect(r.stderr).toContain('dist/production/configmap-feature-flags-config.yaml differs from a fresh synth');
  });

  it('fails when a flag file has errors', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/production/flags.yaml', 'rollout: 25                   # percent', 'rolout: 25                   # percent');
    const r = await flagops(dir, 'drill', '--env', 'production');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/environments\/production\/flags\.yaml:\d+:\d+: error: .*rolout/);
  });

  it('rejects --flag naming a flag that is off', async () => {
    const r = await flagops(tempProject(), 'drill', '--env', 'production', '--flag', 'sms_appointment_reminders_enabled');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flag 'sms_appointment_reminders_enabled' is not on in production");
  });
});

describe('compareDist', () => {
  const CM = 'dist/production/configmap-feature-flags-config.yaml';
  const FLAG = 'a_enabled';
  const configMap = (a: boolean, b: boolean, setMetadata: Record<string, string> = { flagSetId: 'pms-production' }) => ({
    kind: 'ConfigMap',
    metadata: { name: 'feature-flags-config' },
    data: {
      'feature_flags.json': JSON.stringify({ production: { a_enabled: a, b_enabled: b } }),
      'flags.flagd.json': JSON.stringify({ metadata: setMetadata, flags: { a_enabled: { defaultVariant: a ? 'on' : 'off' }, b_enabled: { defaultVariant: b ? 'on' : 'off' } } }),
    },
  });
  const other = (replicas: number) => ({ kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas } });

  it("allows the flag's own entries and nothing else", () => {
    const before = new Map<string, object>([[CM, configMap(true, true)], ['dist/production/deployment-x.yaml', other(1)]]);
    const after = new Map<string, object>([[CM, configMap(false, true)], ['dist/production/deployment-x.yaml', other(1)]]);
    expect(compareDist(before, after, CM, 'production', FLAG)).toEqual({ changed: [CM], unexpected: [] });
  });

  it('names a change of the whole flag set, such as a version every change would rewrite', () => {
    const before = new Map<string, object>([[CM, configMap(true, true)]]);
    const after = new Map<string, object>([[CM, configMap(false, true, { flagSetId: 'pms-production', version: 'v2' })]]);
    expect(compareDist(before, after, CM, 'production', FLAG).unexpected).toEqual([`${CM}: data.flags.flagd.json (metadata.version)`]);
  });

  it("names another flag's entry", () => {
    const before = new Map<string, object>([[CM, configMap(true, true)]]);
    const after = new Map<string, object>([[CM, configMap(false, false)]]);
    expect(compareDist(before, after, CM, 'production', FLAG).unexpected).toEqual([
      `${CM}: data.feature_flags.json (production.b_enabled)`,
      `${CM}: data.flags.flagd.json (flags.b_enabled)`,
    ]);
  });

  it('names another object, another field of the ConfigMap, and files that appear or disappear', () => {
    const cm = configMap(true, true);
    const before = new Map<string, object>([[CM, cm], ['dist/production/deployment-x.yaml', other(1)], ['dist/staging/gone.yaml', other(1)]]);
    const after = new Map<string, object>([
      [CM, { ...cm, metadata: { ...cm.metadata, labels: { extra: 'yes' } } }],
      ['dist/production/deployment-x.yaml', other(2)],
      ['dist/production/new.yaml', other(1)],
    ]);
    expect(compareDist(before, after, CM, 'production', FLAG).unexpected).toEqual([
      `${CM}: metadata.labels`,
      'dist/production/deployment-x.yaml: spec.replicas',
      'dist/production/new.yaml was added',
      'dist/staging/gone.yaml was removed',
    ]);
  });
});

describe('groupedNotes', () => {
  const note = (subject: string, message: string, rule = 'promotion-order') => ({ subject, message, rule });

  it('prints a note alone as it is, and groups notes that differ only in their flag and its percentages', () => {
    expect(groupedNotes([note('a_enabled', "flag 'a_enabled' is on 5% in staging")])).toEqual(["  a_enabled: flag 'a_enabled' is on 5% in staging [promotion-order]"]);
    expect(
      groupedNotes([
        note('a_enabled', "flag 'a_enabled' is on 5% in staging; it must be on 100% in dev"),
        note('b_enabled', "flag 'b_enabled' is on 25% in staging; it must be on 100% in dev"),
        note('c_enabled', "flag 'c_enabled' requires 'b_enabled'", 'prerequisite'),
      ]),
    ).toEqual([
      "  2 flags: flag '<flag>' is on <N%> in staging; it must be on 100% in dev [promotion-order]:",
      '    a_enabled (5%), b_enabled (25%)',
      "  c_enabled: flag 'c_enabled' requires 'b_enabled' [prerequisite]",
    ]);
  });

  it('never groups notes of different rules, or naming different other flags, and a flag name inside another is not its own', () => {
    const lines = groupedNotes([
      note('sms_enabled', "flag 'x_enabled' requires 'sms_enabled'", 'prerequisite'),
      note('old_sms_enabled', "flag 'y_enabled' requires 'old_sms_enabled'", 'prerequisite'),
      note('z_enabled', "flag 'z_enabled' is on 5% in staging"),
      note('w_enabled', "flag 'w_enabled' is on 5% in staging"),
    ]);
    expect(lines).toEqual([
      "  sms_enabled: flag 'x_enabled' requires 'sms_enabled' [prerequisite]",
      "  old_sms_enabled: flag 'y_enabled' requires 'old_sms_enabled' [prerequisite]",
      "  2 flags: flag '<flag>' is on 5% in staging [promotion-order]:",
      '    z_enabled, w_enabled',
    ]);
  });
});

describe('evaluate', () => {
  it("counts a flag that falls back to the caller's default as still on, never as off", () => {
    // GIVEN a flag set where the flag is DISABLED (flagd then returns the caller's default)
    const set = JSON.stringify({ flags: { a_enabled: { state: 'DISABLED', variants: { on: true, off: false }, defaultVariant: 'off' } } });
    // THEN neither that nor a missing flag counts as off
    expect(evaluate(set, 'a_enabled', 10)).toEqual({ keys: 10, on: 10, errors: 0 });
    expect(evaluate(set, 'missing_enabled', 10)).toEqual({ keys: 10, on: 0, errors: 10 });
    expect(evaluate('{not json', 'a_enabled', 10)).toEqual({ keys: 10, on: 0, errors: 10 });
  });
});
