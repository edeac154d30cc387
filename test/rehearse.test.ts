/**
 * Rehearsing the pipeline locally (issue 22): `flagops rehearse FLAG` walks a flag through every
 * step in a scratch git repository with a bare origin, on one clock for "now" and the merge times,
 * and never touches the project; an edit whose FLAGOPS_NOW is ahead of the clock refuses, since it
 * would write that future time into changed_at, which check, drill and access then reject.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RehearsalResult } from '../lib/rollout/rehearsal.ts';
import { flagops, flagopsWith, git, NOW, read, snapshot, tempProject, type CliResult } from './helpers.ts';
import { cloneOf, gitServer } from './support/git-server.ts';
import { startFlagops, waitFor } from './support/process.ts';

const FLAG = 'e_prescribing_enabled';
const MINUTE = 60_000;

/** Everything a rehearsal could disturb in a clone and its server: every file's bytes, `git status`, every ref, the server's refs. */
function state(dir: string, bare: string): unknown {
  return {
    files: snapshot(dir),
    status: git(dir, 'status', '--porcelain', '--ignored'),
    refs: git(dir, 'for-each-ref'),
    stash: spawnSync('git', ['stash', 'list'], { cwd: dir, encoding: 'utf8' }).stdout,
    server: git(bare, 'for-each-ref'),
  };
}

const json = (r: CliResult): RehearsalResult & { kept: string | null } => JSON.parse(r.stdout) as RehearsalResult & { kept: string | null };

