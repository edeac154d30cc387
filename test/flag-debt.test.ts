/**
 * Flag debt: `flagops stale` joins expiry, time at 100% everywhere (from main's git history) and
 * code references into one list with the reasons; `flagops status` counts stale flags per owner;
 * `flagops diff` says when a change removes a flag's last code reference.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expireBillPay, flagops, flagopsWith, git, REPO_ROOT, replaceIn, SAMPLE_BACKEND, tempProject, write } from './helpers.ts';

const FIXTURE = join(REPO_ROOT, SAMPLE_BACKEND);

/** The sample project with its sample backend where `environments/project.ts` looks for it, and its one flag past `expires`. */
function sampleWithExpiredFlag(): string {
  const dir = expireBillPay(tempProject());
  cpSync(FIXTURE, join(dir, SAMPLE_BACKEND), { recursive: true });
  return dir;
}
const PROD = 'environments/production/flags.yaml';

/** Commits everything in `dir` with author and committer date `date` (a repository is created first if needed). */
function commitAt(dir: string, date: string, message: string): void {
  const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@pms.example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@pms.example.com' };
  const run = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  if (spawnSync('git', ['rev-parse', '--git-dir'], { cwd: dir }).status !== 0) run('init', '-q', '-b', 'main');
  run('add', '-A');
  run('-c', 'commit.gpgsign=false', 'commit', '-q', '-m', message);
}

/** The production entry of billing_export_v2_enabled at 100%, with a hand-written (backdated) changed_at. */
function raiseBillingExport(dir: string, changedAt: string): void {
  replaceIn(dir, PROD, 'rollout: 50\n    reason: Gradual rollout - Phase 3 (50% of claims batches)', 'rollout: 100\n    reason: Gradual rollout - Phase 4 (all claims batches)');
  replaceIn(dir, PROD, 'changed_at: 2026-11-10T07:00:00Z', `changed_at: ${changedAt}`);
}

interface StaleJson {
  flag: string;
  owner: string;
  reasons: { why: string; since?: string; days?: number; source?: string; folders?: string[] }[];
}

async function stale(dir: string, ...args: string[]): Promise<{ rows: StaleJson[]; stderr: string; code: number }> {
  const r = await flagops(dir, 'stale', '--json', ...args);
  return { rows: JSON.parse(r.stdout) as StaleJson[], stderr: r.stderr, code: r.code };
}

const reasonsOf = (rows: readonly StaleJson[], flag: string) => rows.find((r) => r.flag === flag)?.reasons;

