/**
 * The review gate cannot be skipped and the audit tells the truth (issue 10), with real git: a bare
 * server, shallow and single-branch clones, a branch history merged into main, a two-step branch,
 * two concurrent pull requests merged in both orders.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../lib/review/audit.ts';
import { flagops, flagopsWith, git, read, type CliResult } from './helpers.ts';
import { commitAll, setFlag } from './flag-history.ts';
import { cloneOf, gitServer, type GitServer } from './support/git-server.ts';

const CI = { CI: 'true' };
const fresh = { changed_by: 'sam.lee@pms.example.com', ticket: 'TICKET-13100', reason: 'Next phase' };
const jsonLines = (stdout: string): AuditEntry[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);
const errors = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));

/** Runs an edit command with "now" fixed to `at`. */
async function editAt(dir: string, at: string, ...args: string[]): Promise<CliResult> {
  return flagopsWith(dir, args, { FLAGOPS_NOW: at });
}

/** A branch on the seed clone that jumps production e_prescribing_enabled from 5% to 100% by hand, pushed. */
async function pushJumpBranch(server: GitServer): Promise<void> {
  git(server.seed, 'checkout', '-q', '-b', 'jump');
  setFlag(server.seed, 'production', 'e_prescribing_enabled', { rollout: 100, changed_at: '2026-11-23T09:00:00Z', approved_by: 'lead@pms.example.com', ...fresh });
  expect((await flagops(server.seed, 'synth')).code).toBe(0);
  commitAll(server.seed, 'e-prescribing to 100% in production', { date: '2026-11-23T09:05:00Z' });
  git(server.seed, 'push', '-q', 'origin', 'jump');
  git(server.seed, 'checkout', '-q', 'main');
}

