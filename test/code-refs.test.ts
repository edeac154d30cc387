/**
 * `flagops refs` on the sample's stand-in backend (examples/pms-backend): every reference it must find,
 * the typo, the unused flag; the accessor names `openfeature generate` uses; what is skipped and
 * never crashes (binary, large, links and loops, .gitignore, unreadable, special files); output
 * forms and escaping.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toLowerCamel, toScreamingSnake, toSnake } from '../lib/code/accessor-names.ts';
import { flagops, flagopsWith, git, NOW, read, REPO_ROOT, SAMPLE_BACKEND, tempProject, write } from './helpers.ts';
import sampleProject from '../environments/project.ts';
import { UNPRIVILEGED, unprivilegedBin, unprivilegedNode } from './support/unprivileged.ts';

const FIXTURE = join(REPO_ROOT, SAMPLE_BACKEND);

/** The sample project with a copy of the sample backend at backend/ (its sourceFolders pointing there). */
function projectWithBackend(): { dir: string; backend: string } {
  const dir = tempProject();
  const backend = join(dir, 'backend');
  cpSync(FIXTURE, backend, { recursive: true });
  write(dir, 'environments/project.ts', "export default { sourceFolders: ['backend'] };\n");
  return { dir, backend };
}

interface RefsJson {
  folders: string[];
  files: number;
  skipped: Record<string, number>;
  flags: { flag: string; owner: string; references: number; uses: { file: string; line: number; col: number; form: string; written: string; code: string }[] }[];
  unknown: { file: string; line: number; key?: string; suggestion?: string; why: string; written: string }[];
  findings: { file: string; line: number; col: number; severity: string; rule: string; message: string }[];
  summary: { errors: number; warnings: number };
}

const refsJson = async (dir: string, ...args: string[]): Promise<{ code: number; json: RefsJson; stderr: string }> => {
  const r = await flagops(dir, 'refs', '--format', 'json', ...args);
  return { code: r.code, json: JSON.parse(r.stdout) as RefsJson, stderr: r.stderr };
};

/** `flag file:line form` of every reference, in output order. */
const uses = (json: RefsJson): string[] => json.flags.flatMap((f) => f.uses.map((u) => `${f.flag} ${u.file}:${u.line} ${u.form} ${u.written}`));

const P = SAMPLE_BACKEND;
const EXPECTED = [
  `telehealth_appointments_enabled ${P}/app/scheduling/telehealth.py:10 accessor telehealth_appointments_enabled`,
  `telehealth_appointments_enabled ${P}/app/scheduling/telehealth.py:15 constant TELEHEALTH_APPOINTMENTS_ENABLED`,
  `appointment_waitlist_enabled ${P}/app/scheduling/telehealth.py:20 accessor appointment_waitlist_enabled_async`,
  `sms_appointment_reminders_enabled ${P}/app/scheduling/reminders.py:11 string sms_appointment_reminders_enabled`,
  `e_prescribing_enabled ${P}/app/clinical/prescriptions.py:7 accessor e_prescribing_enabled_details`,
  `lab_results_auto_release_enabled ${P}/app/clinical/prescriptions.py:14 string lab_results_auto_release_enabled`,
  `ai_visit_summaries_enabled ${P}/app/clinical/prescriptions.py:18 constant AI_VISIT_SUMMARIES_ENABLED`,
  `patient_portal_messaging_enabled ${P}/web/src/portal/messages.ts:8 accessor patientPortalMessagingEnabled`,
  `patient_portal_messaging_enabled ${P}/web/src/portal/messages.ts:16 constant PATIENT_PORTAL_MESSAGING_ENABLED`,
  `secure_document_upload_enabled ${P}/web/src/portal/messages.ts:12 accessor secureDocumentUploadEnabledDetails`,
  `insurance_eligibility_checks_enabled ${P}/app/billing/claims.py:14 constant INSURANCE_ELIGIBILITY_CHECKS_ENABLED`,
  `insurance_eligibility_checks_enabled ${P}/web/src/billing/statements.ts:8 string insurance_eligibility_checks_enabled`,
  `billing_export_v2_enabled ${P}/app/billing/claims.py:8 accessor billing_export_v_2_enabled`,
  `maintenance_mode_enabled ${P}/app/ops/maintenance.py:9 constant MAINTENANCE_MODE_ENABLED`,
  `read_replica_reporting_enabled ${P}/app/ops/maintenance.py:5 string read_replica_reporting_enabled`,
  `audit_log_streaming_enabled ${P}/app/ops/maintenance.py:17 accessor audit_log_streaming_enabled_details_async`,
  `break_glass_chart_access_enabled ${P}/app/ops/maintenance.py:23 accessor break_glass_chart_access_enabled`,
];

