/**
 * Judged by main (issue 21): a pull request cannot change what judges it. With real git (a bare
 * origin, clones, commits by the people named in the flag files): the change rules, the soak time
 * and the approval requirement come from the base's environment.ts; prerequisites from the base's
 * catalog; whose approval counts from the base's .github/flagops-identities; an approval covers the
 * commit it was given on; a commit GitHub linked to no account proves nothing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagopsProcess, flagopsWith, git, replaceIn, write, type CliResult } from './helpers.ts';
import { commitAll, setFlag } from './flag-history.ts';
import { cloneOf, gitServer } from './support/git-server.ts';

const NOW = '2026-11-23T12:00:00Z';
const CI = { CI: 'true', FLAGOPS_NOW: NOW };
const IDENTITIES = '@pms-lead lead@pms.example.com\n@sam-lee sam.lee@pms.example.com\n@marco-diaz marco.diaz@pms.example.com\n';
const SAM = { author: 'Sam Lee', email: 'sam.lee@pms.example.com' };
const PRODUCTION_SETTINGS = 'environments/production/environment.ts';

const lines = (r: CliResult, severity: 'error' | 'warning', rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(`: ${severity}: `) && l.endsWith(`[${rule}]`));
const check = (dir: string, ...args: string[]): Promise<CliResult> => flagopsWith(dir, ['check', ...args], CI);

/** GIVEN a bare origin whose main holds the sample project and the identities file; a full clone of it on a new branch. */
function repository(mainCommits: (seed: string) => void = () => {}): string {
  const server = gitServer();
  mkdirSync(join(server.seed, '.github'), { recursive: true });
  write(server.seed, '.github/flagops-identities', IDENTITIES);
  commitAll(server.seed, 'identities', { date: '2026-11-21T00:10:00Z' });
  mainCommits(server.seed);
  git(server.seed, 'push', '-q', 'origin', 'main');
  const dir = cloneOf(server);
  git(dir, 'checkout', '-q', '-b', 'change');
  return dir;
}

/** Raises production e_prescribing_enabled to `rollout` with fresh audit fields, re-synthesizes and commits as Sam. */
async function raise(dir: string, rollout: number, fields: Record<string, string | undefined> = {}, date = '2026-11-23T11:00:00Z'): Promise<string> {
  setFlag(dir, 'production', 'e_prescribing_enabled', { rollout, reason: `Phase ${rollout}`, ticket: 'TICKET-13500', changed_by: 'sam.lee@pms.example.com', changed_at: date, approved_by: 'lead@pms.example.com', ...fields });
  expect((await flagopsWith(dir, ['synth'], { FLAGOPS_NOW: NOW })).code).toBe(0);
  return commitAll(dir, `e-prescribing to ${rollout}%`, { date, ...SAM });
}

interface Review {
  readonly login: string;
  readonly commit: string;
  readonly state?: string;
}

/** The GitHub API's answer for the pull request: its commits (as GitHub linked them) and reviews; `head` as the workflow writes it. */
function pullRequest(dir: string, reviews: readonly Review[], link: (email: string) => string | null = (e) => (e === SAM.email ? 'sam-lee' : null)): string {
  const shas = git(dir, 'rev-list', '--reverse', 'refs/remotes/origin/main..HEAD').trim().split('\n').filter(Boolean);
  const commits = shas.map((sha) => {
    const email = git(dir, 'log', '-1', '--format=%ae', sha).trim();
    const login = link(email);
    return { sha, commit: { author: { email }, committer: { email } }, author: login ? { login } : null, committer: login ? { login } : null };
  });
  const head = shas.at(-1)!;
  write(dir, '../pr.json', JSON.stringify({ head, author: 'sam-lee', commits, reviews: reviews.map((r) => ({ user: { login: r.login }, state: r.state ?? 'APPROVED', commit_id: r.commit })) }));
  return join(dir, '..', 'pr.json');
}