describe('no silent skip: a change with no base is said, and fails under CI', () => {
  it('in a shallow single-branch clone (GitHub Actions default checkout), check fails under CI naming the fix, and the fix works', async () => {
    // GIVEN a pull request branch that jumps a production flag 5% -> 100%, cloned with --depth 1
    const server = gitServer();
    await pushJumpBranch(server);
    const dir = cloneOf(server, '--depth', '1', '--branch', 'jump');
    // WHEN flagops check runs under CI
    const r = await flagopsWith(dir, ['check'], CI);
    // THEN it fails, in one line that says why and how to fix it
    expect(r.code).toBe(1);
    const line = r.stdout.split('\n').find((l) => l.endsWith('[base-unknown]'));
    expect(line).toMatch(/^flagops: error: no origin\/main in this clone, so the change has no base: run `git fetch --unshallow origin main:refs\/remotes\/origin\/main` \(GitHub Actions: actions\/checkout with `fetch-depth: 0`\), or pass --base REF; the change rules cannot run \[base-unknown\]$/);
    expect(r.stdout).toContain('flagops check (base: none, change rules not applied)');
    // AND locally it passes with a warning that says the same, never a bare "0 errors"
    const local = await flagops(dir, 'check');
    expect(local.code).toBe(0);
    expect(local.stdout).toMatch(/^flagops: warning: no origin\/main in this clone.*judged against HEAD [0-9a-f]{12} only \(uncommitted changes\) \[base-unknown\]$/m);
    // AND --base origin/main says it is not there, with the same fix
    const explicit = await flagops(dir, 'check', '--base', 'origin/main');
    expect(explicit.code).toBe(1);
    expect(explicit.stdout).toContain('flagops: error: --base origin/main is not a commit in this repository: run `git fetch --unshallow origin main:refs/remotes/origin/main`');
    // WHEN the suggested command is run THEN check finds the jump
    git(dir, 'fetch', '-q', '--unshallow', 'origin', 'main:refs/remotes/origin/main');
    const fixed = await flagopsWith(dir, ['check'], CI);
    expect(fixed.code).toBe(1);
    expect(errors(fixed, 'rollout-one-step')).toEqual([expect.stringContaining("flag 'e_prescribing_enabled' goes from 5% on the base (origin/main, merge base ")]);
    expect(fixed.stdout).toMatch(/flagops check \(base: origin\/main, merge base [0-9a-f]{12}\): /);
  });

  it('in a shallow clone that has origin/main but not the merge base, check under CI says to unshallow', async () => {
    const server = gitServer();
    await pushJumpBranch(server);
    const dir = cloneOf(server, '--depth', '1', '--no-single-branch', '--branch', 'jump');
    expect(git(dir, 'rev-parse', '--verify', 'origin/main').trim()).toMatch(/^[0-9a-f]{40}$/);
    const r = await flagopsWith(dir, ['check', '--format', 'json'], CI);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as { base: unknown; findings: { rule: string; severity: string; message: string }[] };
    expect(json.base).toBeNull();
    expect(json.findings).toContainEqual(
      expect.objectContaining({ rule: 'base-unknown', severity: 'error', message: expect.stringContaining('HEAD and origin/main have no common commit in this shallow clone') }),
    );
    expect(json.findings.find((f) => f.rule === 'base-unknown')!.message).toContain('`git fetch --unshallow origin` (GitHub Actions: actions/checkout with `fetch-depth: 0`)');
  });

  it('in a full clone without origin/main, check fails under CI and GITHUB_ACTIONS alike', async () => {
    const server = gitServer();
    await pushJumpBranch(server);
    const dir = cloneOf(server, '--single-branch', '--branch', 'jump');
    for (const env of [CI, { GITHUB_ACTIONS: 'true' }]) {
      const r = await flagopsWith(dir, ['check'], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('flagops: error: no origin/main in this clone, so the change has no base: run `git fetch origin main:refs/remotes/origin/main`');
    }
  });

  it('flagops diff never says "nothing changes" silently: it names the missing base, and fails under CI', async () => {
    const server = gitServer();
    await pushJumpBranch(server);
    const dir = cloneOf(server, '--depth', '1', '--branch', 'jump');
    const local = await flagops(dir, 'diff');
    expect(local.code).toBe(0);
    expect(local.stderr).toContain('flagops: note: no origin/main in this clone, so the change has no base');
    expect(local.stderr).toContain('showing only the uncommitted changes against HEAD');
    const md = await flagops(dir, 'diff', '--format', 'markdown');
    expect(md.stdout).toContain('> **Note:** no `origin/main` in this clone');
    const ci = await flagopsWith(dir, ['diff'], CI);
    expect(ci.code).toBe(1);
    expect(ci.stderr).toContain('flagops: error: no origin/main in this clone');
    const explicit = await flagops(dir, 'diff', '--base', 'origin/main');
    expect(explicit.code).toBe(2);
    expect(explicit.stderr).toContain('--base origin/main is not a commit in this repository: run `git fetch --unshallow origin main:refs/remotes/origin/main`');
  });

  it('flagops audit on a shallow history says where it is cut and never reports flags as added there', async () => {
    const server = gitServer();
    await pushJumpBranch(server);
    const dir = cloneOf(server, '--depth', '1', '--branch', 'main');
    const r = await flagops(dir, 'audit', '--json');
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)).toEqual([]);
    const cut = git(dir, 'rev-parse', 'HEAD').trim().slice(0, 12);
    expect(r.stderr).toContain(`flagops: warning: the history is shallow and cut at ${cut}`);
    expect(r.stderr).toContain('run `git fetch --unshallow`');
    // AND with one more commit on top, only that change is reported
    setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, changed_at: '2026-11-23T10:00:00Z', ...fresh });
    commitAll(dir, 'e-prescribing to 25%', { date: '2026-11-23T10:05:00Z' });
    const after = jsonLines((await flagops(dir, 'audit', '--ref', 'HEAD', '--json')).stdout);
    expect(after.map((e) => [e.event_type, e.feature_flag, e.previous_rollout_percentage, e.rollout_percentage])).toEqual([
      ['feature_flag_rollout_changed', 'e_prescribing_enabled', 5, 25],
    ]);
  });
});