describe('flagops refs on the sample backend', () => {
  it('finds exactly the expected references, in every supported form, the typo and the unused flag', async () => {
    // GIVEN the sample project, whose sourceFolders is the sample backend
    // WHEN searching it
    const { code, json } = await refsJson(REPO_ROOT);
    // THEN every reference is found at its line, in its form, and nothing else
    expect(uses(json)).toEqual(EXPECTED);
    expect(json.flags.find((f) => f.flag === 'telehealth_appointments_enabled')!.references).toBe(2);
    // AND the typo is an error with the key it meant
    expect(json.unknown).toEqual([
      expect.objectContaining({ file: `${P}/app/scheduling/reminders.py`, line: 14, key: 'telehealth_appointment_enabled', suggestion: 'telehealth_appointments_enabled', why: 'evaluation' }),
    ]);
    // AND the one flag no code uses is a warning at its catalog entry naming flagops remove
    expect(json.findings.map((f) => `${f.file}:${f.line} ${f.severity} ${f.rule}`)).toEqual([
      'environments/catalog.yaml:70 warning flag-unreferenced',
      `${P}/app/scheduling/reminders.py:14 error unknown-flag-key`,
    ]);
    expect(json.findings[0]!.message).toContain("flag 'online_bill_pay_enabled'");
    expect(json.findings[0]!.message).toContain('`flagops remove online_bill_pay_enabled`');
    // AND the generated accessor files and the README are not counted as uses
    expect(json.skipped).toMatchObject({ generated: 2, prose: 1 });
    expect(json.files).toBe(15);
    expect(code).toBe(1);
  });

  it('prints each reference with file:line:col and its line, then compiler-style findings and a summary', async () => {
    const r = await flagops(REPO_ROOT, 'refs');
    expect(r.stdout).toContain('flagops refs: searched 15 files in examples/pms-backend; skipped 2 generated accessor files, 1 prose file');
    expect(r.stdout).toMatch(/^online_bill_pay_enabled\s+team-billing\s+0$/m);
    expect(r.stdout).toContain(`  ${P}/app/billing/claims.py:8:14: if flags.billing_export_v_2_enabled(ctx):`);
    expect(r.stdout).toContain(
      `${P}/app/scheduling/reminders.py:14:34: error: 'telehealth_appointment_enabled' is not a flag in environments/catalog.yaml (did you mean 'telehealth_appointments_enabled'?): this evaluation always returns the code default (off) [unknown-flag-key]`,
    );
    expect(r.stdout.trim().split('\n').at(-1)).toBe('flagops refs: 17 references to 14 of 15 flags; 1 flag no code uses; 1 unknown key: 1 error, 1 warning in 2 files');
  });

  it('writes markdown for a pull request: a table per flag, the unknown keys, the flags to remove', async () => {
    const r = await flagops(REPO_ROOT, 'refs', '--format', 'markdown');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('<!-- flagops-refs -->');
    expect(r.stdout).toContain('| `online_bill_pay_enabled` | team-billing | 0 | **none** |');
    expect(r.stdout).toContain(`| \`telehealth_appointments_enabled\` | team-scheduling | 2 | \`${P}/app/scheduling/telehealth.py:10\`, \`${P}/app/scheduling/telehealth.py:15\` |`);
    expect(r.stdout).toContain('#### Keys that are not flags: they always evaluate to off');
    expect(r.stdout).toContain('#### Flags no code uses: candidates for `flagops remove`\n\n- `online_bill_pay_enabled` (team-billing)');
  });

  it('--strict also fails on a flag no code uses; without errors or unused flags the exit code is 0', async () => {
    // GIVEN a backend without the typo and with a use of the unused flag
    const { dir, backend } = projectWithBackend();
    writeFileSync(join(backend, 'app/scheduling/reminders.py'), 'client.get_boolean_value("sms_appointment_reminders_enabled", False)\n');
    expect((await flagops(dir, 'refs')).code).toBe(0);
    expect((await flagops(dir, 'refs', '--strict')).code).toBe(1);
    writeFileSync(join(backend, 'web/src/billing/pay.ts'), "export const KEY = 'online_bill_pay_enabled';\n");
    expect((await flagops(dir, 'refs', '--strict')).code).toBe(0);
  });
});