describe("the base's settings judge the change (environment.ts on main)", () => {
  it('a pull request that relaxes production settings and jumps 5% -> 100% without approved_by is refused by the old rules', async () => {
    const dir = repository();
    replaceIn(dir, PRODUCTION_SETTINGS, '  rolloutOneStepAtATime: true,', '  rolloutOneStepAtATime: false,');
    replaceIn(dir, PRODUCTION_SETTINGS, '  soakMinutes: 30,', '  soakMinutes: 0,');
    replaceIn(dir, PRODUCTION_SETTINGS, '  requireApproval: true,', '  requireApproval: false,');
    await raise(dir, 100, { approved_by: undefined });
    const r = await check(dir);
    expect(r.code, r.stdout).toBe(1);
    expect(lines(r, 'error', 'rollout-one-step')).toEqual([expect.stringContaining("flag 'e_prescribing_enabled' goes from 5% on the base (origin/main, merge base")]);
    expect(lines(r, 'error', 'approval-required')).toEqual([expect.stringContaining("flag 'e_prescribing_enabled' is enabled in production and needs 'approved_by' (a second person) (by the settings on the base")]);
    // AND the settings change itself is named, where it is, as needing its own approval
    const changes = lines(r, 'warning', 'rules-change');
    expect(changes).toEqual([
      expect.stringMatching(/^environments\/production\/environment\.ts:\d+:3: warning: this change alters what judges flag changes \(production rolloutOneStepAtATime: true -> false\)/),
      expect.stringMatching(/^environments\/production\/environment\.ts:\d+:3: warning: .*\(production soakMinutes: 30 -> 0\)/),
      expect.stringMatching(/^environments\/production\/environment\.ts:\d+:3: warning: .*\(production requireApproval: true -> false\)/),
    ]);
    expect(changes[0]).toContain('CI requires an approval from someone in the base\'s .github/flagops-identities who authored none of its commits');
    // AND check wrote nothing
    expect(git(dir, 'status', '--porcelain')).toBe('');
    // AND diff shows the settings change in its own section, above the flags
    const text = await flagopsWith(dir, ['diff'], CI);
    expect(text.stdout).toMatch(/: 3 settings or rules changed; production: 1 flag raised; /);
    const section = text.stdout.indexOf('settings and rules (');
    expect(section).toBeGreaterThan(0);
    expect(section).toBeLessThan(text.stdout.indexOf('\nproduction:\n'));
    expect(text.stdout).toMatch(/\n {2}environments\/production\/environment\.ts:\d+: production soakMinutes: 30 -> 0\n/);
    const markdown = await flagopsWith(dir, ['diff', '--format', 'markdown'], CI);
    expect(markdown.stdout.indexOf('#### Settings and rules')).toBeGreaterThan(0);
    expect(markdown.stdout.indexOf('#### Settings and rules')).toBeLessThan(markdown.stdout.indexOf('#### production'));
    expect(markdown.stdout).toMatch(/\| `environments\/production\/environment\.ts:\d+` \| production requireApproval \| `true` \| `false` \|/);
    const json = JSON.parse((await flagopsWith(dir, ['diff', '--format', 'json'], CI)).stdout) as { rules: { subject: string; before: string; after: string }[] };
    expect(json.rules.map((r) => `${r.subject}: ${r.before} -> ${r.after}`)).toEqual(['rolloutOneStepAtATime: true -> false', 'soakMinutes: 30 -> 0', 'requireApproval: true -> false']);
  });

  it('a settings change that reaches no flag still shows in diff, which never says "nothing changes" for it', async () => {
    const dir = repository();
    replaceIn(dir, PRODUCTION_SETTINGS, '  soakMinutes: 30,', '  soakMinutes: 45,');
    commitAll(dir, 'longer soak', { date: '2026-11-23T11:00:00Z', ...SAM });
    const r = await flagopsWith(dir, ['diff', '--exit-code'], CI);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/: 1 setting or rule changed$/m);
    expect(r.stdout).toContain('production soakMinutes: 30 -> 45');
  });

  it('soak time is the base\'s: setting soakMinutes to 0 does not let the next step follow at once', async () => {
    const dir = repository((seed) => {
      setFlag(seed, 'production', 'e_prescribing_enabled', { rollout: 25, reason: 'Phase 2', ticket: 'TICKET-13499', changed_by: 'sam.lee@pms.example.com', changed_at: '2026-11-23T11:40:00Z', approved_by: 'lead@pms.example.com' });
      expect(flagopsProcess(seed, ['synth'], { FLAGOPS_NOW: NOW }).code).toBe(0);
      commitAll(seed, 'e-prescribing 25% (merged)', { date: '2026-11-23T11:45:00Z' });
    });
    replaceIn(dir, PRODUCTION_SETTINGS, '  soakMinutes: 30,', '  soakMinutes: 0,');
    await raise(dir, 50, {}, '2026-11-23T11:50:00Z');
    const r = await check(dir);
    expect(r.code, r.stdout).toBe(1);
    expect(lines(r, 'error', 'soak-time')).toEqual([expect.stringContaining('production holds each step for 30 minutes')]);
  });

  it("prerequisites are the base's: dropping a requires while raising the flag is judged by the old requires", async () => {
    // GIVEN main, where the prerequisite of secure_document_upload_enabled is lowered to 50% in production
    const dir = repository((seed) => {
      setFlag(seed, 'production', 'patient_portal_messaging_enabled', { rollout: 50, reason: 'Lowered', ticket: 'INC-100', changed_by: 'sam.lee@pms.example.com', changed_at: '2026-11-22T10:00:00Z' });
      expect(flagopsProcess(seed, ['synth'], { FLAGOPS_NOW: NOW }).code).toBe(0);
      commitAll(seed, 'portal messaging lowered', { date: '2026-11-22T10:05:00Z' });
    });
    // WHEN a pull request drops the requires and raises the flag
    replaceIn(dir, 'environments/catalog.yaml', '    requires: [patient_portal_messaging_enabled]', '    requires: []');
    setFlag(dir, 'production', 'secure_document_upload_enabled', { rollout: 50, reason: 'Phase 3', ticket: 'TICKET-13502', changed_by: 'sam.lee@pms.example.com', changed_at: '2026-11-23T11:00:00Z', approved_by: 'lead@pms.example.com' });
    expect((await flagopsWith(dir, ['synth'], { FLAGOPS_NOW: NOW })).code).toBe(0);
    commitAll(dir, 'secure upload to 50%', { date: '2026-11-23T11:00:00Z', ...SAM });
    const r = await check(dir);
    // THEN the old prerequisite holds, and the catalog change is named
    expect(r.code, r.stdout).toBe(1);
    expect(lines(r, 'error', 'prerequisite')).toEqual([expect.stringContaining("flag 'secure_document_upload_enabled' requires 'patient_portal_messaging_enabled', which is on 50% in production on the base")]);
    expect(lines(r, 'warning', 'rules-change')).toEqual([
      expect.stringMatching(/^environments\/catalog\.yaml:\d+:5: warning: this change alters what judges flag changes \(secure_document_upload_enabled requires: \[patient_portal_messaging_enabled\] -> \[\]\)/),
    ]);
  });
});

