/**
 * Refs are never ambiguous (issue 21): git resolves `origin/main` in refs/tags/ before
 * refs/remotes/, so a pull request that pushes itself as the tag `origin/main` would become its own
 * base. flagops resolves the refs it picks by itself fully qualified (`refs/remotes/origin/main`),
 * and a ref the user names that git finds ambiguous is a usage error naming every candidate.
 * Real git: a bare server, clones that fetch every tag (as actions/checkout with full history does).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../lib/review/audit.ts';
import { findBase } from '../lib/review/base.ts';
import { prepareRollback, rollbackTarget } from '../lib/rollout/rollback.ts';
import { shortSha } from '../common/text/sha.ts';
import { commitAll, setFlag } from './flag-history.ts';
import { flagops, flagopsWith, git, NOW, read, type CliResult } from './helpers.ts';
import { cloneOf, gitServer, type GitServer } from './support/git-server.ts';

const FLAG = 'e_prescribing_enabled';
const CI = { CI: 'true' };
const PROD = 'environments/production/flags.yaml';
const errors = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));
const jsonLines = (stdout: string): AuditEntry[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);

interface TaggedRaise {
  readonly server: GitServer;
  /** CI's checkout of the pull request: a full clone (every tag) on the branch `raise`. */
  readonly pr: string;
  /** main on the server: the real base. */
  readonly main: string;
  /** The pull request's commit: production e_prescribing_enabled 5% -> 100%, also pushed as the tag `origin/main`. */
  readonly raise: string;
}

/**
 * GIVEN a server with main, and a branch `raise` that jumps production e_prescribing_enabled from
 * 5% to 100% (two steps at once, which the change rules refuse), pushed as the branch and as the
 * tag `origin/main`: anyone who may push a tag can do this.
 */
async function taggedRaise(): Promise<TaggedRaise> {
  const server = gitServer();
  const main = git(server.seed, 'rev-parse', 'HEAD').trim();
  git(server.seed, 'checkout', '-q', '-b', 'raise');
  setFlag(server.seed, 'production', FLAG, {
    rollout: 100,
    reason: 'Everyone at once',
    ticket: 'TICKET-2100',
    changed_by: 'sam.lee@pms.example.com',
    changed_at: '2026-11-23T09:00:00Z',
    approved_by: 'lead@pms.example.com',
  });
  expect((await flagops(server.seed, 'synth')).code).toBe(0);
  const raise = commitAll(server.seed, 'e-prescribing to 100% in production', { date: '2026-11-23T09:05:00Z' });
  git(server.seed, 'push', '-q', 'origin', 'raise', 'raise:refs/tags/origin/main');
  git(server.seed, 'checkout', '-q', 'main');
  const pr = clone(server, 'raise');
  // git itself takes the tag for `origin/main`: the trap is real in this clone
  expect(git(pr, 'rev-parse', 'origin/main').trim()).toBe(raise);
  expect(git(pr, 'rev-parse', 'refs/remotes/origin/main').trim()).toBe(main);
  return { server, pr, main, raise };
}

/** A full clone (every branch and tag, as actions/checkout with `fetch-depth: 0`), on `branch`. */
function clone(server: GitServer, branch = 'main'): string {
  const dir = cloneOf(server);
  if (branch !== 'main') git(dir, 'checkout', '-q', branch);
  return dir;
}