describe('the audit reports what reached main', () => {
  it('reports a branch that went off -> 25% -> 5% in production as one change off -> 5% at the merge, with the branch commits as detail', async () => {
    // GIVEN a pull request whose first commit turned a production flag on at 25% and whose second lowered it to 5%
    const server = gitServer();
    const dir = server.seed;
    git(dir, 'checkout', '-q', '-b', 'phase-1');
    setFlag(dir, 'production', 'sms_appointment_reminders_enabled', { enabled: true, rollout: 25, changed_at: '2026-11-23T09:00:00Z', approved_by: 'lead@pms.example.com', ...fresh });
    const first = commitAll(dir, 'sms reminders on at 25%', { date: '2026-11-23T09:05:00Z', author: 'Sam Lee', email: 'sam.lee@pms.example.com' });
    setFlag(dir, 'production', 'sms_appointment_reminders_enabled', { rollout: 5, changed_at: '2026-11-23T09:30:00Z', reason: 'Phase 1: 5% of patients', approved_by: 'lead@pms.example.com' });
    const second = commitAll(dir, 'start at 5% instead', { date: '2026-11-23T09:35:00Z', author: 'Sam Lee', email: 'sam.lee@pms.example.com' });
    git(dir, 'checkout', '-q', 'main');
    git(dir, '-c', 'user.name=Release Manager', '-c', 'user.email=rm@pms.example.com', 'merge', '-q', '--no-ff', '-m', 'Merge pull request #42 from phase-1', 'phase-1');
    const merge = git(dir, 'rev-parse', 'HEAD').trim();
    git(dir, 'push', '-q', 'origin', 'main');
    // WHEN the audit runs on a fresh clone
    const clone = cloneOf(server);
    const entries = jsonLines((await flagops(clone, 'audit', '--env', 'production', '--flag', 'sms_appointment_reminders_enabled', '--json')).stdout);
    // THEN production went from off to 5% once, at the merge, with the landed audit fields; 25% never appears
    const landed = entries.filter((e) => e.event_type !== 'feature_flag_added');
    expect(landed).toHaveLength(1);
    expect(landed[0]).toMatchObject({
      event_type: 'feature_flag_toggled',
      previous_state: false,
      new_state: true,
      rollout_percentage: 5,
      reason: 'Phase 1: 5% of patients',
      timestamp: '2026-11-23T09:30:00Z',
      commit: merge,
      commit_author: 'Release Manager <rm@pms.example.com>',
    });
    expect(landed[0]!.commits.map((c) => [c.commit, c.subject, c.author])).toEqual([
      [first, 'sms reminders on at 25%', 'Sam Lee <sam.lee@pms.example.com>'],
      [second, 'start at 5% instead', 'Sam Lee <sam.lee@pms.example.com>'],
    ]);
    expect(entries.some((e) => e.rollout_percentage === 25)).toBe(false);
    // AND on the branch itself (not merged there yet), the audit still follows origin/main
    const onBranch = cloneOf(server);
    git(onBranch, 'checkout', '-q', '-b', 'wip');
    setFlag(onBranch, 'production', 'e_prescribing_enabled', { rollout: 25, changed_at: '2026-11-23T11:00:00Z', ...fresh });
    commitAll(onBranch, 'wip', { date: '2026-11-23T11:05:00Z' });
    const branchAudit = jsonLines((await flagops(onBranch, 'audit', '--env', 'production', '--json')).stdout).filter((e) => e.event_type !== 'feature_flag_added');
    expect(branchAudit.map((e) => [e.feature_flag, e.commit])).toEqual([['sms_appointment_reminders_enabled', merge]]);
  });
});