describe('a local edit is judged like the pull request', () => {
  it('rollout refuses to skip a step even after environment.ts is relaxed in the working tree', async () => {
    const dir = repository();
    replaceIn(dir, PRODUCTION_SETTINGS, '  rolloutOneStepAtATime: true,', '  rolloutOneStepAtATime: false,');
    const r = await flagopsWith(dir, ['rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '100', '--reason', 'All in', '--ticket', 'TICKET-13503', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com'], { FLAGOPS_NOW: NOW });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(`${r.stdout}\n${r.stderr}`).toContain("flag 'e_prescribing_enabled' goes from 5% on the base (origin/main, merge base");
    expect(git(dir, 'status', '--porcelain')).toBe(' M environments/production/environment.ts\n');
  });
});

describe("the base's identities decide whose approval counts", () => {
  it('a pull request that maps a new login to the lead\'s e-mail does not make that login\'s approval the lead\'s', async () => {
    const dir = repository();
    write(dir, '.github/flagops-identities', `${IDENTITIES}@random-dev lead@pms.example.com\n`);
    const head = await raise(dir, 25);
    const pr = pullRequest(dir, [{ login: 'random-dev', commit: head }]);
    const r = await check(dir, '--pull-request', pr);
    expect(r.code, r.stdout).toBe(1);
    expect(lines(r, 'error', 'approver-not-reviewer')).toEqual([expect.stringContaining('says approved_by lead@pms.example.com, who has not approved the pull request (approvals: @random-dev)')]);
    expect(lines(r, 'error', 'rules-change')).toEqual([
      expect.stringMatching(/^\.github\/flagops-identities:4:1: error: this change alters what judges flag changes \(@random-dev: absent -> lead@pms\.example\.com\).*@random-dev \(not in the base's \.github\/flagops-identities\)/),
    ]);
  });

  it('the same change approved at the head by a release manager listed on main passes', async () => {
    const dir = repository();
    write(dir, '.github/flagops-identities', `${IDENTITIES}@random-dev random.dev@pms.example.com\n`);
    const head = await raise(dir, 25);
    const r = await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: head }]));
    expect(r.code, r.stdout).toBe(0);
  });

  it('an author of the pull request cannot approve its change to the rules', async () => {
    const dir = repository();
    write(dir, '.github/flagops-identities', `${IDENTITIES}@random-dev random.dev@pms.example.com\n`);
    const head = await raise(dir, 25);
    const r = await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: head }, { login: 'sam-lee', commit: head }].slice(1)));
    expect(lines(r, 'error', 'rules-change')).toEqual([expect.stringContaining('@sam-lee (an author of the pull request)')]);
  });
});