describe('flagops rehearse: the pipeline walked in a scratch repository on a clock of its own', () => {
  it('takes a flag on 100% in dev and staging and 5% in production to 100%, each production step after its soak time on the rehearsal clock, and leaves the project as it was', { timeout: 180_000 }, async () => {
    // GIVEN an engineer's clone of the team's repository, with its bare server
    const server = gitServer();
    const dir = cloneOf(server);
    const before = state(dir, server.bare);
    const keep = join(mkdtempSync(join(tmpdir(), 'flagops-rehearsal-kept-')), 'rehearsal');
    // WHEN the flag is rehearsed (now: NOW), keeping the scratch repository
    const r = await flagops(dir, 'rehearse', FLAG, '--keep', keep, '--json');
    // THEN it reaches 100% everywhere in three production steps, each merged and checked as CI would
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = json(r);
    expect(result.outcome).toBe('done');
    expect(result.kept).toBe(keep);
    expect(result.initial).toEqual([
      { environment: 'dev', state: 'on 100%' },
      { environment: 'staging', state: 'on 100%' },
      { environment: 'production', state: 'on 5%' },
    ]);
    expect(result.steps.map((s) => [s.environment, s.from, s.to, s.check?.summary, s.refused])).toEqual([
      ['production', 'on 5%', 'on 25%', 'no problems', undefined],
      ['production', 'on 25%', 'on 50%', 'no problems', undefined],
      ['production', 'on 50%', 'on 100%', 'no problems', undefined],
    ]);
    // AND the clock started now, and each step waited exactly production's soak time (30 minutes)
    // after the merge before it: the project landed on the scratch main at the start
    expect(result.start).toBe(NOW);
    const start = Date.parse(NOW);
    const times = result.steps.map((s) => Date.parse(s.at));
    expect(times).toEqual([start + 30 * MINUTE, start + 60 * MINUTE, start + 90 * MINUTE]);
    expect(result.steps.map((s) => s.wait)).toEqual(Array(3).fill({ ms: 30 * MINUTE, soak: { environment: 'production', minutes: 30 } }));
    expect(result.end).toBe(result.steps[2]!.at);
    // AND main on the bare origin holds one merge commit per step, dated by that clock (what the soak time reads)
    const work = join(keep, 'work');
    const landed = git(join(keep, 'origin.git'), 'log', '--first-parent', '--format=%cI|%P|%s', 'main').trim().split('\n').reverse().map((l) => l.split('|'));
    expect(landed.map(([date]) => Date.parse(date!))).toEqual([start, ...times]);
    expect(landed.map(([, parents]) => (parents === '' ? 0 : parents!.split(' ').length))).toEqual([0, 2, 2, 2]);
    expect(landed.slice(1).map(([, , subject]) => subject)).toEqual([
      'Merge pull request #1 from rehearse/1-production-25',
      'Merge pull request #2 from rehearse/2-production-50',
      'Merge pull request #3 from rehearse/3-production-100',
    ]);
    expect(result.steps.map((s) => s.merge)).toEqual(git(work, 'log', '--first-parent', '--format=%H', '-3', 'main').trim().split('\n').reverse());
    // AND the edits wrote the same clock into changed_at, in the scratch copy only
    const entry = (text: string) => {
      const lines = text.slice(text.indexOf(`  ${FLAG}:`)).split('\n');
      return lines.slice(0, lines.findIndex((l, i) => i > 0 && /^ {2}\S/.test(l))).join('\n');
    };
    expect(entry(read(work, 'environments/production/flags.yaml'))).toContain(`changed_at: ${result.steps[2]!.at}`);
    expect(entry(read(work, 'environments/production/flags.yaml'))).toContain('rollout: 100');
    // AND the project, its git state and its server are exactly as they were: not one byte, ref or status line
    expect(state(dir, server.bare)).toEqual(before);
    expect(entry(read(dir, 'environments/production/flags.yaml'))).toContain('rollout: 5');
  });

  it('reports the step a prerequisite blocks, as advance refuses it, and merges nothing', { timeout: 120_000 }, async () => {
    // GIVEN a new flag (not committed yet) that requires lab_results_auto_release_enabled, on 25% in dev
    const server = gitServer();
    const dir = cloneOf(server);
    const add = await flagops(dir, 'add', 'visit_notes_export_enabled', '--description', 'Export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag for PDF export', '--ticket', 'TICKET-14000', '--requires', 'lab_results_auto_release_enabled');
    expect(add.code, add.stdout + add.stderr).toBe(0);
    const before = state(dir, server.bare);
    // WHEN it is rehearsed, FLAGOPS_NOW unset
    const realStart = Math.floor(Date.now() / 1000) * 1000;
    const r = await flagopsWith(dir, ['rehearse', 'visit_notes_export_enabled'], { FLAGOPS_NOW: '' });
    const realEnd = Date.now();
    // THEN the rehearsal clock starts at the real now
    const started = /^flagops rehearse: visit_notes_export_enabled, in a scratch copy of the project: a git repository with a bare origin, on a clock that starts at the real now \((\S+)\)$/m.exec(r.stdout);
    expect(started, r.stdout).not.toBeNull();
    expect(Date.parse(started![1]!)).toBeGreaterThanOrEqual(realStart);
    expect(Date.parse(started![1]!)).toBeLessThanOrEqual(realEnd);
    // AND its first step is refused with the prerequisite finding, and the rehearsal says so (exit 1)
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^start: dev off, staging off, production off$/m);
    expect(r.stdout).toMatch(/^step 1 at \+0s \(\S+\): dev off -> on 100%, at once$/m);
    expect(r.stdout).toContain('  advance  refused (exit 1):');
    expect(r.stdout).toMatch(
      /^ {4}environments\/dev\/flags\.yaml:\d+:\d+: error: flag 'visit_notes_export_enabled' requires 'lab_results_auto_release_enabled', which is on 25% in dev on the base .*\[prerequisite\]$/m,
    );
    expect(r.stdout).toMatch(/^flagops rehearse: refused: dev off -> on 100% is refused by advance \(above\), as the pipeline would refuse it; 0 steps merged before it/m);
    expect(r.stdout).toContain('the project was only read; the scratch repository is removed (--keep DIR keeps it)');
    expect(state(dir, server.bare)).toEqual(before);
  });

  it('stops after the current command on Ctrl-C, removes its scratch folder, and exits 130', { timeout: 120_000 }, async () => {
    // GIVEN a rehearsal running as a real process, its temporary folder in a folder of the test's
    const server = gitServer();
    const dir = cloneOf(server);
    const before = state(dir, server.bare);
    const temp = mkdtempSync(join(tmpdir(), 'flagops-rehearse-tmp-'));
    const run = startFlagops(dir, ['rehearse', FLAG], { TMPDIR: temp });
    await waitFor('the rehearsal to start', () => /^start: /m.test(run.stdout()), 60_000);
    expect(readdirSync(temp).filter((f) => f.startsWith('flagops-rehearse-'))).toHaveLength(1);
    // WHEN it gets SIGINT
    run.child.kill('SIGINT');
    const done = await run.done;
    // THEN it stops, says so, and leaves neither its scratch folder nor a change behind
    expect(done.code, done.stdout + done.stderr).toBe(130);
    expect(done.stderr).toContain('flagops rehearse: stopping after this command');
    expect(done.stdout).toMatch(/^flagops rehearse: stopped \(Ctrl-C\); \d steps? merged/m);
    expect(readdirSync(temp).filter((f) => f.startsWith('flagops-rehearse-'))).toEqual([]);
    expect(state(dir, server.bare)).toEqual(before);
  });

  it('is a usage error (exit 2, nothing written) for an unknown flag, --keep inside the project or not empty, and a bad --minutes-between', async () => {
    const dir = tempProject({ git: true });
    const before = snapshot(dir);
    // a folder outside the project by its path, inside it through a link
    const link = join(mkdtempSync(join(tmpdir(), 'flagops-rehearse-link-')), 'project');
    symlinkSync(dir, link);
    const cases: [string[], string][] = [
      [['rehearse', 'e_prescribing_enable'], "unknown flag 'e_prescribing_enable' (did you mean 'e_prescribing_enabled'?)"],
      [['rehearse', FLAG, '--keep', 'rehearsal'], "--keep rehearsal is inside the project"],
      [['rehearse', FLAG, '--keep', 'environments'], '--keep environments is inside the project'],
      [['rehearse', FLAG, '--keep', join(link, 'rehearsal')], `--keep ${join(link, 'rehearsal')} is inside the project`],
      [['rehearse', FLAG, '--keep', tmpdir()], 'already exists and is not an empty folder'],
      [['rehearse', FLAG, '--minutes-between', '-5'], '--minutes-between is a whole number of minutes'],
    ];
    for (const [args, message] of cases) {
      const r = await flagops(dir, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(join(dir, 'rehearsal'))).toBe(false);
  });
});