describe('the accessor names of openfeature generate (strcase v0.3.0, as the OpenFeature CLI uses it)', () => {
  it('matches the CLI golden files: FlagKeys constants, Python snake_case and Node.js camelCase methods', () => {
    // From open-feature/cli internal/cmd/testdata/success_python.golden and success_nodejs.golden
    expect(['discountPercentage', 'enableFeatureA', 'greetingMessage', 'themeCustomization', 'usernameMaxLength'].map(toScreamingSnake)).toEqual([
      'DISCOUNT_PERCENTAGE', 'ENABLE_FEATURE_A', 'GREETING_MESSAGE', 'THEME_CUSTOMIZATION', 'USERNAME_MAX_LENGTH',
    ]);
    expect(['enableFeatureA', 'usernameMaxLength'].map(toSnake)).toEqual(['enable_feature_a', 'username_max_length']);
    expect(['enableFeatureA', 'usernameMaxLength'].map(toLowerCamel)).toEqual(['enableFeatureA', 'usernameMaxLength']);
  });

  it('matches strcase\'s own tests, digits included', () => {
    expect(toSnake('numbers2and55with000')).toBe('numbers_2_and_55_with_000');
    expect(toSnake('JSONData')).toBe('json_data');
    expect(toSnake('AB1AB2AB3')).toBe('ab_1_ab_2_ab_3');
    expect(toScreamingSnake('testCase')).toBe('TEST_CASE');
    expect(toLowerCamel('AnyKind of_string')).toBe('anyKindOfString');
    expect(toLowerCamel('CONSTANT_CASE')).toBe('constantCase');
    expect(toLowerCamel('ID')).toBe('id');
  });

  it('names the flags of this catalog as the generated code does', () => {
    expect(toSnake('billing_export_v2_enabled')).toBe('billing_export_v_2_enabled');
    expect(toScreamingSnake('billing_export_v2_enabled')).toBe('BILLING_EXPORT_V_2_ENABLED');
    expect(toLowerCamel('billing_export_v2_enabled')).toBe('billingExportV2Enabled');
    expect(toLowerCamel('e_prescribing_enabled')).toBe('ePrescribingEnabled');
    expect(toSnake('e_prescribing_enabled')).toBe('e_prescribing_enabled');
  });
});

