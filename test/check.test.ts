/**
 * flagops check and synth end to end: drift, manifest policies (Kubernetes schemas, ConfigMap
 * size), output formats and exit codes, and synth writing nothing when validation fails.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/main.ts';
import { synthesizeAll } from '../synth/synth.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { checkManifests, configMapSizePolicy } from '../policies/manifest-policies.ts';
import { kubernetesSchemaPolicy } from '../policies/kubernetes-schema.ts';
import { expireBillPay, flagops, flagopsProcess, git, initRepository, read, replaceIn, REPO_ROOT, tempProject, write } from './helpers.ts';

describe('flagops check', () => {
  it('passes on the committed tree (exit 0, no finding)', async () => {
    const r = await flagops(REPO_ROOT, 'check', '--base', 'HEAD');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/flagops check \(base: HEAD, merge base [0-9a-f]{12}\): no problems$/);
  });

  it('passes with a warning for an expired flag, and --strict turns warnings into errors', async () => {
    const dir = expireBillPay(tempProject());
    initRepository(dir);
    const warned = await flagops(dir, 'check', '--base', 'main');
    expect(warned.code, warned.stdout).toBe(0);
    expect(warned.stdout).toMatch(/: 0 errors, 1 warning in 1 file$/);
    const r = await flagops(dir, 'check', '--base', 'main', '--strict');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error: flag \'online_bill_pay_enabled\' expired on 2026-06-30');
  });

  it('--format json gives the same findings for machines, and the base it used', async () => {
    const dir = expireBillPay(tempProject());
    initRepository(dir);
    const r = await flagops(dir, 'check', '--base', 'main', '--format', 'json');
    const json = JSON.parse(r.stdout);
    expect(json.base).toEqual({ ref: 'main', commit: git(dir, 'rev-parse', 'HEAD').trim(), mergeBase: true });
    expect(json.summary).toEqual({ errors: 0, warnings: 1 });
    expect(json.findings[0]).toEqual({
      file: 'environments/catalog.yaml',
      line: 75,
      col: 14,
      severity: 'warning',
      rule: 'flag-expired',
      message: expect.stringContaining('online_bill_pay_enabled'),
    });
  });

  it('[drift] reports a hand edit to a committed manifest at the first differing line', async () => {
    const dir = tempProject();
    replaceIn(dir, 'dist/production/namespace-pms.yaml', '\n  name: pms\n', '\n  name: pms-prod\n');
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    const line = read(dir, 'dist/production/namespace-pms.yaml').split('\n').indexOf('  name: pms-prod') + 1;
    expect(r.stdout).toContain(`dist/production/namespace-pms.yaml:${line}:1: error: dist/production/namespace-pms.yaml differs from a fresh synth; run \`npx flagops synth\` and commit dist/ [drift]`);
  });

  it('[drift] reports a missing and a stale manifest', async () => {
    const dir = tempProject();
    rmSync(join(dir, 'dist/dev/namespace-pms-dev.yaml'));
    write(dir, 'dist/dev/configmap-old.yaml', 'kind: ConfigMap\n');
    const r = await flagops(dir, 'check');
    expect(r.stdout).toContain('dist/dev/namespace-pms-dev.yaml: error: dist/dev/namespace-pms-dev.yaml is missing from the committed dist/');
    expect(r.stdout).toContain('dist/dev/configmap-old.yaml: error: dist/dev/configmap-old.yaml is no longer synthesized (stale)');
  });

  it('[drift] passes when dist/ is current', async () => {
    const r = await flagops(tempProject(), 'check');
    expect(r.stdout).not.toContain('[drift]');
  });

  it('[missing-file] names a missing flag file', async () => {
    const dir = tempProject();
    rmSync(join(dir, 'environments/staging/flags.yaml'));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('environments/staging/flags.yaml: error: environments/staging/flags.yaml does not exist [missing-file]');
  });

  it('shows a user mistake as a finding, never a stack trace (real process)', () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/production/flags.yaml', 'rollout: 25 ', 'rollout: "25"');
    const r = flagopsProcess(dir, ['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^environments\/production\/flags.yaml:10:14: error: flag 'telehealth_appointments_enabled' field 'rollout' must be an integer, got string "25" \[wrong-type\]$/m);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exit 2 for a usage error', () => {
    const r = flagopsProcess(tempProject(), ['check', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--format <format>' argument 'xml' is invalid");
  });

  it('exit 2 outside a flagops project', () => {
    const r = flagopsProcess(mkdtempSync(join(tmpdir(), 'flagops-not-a-project-')), ['check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no environments/catalog.yaml found');
  });

  // One process per command (about 3 s each on the shared 2-core machine): more than the default 60 s.
  it('every command has --help', { timeout: 180_000 }, () => {
    const names = COMMANDS.flatMap((m) => m.names);
    expect(names).toEqual(
      expect.arrayContaining(['synth', 'check', 'list', 'status', 'enable', 'rollout', 'disable', 'add', 'stale', 'diff', 'audit', 'access', 'monitor', 'drill', 'alerts', 'advance', 'restore', 'remove', 'refs']),
    );
    for (const cmd of names) {
      const r = flagopsProcess(REPO_ROOT, [cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain(`Usage: flagops ${cmd}`);
    }
  });
});

describe('flagops synth', () => {
  it('writes nothing when validation fails: the previous dist/ stays intact', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/production/flags.yaml', 'rollout: 5\n', 'rollout: 7\n');
    const before = read(dir, 'dist/production/configmap-feature-flags-config.yaml');
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[rollout-step]');
    expect(r.stdout).toContain('flagops synth: nothing written');
    expect(read(dir, 'dist/production/configmap-feature-flags-config.yaml')).toBe(before);
  });

  it('removes files of objects that are no longer synthesized and recreates missing ones', async () => {
    const dir = tempProject();
    write(dir, 'dist/staging/configmap-removed.yaml', 'stale\n');
    rmSync(join(dir, 'dist/staging/namespace-pms-staging.yaml'));
    const r = await flagops(dir, 'synth', '--env', 'staging');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('removed dist/staging/configmap-removed.yaml');
    expect(r.stdout).toContain('created dist/staging/namespace-pms-staging.yaml');
    expect(existsSync(join(dir, 'dist/staging/configmap-removed.yaml'))).toBe(false);
    expect(read(dir, 'dist/staging/namespace-pms-staging.yaml')).toBe(read(REPO_ROOT, 'dist/staging/namespace-pms-staging.yaml'));
  });

  it('writes one file per object with a stable name and no timestamps', async () => {
    const dir = tempProject({ dist: false });
    await flagops(dir, 'synth');
    const first = read(dir, 'dist/production/configmap-feature-flags-config.yaml');
    await flagops(dir, 'synth');
    expect(read(dir, 'dist/production/configmap-feature-flags-config.yaml')).toBe(first);
    expect(first).not.toMatch(/20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/);
  });
});

describe('manifest policies', () => {
  async function sampleManifests() {
    const settings = await loadEnvironmentSettings(REPO_ROOT);
    const { model } = parseProject(settings, diskReader(REPO_ROOT));
    return { settings, manifests: synthesizeAll(model) };
  }

  it('[k8s-schema] every synthesized object validates against the Kubernetes OpenAPI schema', async () => {
    const { settings, manifests } = await sampleManifests();
    expect(await checkManifests(manifests, settings, [kubernetesSchemaPolicy])).toEqual([]);
  });

  it('[k8s-schema] rejects an object that breaks its schema, at the offending field', async () => {
    const { settings, manifests } = await sampleManifests();
    const prod = manifests.find((m) => m.environment === 'production')!;
    const cm = prod.files.find((f) => f.object.kind === 'ConfigMap')!;
    const broken = { ...cm, object: { ...cm.object, data: { 'feature_flags.json': 42 } } };
    const findings = await checkManifests([{ environment: 'production', files: [broken] }], settings, [kubernetesSchemaPolicy]);
    expect(findings.map((f) => `${f.rule} ${f.message}`)).toEqual(['k8s-schema ConfigMap feature-flags-config: data.feature_flags.json must be string']);
    expect(findings[0]!.file).toBe('dist/production/configmap-feature-flags-config.yaml');
  });

  it.each([
    ['apps/v1/../../v1', 'ConfigMap'],
    ['v1', '../ConfigMap'],
    ['v1', 'index'],
  ])('[k8s-schema] apiVersion %s, kind %s: no schema is known, and nothing is loaded by that name', async (apiVersion, kind) => {
    const { settings, manifests } = await sampleManifests();
    const cm = manifests[0]!.files.find((f) => f.object.kind === 'ConfigMap')!;
    const odd = { ...cm, object: { ...cm.object, apiVersion, kind } };
    const findings = await checkManifests([{ environment: manifests[0]!.environment, files: [odd] }], settings, [kubernetesSchemaPolicy]);
    expect(findings.map((f) => `${f.rule} ${f.message}`)).toEqual([`k8s-schema no Kubernetes schema is known for ${apiVersion} ${kind}`]);
  });

  it('[configmap-size] warns above 256 KiB and fails above 1 MiB', async () => {
    const { settings, manifests } = await sampleManifests();
    const cm = manifests[0]!.files.find((f) => f.object.kind === 'ConfigMap')!;
    const sized = (bytes: number) => [{ environment: 'dev', files: [{ ...cm, object: { ...cm.object, data: { 'feature_flags.json': 'x'.repeat(bytes) } } }] }];
    const at = async (bytes: number) => (await checkManifests(sized(bytes), settings, [configMapSizePolicy])).map((f) => f.severity);
    expect(await at(200 * 1024)).toEqual([]);
    expect(await at(300 * 1024)).toEqual(['warning']);
    expect(await at(1100 * 1024)).toEqual(['error']);
  });
});

describe('flagops list, status, stale', () => {
  it('list --json gives the catalog', async () => {
    const r = await flagops(REPO_ROOT, 'list', '--json');
    const flags = JSON.parse(r.stdout);
    expect(flags).toHaveLength(15);
    expect(flags[0]).toMatchObject({ name: 'telehealth_appointments_enabled', owner: 'team-scheduling', type: 'release' });
  });

  it('status shows every environment, with the kill switch called out', async () => {
    const r = await flagops(REPO_ROOT, 'status');
    expect(r.stdout).toMatch(/sms_appointment_reminders_enabled\s+on 100%\s+on 100%\s+off \(kill switch, was 50%\)/);
    const one = await flagops(REPO_ROOT, 'status', '--env', 'production', '--json');
    expect(JSON.parse(one.stdout).find((s: { flag: string }) => s.flag === 'telehealth_appointments_enabled')).toMatchObject({
      environment: 'production', enabled: true, rollout: 25, ticket: 'TICKET-12345',
    });
  });

  it('stale lists expired flags and flags fully rolled out for long (test/flag-debt.test.ts has the rest)', async () => {
    const sample = await flagops(REPO_ROOT, 'stale', '--json');
    const rows = (r: { stdout: string }) => (JSON.parse(r.stdout) as { flag: string; reasons: { why: string }[] }[]).map((row) => [row.flag, row.reasons.map((why) => why.why)]);
    expect(rows(sample)).toEqual([
      ['patient_portal_messaging_enabled', ['fully-rolled-out']],
      ['online_bill_pay_enabled', ['fully-rolled-out', 'unreferenced']],
    ]);
    // --strict fails on an expired flag only
    expect((await flagops(REPO_ROOT, 'stale', '--strict')).code).toBe(0);
    const expired = expireBillPay(tempProject());
    expect(rows(await flagops(expired, 'stale', '--json'))).toEqual([
      ['patient_portal_messaging_enabled', ['fully-rolled-out']],
      ['online_bill_pay_enabled', ['expired', 'fully-rolled-out']],
    ]);
    expect((await flagops(expired, 'stale', '--strict')).code).toBe(1);
    const bad = await flagops(REPO_ROOT, 'stale', '--days', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--days expects a whole number of days, got 'x'");
  });
});


describe('a flagops project in a folder of a larger repository', () => {
  it('compares with --base by paths relative to the project, not the repository root', async () => {
    // GIVEN the project lives in ops/ of a repository
    const repo = mkdtempSync(join(tmpdir(), 'flagops-mono-'));
    cpSync(tempProject(), join(repo, 'ops'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.email', 't@pms.example.com');
    git(repo, 'config', 'user.name', 'T');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'ops');
    // WHEN nothing changed since HEAD
    const check = await flagops(join(repo, 'ops'), 'check', '--base', 'HEAD');
    const diff = await flagops(join(repo, 'ops'), 'diff', '--base', 'HEAD');
    // THEN no change rule fires and the diff is empty
    expect(check.code, check.stdout).toBe(0);
    expect(diff.stdout).toContain('nothing changes');
  });
});
