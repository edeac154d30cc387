/**
 * The audit trail (lib/review/audit.ts) in-process, on small histories in real git: whole records
 * (every field) for every kind of change, direct commits and merges with their pull requests'
 * commits, removals and the commit they are recorded by, renames, a shallow cut, unreadable
 * versions and the filters; then the readers of one version of a flag file (the fast path and its
 * fallback to the YAML parser) and of a removal's commit and ticket. `flagops audit` prints these
 * entries as JSON lines (test/audit.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { auditTrail, fileHistory, parseFlags, plainEntry, removalCommit, ticketIn, type AuditEntry, type AuditTrail, type FileChange, type RawState } from '../lib/review/audit.ts';
import { git, read, REPO_ROOT, write } from './helpers.ts';
import { commitAll, type CommitOptions } from './flag-history.ts';

const ENVS = ['dev', 'production'];
type Fields = Readonly<Record<string, string | number | boolean>>;

/** A flag file of the plain shape: `environment:`, then `flags:` with one `field: value` line each. */
const flagFile = (env: string, flags: Readonly<Record<string, Fields>>): string =>
  `environment: ${env}\nflags:\n${Object.entries(flags)
    .map(([name, fields]) => `  ${name}:\n${Object.entries(fields).map(([k, v]) => `    ${k}: ${v}\n`).join('')}`)
    .join('')}`;
const put = (dir: string, env: string, flags: Readonly<Record<string, Fields>>): void => write(dir, `environments/${env}/flags.yaml`, flagFile(env, flags));

/** A new repository on `main` with the folders of two environments, no commit yet. */
function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-audit-'));
  for (const env of ENVS) mkdirSync(join(dir, 'environments', env), { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'commit.gpgsign', 'false');
  return dir;
}