describe('keys that are not flags', () => {
  it('reports a FlagKeys constant of no flag, a flag-shaped typo outside a call, and leaves unrelated *_enabled strings alone', async () => {
    // GIVEN code with those three
    const { dir, backend } = projectWithBackend();
    writeFileSync(
      join(backend, 'web/src/billing/pay.ts'),
      [
        "const a = FlagKeys.ONLINE_BILL_PAYS_ENABLED;",
        "const b = { key: 'online_bil_pay_enabled' };",
        "const c = row['email_notifications_enabled'];",
        '',
      ].join('\n'),
    );
    // WHEN searching
    const { json } = await refsJson(dir);
    // THEN the first two are unknown keys, the third is nobody's business
    const found = json.unknown.filter((u) => u.file.endsWith('pay.ts')).map((u) => `${u.line} ${u.why} ${u.written} ${u.suggestion ?? '-'}`);
    expect(found).toEqual(['1 flag-keys ONLINE_BILL_PAYS_ENABLED online_bill_pay_enabled', '2 typo online_bil_pay_enabled online_bill_pay_enabled']);
  });

  it('reports every use of a flag the catalog no longer has but generated accessors still define, and the outdated accessors', async () => {
    // GIVEN accessors generated before legacy_scheduler_enabled was removed, and code still using it
    const { dir, backend } = projectWithBackend();
    const gen = join(backend, 'app/openfeature_gen/openfeature.py');
    writeFileSync(
      gen,
      `# AUTOMATICALLY GENERATED BY OPENFEATURE CLI, DO NOT EDIT.\nclass FlagKeys:\n    LEGACY_SCHEDULER_ENABLED = "legacy_scheduler_enabled"  # Flag key for: old\n    TELEHEALTH_APPOINTMENTS_ENABLED = "telehealth_appointments_enabled"\n`,
    );
    writeFileSync(join(backend, 'app/scheduling/legacy.py'), 'if flags.legacy_scheduler_enabled(ctx) or FlagKeys.LEGACY_SCHEDULER_ENABLED:\n    pass\n');
    // WHEN searching
    const { json } = await refsJson(dir);
    // THEN both uses are errors, and the generated file is outdated
    expect(json.unknown.filter((u) => u.file.endsWith('legacy.py')).map((u) => `${u.why} ${u.key} ${u.written}`)).toEqual([
      'removed legacy_scheduler_enabled legacy_scheduler_enabled',
      'removed legacy_scheduler_enabled LEGACY_SCHEDULER_ENABLED',
    ]);
    expect(json.findings.filter((f) => f.rule === 'accessors-outdated').map((f) => `${f.file}:${f.line}:${f.col}`)).toEqual(['backend/app/openfeature_gen/openfeature.py:3:33']);
  });
});

