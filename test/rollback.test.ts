/**
 * `flagops monitor --rollback [--push REMOTE]`: on a breach the kill switch is prepared as a commit
 * on a new branch from main, with real git (a bare server, a remote that refuses pushes, a project
 * in a folder of a larger repository). Prometheus is the scripted stand-in here; the end-to-end run
 * against a real Prometheus is in test/monitor-prometheus.test.ts.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { prepareRollback, rollbackTarget } from '../lib/rollout/rollback.ts';
import { flagops, git, NOW, read, tempProject } from './helpers.ts';
import { healthy, startFakePrometheus, type FakePrometheus } from './support/fake-prometheus.ts';
import { cloneOf, gitServer } from './support/git-server.ts';
import { closedPort } from './support/ports.ts';

const FLAG = 'telehealth_appointments_enabled';
const BRANCH = `flagops/rollback/${FLAG}-20261123T120000Z`;
const FAST = ['--duration', '2s', '--interval', '100ms'];

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** GIVEN a Prometheus where the error ratio is 12.5% from the second poll on. */
async function burst(): Promise<string> {
  fake = await startFakePrometheus((signal, n) => (signal === 'errorRatio' && n >= 2 ? '0.125' : healthy(signal)));
  return fake.url;
}

/** A bare repository whose pre-receive hook refuses every push, added to `dir` as remote `locked`. */
function lockedRemote(dir: string): string {
  const bare = mkdtempSync(join(tmpdir(), 'flagops-locked-'));
  git(bare, 'init', '-q', '--bare', '-b', 'main');
  const hook = join(bare, 'hooks', 'pre-receive');
  writeFileSync(hook, '#!/bin/sh\necho "GH006: Protected branch update failed: rollback branches need a signed-off ticket" >&2\nexit 1\n');
  chmodSync(hook, 0o755);
  git(dir, 'remote', 'add', 'locked', bare);
  return bare;
}

const branches = (dir: string): string[] => git(dir, 'branch', '--list', 'flagops/rollback/*', '--format=%(refname:short)').split('\n').filter(Boolean);