/** `git merge --no-ff` of `branch` with a fixed author and date; returns the merge's SHA. */
function merge(dir: string, branch: string, message: string, { date, author = 'Merger', email = 'merger@pms.example.com' }: CommitOptions): string {
  const env = { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date, GIT_AUTHOR_NAME: author, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: author, GIT_COMMITTER_EMAIL: email };
  const r = spawnSync('git', ['merge', '-q', '--no-ff', '-m', message, branch], { cwd: dir, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`git merge failed: ${r.stderr}`);
  return git(dir, 'rev-parse', 'HEAD').trim();
}

/** The name git gives a file's content (its blob). */
const blobOf = (text: string): string => createHash('sha1').update(`blob ${Buffer.byteLength(text)}\0${text}`).digest('hex');
/** A commit as the audit reads it. */
const commitOf = (sha: string, parents: string[], who: { author: string; email: string }, date: string, subject: string) => ({ sha, parents, author: who.author, authorEmail: who.email, date, subject });

const person = (name: string) => ({ author: name, email: `${name.split(' ')[0]!.toLowerCase()}@pms.example.com` });
const ALICE = person('Alice Admin');
const BOB = person('Bob Builder');
const CAROL = person('Carol Chen');
const DAN = person('Dan Diaz');
const ERIN = person('Erin Evans');
const FRANK = person('Frank Fox');
const MERGER = { author: 'Merger', email: 'merger@pms.example.com' };
const detail = (commit: string, who: { author: string; email: string }, date: string, subject: string) => ({ commit, author: `${who.author} <${who.email}>`, date, subject });

/** Every field of an entry, the landing commit's from `landed`. */
function entry(
  fields: Omit<AuditEntry, 'commit' | 'commit_author' | 'commit_date' | 'commits'>,
  landed: { commit: string; who: { author: string; email: string }; date: string },
  commits: AuditEntry['commits'],
): AuditEntry {
  return { ...fields, commit: landed.commit, commit_author: `${landed.who.author} <${landed.who.email}>`, commit_date: landed.date, commits };
}

describe('auditTrail: one entry per state change that reached main', () => {
  let dir: string;
  const c: Record<string, string> = {};
  let expected: AuditEntry[];
  let warning: string;

  beforeAll(() => {
    dir = repository();
    // c1, the import (a date with an offset; b_enabled predates the audit fields)
    const aDev = { enabled: true, rollout: 100, reason: 'Full rollout', ticket: 'TICKET-1', changed_by: 'alice@pms.example.com', changed_at: '2026-11-19T08:00:00Z' };
    const aProd = { enabled: true, rollout: 25, reason: 'Phase 2', ticket: 'TICKET-2', changed_by: 'alice@pms.example.com', changed_at: '2026-11-19T09:00:00Z', approved_by: 'lead@pms.example.com' };
    const bOff = { enabled: false, rollout: 0 };
    put(dir, 'dev', { a_enabled: aDev, b_enabled: bOff });
    put(dir, 'production', { a_enabled: aProd, b_enabled: bOff });
    c.c1 = commitAll(dir, 'Import the flag files', { date: '2026-11-20T10:00:00+01:00', ...ALICE });
    // c2, a direct commit: production a 25 -> 50, b turned on at 5
    const aProd50 = { ...aProd, rollout: 50, reason: 'Phase 3', ticket: 'TICKET-3', changed_by: 'bob@pms.example.com', changed_at: '2026-11-21T09:50:00Z' };
    const bProd5 = { enabled: true, rollout: 5, reason: 'Start b', ticket: 'TICKET-4', changed_by: 'bob@pms.example.com', changed_at: '2026-11-21T09:55:00Z', approved_by: 'lead@pms.example.com' };
    put(dir, 'production', { a_enabled: aProd50, b_enabled: bProd5 });
    c.c2 = commitAll(dir, 'Production: a to 50%, b on', { date: '2026-11-21T10:00:00Z', ...BOB });
    // c3 changes no flag file
    write(dir, 'README.md', 'flags\n');
    c.c3 = commitAll(dir, 'Readme', { date: '2026-11-21T11:00:00Z', ...BOB });
    // a pull request: f1 changes dev and production, f2 production again (25% never lands), f3 no flag file
    git(dir, 'checkout', '-q', '-b', 'feature');
    const bDev100 = { enabled: true, rollout: 100, reason: 'b everywhere in dev', ticket: 'TICKET-5', changed_by: 'carol@pms.example.com', changed_at: '2026-11-22T08:00:00Z' };
    put(dir, 'dev', { a_enabled: aDev, b_enabled: bDev100 });
    put(dir, 'production', { a_enabled: aProd50, b_enabled: { ...bProd5, rollout: 25, reason: 'b to 25%', changed_by: 'carol@pms.example.com', changed_at: '2026-11-22T08:30:00Z' } });
    c.f1 = commitAll(dir, 'b: dev 100%, production 25%', { date: '2026-11-22T09:00:00Z', ...CAROL });
    const bProd50 = { ...bProd5, rollout: 50, reason: 'b to 50% instead', changed_by: 'carol@pms.example.com', changed_at: '2026-11-22T09:30:00Z' };
    put(dir, 'production', { a_enabled: aProd50, b_enabled: bProd50 });
    c.f2 = commitAll(dir, 'b: production 50%', { date: '2026-11-22T10:00:00Z', ...CAROL });
    write(dir, 'NOTES.md', 'notes\n');
    c.f3 = commitAll(dir, 'Notes', { date: '2026-11-22T10:30:00Z', ...CAROL });
    // meanwhile on main, c4: dev a lowered, its changed_at later than its commit (a clock ahead)
    git(dir, 'checkout', '-q', 'main');
    const aDev50 = { ...aDev, rollout: 50, reason: 'Back to 50%', ticket: 'INC-1', changed_by: 'dan@pms.example.com', changed_at: '2026-11-22T11:45:00Z' };
    put(dir, 'dev', { a_enabled: aDev50, b_enabled: bOff });
    c.c4 = commitAll(dir, 'dev: a back to 50%', { date: '2026-11-22T11:30:00Z', ...DAN });
    c.m1 = merge(dir, 'feature', 'Merge pull request #1 from feature', { date: '2026-11-22T12:00:00Z', ...MERGER });
    // a pull request branched after that merge: r1 removes dev b (naming it), r2 tidies dev
    git(dir, 'checkout', '-q', '-b', 'cleanup');
    put(dir, 'dev', { a_enabled: aDev50 });
    c.r1 = commitAll(dir, 'Remove b_enabled from dev (TICKET-9)', { date: '2026-11-23T09:00:00Z', ...ERIN });
    write(dir, 'environments/dev/flags.yaml', `${read(dir, 'environments/dev/flags.yaml')}# tidied\n`);
    c.r2 = commitAll(dir, 'Tidy dev', { date: '2026-11-23T09:30:00Z', ...ERIN });
    git(dir, 'checkout', '-q', 'main');
    c.m2 = merge(dir, 'cleanup', 'Merge pull request #2 from cleanup', { date: '2026-11-23T10:00:00Z', ...MERGER });
    // a merge that removes production a itself (its pull request changed no flag file)
    git(dir, 'checkout', '-q', '-b', 'docs');
    write(dir, 'DOCS.md', 'docs\n');
    commitAll(dir, 'Docs', { date: '2026-11-24T09:00:00Z', ...ERIN });
    git(dir, 'checkout', '-q', 'main');
    git(dir, 'merge', '-q', '--no-ff', '--no-commit', 'docs');
    put(dir, 'production', { b_enabled: bProd50 });
    c.m3 = commitAll(dir, 'Merge docs, retiring a_enabled in production (INC-7)', { date: '2026-11-24T10:00:00Z', ...MERGER });
    // c5 deletes dev's flag file; c6 breaks production's; c7 fixes it and takes b to 100%
    rmSync(join(dir, 'environments/dev/flags.yaml'));
    c.c5 = commitAll(dir, 'Drop the dev flag file', { date: '2026-11-25T10:00:00Z', ...FRANK });
    write(dir, 'environments/production/flags.yaml', 'environment: production\nflags: [\n');
    c.c6 = commitAll(dir, 'oops', { date: '2026-11-26T10:00:00Z', ...FRANK });
    const bProd100 = { ...bProd50, rollout: 100, reason: 'b to 100%', changed_by: 'frank@pms.example.com', changed_at: '2026-11-26T10:50:00Z' };
    put(dir, 'production', { b_enabled: bProd100 });
    c.c7 = commitAll(dir, 'Fix the production file; b to 100%', { date: '2026-11-26T11:00:00Z', ...FRANK });
    warning = `${c.c6!.slice(0, 12)}: environments/production/flags.yaml is not a readable flag file; skipped`;

    const at = (commit: string, who: { author: string; email: string }, date: string) => ({ commit: c[commit]!, who, date });
    const own = (commit: string, who: { author: string; email: string }, date: string, subject: string) => [detail(c[commit]!, who, date, subject)];
    /** A direct commit: it lands the change and is its only commit. */
    const direct = (commit: string, who: { author: string; email: string }, date: string, subject: string) => [at(commit, who, date), own(commit, who, date, subject)] as const;
    const c1 = at('c1', ALICE, '2026-11-20T09:00:00Z');
    const c1Own = own('c1', ALICE, '2026-11-20T09:00:00Z', 'Import the flag files');
    const added = { event_type: 'feature_flag_added', previous_state: null, previous_rollout_percentage: null } as const;
    const untracked = { timestamp: '2026-11-20T09:00:00Z', user_id: 'alice@pms.example.com', reason: '', approval_ticket: null, approved_by: null, new_state: false, rollout_percentage: 0 };
    const m1Commits = (env: string) => [
      detail(c.f1!, CAROL, '2026-11-22T09:00:00Z', 'b: dev 100%, production 25%'),
      ...(env === 'production' ? [detail(c.f2!, CAROL, '2026-11-22T10:00:00Z', 'b: production 50%')] : []),
    ];
    expected = [
      entry({ ...added, timestamp: '2026-11-19T08:00:00Z', user_id: 'alice@pms.example.com', feature_flag: 'a_enabled', new_state: true, environment: 'dev', reason: 'Full rollout', rollout_percentage: 100, approval_ticket: 'TICKET-1', approved_by: null }, c1, c1Own),
      entry({ ...added, ...untracked, feature_flag: 'b_enabled', environment: 'dev' }, c1, c1Own),
      entry({ ...added, timestamp: '2026-11-19T09:00:00Z', user_id: 'alice@pms.example.com', feature_flag: 'a_enabled', new_state: true, environment: 'production', reason: 'Phase 2', rollout_percentage: 25, approval_ticket: 'TICKET-2', approved_by: 'lead@pms.example.com' }, c1, c1Own),
      entry({ ...added, ...untracked, feature_flag: 'b_enabled', environment: 'production' }, c1, c1Own),
      entry(
        { timestamp: '2026-11-21T09:50:00Z', event_type: 'feature_flag_rollout_changed', user_id: 'bob@pms.example.com', feature_flag: 'a_enabled', previous_state: true, new_state: true, environment: 'production', reason: 'Phase 3', rollout_percentage: 50, previous_rollout_percentage: 25, approval_ticket: 'TICKET-3', approved_by: 'lead@pms.example.com' },
        ...direct('c2', BOB, '2026-11-21T10:00:00Z', 'Production: a to 50%, b on'),
      ),
      entry(
        { timestamp: '2026-11-21T09:55:00Z', event_type: 'feature_flag_toggled', user_id: 'bob@pms.example.com', feature_flag: 'b_enabled', previous_state: false, new_state: true, environment: 'production', reason: 'Start b', rollout_percentage: 5, previous_rollout_percentage: 0, approval_ticket: 'TICKET-4', approved_by: 'lead@pms.example.com' },
        ...direct('c2', BOB, '2026-11-21T10:00:00Z', 'Production: a to 50%, b on'),
      ),
      entry(
        { timestamp: '2026-11-22T11:45:00Z', event_type: 'feature_flag_rollout_changed', user_id: 'dan@pms.example.com', feature_flag: 'a_enabled', previous_state: true, new_state: true, environment: 'dev', reason: 'Back to 50%', rollout_percentage: 50, previous_rollout_percentage: 100, approval_ticket: 'INC-1', approved_by: null },
        ...direct('c4', DAN, '2026-11-22T11:30:00Z', 'dev: a back to 50%'),
      ),
      entry(
        { timestamp: '2026-11-22T08:00:00Z', event_type: 'feature_flag_toggled', user_id: 'carol@pms.example.com', feature_flag: 'b_enabled', previous_state: false, new_state: true, environment: 'dev', reason: 'b everywhere in dev', rollout_percentage: 100, previous_rollout_percentage: 0, approval_ticket: 'TICKET-5', approved_by: null },
        at('m1', MERGER, '2026-11-22T12:00:00Z'),
        m1Commits('dev'),
      ),
      entry(
        { timestamp: '2026-11-22T09:30:00Z', event_type: 'feature_flag_rollout_changed', user_id: 'carol@pms.example.com', feature_flag: 'b_enabled', previous_state: true, new_state: true, environment: 'production', reason: 'b to 50% instead', rollout_percentage: 50, previous_rollout_percentage: 5, approval_ticket: 'TICKET-4', approved_by: 'lead@pms.example.com' },
        at('m1', MERGER, '2026-11-22T12:00:00Z'),
        m1Commits('production'),
      ),
      entry(
        { timestamp: '2026-11-23T09:00:00Z', event_type: 'feature_flag_removed', user_id: 'erin@pms.example.com', feature_flag: 'b_enabled', previous_state: true, new_state: null, environment: 'dev', reason: 'Remove b_enabled from dev (TICKET-9)', rollout_percentage: null, previous_rollout_percentage: 100, approval_ticket: 'TICKET-9', approved_by: null },
        at('m2', MERGER, '2026-11-23T10:00:00Z'),
        [detail(c.r1!, ERIN, '2026-11-23T09:00:00Z', 'Remove b_enabled from dev (TICKET-9)'), detail(c.r2!, ERIN, '2026-11-23T09:30:00Z', 'Tidy dev')],
      ),
      entry(
        { timestamp: '2026-11-24T10:00:00Z', event_type: 'feature_flag_removed', user_id: 'merger@pms.example.com', feature_flag: 'a_enabled', previous_state: true, new_state: null, environment: 'production', reason: 'Merge docs, retiring a_enabled in production (INC-7)', rollout_percentage: null, previous_rollout_percentage: 50, approval_ticket: 'INC-7', approved_by: null },
        at('m3', MERGER, '2026-11-24T10:00:00Z'),
        [],
      ),
      entry(
        { timestamp: '2026-11-25T10:00:00Z', event_type: 'feature_flag_removed', user_id: 'frank@pms.example.com', feature_flag: 'a_enabled', previous_state: true, new_state: null, environment: 'dev', reason: 'Drop the dev flag file', rollout_percentage: null, previous_rollout_percentage: 50, approval_ticket: null, approved_by: null },
        ...direct('c5', FRANK, '2026-11-25T10:00:00Z', 'Drop the dev flag file'),
      ),
      entry(
        { timestamp: '2026-11-26T10:50:00Z', event_type: 'feature_flag_rollout_changed', user_id: 'frank@pms.example.com', feature_flag: 'b_enabled', previous_state: true, new_state: true, environment: 'production', reason: 'b to 100%', rollout_percentage: 100, previous_rollout_percentage: 50, approval_ticket: 'TICKET-4', approved_by: 'lead@pms.example.com' },
        ...direct('c7', FRANK, '2026-11-26T11:00:00Z', 'Fix the production file; b to 100%'),
      ),
    ];
  });

  it('gives every field of every entry: added, toggled, rollout changed and removed, by direct commits and merges, in the order main got them', () => {
    expect(auditTrail(dir, ENVS)).toStrictEqual({ entries: expected, warnings: [warning] } satisfies AuditTrail);
  });

  it("lists a merge's pull-request commits that touched each environment's file, oldest first (not in the order of their names)", () => {
    // the dates of f1 and f2 and the order of their SHAs disagree, so only the dates give this order
    const shaOrder = [c.f1!, c.f2!].sort();
    expect(shaOrder, 'the SHAs are in date order: change a subject so that they are not').not.toEqual([c.f1, c.f2]);
    const m1 = auditTrail(dir, ENVS).entries.filter((e) => e.commit === c.m1);
    expect(m1.map((e) => [e.environment, e.commits.map((d) => d.commit)])).toEqual([
      ['dev', [c.f1]],
      ['production', [c.f1, c.f2]],
    ]);
  });

  it('keeps one environment, one flag, or the changes made or merged at or after an instant', () => {
    expect(auditTrail(dir, ENVS, { environment: 'dev' }, 'HEAD')).toStrictEqual({ entries: expected.filter((e) => e.environment === 'dev'), warnings: [] });
    expect(auditTrail(dir, ENVS, { environment: 'production' }).entries).toStrictEqual(expected.filter((e) => e.environment === 'production'));
    expect(auditTrail(dir, ENVS, { flag: 'a_enabled' }).entries).toStrictEqual(expected.filter((e) => e.feature_flag === 'a_enabled'));
    // c4's change was made (changed_at) exactly at 11:45, committed before: kept; m1's made before, merged after: kept
    expect(auditTrail(dir, ENVS, { since: new Date('2026-11-22T11:45:00Z') }).entries).toStrictEqual(expected.slice(6));
    // m2's change was made before 10:00 and merged exactly at 10:00: kept
    expect(auditTrail(dir, ENVS, { since: new Date('2026-11-23T10:00:00Z') }).entries).toStrictEqual(expected.slice(9));
    expect(auditTrail(dir, ENVS, { environment: 'production', flag: 'b_enabled', since: new Date('2026-11-26T00:00:00Z') }).entries).toStrictEqual(expected.slice(12));
  });

  it('gives no entry and no cut for a history that never touched the flag files', () => {
    const empty = repository();
    write(empty, 'README.md', 'nothing yet\n');
    commitAll(empty, 'Start', { date: '2026-11-20T10:00:00Z' });
    expect(auditTrail(empty, ENVS)).toStrictEqual({ entries: [], warnings: [] });
  });
});

describe('auditTrail on versions from before the rules', () => {
  it('records a rollout that is missing or not a number as null, and a state that is not true as off', () => {
    const dir = repository();
    write(dir, 'environments/dev/flags.yaml', 'flags:\n  a_enabled:\n    enabled: true\n  b_enabled:\n    enabled: "true"\n    rollout: "25"\n');
    const sha = commitAll(dir, 'Import', { date: '2026-11-20T10:00:00Z', ...ALICE });
    const landed = { commit: sha, who: ALICE, date: '2026-11-20T10:00:00Z' };
    const fields = { timestamp: '2026-11-20T10:00:00Z', event_type: 'feature_flag_added', user_id: 'alice@pms.example.com', previous_state: null, environment: 'dev', reason: '', rollout_percentage: null, previous_rollout_percentage: null, approval_ticket: null, approved_by: null } as const;
    expect(auditTrail(dir, ['dev']).entries).toStrictEqual([
      entry({ ...fields, feature_flag: 'a_enabled', new_state: true }, landed, [detail(sha, ALICE, '2026-11-20T10:00:00Z', 'Import')]),
      entry({ ...fields, feature_flag: 'b_enabled', new_state: false }, landed, [detail(sha, ALICE, '2026-11-20T10:00:00Z', 'Import')]),
    ]);
  });
});

describe('auditTrail on a shallow clone', () => {
  it('starts at the cut: the state there is no list of additions, and it says where the history is cut', () => {
    // GIVEN three commits on main, cloned with the last two only
    const dir = repository();
    put(dir, 'dev', { a_enabled: { enabled: true, rollout: 100 } });
    put(dir, 'production', { a_enabled: { enabled: false, rollout: 0 } });
    commitAll(dir, 'Import', { date: '2026-11-20T10:00:00Z' });
    put(dir, 'production', { a_enabled: { enabled: true, rollout: 5 } });
    const cutAt = commitAll(dir, 'production on', { date: '2026-11-21T10:00:00Z' });
    put(dir, 'dev', { a_enabled: { enabled: true, rollout: 50, reason: 'Lower', changed_by: 'dan@pms.example.com', changed_at: '2026-11-22T09:00:00Z' } });
    const last = commitAll(dir, 'dev lowered', { date: '2026-11-22T10:00:00Z', ...DAN });
    const clone = join(mkdtempSync(join(tmpdir(), 'flagops-shallow-')), 'repo');
    git(tmpdir(), 'clone', '-q', '--depth', '2', `file://${dir}`, clone);
    // WHEN auditing the clone THEN only the last change, and the cut in both environments
    expect(auditTrail(clone, ENVS)).toStrictEqual({
      entries: [
        entry(
          { timestamp: '2026-11-22T09:00:00Z', event_type: 'feature_flag_rollout_changed', user_id: 'dan@pms.example.com', feature_flag: 'a_enabled', previous_state: true, new_state: true, environment: 'dev', reason: 'Lower', rollout_percentage: 50, previous_rollout_percentage: 100, approval_ticket: null, approved_by: null },
          { commit: last, who: DAN, date: '2026-11-22T10:00:00Z' },
          [detail(last, DAN, '2026-11-22T10:00:00Z', 'dev lowered')],
        ),
      ],
      warnings: [],
      cut: { commit: cutAt, date: '2026-11-21T10:00:00Z', environments: ['dev', 'production'] },
    });
  });
});

describe('auditTrail across renames', () => {
  it("follows a file renamed into place, in main's order among the other environment's changes", () => {
    // GIVEN production's file began as flags.yml, changed there, then renamed; dev changed in between
    const dir = repository();
    put(dir, 'dev', { a_enabled: { enabled: true, rollout: 100 } });
    const v1 = flagFile('production', { a_enabled: { enabled: true, rollout: 5 } });
    const v2 = flagFile('production', { a_enabled: { enabled: true, rollout: 25 } });
    const v3 = flagFile('production', { a_enabled: { enabled: true, rollout: 50 } });
    write(dir, 'environments/production/flags.yml', v1);
    const c1 = commitAll(dir, 'Import', { date: '2026-11-20T10:00:00Z' });
    write(dir, 'environments/production/flags.yml', v2);
    const c2 = commitAll(dir, 'production 25%', { date: '2026-11-21T10:00:00Z' });
    put(dir, 'dev', { a_enabled: { enabled: false, rollout: 100 } });
    const c3 = commitAll(dir, 'dev off', { date: '2026-11-22T10:00:00Z' });
    git(dir, 'mv', 'environments/production/flags.yml', 'environments/production/flags.yaml');
    const c4 = commitAll(dir, 'Rename', { date: '2026-11-23T10:00:00Z' });
    write(dir, 'environments/production/flags.yaml', v3);
    const c5 = commitAll(dir, 'production 50%', { date: '2026-11-24T10:00:00Z' });
    // WHEN auditing THEN the changes before the rename are there, in main's order; the rename adds nothing
    expect(auditTrail(dir, ENVS).entries.map((e) => [e.environment, e.event_type, e.rollout_percentage, e.commit])).toEqual([
      ['dev', 'feature_flag_added', 100, c1],
      ['production', 'feature_flag_added', 5, c1],
      ['production', 'feature_flag_rollout_changed', 25, c2],
      ['dev', 'feature_flag_toggled', 100, c3],
      ['production', 'feature_flag_rollout_changed', 50, c5],
    ]);
    // AND the file's own history (what the soak time reads) is each change under the name it had, the rename with both names
    const [yml, yaml] = ['environments/production/flags.yml', 'environments/production/flags.yaml'];
    const tester = { author: 'Tester', email: 'tester@pms.example.com' };
    expect(fileHistory(dir, 'production', 'HEAD')).toStrictEqual([
      { commit: commitOf(c5, [c4], tester, '2026-11-24T10:00:00Z', 'production 50%'), environment: 'production', oldBlob: blobOf(v2), newBlob: blobOf(v3), path: yaml, names: [yaml] },
      { commit: commitOf(c4, [c3], tester, '2026-11-23T10:00:00Z', 'Rename'), environment: 'production', oldBlob: blobOf(v2), newBlob: blobOf(v2), path: yaml, names: [yml, yaml] },
      { commit: commitOf(c2, [c1], tester, '2026-11-21T10:00:00Z', 'production 25%'), environment: 'production', oldBlob: blobOf(v1), newBlob: blobOf(v2), path: yml, names: [yml] },
      { commit: commitOf(c1, [], tester, '2026-11-20T10:00:00Z', 'Import'), environment: 'production', oldBlob: undefined, newBlob: blobOf(v1), path: yml, names: [yml] },
    ] satisfies FileChange[]);
  });

  it('reads a file that was there from the first commit by its own path: deleted, then replaced by renaming a copy, it is not followed into the copy', () => {
    const dir = repository();
    const flags = { a_enabled: { enabled: true, rollout: 100 } };
    put(dir, 'dev', flags);
    put(dir, 'production', flags);
    write(dir, 'environments/dev/flags.yaml.bak', flagFile('dev', flags));
    const c1 = commitAll(dir, 'Import, with a copy', { date: '2026-11-20T10:00:00Z' });
    rmSync(join(dir, 'environments/dev/flags.yaml'));
    const c2 = commitAll(dir, 'Delete dev', { date: '2026-11-21T10:00:00Z' });
    git(dir, 'mv', 'environments/dev/flags.yaml.bak', 'environments/dev/flags.yaml');
    const c3 = commitAll(dir, 'Restore dev from the copy', { date: '2026-11-22T10:00:00Z' });
    expect(auditTrail(dir, ['dev']).entries.map((e) => [e.event_type, e.commit])).toEqual([
      ['feature_flag_added', c1],
      ['feature_flag_removed', c2],
      ['feature_flag_added', c3],
    ]);
  });
});

describe('fileHistory: the commits that changed one flag file', () => {
  /** A flag file whose blob name starts (or ends) with 0: a comment line is added until it does. */
  function fileWhoseBlob(test: (sha: string) => boolean): string {
    for (let i = 0; ; i++) {
      const text = `${flagFile('dev', { a_enabled: { enabled: true, rollout: 100 } })}# ${i}\n`;
      if (test(blobOf(text))) return text;
    }
  }

  it('gives each change newest first with its commit and blobs, an added or deleted file without the null SHA, whatever 0s a blob name has', () => {
    // GIVEN dev's file added (a blob name starting with 0), changed (one ending with 0), deleted
    const dir = repository();
    const first = fileWhoseBlob((sha) => sha.startsWith('0') && !sha.endsWith('0'));
    const second = fileWhoseBlob((sha) => sha.endsWith('0') && !sha.startsWith('0'));
    write(dir, 'environments/dev/flags.yaml', first);
    const c1 = commitAll(dir, 'Add', { date: '2026-11-20T10:00:00+02:00', ...ALICE });
    write(dir, 'environments/dev/flags.yaml', second);
    const c2 = commitAll(dir, 'Change', { date: '2026-11-21T10:00:00Z', ...BOB });
    rmSync(join(dir, 'environments/dev/flags.yaml'));
    const c3 = commitAll(dir, 'Delete', { date: '2026-11-22T10:00:00Z', ...CAROL });
    const blob = blobOf;
    const commit = commitOf;
    const path = 'environments/dev/flags.yaml';
    expect(fileHistory(dir, 'dev', 'HEAD')).toStrictEqual([
      { commit: commit(c3, [c2], CAROL, '2026-11-22T10:00:00Z', 'Delete'), environment: 'dev', oldBlob: blob(second), newBlob: undefined, path, names: [path] },
      { commit: commit(c2, [c1], BOB, '2026-11-21T10:00:00Z', 'Change'), environment: 'dev', oldBlob: blob(first), newBlob: blob(second), path, names: [path] },
      { commit: commit(c1, [], ALICE, '2026-11-20T08:00:00Z', 'Add'), environment: 'dev', oldBlob: undefined, newBlob: blob(first), path, names: [path] },
    ] satisfies FileChange[]);
  });
});

/** What a flag file means to the YAML parser: its flags in order, each entry a mapping ({} when it is not); undefined when it is not a flag file. */
function reference(text: string): [string, unknown][] | undefined {
  let doc: { flags?: unknown } | null;
  try {
    doc = parse(text) as { flags?: unknown } | null;
  } catch {
    return undefined;
  }
  const flags = doc?.flags;
  if (flags === undefined || flags === null) return [];
  if (typeof flags !== 'object' || Array.isArray(flags)) return undefined;
  return Object.entries(flags).map(([k, v]) => [k, typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}]);
}