describe('a tag named origin/main never stands in for main', () => {
  let attack: TaggedRaise;
  let pr: string;
  beforeAll(async () => ({ pr } = attack = await taggedRaise()));

  it('check under CI judges the pull request against the real origin/main, and refuses the raise', async () => {
    // WHEN CI checks the pull request with the default base, and with the base the workflow passes
    for (const args of [['check'], ['check', '--base', 'refs/remotes/origin/main']]) {
      const r = await flagopsWith(pr, args, CI);
      // THEN the raise is refused, judged against main's commit, not the tag's
      expect(r.code, r.stdout).toBe(1);
      expect(errors(r, 'rollout-one-step')).toEqual([expect.stringContaining(`flag '${FLAG}' goes from 5% on the base (origin/main, merge base ${shortSha(attack.main)})`)]);
      expect(r.stdout).toContain(`flagops check (base: origin/main, merge base ${shortSha(attack.main)}): `);
      expect(r.stdout).not.toContain('no problems');
    }
  });

  it('diff shows the raise against the real origin/main', async () => {
    const r = await flagops(pr, 'diff');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`flagops diff against origin/main (merge base ${shortSha(attack.main)}): `);
    expect(r.stdout).not.toContain('nothing changes');
    expect(r.stdout).toContain(`  ${FLAG}: on 5% -> on 100% (`);
    // AND the markdown the workflow posts (with the full ref it passes) shows it, naming origin/main readably
    const md = await flagops(pr, 'diff', '--base', 'refs/remotes/origin/main', '--format', 'markdown');
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain(`\`origin/main\``);
    expect(md.stdout).toContain(FLAG);
    expect(md.stdout).not.toContain('Nothing changes');
  });

  it('audit follows the real origin/main: the branch-only change is not listed, on main or on the branch', async () => {
    for (const dir of [clone(attack.server), pr]) {
      const r = await flagops(dir, 'audit', '--env', 'production', '--flag', FLAG, '--json');
      expect(r.code, r.stderr).toBe(0);
      const entries = jsonLines(r.stdout);
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.map((e) => e.commit)).not.toContain(attack.raise);
      expect(entries.some((e) => e.rollout_percentage === 100)).toBe(false);
    }
  });

  it('stale counts "at 100% everywhere" from the real origin/main only', async () => {
    // GIVEN the pull request's files have the flag at 100% everywhere, and days have passed
    const r = await flagopsWith(pr, ['stale', '--days', '0', '--json'], { FLAGOPS_NOW: '2026-11-30T12:00:00Z' });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { flag: string; reasons: { why: string }[] }[];
    // THEN only what reached main counts: the flag is not fully rolled out there
    expect(rows.some((row) => row.reasons.some((why) => why.why === 'fully-rolled-out'))).toBe(true);
    expect(rows.find((row) => row.flag === FLAG)?.reasons.map((why) => why.why) ?? []).not.toContain('fully-rolled-out');
  });

  it('status FLAG compares with the tip of the real origin/main: main has not moved on', async () => {
    const r = await flagops(clone(attack.server), 'status', FLAG, '--json');
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as { base: { ref: string; commit: string }; blockers: { rule: string; message: string }[] };
    expect(status.base).toMatchObject({ ref: 'origin/main', commit: attack.main });
    expect(status.blockers.map((b) => b.rule)).not.toContain('not-on-main');
  });

  it('the base of every command (edits, code references, the pipeline) is the merge base with refs/remotes/origin/main', () => {
    const found = findBase(pr);
    expect(found.ok && found.base).toMatchObject({ ref: 'origin/main', commit: attack.main, mergeBase: true });
  });

  it('the rollback branch of monitor --rollback starts from the real origin/main', async () => {
    // GIVEN an on-call clone that fetched the tag
    const dir = clone(attack.server);
    const target = rollbackTarget(dir, undefined);
    // WHEN the kill switch is prepared
    const r = await prepareRollback(target, { flag: 'telehealth_appointments_enabled', environment: 'production', reason: 'Rollback: test', ticket: 'INC-1', by: 'oncall@pms.example.com', at: new Date(NOW) });
    // THEN its branch is one commit on main, never on the tag's commit
    expect(r.status).toBe('prepared');
    if (r.status !== 'prepared') return;
    expect(r.start).toBe(`origin/main ${shortSha(attack.main)}`);
    expect(git(dir, 'rev-parse', `${r.branch}^`).trim()).toBe(attack.main);
  });
});