describe('flagops stale', () => {
  it('joins expiry, time at 100% everywhere and code references into one list, with the reasons of each flag', async () => {
    // GIVEN the sample project (one of its flags past expires) and its sample backend
    // WHEN listing stale flags
    const { rows, code } = await stale(sampleWithExpiredFlag());
    // THEN each flag is listed once, with every reason
    expect(rows).toEqual([
      { flag: 'patient_portal_messaging_enabled', owner: 'team-patient-experience', type: 'release', reasons: [{ why: 'fully-rolled-out', since: '2026-06-15', days: 161, source: 'changed_at' }] },
      {
        flag: 'online_bill_pay_enabled',
        owner: 'team-billing',
        type: 'release',
        reasons: [
          { why: 'expired', since: '2026-06-30' },
          { why: 'fully-rolled-out', since: '2026-04-06', days: 231, source: 'changed_at' },
          { why: 'unreferenced', folders: [SAMPLE_BACKEND] },
        ],
      },
    ]);
    expect(code).toBe(0);
  });

  it('prints one row per flag with its reasons joined', async () => {
    const r = await flagops(sampleWithExpiredFlag(), 'stale');
    expect(r.stdout).toMatch(/^online_bill_pay_enabled\s+team-billing\s+expired on 2026-06-30; on at 100% everywhere since 2026-04-06 \(231 days, per changed_at\); no code uses it$/m);
    expect(r.stdout).toContain('flagops stale: 2 clean-up candidates');
  });

  it('takes "at 100% since" from when the change landed on main, not from a hand-written changed_at', async () => {
    // GIVEN the sample project imported on 2026-08-01, and on 2026-10-01 a commit raising
    // billing_export_v2_enabled to 100% in production whose changed_at claims May
    const dir = tempProject();
    commitAt(dir, '2026-08-01T09:00:00Z', 'import');
    raiseBillingExport(dir, '2026-05-01T00:00:00Z');
    commitAt(dir, '2026-10-01T09:00:00Z', 'billing export v2 to 100% in production');
    // WHEN listing stale flags on 2026-11-23
    const { rows } = await stale(dir);
    // THEN it is at 100% everywhere since the commit landed: 53 days, by git
    expect(reasonsOf(rows, 'billing_export_v2_enabled')).toEqual([{ why: 'fully-rolled-out', since: '2026-10-01', days: 53, source: 'git' }]);
    // AND a flag whose state came with the import keeps its recorded changed_at
    expect(reasonsOf(rows, 'patient_portal_messaging_enabled')).toEqual([{ why: 'fully-rolled-out', since: '2026-06-15', days: 161, source: 'changed_at' }]);
  });

  it('starts counting again after a kill switch, and ignores a raise that has not landed on main', async () => {
    // GIVEN the raise of 2026-10-01, a kill switch on 2026-11-01 and the flag back at 100% on 2026-11-10
    const dir = tempProject();
    commitAt(dir, '2026-08-01T09:00:00Z', 'import');
    raiseBillingExport(dir, '2026-10-01T08:00:00Z');
    commitAt(dir, '2026-10-01T09:00:00Z', 'to 100%');
    replaceIn(dir, PROD, 'enabled: true\n    rollout: 100\n    reason: Gradual rollout - Phase 4', 'enabled: false\n    rollout: 100\n    reason: Gradual rollout - Phase 4');
    commitAt(dir, '2026-11-01T09:00:00Z', 'kill switch');
    replaceIn(dir, PROD, 'enabled: false\n    rollout: 100\n    reason: Gradual rollout - Phase 4', 'enabled: true\n    rollout: 100\n    reason: Gradual rollout - Phase 4');
    commitAt(dir, '2026-11-10T09:00:00Z', 'back on');
    // AND e_prescribing_enabled at 100% in production in the working tree only
    replaceIn(dir, PROD, 'rollout: 5\n    reason: Gradual rollout - Phase 1 (5% of prescribers)', 'rollout: 100\n    reason: Gradual rollout - Phase 1 (5% of prescribers)');
    // WHEN listing flags at 100% for more than 5 days
    const { rows } = await stale(dir, '--days', '5');
    // THEN the flag counts from the last time it reached 100%, and the unlanded raise is not there
    expect(reasonsOf(rows, 'billing_export_v2_enabled')).toEqual([{ why: 'fully-rolled-out', since: '2026-11-10', days: 13, source: 'git' }]);
    expect(reasonsOf(rows, 'e_prescribing_enabled')).toBeUndefined();
  });

  it('in a shallow clone, counts flags unchanged since the cut as at 100% at least since the cut, and says so', async () => {
    // GIVEN a history of two commits, cloned with depth 1
    const dir = tempProject();
    commitAt(dir, '2026-08-01T09:00:00Z', 'import');
    raiseBillingExport(dir, '2026-10-01T08:00:00Z');
    commitAt(dir, '2026-10-01T09:00:00Z', 'to 100%');
    const clone = mkdtempSync(join(tmpdir(), 'flagops-shallow-'));
    git(clone, 'clone', '-q', '--depth', '1', `file://${dir}`, 'p');
    // WHEN listing stale flags in the clone
    const { rows, stderr } = await stale(join(clone, 'p'));
    // THEN the cut is the (lower bound of the) time at 100%, and a note says so
    expect(reasonsOf(rows, 'patient_portal_messaging_enabled')).toEqual([{ why: 'fully-rolled-out', since: '2026-10-01', days: 53, source: 'history-cut' }]);
    expect(stderr).toContain('the history is shallow');
    expect((await flagops(join(clone, 'p'), 'stale')).stdout).toContain('on at 100% everywhere since at least 2026-10-01 (53 days)');
  });

  it('outside git, takes changed_at and says so; without the source folders, leaves code references out and says why', async () => {
    // GIVEN a project that is not a git repository, whose sourceFolders does not exist
    const dir = expireBillPay(tempProject());
    // WHEN listing stale flags
    const { rows, stderr } = await stale(dir);
    // THEN the times come from changed_at, no flag is "unreferenced", and both are noted
    expect(reasonsOf(rows, 'online_bill_pay_enabled')).toEqual([
      { why: 'expired', since: '2026-06-30' },
      { why: 'fully-rolled-out', since: '2026-04-06', days: 231, source: 'changed_at' },
    ]);
    expect(stderr).toContain('flagops: note: not a git repository: "at 100% since" is taken from changed_at');
    expect(stderr).toContain("flagops: note: code references not searched: sourceFolders (environments/project.ts) folder 'examples/pms-backend' does not exist");
    expect(stderr).toContain("clone the backend's repository there, or set FLAGOPS_SOURCE to where it is checked out (or pass --src DIR)");
  });

  it("reads the backend's checkout named by FLAGOPS_SOURCE over sourceFolders, and --src over both", async () => {
    // GIVEN the sample (sourceFolders: the stand-in backend), and a checkout where code uses online_bill_pay_enabled
    const dir = sampleWithExpiredFlag();
    const real = mkdtempSync(join(tmpdir(), 'flagops-real-backend-'));
    writeFileSync(join(real, 'pay.py'), 'client.get_boolean_value("online_bill_pay_enabled", False, ctx)\n');
    const unreferenced = (rows: readonly StaleJson[]) => reasonsOf(rows, 'online_bill_pay_enabled')?.some((r) => r.why === 'unreferenced');
    // THEN by default the stand-in counts: no code uses the flag
    expect(unreferenced((await stale(dir)).rows)).toBe(true);
    // WHEN FLAGOPS_SOURCE names the checkout / THEN its code counts
    const byVariable = await flagopsWith(dir, ['stale', '--json'], { FLAGOPS_SOURCE: real });
    expect(unreferenced(JSON.parse(byVariable.stdout) as StaleJson[])).toBe(false);
    // WHEN --src names the stand-in again / THEN --src wins
    const bySrc = await flagopsWith(dir, ['stale', '--json', '--src', join(dir, SAMPLE_BACKEND)], { FLAGOPS_SOURCE: real });
    expect(reasonsOf(JSON.parse(bySrc.stdout) as StaleJson[], 'online_bill_pay_enabled')?.at(-1)).toEqual({ why: 'unreferenced', folders: [SAMPLE_BACKEND] });
  });

  it('--src searches other folders, and names one that does not exist as a usage error', async () => {
    const dir = tempProject();
    cpSync(FIXTURE, join(dir, 'backend'), { recursive: true });
    const { rows } = await stale(dir, '--src', join(dir, 'backend'));
    expect(reasonsOf(rows, 'online_bill_pay_enabled')?.at(-1)).toEqual({ why: 'unreferenced', folders: ['backend'] });
    const bad = await flagops(dir, 'stale', '--src', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--src folder 'nope' does not exist");
  });
});

describe('flagops status', () => {
  it('ends with the number of stale flags per owner team', async () => {
    const all = await flagops(REPO_ROOT, 'status');
    expect(all.stdout.trim().split('\n').at(-1)).toBe('stale flags per owner: team-billing 1, team-patient-experience 1 (`flagops stale` says why)');
    const one = await flagops(REPO_ROOT, 'status', '--env', 'production');
    expect(one.stdout.trim().split('\n').at(-1)).toBe('stale flags per owner: team-billing 1, team-patient-experience 1 (`flagops stale` says why)');
  });

  it("counts them in the backend's checkout named by FLAGOPS_SOURCE or --src", async () => {
    // GIVEN a checkout where no code uses any flag
    const empty = mkdtempSync(join(tmpdir(), 'flagops-empty-backend-'));
    const footer = (r: { stdout: string }) => r.stdout.trim().split('\n').at(-1);
    // WHEN FLAGOPS_SOURCE names it / THEN every flag is a clean-up candidate of its team
    const byVariable = await flagopsWith(REPO_ROOT, ['status'], { FLAGOPS_SOURCE: empty });
    expect(footer(byVariable)).toBe('stale flags per owner: team-billing 3, team-clinical 2, team-clinical-ai 1, team-engagement 1, team-patient-experience 2, team-platform 2, team-scheduling 2, team-security 2 (`flagops stale` says why)');
    expect(footer(await flagops(REPO_ROOT, 'status', '--env', 'dev', '--src', empty))).toBe(footer(byVariable));
    // WHEN --src names the stand-in over FLAGOPS_SOURCE / THEN the stand-in counts again
    expect(footer(await flagopsWith(REPO_ROOT, ['status', '--src', join(REPO_ROOT, SAMPLE_BACKEND)], { FLAGOPS_SOURCE: empty }))).toBe(
      'stale flags per owner: team-billing 1, team-patient-experience 1 (`flagops stale` says why)',
    );
    // AND status FLAG, which reads no code, refuses --src
    const one = await flagops(REPO_ROOT, 'status', 'e_prescribing_enabled', '--src', empty);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('status FLAG does not read the code');
  });
});

/** A project with the sample backend at examples/pms-backend, committed on main; origin/main points there. */
function repoWithBackend(): string {
  const dir = tempProject();
  cpSync(FIXTURE, join(dir, SAMPLE_BACKEND), { recursive: true });
  commitAt(dir, '2026-11-20T09:00:00Z', 'import');
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  return dir;
}

const MESSAGES = `${SAMPLE_BACKEND}/web/src/portal/messages.ts`;

/** Removes both uses of patient_portal_messaging_enabled from messages.ts under `base`. */
function removePortalMessaging(base: string, path = MESSAGES): void {
  replaceIn(base, path, 'return flags.patientPortalMessagingEnabled(context);', 'return true;');
  replaceIn(base, path, 'export const PORTAL_FLAGS = [FlagKeys.PATIENT_PORTAL_MESSAGING_ENABLED];', 'export const PORTAL_FLAGS: string[] = [];');
}

describe('flagops diff and code references', () => {
  it('says a flag can be removed when the change removes its last code reference', async () => {
    // GIVEN a branch that removes the last uses of patient_portal_messaging_enabled
    const dir = repoWithBackend();
    git(dir, 'checkout', '-q', '-b', 'retire-portal-flag');
    removePortalMessaging(dir);
    commitAt(dir, '2026-11-21T09:00:00Z', 'portal messaging is always on');
    // WHEN diffing against main
    const r = await flagops(dir, 'diff');
    // THEN the diff says so, naming the references the change removed
    expect(r.stdout).toContain('1 flag loses its last code reference');
    expect(r.stdout).toContain('patient_portal_messaging_enabled: this change removes its last code reference, so the flag can now be removed (`flagops remove patient_portal_messaging_enabled`)');
    expect(r.stdout).toContain(`    was ${MESSAGES}:8: return flags.patientPortalMessagingEnabled(context);`);
    const md = await flagops(dir, 'diff', '--format', 'markdown');
    expect(md.stdout).toContain('#### Code references');
    const json = JSON.parse((await flagops(dir, 'diff', '--format', 'json')).stdout) as { code: { removable: { flag: string; before: unknown[] }[] } };
    expect(json.code.removable.map((f) => [f.flag, f.before.length])).toEqual([['patient_portal_messaging_enabled', 2]]);
  });

  it('says nothing when references remain elsewhere, or the change does not touch them', async () => {
    // GIVEN a change removing one of the two uses of insurance_eligibility_checks_enabled
    const dir = repoWithBackend();
    replaceIn(dir, `${SAMPLE_BACKEND}/web/src/billing/statements.ts`, "client.getBooleanValue('insurance_eligibility_checks_enabled', false, { targetingKey: accountId })", 'Promise.resolve(true)');
    // WHEN diffing THEN nothing is removable
    const r = await flagops(dir, 'diff');
    expect(r.stdout).not.toContain('last code reference');
  });

  it("compares a backend in its own repository with that repository's merge base with origin/main", async () => {
    // GIVEN the project, and the backend in its own repository next to it, on a branch removing the uses
    const root = mkdtempSync(join(tmpdir(), 'flagops-two-repos-'));
    const project = join(root, 'flagops');
    cpSync(tempProject(), project, { recursive: true });
    write(project, 'environments/project.ts', "export default { sourceFolders: ['../pms-backend'] };\n");
    commitAt(project, '2026-11-20T09:00:00Z', 'import');
    git(project, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    const backend = join(root, 'pms-backend');
    cpSync(FIXTURE, backend, { recursive: true });
    commitAt(backend, '2026-11-20T09:00:00Z', 'backend');
    git(backend, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    removePortalMessaging(backend, 'web/src/portal/messages.ts');
    // WHEN diffing the project (which itself has no change)
    const r = await flagops(project, 'diff');
    // THEN the backend's change is reviewed against its own base
    expect(r.stdout).toContain('patient_portal_messaging_enabled: this change removes its last code reference');
    expect(r.stdout).toContain('was ../pms-backend/web/src/portal/messages.ts:8');
  });

  it("compares the backend's checkout named by FLAGOPS_SOURCE or --src, whatever sourceFolders says", async () => {
    // GIVEN the project (sourceFolders: the stand-in, not checked out) and the backend in its own repository elsewhere, on a branch removing the uses
    const project = tempProject();
    commitAt(project, '2026-11-20T09:00:00Z', 'import');
    git(project, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    const backend = mkdtempSync(join(tmpdir(), 'flagops-backend-repo-'));
    cpSync(FIXTURE, backend, { recursive: true });
    commitAt(backend, '2026-11-20T09:00:00Z', 'backend');
    git(backend, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    removePortalMessaging(backend, 'web/src/portal/messages.ts');
    // WHEN diffing with FLAGOPS_SOURCE naming it, or --src / THEN the backend's change is reviewed
    const removable = 'patient_portal_messaging_enabled: this change removes its last code reference';
    expect((await flagopsWith(project, ['diff'], { FLAGOPS_SOURCE: backend })).stdout).toContain(removable);
    expect((await flagops(project, 'diff', '--src', backend)).stdout).toContain(removable);
    // AND without either, the missing stand-in is a note saying what to do
    const without = await flagops(project, 'diff');
    expect(without.stdout).not.toContain(removable);
    expect(without.stdout + without.stderr).toContain("code references not compared: sourceFolders (environments/project.ts) folder 'examples/pms-backend' does not exist");
  });

  it('notes a source folder that is not in git, and goes on', async () => {
    const dir = repoWithBackend();
    const outside = mkdtempSync(join(tmpdir(), 'flagops-nogit-backend-'));
    writeFileSync(join(outside, 'a.py'), 'flags.maintenance_mode_enabled()\n');
    write(dir, 'environments/project.ts', `export default { sourceFolders: [${JSON.stringify(outside)}] };\n`);
    const r = await flagops(dir, 'diff');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('is not in a git repository: its code references are not compared with a base');
  });
});
