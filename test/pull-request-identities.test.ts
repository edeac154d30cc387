/**
 * Who really changed and approved: `flagops check --pull-request FILE` against the GitHub API's
 * commits and reviews of a pull request (recorded responses in test/fixtures/github/).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIdentities, parsePullRequest } from '../lib/review/pull-request.ts';
import { flagops, git, REPO_ROOT, tempProject, write, type CliResult } from './helpers.ts';
import { setFlag } from './flag-history.ts';

const fixture = (name: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'github', name), 'utf8'));
const PR = { commits: fixture('pull-request-commits.json'), reviews: fixture('pull-request-reviews.json') };
const IDENTITIES = '# logins to e-mails\n@pms-lead lead@pms.example.com\n@marco-diaz  marco.diaz@pms.example.com   # release manager\n@grace-kim grace.kim@pms.example.com\n';

/**
 * GIVEN main with the sample project and the identities file (on main: the base's identities are
 * the ones that count), and a pull request changing production e_prescribing_enabled 5% -> 25%
 * with `fields`.
 */
async function checkPullRequest(fields: Record<string, string | undefined>, options: { identities?: string; pr?: unknown } = {}): Promise<CliResult> {
  const dir = tempProject({ git: true });
  mkdirSync(join(dir, '.github'));
  write(dir, '.github/flagops-identities', options.identities ?? IDENTITIES);
  git(dir, 'add', '.github');
  git(dir, 'commit', '-q', '-m', 'identities');
  setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, changed_at: '2026-11-23T10:00:00Z', reason: 'Phase 2', ticket: 'TICKET-13400', changed_by: 'sam.lee@pms.example.com', approved_by: 'lead@pms.example.com', ...fields });
  expect((await flagops(dir, 'synth')).code).toBe(0);
  write(dir, 'pr.json', JSON.stringify(options.pr ?? PR));
  return flagops(dir, 'check', '--base', 'main', '--pull-request', 'pr.json');
}

const errorsOf = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));

describe('flagops check --pull-request', () => {
  it('passes when changed_by is a commit author and approved_by an approving reviewer', async () => {
    const r = await checkPullRequest({});
    expect(r.code, r.stdout).toBe(0);
  });

  it('accepts a commit author by the e-mail in the commit, without a mapping', async () => {
    const r = await checkPullRequest({ changed_by: 'sam@laptop.local' });
    expect(errorsOf(r, 'changed-by-not-author')).toEqual([]);
  });

  it('[changed-by-not-author] rejects a changed_by who authored no commit of the pull request', async () => {
    const r = await checkPullRequest({ changed_by: 'nora.ali@pms.example.com' });
    expect(r.code).toBe(1);
    const errors = errorsOf(r, 'changed-by-not-author');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^environments\/production\/flags\.yaml:\d+:\d+: error: flag 'e_prescribing_enabled' in production says changed_by nora\.ali@pms\.example\.com, who is not among the pull request's commit authors \(@sam-lee\); commit as that person from their GitHub account, or map their GitHub login in \.github\/flagops-identities on main \[changed-by-not-author\]$/,
    );
  });

  it('[approver-not-reviewer] rejects an approver whose latest review requests changes', async () => {
    const r = await checkPullRequest({ approved_by: 'marco.diaz@pms.example.com' });
    expect(r.code).toBe(1);
    expect(errorsOf(r, 'approver-not-reviewer')).toEqual([expect.stringContaining('says approved_by marco.diaz@pms.example.com, who has not approved the pull request (approvals: @pms-lead)')]);
  });

  it('[approver-not-reviewer] rejects an approver who only commented, and one GitHub never saw', async () => {
    expect(errorsOf(await checkPullRequest({ approved_by: 'grace.kim@pms.example.com' }), 'approver-not-reviewer')).toHaveLength(1);
    expect(errorsOf(await checkPullRequest({ approved_by: 'ciso@pms.example.com' }), 'approver-not-reviewer')).toHaveLength(1);
  });

  it('[approver-not-reviewer] rejects an approval by a login the identities file does not map to that e-mail', async () => {
    const r = await checkPullRequest({}, { identities: '@marco-diaz lead@pms.example.com\n' });
    expect(errorsOf(r, 'approver-not-reviewer')).toHaveLength(1);
  });

  it('judges only entries the pull request changes, in environments that require approval', async () => {
    const dir = tempProject({ git: true });
    setFlag(dir, 'staging', 'appointment_waitlist_enabled', { rollout: 50, changed_at: '2026-11-23T10:00:00Z', reason: 'more', ticket: 'TICKET-13401', changed_by: 'nora.ali@pms.example.com' });
    expect((await flagops(dir, 'synth')).code).toBe(0);
    write(dir, 'pr.json', JSON.stringify(PR));
    const r = await flagops(dir, 'check', '--base', 'main', '--pull-request', 'pr.json');
    expect(r.code, r.stdout).toBe(0);
  });

  it('[identities-format] reports a malformed line of the identities file where it is', async () => {
    const r = await checkPullRequest({}, { identities: '@pms-lead lead@pms.example.com\nmarco marco.diaz@pms.example.com\n@grace-kim not-an-email\n' });
    expect(r.code).toBe(1);
    expect(errorsOf(r, 'identities-format')).toEqual([
      ".github/flagops-identities:2:1: error: expected '@github-login email [email ...]', the line starts with \"marco\" [identities-format]",
      '.github/flagops-identities:3:1: error: "not-an-email" is not an e-mail address [identities-format]',
    ]);
  });

  it('gives a usage error (exit 2) for a file that is not the API responses', async () => {
    for (const bad of [[], { commits: 'x', reviews: [] }, { commits: [42], reviews: [] }]) {
      const r = await checkPullRequest({}, { pr: bad });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^flagops: error: pr\.json/);
    }
    const dir = tempProject({ git: true });
    const missing = await flagops(dir, 'check', '--base', 'main', '--pull-request', 'nope.json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--pull-request nope.json cannot be read as JSON');
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});

describe('parsePullRequest', () => {
  it("counts a reviewer's latest decision: approve then request changes is no approval, a comment changes nothing, a dismissal withdraws", () => {
    const review = (login: string, state: string) => ({ user: { login }, state });
    const { approvers } = parsePullRequest({
      commits: [],
      reviews: [review('a', 'APPROVED'), review('a', 'COMMENTED'), review('b', 'APPROVED'), review('b', 'CHANGES_REQUESTED'), review('c', 'APPROVED'), review('c', 'DISMISSED'), review('d', 'PENDING')],
    });
    expect(approvers).toEqual(['a']);
  });

  it('ignores logins and e-mails that are not well-formed, so nothing odd is ever printed', () => {
    const { authors, approvers } = parsePullRequest({
      commits: [{ author: { login: 'x\u001b[31m' }, commit: { author: { email: 'a\nb@c.d' } } }],
      reviews: [{ user: { login: 'evil\u0007' }, state: 'APPROVED' }],
    });
    expect(authors).toEqual([{ login: undefined, email: undefined }]);
    expect(approvers).toEqual([]);
  });

  it('maps logins case-insensitively to several e-mails', () => {
    expect(parseIdentities('@Pms-Ops ops@pms.example.com Admin@pms.example.com\n').identities.get('pms-ops')).toEqual(['ops@pms.example.com', 'admin@pms.example.com']);
  });
});