describe('parseFlags: one version of a flag file', () => {
  /** parseFlags with a fresh cache of entry blocks: the flags, and the states the cache holds. */
  const parsed = (text: string) => {
    const blocks = new Map<string, RawState | undefined>();
    const flags = parseFlags(text, blocks);
    return { flags: flags && [...flags], cached: [...blocks.values()] };
  };
  /** Read entry by entry without the whole-file YAML parse: every state is the one cached for its block. */
  const readFast = (text: string) => {
    const { flags, cached } = parsed(text);
    expect(flags, text).toEqual(reference(text));
    for (const [name, state] of flags!) expect(cached.some((s) => s === state), `${name} comes from the cache of entry blocks`).toBe(true);
  };

  const RICH = [
    '# yaml-language-server: $schema=../../policies/flag-states.schema.json',
    'environment: dev',
    'flags:   # every flag of dev',
    "  # a comment at the entries' indentation, before the first",
    '  a_enabled:   # a comment on an entry key',
    '    enabled: true',
    '    rollout: 100',
    '    reason: R&D sign-off, A & B agreed, rolled back...',
    '    ticket: TICKET-12345',
    '    changed_at: 2026-11-23T10:00:00Z',
    '    approved_by: lead@pms.example.com   # must differ from changed_by',
    '',
    '  b_enabled:  ',
    '    # an indented comment inside an entry',
    '    enabled: false',
    '# a comment at the first column between entries',
    "  # a comment at the entries' indentation",
    '  c_enabled:',
    '    enabled: false',
    '    rollout: 0',
    '    reason: "quoted: with a colon"',
    "    ticket: 'single'",
    '    changed_by: "escaped \\" quote"',
    'other_key:',
    '  extra_flags:',
    '    x: 1',
    '',
  ].join('\n');

  it('reads the plain shape entry by entry, comments, blank lines, quotes and a later top-level key aside, exactly as the YAML parser does', () => {
    readFast(RICH);
    readFast(`flags:\n  a_enabled:\n    enabled: true\n`); // `flags:` on the first line
    readFast(`environment: dev\nflags:\n    a_enabled:\n        enabled: true\n    b_enabled:\n        rollout: 5\n`); // entries indented by 4
  });

  it('parses each entry block once: consecutive versions share the states of the entries they did not change', () => {
    const blocks = new Map<string, RawState | undefined>();
    const before = parseFlags(RICH, blocks)!;
    const after = parseFlags(RICH.replace('    rollout: 100', '    rollout: 50'), blocks)!;
    expect(after.get('a_enabled')).toEqual({ ...before.get('a_enabled'), rollout: 50 });
    expect(after.get('b_enabled')).toBe(before.get('b_enabled'));
    expect(after.get('c_enabled')).toBe(before.get('c_enabled'));
  });

  const WHOLE: Record<string, string> = {
    'a flow-style entry': 'flags:\n  a_enabled: {enabled: true, rollout: 5}\n  b_enabled:\n    enabled: false\n',
    'an entry that is a scalar': 'flags:\n  a_enabled: 5\n  b_enabled:\n    enabled: false\n',
    'an entry with nothing, and a list': 'flags:\n  a_enabled:\n  b_enabled: [1, 2]\n',
    'an anchor and an alias across entries': 'flags:\n  a_enabled:\n    approved_by: &lead lead@pms.example.com\n  b_enabled:\n    approved_by: *lead\n',
    'a merge key': 'flags:\n  a_enabled: &base\n    enabled: true\n  b_enabled:\n    <<: *base\n    rollout: 5\n',
    'a key with a space': 'flags:\n  a b_enabled:\n    enabled: true\n',
    'flags with nothing': 'flags:\n',
    'no flags key': 'environment: dev\nother:\n  a_enabled:\n    enabled: true\n',
    'a flow-style flags mapping': 'environment: dev\nflags: {a_enabled: {enabled: true}}\n',
    'flags: null': 'flags: null\n',
    'an empty file': '',
    'a comment only': '# nothing\n',
  };
  for (const [name, text] of Object.entries(WHOLE)) {
    it(`reads ${name} as the YAML parser does`, () => {
      expect(parsed(text).flags).toEqual(reference(text));
      expect(reference(text)).toBeDefined();
    });
  }

  const UNREADABLE: Record<string, string> = {
    'two documents': 'flags:\n  a_enabled:\n    enabled: true\n---\nflags:\n  b_enabled:\n    enabled: true\n',
    'a flag entry twice': 'flags:\n  a_enabled:\n    enabled: true\n  b_enabled:\n    enabled: true\n  a_enabled:\n    enabled: false\n',
    'a flag entry twice, the first one last': 'flags:\n  a_enabled:\n    enabled: true\n  b_enabled:\n    enabled: false\n  b_enabled:\n    enabled: true\n',
    'a second flags key': 'flags:\n  a_enabled:\n    enabled: true\nenvironment: dev\nflags:\n  b_enabled:\n    enabled: true\n',
    'an entry indented less than the first': 'flags:\n    a_enabled:\n      enabled: true\n  b_enabled:\n    enabled: true\n',
    'a key indented less than the entries, between them': 'flags:\n    a_enabled:\n      enabled: true\n  stray: 1\n    b_enabled:\n      enabled: false\n',
    'an entry block that is not YAML': 'flags:\n  a_enabled:\n    reason: "unclosed\n  b_enabled:\n    enabled: true\n',
    'a tab in the indentation': 'flags:\n  a_enabled:\n\tenabled: true\n',
    'flags as a list': 'flags: [a_enabled, b_enabled]\n',
    'flags as text': 'flags: all of them\n',
    'not YAML': 'flags:\n  a_enabled: [\n',
  };
  for (const [name, text] of Object.entries(UNREADABLE)) {
    it(`reads a file with ${name} as no flag file at all`, () => {
      expect(reference(text)).toBeUndefined();
      expect(parseFlags(text)).toBeUndefined();
    });
  }

  it('reads no file (absent at that commit) as undefined', () => {
    expect(parseFlags(undefined)).toBeUndefined();
  });

  it('reads every sample flag file entry by entry, exactly as the YAML parser does', () => {
    for (const env of ['dev', 'staging', 'production']) readFast(read(REPO_ROOT, `environments/${env}/flags.yaml`));
  });
});