describe('one judgement everywhere: local edits are refused exactly when CI would refuse the pull request', () => {
  it('refuses a second production step in one branch, naming the base, as check --base origin/main does', async () => {
    // GIVEN a clone with origin/main, and a branch that already moved e_prescribing 5% -> 25% in production
    const server = gitServer();
    const dir = cloneOf(server);
    git(dir, 'checkout', '-q', '-b', 'rollout');
    const audit = ['--ticket', 'TICKET-13200', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com'];
    const step1 = await editAt(dir, '2026-11-23T10:00:00Z', 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Phase 2', ...audit);
    expect(step1.code, step1.stdout).toBe(0);
    expect(step1.stdout).toMatch(/production: e_prescribing_enabled on 5% -> on 25% \(base: origin\/main, merge base [0-9a-f]{12}\)/);
    commitAll(dir, 'Phase 2', { date: '2026-11-23T10:01:00Z' });
    // WHEN the next step is taken in the same branch
    const before = read(dir, 'environments/production/flags.yaml');
    const step2 = await editAt(dir, '2026-11-23T10:30:00Z', 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '50', '--reason', 'Phase 3', ...audit);
    // THEN it is refused against origin/main, and nothing is written
    expect(step2.code).toBe(1);
    expect(errors(step2, 'rollout-one-step')).toEqual([expect.stringContaining("flag 'e_prescribing_enabled' goes from 5% on the base (origin/main, merge base ")]);
    expect(step2.stdout).toMatch(/flagops: refused \(production: e_prescribing_enabled on 25% -> on 50%; base: origin\/main, merge base [0-9a-f]{12}\); no file was changed/);
    expect(read(dir, 'environments/production/flags.yaml')).toBe(before);
    // AND CI's check of the branch as committed passes (one step), like the first local edit
    expect((await flagopsWith(dir, ['check', '--base', 'origin/main'], CI)).code).toBe(0);
  });

  it('refuses to take a brand-new flag to dev, staging and production in one pull request', async () => {
    const server = gitServer();
    const dir = cloneOf(server);
    git(dir, 'checkout', '-q', '-b', 'new-flag');
    const who = ['--by', 'sam.lee@pms.example.com'];
    const add = await editAt(dir, '2026-11-23T09:00:00Z', 'add', 'visit_notes_export_enabled', '--description', 'Export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag', '--ticket', 'TICKET-13300', ...who);
    expect(add.code, add.stdout).toBe(0);
    // WHEN dev goes to 100% (allowed: dev promotes from nothing) and then staging in the same branch
    const dev = await editAt(dir, '2026-11-23T09:10:00Z', 'enable', 'visit_notes_export_enabled', '--env', 'dev', '--rollout', '100', '--reason', 'dev first', ...who);
    expect(dev.code, dev.stdout).toBe(0);
    const staging = await editAt(dir, '2026-11-23T09:20:00Z', 'enable', 'visit_notes_export_enabled', '--env', 'staging', '--rollout', '100', '--reason', 'staging too', '--ticket', 'TICKET-13300', ...who);
    // THEN staging is refused: dev is not at 100% on main
    expect(staging.code).toBe(1);
    expect(errors(staging, 'promotion-order')).toEqual([
      expect.stringContaining("flag 'visit_notes_export_enabled' is raised to 100% in staging while dev has it absent on the base (origin/main, merge base "),
    ]);
    // AND a hand-written pull request doing all three at once fails check in CI on staging and production
    setFlag(dir, 'staging', 'visit_notes_export_enabled', { enabled: true, rollout: 100, changed_at: '2026-11-23T09:20:00Z', ...fresh });
    setFlag(dir, 'production', 'visit_notes_export_enabled', { enabled: true, rollout: 5, changed_at: '2026-11-23T09:30:00Z', approved_by: 'lead@pms.example.com', ...fresh });
    expect((await flagops(dir, 'synth')).code).toBe(0);
    commitAll(dir, 'all at once', { date: '2026-11-23T09:40:00Z' });
    const ci = await flagopsWith(dir, ['check'], CI);
    expect(ci.code).toBe(1);
    expect(errors(ci, 'promotion-order').map((l) => l.split(':')[0])).toEqual(['environments/production/flags.yaml', 'environments/staging/flags.yaml']);
  });
});

describe('concurrent pull requests merge', () => {
  /** Two branches from main, each pulling the kill switch of one of two neighbouring production flags. */
  async function twoBranches(): Promise<{ dir: string; base: string }> {
    const server = gitServer();
    const dir = cloneOf(server);
    const base = git(dir, 'rev-parse', 'HEAD').trim();
    const flags = { a: 'patient_portal_messaging_enabled', b: 'read_replica_reporting_enabled' } as const;
    for (const [branch, flag] of Object.entries(flags)) {
      git(dir, 'checkout', '-q', '-b', branch, base);
      const r = await editAt(dir, '2026-11-23T10:00:00Z', 'disable', flag, '--env', 'production', '--reason', `Incident on ${flag}`, '--ticket', 'INC-2291', '--by', `oncall-${branch}@pms.example.com`);
      expect(r.code, r.stdout).toBe(0);
      commitAll(dir, `Kill switch ${flag}`, { date: '2026-11-23T10:01:00Z' });
    }
    git(dir, 'checkout', '-q', 'main');
    return { dir, base };
  }

  const merge = (dir: string, branch: string) =>
    spawnSync('git', ['-c', 'user.name=RM', '-c', 'user.email=rm@pms.example.com', 'merge', '--no-ff', '--no-edit', branch], { cwd: dir, encoding: 'utf8' });

  for (const order of [['a', 'b'], ['b', 'a']] as const) {
    it(`merges two kill switches of neighbouring production flags in the order ${order.join(', ')} without a conflict, and the result passes check with no drift`, async () => {
      const { dir, base } = await twoBranches();
      for (const branch of order) {
        const m = merge(dir, branch);
        expect(m.status, `${m.stdout}${m.stderr}`).toBe(0);
      }
      const r = await flagopsWith(dir, ['check', '--base', base], CI);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).not.toContain('[drift]');
      const legacy = JSON.parse((await import('yaml')).parse(read(dir, 'dist/production/configmap-feature-flags-config.yaml')).data['feature_flags.json']);
      expect(legacy.production).toMatchObject({ patient_portal_messaging_enabled: false, read_replica_reporting_enabled: false });
    });
  }
});