describe('FLAGOPS_NOW ahead of the clock', () => {
  const ahead = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const APPROVED = ['--approved-by', 'lead@pms.example.com', '--by', 'sam.lee@pms.example.com'];
  const EDITS: readonly (readonly string[])[] = [
    ['enable', 'maintenance_mode_enabled', '--env', 'dev', '--reason', 'Try it in dev', '--by', 'sam.lee@pms.example.com'],
    ['rollout', FLAG, '--env', 'production', '--to', '25', '--reason', 'Phase 2', '--ticket', 'TICKET-1', ...APPROVED],
    ['disable', FLAG, '--env', 'production', '--reason', 'Kill switch', '--ticket', 'INC-1', '--by', 'sam.lee@pms.example.com'],
    ['add', 'visit_notes_export_enabled', '--description', 'Export.', '--owner', 'team-clinical', '--type', 'ops', '--reason', 'New', '--by', 'sam.lee@pms.example.com'],
    ['restore', '--env', 'dev', '--to', 'HEAD', '--reason', 'Back', '--by', 'sam.lee@pms.example.com'],
    ['remove', 'maintenance_mode_enabled', '--reason', 'Unused', '--by', 'sam.lee@pms.example.com'],
    ['advance', FLAG, ...APPROVED],
    ['monitor', FLAG, '--env', 'production', '--prometheus', 'http://prometheus.invalid', '--duration', '1s', '--retry-for', '1s', '--rollback', '--by', 'sam.lee@pms.example.com'],
  ];

  it('refuses every command that writes changed_at (a usage error naming flagops rehearse) and writes nothing', async () => {
    const dir = tempProject({ git: true });
    const before = snapshot(dir);
    const future = ahead(24 * 60 * MINUTE);
    for (const args of EDITS) {
      const r = await flagopsWith(dir, args, { FLAGOPS_NOW: future });
      expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr, args[0]).toContain(`flagops: error: FLAGOPS_NOW is ${future}, 24h ahead of this machine's clock (`);
      expect(r.stderr, args[0]).toContain(`): flagops ${args[0]} would write it into changed_at, and check, drill and access would then fail on it [future-timestamp]`);
      expect(r.stderr, args[0]).toContain('run `flagops rehearse FLAG` (a scratch copy with a bare origin and its own clock');
      expect(snapshot(dir), args[0]).toEqual(before);
    }
  });

  it('lets a dry run, a time within the 5 minutes of clock skew, and FLAGOPS_ALLOW_FUTURE_NOW=1 through; the last writes the future time that check then rejects', async () => {
    const dir = tempProject({ git: true });
    const rollout = EDITS[1]!;
    const future = ahead(24 * 60 * MINUTE);
    // a dry run writes nothing, so it may look at any time
    expect((await flagopsWith(dir, [...rollout, '--dry-run'], { FLAGOPS_NOW: future })).code).toBe(0);
    // two minutes ahead is within the skew the future-timestamp rule tolerates
    const soon = await flagopsWith(tempProject({ git: true }), rollout, { FLAGOPS_NOW: ahead(2 * MINUTE) });
    expect(soon.code, soon.stdout + soon.stderr).toBe(0);
    // a script that means it
    const allowed = await flagopsWith(dir, rollout, { FLAGOPS_NOW: future, FLAGOPS_ALLOW_FUTURE_NOW: '1' });
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(read(dir, 'environments/production/flags.yaml')).toContain(`changed_at: ${future}`);
    // ... which is why it is refused by default: against the real clock, check fails on it
    const check = await flagopsWith(dir, ['check'], { FLAGOPS_NOW: '' });
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`changed_at ${future} is in the future [future-timestamp]`);
  });
});