describe("plainEntry: one entry's fields read without the YAML parser", () => {
  const entryOf = (...fields: string[]) => ['  x_enabled:', ...fields];
  /** plainEntry of `field: value` lines, checked against the YAML parser whenever it reads them. */
  const fast = (...fields: string[]): RawState | undefined => {
    const state = plainEntry(entryOf(...fields));
    if (state !== undefined) expect(state, fields.join('\n')).toEqual((parse(entryOf(...fields).join('\n')) as { x_enabled: unknown }).x_enabled);
    return state;
  };

  it('reads booleans, decimal integers, timestamps, dates and plain or quoted text', () => {
    const cases: [string, unknown][] = [
      ['enabled: true', true],
      ['enabled: false', false],
      ['rollout: 0', 0],
      ['rollout: 25', 25],
      ['rollout: -5', -5],
      ['rollout: 123456789', 123456789],
      ['changed_at: 2026-11-23T10:00:00Z', '2026-11-23T10:00:00Z'],
      ['changed_at: 2026-11-23T10:00:00.123Z', '2026-11-23T10:00:00.123Z'],
      ['changed_at: 2026-11-23T10:00:00+02:00', '2026-11-23T10:00:00+02:00'],
      ['changed_at: 2026-11-23', '2026-11-23'],
      ['reason: Full activation', 'Full activation'],
      ['reason:  two spaces before', 'two spaces before'],
      ['reason: say "hi"', 'say "hi"'],
      ["reason: say 'hi'", "say 'hi'"],
      ["reason: it's", "it's"],
      ['reason: eyes', 'eyes'],
      ['reason: No way', 'No way'],
      ['reason: Online now', 'Online now'],
      ['ticket: TICKET-12345', 'TICKET-12345'],
      ['ticket: x10', 'x10'],
      ['reason: Fix #1', 'Fix'],
      ['reason: trailing spaces   # and a comment', 'trailing spaces'],
      ['reason: "quoted"', 'quoted'],
      ['reason: "a"  # c', 'a'],
      ['reason: "a" #comment', 'a'],
      ['reason: "a"  ', 'a'],
      ['reason: ""', ''],
      ["reason: ''", ''],
      ["reason: 'back\\slash'", 'back\\slash'],
      ['reason: "with: colon, #hash"', 'with: colon, #hash'],
    ];
    for (const [line, value] of cases) expect(fast(`    ${line}`), line).toStrictEqual({ [line.split(':')[0]!]: value });
  });

  it('leaves to the YAML parser what it cannot be certain of: other numbers, null- and boolean-like words, escapes, anchors, colons, tabs, line separators', () => {
    const lines = [
      'rollout: 1e2',
      'rollout: +1e2',
      'rollout: .5',
      'rollout: .inf',
      'rollout: +.inf',
      'rollout: 025',
      'rollout: 0x19',
      'rollout: -0',
      'rollout: 1234567890',
      'rollout: 10x',
      'changed_at: 12026-11-23',
      'changed_at: 2026-11-23T10:00:00Zjunk',
      'changed_at: 2026-11-23 10:00',
      'enabled: yes',
      'enabled: On',
      'enabled: TRUE',
      'enabled: y',
      'enabled: N',
      'reason: ~',
      'reason: null',
      'reason: "line\\nbreak"',
      "reason: 'it''s'",
      'reason: "a" b',
      'reason: "a"x #c',
      'reason: "a"  x',
      'reason: "unclosed',
      'reason: a: b',
      'reason: x:',
      'reason: &a x',
      'reason: *a',
      'reason: -x',
      'reason: |',
      'reason: trailing tab\t',
      'reason: a\u2028b',
      'reason:',
      'reason: ',
    ];
    for (const line of lines) expect(fast(`    ${line}`), line).toBeUndefined();
  });

  it('skips blank and comment lines, and leaves to the YAML parser fields it cannot read line by line', () => {
    expect(fast('', '    # a note', '    enabled: true', '  # a comment less indented', '    rollout: 5')).toStrictEqual({ enabled: true, rollout: 5 });
    expect(plainEntry(entryOf()), 'an entry with no field (the file reads it as an empty state)').toStrictEqual({});
    for (const fields of [
      ['    enabled: true', '      rollout: 5'], // indented differently
      ['      enabled: true', '    rollout: 5'],
      ['    enabled: true', '    enabled: false'], // twice
      ['    Reason: x'],
      ['    XY reason: a'],
      ['    flags:', '      a: 1'],
    ]) {
      expect(plainEntry(entryOf(...fields)), fields.join('\n')).toBeUndefined();
    }
  });
});