describe('a ref the user names that git finds ambiguous is a usage error', () => {
  let attack: TaggedRaise;
  let pr: string;
  beforeAll(async () => ({ pr } = attack = await taggedRaise()));

  it('--base origin/main with a tag and a remote-tracking branch of that name: exit 2, both named as full refs', async () => {
    for (const command of ['check', 'diff']) {
      const r = await flagopsWith(pr, [command, '--base', 'origin/main'], CI);
      expect(r.code, `${command}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toBe(
        `flagops: error: --base origin/main is ambiguous: git finds refs/tags/origin/main (${shortSha(attack.raise)}) and refs/remotes/origin/main (${shortSha(attack.main)}); ` +
          'pass the full ref you mean: --base refs/tags/origin/main or --base refs/remotes/origin/main',
      );
      expect(r.stdout).toBe('');
    }
  });

  it('--ref main and --to main with a branch and a tag main: exit 2, nothing written', async () => {
    // GIVEN a clone where a tag `main` was fetched next to the branch main
    const dir = clone(attack.server);
    git(dir, 'tag', 'main', attack.raise);
    const before = read(dir, PROD);
    const audit = await flagops(dir, 'audit', '--ref', 'main');
    expect(audit.code).toBe(2);
    expect(audit.stderr).toContain(`flagops: error: --ref main is ambiguous: git finds refs/tags/main (${shortSha(attack.raise)}) and refs/heads/main (${shortSha(attack.main)}); pass the full ref you mean: --ref refs/tags/main or --ref refs/heads/main`);
    const restore = await flagops(dir, 'restore', '--env', 'production', '--to', 'main~0', '--reason', 'Back to main', '--ticket', 'TICKET-2101', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com');
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain('flagops: error: --to main~0 is ambiguous: git finds refs/tags/main');
    expect(restore.stderr).toContain('pass the full ref you mean: --to refs/tags/main~0 or --to refs/heads/main~0');
    expect(read(dir, PROD)).toBe(before);
    // AND the full names work
    const full = await flagops(dir, 'audit', '--ref', 'refs/heads/main', '--env', 'production', '--flag', FLAG, '--json');
    expect(full.code, full.stderr).toBe(0);
    expect(jsonLines(full.stdout).map((e) => e.commit)).not.toContain(attack.raise);
  });

  it('a short SHA that is also the name of a tag is ambiguous; a full SHA never is', async () => {
    // GIVEN a tag named like main's short SHA, pointing at the raise
    const short = attack.main.slice(0, 12);
    git(pr, 'tag', short, attack.raise);
    const r = await flagopsWith(pr, ['check', '--base', short], CI);
    expect(r.code, r.stdout).toBe(2);
    expect(r.stderr).toContain(`--base ${short} is ambiguous: git finds refs/tags/${short} (${shortSha(attack.raise)}) and the commit ${attack.main}`);
    // AND the full SHA is main's commit, whatever the tags are called
    git(pr, 'tag', attack.main, attack.raise);
    const full = await flagopsWith(pr, ['check', '--base', attack.main], CI);
    expect(full.code, full.stdout).toBe(1);
    expect(errors(full, 'rollout-one-step')).toHaveLength(1);
  });

  it('an unambiguous short name, HEAD and a full ref resolve as before', async () => {
    const dir = clone(attack.server);
    git(dir, 'checkout', '-q', '-b', 'topic');
    for (const base of ['main', 'HEAD', 'HEAD~0', 'refs/heads/main', 'origin/raise']) {
      const r = await flagops(dir, 'diff', '--base', base);
      expect(r.code, `${base}: ${r.stderr}`).toBe(0);
    }
    // AND a tag named HEAD never stands in for the checkout's HEAD (git reads HEAD from its own folder first)
    git(dir, 'tag', 'HEAD', attack.raise);
    const head = await flagops(dir, 'diff', '--base', 'HEAD');
    expect(head.code, head.stderr).toBe(0);
    expect(head.stdout).toContain('nothing changes');
    // AND so for FETCH_HEAD, which git writes into its own folder
    git(dir, 'fetch', '-q', 'origin', 'main');
    git(dir, 'tag', 'FETCH_HEAD', attack.raise);
    const fetched = await flagops(dir, 'diff', '--base', 'FETCH_HEAD');
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toContain('nothing changes');
    const unknown = await flagops(dir, 'check', '--base', 'refs/remotes/origin/nothing');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('--base refs/remotes/origin/nothing is not a commit in this repository: run `git fetch origin nothing:refs/remotes/origin/nothing`');
  });

  it('a full ref name is looked up exactly: a tag named refs/remotes/origin/main is not main', async () => {
    // GIVEN a clone without origin/main (deleted here), where a tag refs/tags/refs/remotes/origin/main
    // points at the raise: git alone resolves `refs/remotes/origin/main` to that tag
    const dir = clone(attack.server, 'raise');
    git(dir, 'update-ref', '-d', 'refs/remotes/origin/main');
    git(dir, 'tag', 'refs/remotes/origin/main', attack.raise);
    expect(git(dir, 'rev-parse', 'refs/remotes/origin/main').trim()).toBe(attack.raise);
    // WHEN CI checks the pull request, by default and with the base the workflow passes
    for (const args of [['check'], ['check', '--base', 'refs/remotes/origin/main']]) {
      const r = await flagopsWith(dir, args, CI);
      // THEN there is no base (an error under CI), never "no problems" against the tag
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toContain('[base-unknown]');
      expect(r.stdout).toContain('flagops check (base: none, change rules not applied)');
    }
    // AND audit follows HEAD, saying that origin/main is missing
    const audit = await flagops(dir, 'audit', '--env', 'production', '--flag', FLAG);
    expect(audit.stderr).toContain('flagops: note: no origin/main in this clone, so the audit follows HEAD (raise)');
  });
});