describe('what refs skips, never crashing', () => {
  it('skips binary, oversized, .gitignore\'d, linked and special files, follows no link (loops included), and counts each', async () => {
    // GIVEN the sample backend plus files that each must be skipped, every one naming a flag
    const { dir, backend } = projectWithBackend();
    writeFileSync(join(backend, 'app/logo.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), Buffer.from('"online_bill_pay_enabled"')]));
    writeFileSync(join(backend, 'app/big.py'), `x = "online_bill_pay_enabled"\n${'#'.repeat(1024 * 1024)}\n`);
    mkdirSync(join(backend, 'build'));
    writeFileSync(join(backend, 'build/bundle.js'), 'get("online_bill_pay_enabled")\n');
    writeFileSync(join(backend, 'app/cache.pyc'), 'x = "online_bill_pay_enabled"\n');
    mkdirSync(join(backend, 'web/vendor'));
    writeFileSync(join(backend, 'web/vendor/.gitignore'), '*\n!kept.ts\n');
    writeFileSync(join(backend, 'web/vendor/dropped.ts'), "f('online_bill_pay_enabled')\n");
    writeFileSync(join(backend, 'web/vendor/kept.ts'), "f('maintenance_mode_enabled')\n");
    symlinkSync(backend, join(backend, 'app/loop'));
    symlinkSync(join(backend, 'missing'), join(backend, 'app/dangling.py'));
    symlinkSync(join(backend, 'app/billing/claims.py'), join(backend, 'app/claims_link.py'));
    spawnSync('mkfifo', [join(backend, 'app/pipe')]);
    // WHEN searching
    const { code, json } = await refsJson(dir);
    // THEN online_bill_pay_enabled is still unused, kept.ts (re-included by !kept.ts) is searched, and every skip is counted
    expect(json.flags.find((f) => f.flag === 'online_bill_pay_enabled')!.references).toBe(0);
    expect(json.flags.find((f) => f.flag === 'maintenance_mode_enabled')!.uses.map((u) => u.file)).toContain('backend/web/vendor/kept.ts');
    expect(json.skipped).toMatchObject({ binary: 1, tooLarge: 1, links: 3, ignored: 4, special: 1 });
    expect(code).toBe(1);
  });

  it(`skips a file it may not read, with a count (${UNPRIVILEGED})`, () => {
    // GIVEN a file without read permission
    const { dir, backend } = projectWithBackend();
    const secret = join(backend, 'app/secret.py');
    writeFileSync(secret, 'x = "online_bill_pay_enabled"\n');
    chmodSync(secret, 0o000);
    chmodSync(dir, 0o755);
    // WHEN the real executable searches as a user bound by modes (root reads any file)
    const r = unprivilegedNode(unprivilegedBin(), ['refs', '--format', 'json'], { cwd: dir, env: { ...process.env, FLAGOPS_NOW: NOW, NO_COLOR: '1', HOME: dir } });
    // THEN it is counted, not a crash, and not a reference
    expect(r.stderr).not.toContain('internal error');
    const json = JSON.parse(r.stdout) as RefsJson;
    expect(json.skipped.unreadable).toBe(1);
    expect(json.flags.find((f) => f.flag === 'online_bill_pay_enabled')!.references).toBe(0);
  });

  it('honours the .gitignore files above the folder, up to the top of its git repository', async () => {
    // GIVEN the backend inside a git repository whose top-level .gitignore ignores generated/
    const { dir } = projectWithBackend();
    const repo = mkdtempSync(join(tmpdir(), 'flagops-backend-repo-'));
    git(repo, 'init', '-q');
    writeFileSync(join(repo, '.gitignore'), 'generated/\n');
    mkdirSync(join(repo, 'services/api/generated'), { recursive: true });
    writeFileSync(join(repo, 'services/api/app.py'), 'flags.maintenance_mode_enabled()\n');
    writeFileSync(join(repo, 'services/api/generated/x.py'), 'flags.online_bill_pay_enabled()\n');
    // WHEN searching only services/api
    const { json } = await refsJson(dir, '--src', join(repo, 'services/api'));
    // THEN the generated/ folder is ignored
    expect(uses(json).map((u) => u.split(' ')[0])).toEqual(['maintenance_mode_enabled']);
    expect(json.skipped.ignored).toBe(1);
  });

  it('is a usage error naming a --src folder that does not exist, or is a file', async () => {
    const { dir } = projectWithBackend();
    const missing = await flagops(dir, 'refs', '--src', 'backend', 'no-such-backend');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("flagops: error: --src folder 'no-such-backend' does not exist");
    const file = await flagops(dir, 'refs', '--src', 'backend/README.md');
    expect(file.code).toBe(2);
    expect(file.stderr).toContain("--src folder 'backend/README.md' is not a folder");
  });

  it('is a usage error when no folder is configured or given, and names a configured folder that is missing', async () => {
    const dir = tempProject();
    write(dir, 'environments/project.ts', 'export default { sourceFolders: [] };\n');
    const none = await flagops(dir, 'refs');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      "flagops: error: no source folders to search: set sourceFolders in environments/project.ts to the backend's checkout (for example ['../pms-backend']), or set FLAGOPS_SOURCE, or pass --src DIR",
    );
    write(dir, 'environments/project.ts', "export default { sourceFolders: ['../pms-backend'] };\n");
    const missing = await flagops(dir, 'refs');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("sourceFolders (environments/project.ts) folder '../pms-backend' does not exist");
  });

  it('prints lines of code escaped: no terminal escape or bidi override reaches the terminal', async () => {
    // GIVEN a reference on a line holding an escape sequence and a right-to-left override
    const { dir, backend } = projectWithBackend();
    writeFileSync(join(backend, 'web/src/billing/pay.ts'), "f('online_bill_pay_enabled') // \x1b[31mred\u202e\n");
    // WHEN printing references as text and markdown
    const text = await flagops(dir, 'refs');
    const md = await flagops(dir, 'refs', '--format', 'markdown');
    // THEN the characters are shown escaped
    expect(text.stdout).toContain("f('online_bill_pay_enabled') // \\x1b[31mred\\u202e");
    expect(text.stdout + md.stdout).not.toMatch(/[\x1b\u202e]/);
  });
});

describe("where the backend's code is: --src, then FLAGOPS_SOURCE, then sourceFolders", () => {
  it('the sample names a stand-in backend under examples/ that says to replace it, not a test fixture', () => {
    // GIVEN the sample's environments/project.ts and the folder it names
    const folders = sampleProject.sourceFolders ?? [];
    // THEN it is the stand-in, outside test/
    expect(folders).toEqual([SAMPLE_BACKEND]);
    expect(folders.filter((f) => f.startsWith('test/'))).toEqual([]);
    // AND the stand-in says what it is and how to point flagops at the real checkout
    const readme = read(REPO_ROOT, `${SAMPLE_BACKEND}/README.md`);
    expect(readme).toMatch(/^# A stand-in for the PMS backend: replace it with your backend's checkout$/m);
    expect(readme).toContain("sourceFolders: ['../pms-backend']");
    expect(readme).toContain('FLAGOPS_SOURCE');
    // AND the project file says the same where the setting is
    expect(read(REPO_ROOT, 'environments/project.ts')).toContain("'../pms-backend'");
  });

  it('takes FLAGOPS_SOURCE over sourceFolders, and --src over both', async () => {
    // GIVEN sourceFolders naming backend/, and two other checkouts with one use each
    const { dir } = projectWithBackend();
    write(dir, 'environments/project.ts', "export default { sourceFolders: ['backend'] };\n");
    cpSync(join(dir, 'backend'), join(dir, 'env-backend'), { recursive: true });
    mkdirSync(join(dir, 'cli-backend'));
    writeFileSync(join(dir, 'cli-backend/a.py'), 'flags.maintenance_mode_enabled(ctx)\n');
    const refs = async (args: string[], env: NodeJS.ProcessEnv) => JSON.parse((await flagopsWith(dir, ['refs', '--format', 'json', ...args], env)).stdout) as RefsJson;
    // WHEN FLAGOPS_SOURCE names a folder (relative to the project root), THEN it is searched instead of sourceFolders
    expect((await refs([], { FLAGOPS_SOURCE: 'env-backend' })).folders).toEqual(['env-backend']);
    // AND an absolute path, and several folders separated by ':', work too
    expect((await refs([], { FLAGOPS_SOURCE: `${join(dir, 'env-backend')}:cli-backend` })).folders).toEqual(['env-backend', 'cli-backend']);
    // WHEN --src is given as well, THEN --src wins
    const chosen = await refs(['--src', join(dir, 'cli-backend')], { FLAGOPS_SOURCE: 'env-backend' });
    expect(chosen.folders).toEqual(['cli-backend']);
    expect(uses(chosen)).toEqual(['maintenance_mode_enabled cli-backend/a.py:1 accessor maintenance_mode_enabled']);
    // WHEN FLAGOPS_SOURCE is empty, THEN sourceFolders applies
    expect((await refs([], { FLAGOPS_SOURCE: '' })).folders).toEqual(['backend']);
  });

  it('says what to do when the configured checkout is missing: clone the backend there, or set FLAGOPS_SOURCE', async () => {
    // GIVEN a project whose sourceFolders names the backend next to it, not checked out
    const dir = join(mkdtempSync(join(tmpdir(), 'flagops-no-backend-')), 'flagops');
    cpSync(tempProject(), dir, { recursive: true });
    write(dir, 'environments/project.ts', "export default { sourceFolders: ['../pms-backend'] };\n");
    // WHEN searching it / THEN a usage error names the folder and both ways out
    const missing = await flagops(dir, 'refs');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `flagops: error: sourceFolders (environments/project.ts) folder '../pms-backend' does not exist (${join(dir, '..', 'pms-backend')}): ` +
        "clone the backend's repository there, or set FLAGOPS_SOURCE to where it is checked out (or pass --src DIR)",
    );
    // GIVEN FLAGOPS_SOURCE naming a folder that does not exist / THEN the error names the variable and what to do
    const wrong = await flagopsWith(dir, ['refs'], { FLAGOPS_SOURCE: '/nonexistent/pms-backend' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(
      "flagops: error: FLAGOPS_SOURCE folder '/nonexistent/pms-backend' does not exist (/nonexistent/pms-backend): " +
        "set FLAGOPS_SOURCE to the backend's checkout, or unset it to use sourceFolders in environments/project.ts",
    );
  });
});