describe("removalCommit and ticketIn: a removal's record", () => {
  const FLAG = 'maintenance_mode_enabled';
  const commits = (...subjects: string[]) => subjects.map((subject, i) => ({ subject, i }));

  it('takes the newest commit whose subject names the flag as a word, else the newest', () => {
    expect(removalCommit(commits(`Remove ${FLAG} (TICKET-1)`, 'Tidy up'), FLAG)?.i).toBe(0);
    expect(removalCommit(commits(`Remove ${FLAG}`, `legacy_${FLAG} retired`, `${FLAG}_v2 added`, 'Tidy up'), FLAG)?.i).toBe(0);
    expect(removalCommit(commits('First', FLAG, 'Tidy up', `${FLAG}: staging too`, 'Last'), FLAG)?.i).toBe(3);
    expect(removalCommit(commits('a', 'b', 'c'), FLAG)?.i).toBe(2);
    expect(removalCommit(commits(FLAG), FLAG)?.i).toBe(0);
    expect(removalCommit([], FLAG)).toBeUndefined();
  });

  it('matches a name from before the naming rules (a dot, a dash, capitals) as written, not as a pattern', () => {
    expect(removalCommit(commits('Remove legacy.flag-X (TICKET-1)', 'Tidy legacyZflag-X'), 'legacy.flag-X')?.i).toBe(0);
  });

  it('finds the first ticket id in a subject', () => {
    expect(ticketIn('Remove x (TICKET-13040)')).toBe('TICKET-13040');
    expect(ticketIn('INC-7 then TICKET-1')).toBe('INC-7');
    expect(ticketIn('A1-2')).toBe('A1-2');
    expect(ticketIn('no ticket, ab-12 or T-1 or X-')).toBeNull();
  });
});