describe('approvals are GitHub facts', () => {
  it('an approval given before the entry changed does not cover it, and the finding says so', async () => {
    const dir = repository();
    const first = await raise(dir, 25);
    // AFTER the approval, the entry changes (another reason, another ticket)
    const head = await raise(dir, 25, { reason: 'Phase 2, now with refills', ticket: 'TICKET-13501' }, '2026-11-23T11:30:00Z');
    const r = await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: first }]));
    expect(r.code, r.stdout).toBe(1);
    const errors = lines(r, 'error', 'approver-not-reviewer');
    expect(errors).toEqual([expect.stringContaining(`whose approval does not cover this entry as it is now (@pms-lead approved commit ${first.slice(0, 12)}, not the head; this entry changed since it); ask @pms-lead to approve the pull request again`)]);
    // AND approved again at the head, it passes
    expect((await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: head }]))).code).toBe(0);
  });

  it('an approval of an earlier commit still covers an entry that is byte-identical at the head', async () => {
    const dir = repository();
    const first = await raise(dir, 25);
    // AFTER the approval, only another environment's entry changes
    setFlag(dir, 'dev', 'e_prescribing_enabled', { reason: 'Dev note', changed_by: 'sam.lee@pms.example.com', changed_at: '2026-11-23T11:30:00Z' });
    commitAll(dir, 'dev note', { date: '2026-11-23T11:30:00Z', ...SAM });
    const r = await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: first }]));
    expect(lines(r, 'error', 'approver-not-reviewer'), r.stdout).toEqual([]);
  });

  it('an approval of a commit this clone does not have counts for nothing', async () => {
    const dir = repository();
    await raise(dir, 25);
    const r = await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: 'ab'.repeat(20) }]));
    expect(lines(r, 'error', 'approver-not-reviewer')).toEqual([expect.stringContaining(`@pms-lead approved commit ${'ab'.repeat(6)}, which is not in this clone`)]);
  });

  it('a commit whose GitHub author is null (an e-mail linked to no account) proves nothing about changed_by', async () => {
    const dir = repository();
    const head = await raise(dir, 25);
    const r = await check(dir, '--pull-request', pullRequest(dir, [{ login: 'pms-lead', commit: head }], () => null));
    expect(r.code, r.stdout).toBe(1);
    expect(lines(r, 'error', 'changed-by-not-author')).toEqual([
      expect.stringContaining("says changed_by sam.lee@pms.example.com, who is not among the pull request's commit authors (none); commits GitHub linked to no account prove nothing (sam.lee@pms.example.com)"),
    ]);
  });
});