describe('flagops monitor --rollback', () => {
  it('on a breach prepares the kill switch on a new branch from main and pushes it, leaving main and the working tree alone', async () => {
    // GIVEN an on-call engineer's clone, on a branch of their own with uncommitted work
    const server = gitServer();
    const dir = cloneOf(server);
    git(dir, 'checkout', '-q', '-b', 'wip');
    writeFileSync(join(dir, 'notes.txt'), 'uncommitted\n');
    const mainBefore = git(server.bare, 'rev-parse', 'main').trim();
    // WHEN the monitor sees the error ratio above 5%
    const r = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', await burst(), ...FAST, '--rollback', '--push', 'origin', '--ticket', 'INC-2400', '--by', 'oncall@pms.example.com', '--report', 'rollback.json');
    // THEN it exits 3 (breached) and names the branch it pushed
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain(`rollback branch: ${BRANCH} (commit `);
    expect(r.stdout).toContain(`pushed to origin: open its pull request (gh pr create --base main --head ${BRANCH})`);
    expect(git(server.bare, 'branch', '--list', 'flagops/rollback/*', '--format=%(refname:short)').trim()).toBe(BRANCH);
    // AND the branch is one commit on main's tip, changing the flag file and the ConfigMap of production only
    const tip = git(server.bare, 'rev-parse', BRANCH).trim();
    expect(git(server.bare, 'rev-parse', `${BRANCH}^`).trim()).toBe(mainBefore);
    expect(git(server.bare, 'diff', '--name-only', mainBefore, tip).trim().split('\n')).toEqual(['dist/production/configmap-feature-flags-config.yaml', 'environments/production/flags.yaml']);
    expect(git(server.bare, 'log', '-1', '--format=%s%n%b', tip)).toContain(`Rollback: ${FLAG} off in production (flagops monitor)`);
    // AND its entry carries the audit fields from the breach
    const entry = (parse(git(server.bare, 'show', `${tip}:environments/production/flags.yaml`)) as { flags: Record<string, Record<string, unknown>> }).flags[FLAG]!;
    expect(entry).toMatchObject({ enabled: false, rollout: 25, ticket: 'INC-2400', changed_by: 'oncall@pms.example.com', changed_at: NOW });
    expect(entry.reason).toBe('Rollback: error ratio 12.5% > 5% during the 25% rollout (flagops monitor)');
    // AND main, the current branch and the working tree are untouched
    expect(git(server.bare, 'rev-parse', 'main').trim()).toBe(mainBefore);
    expect(git(dir, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('wip');
    expect(git(dir, 'status', '--porcelain').trim()).toBe('?? notes.txt\n?? rollback.json');
    expect(git(dir, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
    // AND the report names the branch
    expect(JSON.parse(read(dir, 'rollback.json')).rollbackBranch).toEqual({ branch: BRANCH, commit: tip, pushed: 'origin' });
    // AND the branch passes flagops check against main, as CI will judge its pull request
    const pr = cloneOf(server, '--branch', BRANCH);
    const check = await flagops(pr, 'check', '--base', 'origin/main');
    expect(check.code, check.stdout).toBe(0);
  });

  it('says when the remote refuses the push, keeps the complete branch only locally, and exits 1', async () => {
    const server = gitServer();
    const dir = cloneOf(server);
    const locked = lockedRemote(dir);
    // (locked has no main, so the branch starts at HEAD)
    const r = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', await burst(), ...FAST, '--rollback', '--push', 'locked', '--by', 'oncall@pms.example.com');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`flagops monitor: error: the push of ${BRANCH} to locked was refused or failed: `);
    expect(r.stderr).toContain('GH006: Protected branch update failed');
    expect(r.stderr).toContain(`the rollback commit is complete on the local branch ${BRANCH} (nothing was pushed)`);
    expect(git(locked, 'for-each-ref').trim()).toBe('');
    expect(branches(dir)).toEqual([BRANCH]);
  });

  it('makes no branch when Prometheus cannot be queried, and checks the remote and identity before monitoring', async () => {
    const dir = cloneOf(gitServer());
    // GIVEN nothing listens on the port (held closed by the test)
    const closed = await closedPort();
    onTestFinished(() => closed.release());
    const url = closed.url;
    const r = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, ...FAST, '--retry-for', '0s', '--rollback', '--push', 'origin');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot query Prometheus');
    expect(branches(dir)).toEqual([]);
    // AND usage errors come before any query
    const remote = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, '--rollback', '--push', 'nowhere');
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('--push "nowhere" is not a remote of this repository: name one of `git remote`');
    const token = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, '--rollback', '--push', 'https://ghp_tokenvalue123@github.com/pms-example/flagops.git');
    expect(token.code).toBe(2);
    expect(token.stderr).toContain('--push "https://***@github.com/pms-example/flagops.git" is not a remote of this repository');
    expect(token.stderr).not.toContain('ghp_tokenvalue123');
    const alone = await flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, '--push', 'origin');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--push and --by go with --rollback');
    const plain = await flagops(tempProject(), 'monitor', FLAG, '--env', 'production', '--prometheus', url, '--rollback', '--by', 'x@pms.example.com');
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('--rollback prepares the kill switch as a git commit, and this project is not in a git repository');
  });

  it('prepares the branch for a project in a folder of a larger repository, and says when the flag is already off on main', async () => {
    // GIVEN the project in ops/ of a repository
    const repo = mkdtempSync(join(tmpdir(), 'flagops-mono-'));
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.email', 'oncall@pms.example.com');
    git(repo, 'config', 'user.name', 'On Call');
    const { cpSync } = await import('node:fs');
    cpSync(tempProject(), join(repo, 'ops'), { recursive: true });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'ops');
    const target = rollbackTarget(join(repo, 'ops'), undefined);
    expect(target).toMatchObject({ prefix: 'ops/', startRef: 'HEAD' });
    const request = { flag: FLAG, environment: 'production', reason: 'Rollback: test', ticket: 'INC-1', by: 'oncall@pms.example.com', at: new Date(NOW) };
    // WHEN the rollback is prepared
    const r = await prepareRollback(target, request);
    // THEN the branch changes the project's files under ops/
    expect(r.status).toBe('prepared');
    expect(git(repo, 'diff', '--name-only', 'main', BRANCH).trim().split('\n')).toEqual(['ops/dist/production/configmap-feature-flags-config.yaml', 'ops/environments/production/flags.yaml']);
    // AND for a flag already off there, no branch is made
    const off = await prepareRollback(target, { ...request, flag: 'sms_appointment_reminders_enabled' });
    expect(off).toMatchObject({ status: 'already-off' });
    expect(branches(repo)).toEqual([BRANCH]);
  });
});
