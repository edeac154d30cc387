/**
 * The release pipeline (issue 15) with real git: a bare server as GitHub, an engineer's clone, each
 * step on a branch merged into the server's main by a dated merge commit, and "now" moved forward
 * with FLAGOPS_NOW past each soak time. `flagops advance` alone takes a new flag from `flagops add`
 * to 100% in production; `flagops status FLAG` says what blocks the next step.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../lib/review/audit.ts';
import { flagopsWith, git, read, type CliResult } from './helpers.ts';
import { commitAll } from './flag-history.ts';
import { cloneOf, gitServer } from './support/git-server.ts';

const FLAG = 'visit_notes_export_enabled';
const APPROVER = ['--approved-by', 'lead@pms.example.com'];

/** Runs flagops with "now" fixed to `at`. */
const at = (dir: string, now: string, ...args: string[]): Promise<CliResult> => flagopsWith(dir, args, { FLAGOPS_NOW: now });

/** Commits the working tree on a new branch at `committed`, merges it into main at `merged` and pushes main to the server. */
function land(dir: string, branch: string, committed: string, merged: string): string {
  git(dir, 'checkout', '-q', '-b', branch);
  commitAll(dir, branch, { date: committed });
  git(dir, 'checkout', '-q', 'main');
  const env = { ...process.env, GIT_AUTHOR_DATE: merged, GIT_COMMITTER_DATE: merged };
  const r = spawnSync('git', ['-c', 'user.name=Release Manager', '-c', 'user.email=rm@pms.example.com', 'merge', '-q', '--no-ff', '-m', `Merge pull request from ${branch}`, branch], { cwd: dir, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`git merge failed: ${r.stderr}`);
  git(dir, 'push', '-q', 'origin', 'main');
  git(dir, 'fetch', '-q', 'origin');
  return git(dir, 'rev-parse', 'HEAD').trim();
}

/** GIVEN an engineer's clone of the server, with FLAG added by a merged pull request at 09:02. */
async function withNewFlag(): Promise<string> {
  const dir = cloneOf(gitServer());
  const add = await at(dir, '2026-11-23T09:00:00Z', 'add', FLAG, '--description', 'Export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag for PDF export', '--ticket', 'TICKET-14000');
  expect(add.code, add.stdout + add.stderr).toBe(0);
  land(dir, 'add-flag', '2026-11-23T09:01:00Z', '2026-11-23T09:02:00Z');
  return dir;
}

const stateIn = (dir: string, env: string): string => {
  const text = read(dir, `environments/${env}/flags.yaml`);
  const entry = text.slice(text.indexOf(`  ${FLAG}:`));
  return `${/enabled: (\w+)/.exec(entry)![1]} ${/rollout: (\d+)/.exec(entry)![1]}`;
};

describe('flagops advance: from flagops add to 100% in production, one merged step at a time', () => {
  it('takes a new flag through dev, staging and production 5 -> 25 -> 50 -> 100, holding each production step for its soak time', async () => {
    const dir = await withNewFlag();
    // (merged at, advance at, expected step): each advance lands on main two minutes later
    const steps: [string, string, string][] = [
      ['2026-11-23T09:05:00Z', 'dev', 'true 100'],
      ['2026-11-23T09:10:00Z', 'staging', 'true 100'],
      // production was set off by the add merged at 09:02: its soak time is over at 09:32
      ['2026-11-23T09:35:00Z', 'production', 'true 5'],
      ['2026-11-23T10:10:00Z', 'production', 'true 25'],
      ['2026-11-23T10:45:00Z', 'production', 'true 50'],
      ['2026-11-23T11:20:00Z', 'production', 'true 100'],
    ];
    for (const [i, [now, env, expected]] of steps.entries()) {
      // WHEN flagops advance runs, and nothing else
      const r = await at(dir, now, 'advance', FLAG, ...APPROVER);
      // THEN it takes the next step, in the next environment
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`flagops advance: ${FLAG}: next step ${env} `);
      expect(stateIn(dir, env)).toBe(expected);
      const t = Date.parse(now);
      land(dir, `step-${i + 1}`, new Date(t + 60_000).toISOString(), new Date(t + 120_000).toISOString());
    }
    // AND the flag is on 100% everywhere on main, which passes every rule
    const check = await flagopsWith(dir, ['check'], { FLAGOPS_NOW: '2026-11-23T11:30:00Z', CI: 'true' });
    expect(check.code, check.stdout).toBe(0);
    // AND the audit trail has the four production steps, each landed by its merge, with the generated reasons
    const audit = await at(dir, '2026-11-23T11:30:00Z', 'audit', '--env', 'production', '--flag', FLAG, '--json');
    const entries = audit.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry).filter((e) => e.event_type !== 'feature_flag_added');
    expect(entries.map((e) => [e.rollout_percentage, e.approval_ticket, e.approved_by, e.commit_date])).toEqual([
      [5, 'TICKET-14000', 'lead@pms.example.com', '2026-11-23T09:37:00Z'],
      [25, 'TICKET-14000', 'lead@pms.example.com', '2026-11-23T10:12:00Z'],
      [50, 'TICKET-14000', 'lead@pms.example.com', '2026-11-23T10:47:00Z'],
      [100, 'TICKET-14000', 'lead@pms.example.com', '2026-11-23T11:22:00Z'],
    ]);
    expect(entries[1]!.reason).toBe('Rollout to 25% of users in production (step 2 of 4 in production) (flagops advance)');
    // AND one more advance says the pipeline is done, with exit 1
    const done = await at(dir, '2026-11-23T11:30:00Z', 'advance', FLAG, ...APPROVER);
    expect(done.code).toBe(1);
    expect(done.stderr).toContain(`flagops advance: refused: ${FLAG} is on 100% in every environment: the pipeline is done. Once the code always takes the flag's on path, retire it with \`flagops remove ${FLAG} --keep-code-path\`; no file was changed`);
  });

  it('refuses a step before the soak time, saying when it becomes possible, and status FLAG shows the same block', async () => {
    // GIVEN the flag at 100% in dev and staging, and production 5% merged at 09:37
    const dir = await withNewFlag();
    for (const [i, now] of ['2026-11-23T09:05:00Z', '2026-11-23T09:10:00Z', '2026-11-23T09:35:00Z'].entries()) {
      expect((await at(dir, now, 'advance', FLAG, ...APPROVER)).code).toBe(0);
      const t = Date.parse(now);
      land(dir, `step-${i + 1}`, new Date(t + 60_000).toISOString(), new Date(t + 120_000).toISOString());
    }
    const before = read(dir, 'environments/production/flags.yaml');
    // WHEN the next step is asked for 20 minutes after the merge
    const r = await at(dir, '2026-11-23T09:57:00Z', 'advance', FLAG, ...APPROVER);
    // THEN it is refused by soak-time, naming the merge time and when it becomes possible, and nothing is written
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("has been on main only since 2026-11-23T09:37:00Z (commit ");
    expect(r.stdout).toContain('production holds each step for 30 minutes (soakMinutes in environments/production/environment.ts): the next step is possible from 2026-11-23T10:07:00Z [soak-time]');
    expect(r.stdout).toContain('no file was changed');
    expect(read(dir, 'environments/production/flags.yaml')).toBe(before);
    // AND status FLAG shows where the flag stands and the same block
    const status = await at(dir, '2026-11-23T09:57:00Z', 'status', FLAG);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^production\s+on 5%\s+2026-11-23T09:37:00Z \([0-9a-f]{12}\)\s+\[5\] 25 50 100\s+30m$/m);
    expect(status.stdout).toContain(`next: production on 5% -> on 25% (step 2 of 4 in production): \`flagops advance ${FLAG}\``);
    expect(status.stdout).toMatch(/^blocked by: \[soak-time\] .*the next step is possible from 2026-11-23T10:07:00Z$/m);
    const json = JSON.parse((await at(dir, '2026-11-23T10:08:00Z', 'status', FLAG, '--json')).stdout);
    expect(json.next).toEqual({ environment: 'production', from: 'on 5%', to: 'on 25%' });
    expect(json.blockers).toEqual([]);
    expect(json.environments.map((e: { landed: { at: string } }) => e.landed.at)).toEqual(['2026-11-23T09:07:00Z', '2026-11-23T09:12:00Z', '2026-11-23T09:37:00Z']);
    // AND --dry-run after the soak time says what it would do and writes nothing
    const dry = await at(dir, '2026-11-23T10:08:00Z', 'advance', FLAG, ...APPROVER, '--dry-run');
    expect(dry.code, dry.stdout).toBe(0);
    expect(dry.stdout).toContain(`flagops advance: ${FLAG}: next step production on 5% -> on 25% (step 2 of 4 in production)`);
    expect(dry.stdout).toContain('would write environments/production/flags.yaml');
    expect(read(dir, 'environments/production/flags.yaml')).toBe(before);
  });

  it('says when the step before has not reached main yet, and when main has moved on', async () => {
    // GIVEN dev advanced and committed on a branch, not merged
    const dir = await withNewFlag();
    git(dir, 'checkout', '-q', '-b', 'dev-step');
    expect((await at(dir, '2026-11-23T09:05:00Z', 'advance', FLAG)).code).toBe(0);
    commitAll(dir, 'dev step', { date: '2026-11-23T09:06:00Z' });
    // WHEN advance runs again
    const r = await at(dir, '2026-11-23T09:10:00Z', 'advance', FLAG);
    // THEN it says the dev step is not on main yet, and how to go on
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`flagops advance: refused: ${FLAG} has changes here that are not on main yet \\(dev: off on main, on 100% here; base: origin/main, merge base [0-9a-f]{12}\\): merge their pull request first, update this clone \\(\`git checkout main && git pull\`\\), then run flagops advance again; no file was changed`),
    );
    // AND on a clone whose main is behind the server's, it says to update first
    git(dir, 'checkout', '-q', 'main');
    git(dir, 'merge', '-q', '--no-ff', '-m', 'merge dev step', 'dev-step');
    git(dir, 'push', '-q', 'origin', 'main');
    git(dir, 'reset', '-q', '--hard', 'HEAD~1');
    git(dir, 'fetch', '-q', 'origin');
    git(dir, 'checkout', '-q', '-b', 'stale');
    const behind = await at(dir, '2026-11-23T09:10:00Z', 'advance', FLAG);
    expect(behind.code).toBe(1);
    expect(behind.stderr).toContain(`main has moved on for ${FLAG} since this clone's base (dev: off at the base, on 100% on origin/main): update first`);
    expect(behind.stderr).toContain("`git rebase refs/remotes/origin/main` on a branch");
  });

  it('is a usage error for an unknown flag (exit 2), and status FLAG refuses --env', async () => {
    const dir = cloneOf(gitServer());
    const r = await at(dir, '2026-11-23T09:00:00Z', 'advance', 'no_such_flag_enabled');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flagops: error: unknown flag 'no_such_flag_enabled': it is not in environments/catalog.yaml (declare it with flagops add)");
    const s = await at(dir, '2026-11-23T09:00:00Z', 'status', 'e_prescribing_enabled', '--env', 'production');
    expect(s.code).toBe(2);
  });
});
