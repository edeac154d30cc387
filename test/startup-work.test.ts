/**
 * What a short command does before it answers (issue 14: start-up near Node's own). Each case is
 * work a measured start-up spent and did not need: a git process in a folder outside any git
 * repository (about 20 ms each), a locale collator to sort findings (about 10 ms).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayBeInRepository } from '../lib/review/git.ts';
import { sortFindings, type Finding } from '../model/findings.ts';
import { flagopsProcess, git, initRepository, tempProject } from './helpers.ts';

/** A `git` first on PATH that logs its arguments and then runs the real one. */
function loggingGit(): { path: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), 'flagops-fake-git-'));
  const log = join(bin, 'calls.log');
  const real = process.env.PATH!.split(':').map((d) => join(d, 'git')).find((p) => existsSync(p))!;
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(join(bin, 'git'), 0o755);
  return { path: `${bin}:${process.env.PATH}`, log };
}

const calls = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

describe('work a short command does not do', () => {
  it('outside any git repository, status and a refused edit run no git process', () => {
    // GIVEN the sample project in a folder no repository contains, and a git that logs every call
    const project = tempProject();
    expect(mayBeInRepository(project, {})).toBe(false);
    const { path, log } = loggingGit();
    // WHEN status runs, and an edit is refused (a production step skipped)
    const status = flagopsProcess(project, ['status'], { PATH: path });
    const refused = flagopsProcess(project, ['rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '100', '--reason', 'r', '--ticket', 'T-1', '--by', 'a@pms.example.com', '--approved-by', 'b@pms.example.com'], { PATH: path });
    // THEN both answer as before, without a single git process
    expect(status.code, status.stderr).toBe(0);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain('[rollout-one-step]');
    expect(refused.stderr).toContain('not in a git repository');
    expect(calls(log)).toEqual([]);
  });

  it('in a repository (or one named by GIT_DIR) git is asked as before', () => {
    const project = tempProject({ git: true });
    expect(mayBeInRepository(join(project, 'environments'), {})).toBe(true);
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-no-repo-'));
    expect(mayBeInRepository(elsewhere, { GIT_DIR: join(project, '.git') })).toBe(true);
    const { path, log } = loggingGit();
    expect(flagopsProcess(project, ['status'], { PATH: path }).code).toBe(0);
    expect(calls(log).some((c) => c.startsWith('rev-parse'))).toBe(true);
  });

  it('in a clone of main, status reads main\'s history with 4 git processes (it took 6)', () => {
    // GIVEN a clone with origin/main
    const origin = tempProject({ git: true });
    const clone = mkdtempSync(join(tmpdir(), 'flagops-clone-'));
    git(clone, 'clone', '-q', origin, '.');
    const { path, log } = loggingGit();
    // WHEN status runs
    const r = flagopsProcess(clone, ['status'], { PATH: path });
    // THEN: the base ref (looked up exactly: refs/remotes/origin/main, never a tag), the folder's paths, the history, the blobs; nothing twice
    expect(r.code, r.stderr).toBe(0);
    const logged = calls(log);
    expect(logged.map((c) => c.split(' ')[0])).toEqual(['for-each-ref', 'rev-parse', 'log', 'cat-file']);
    expect(logged[0]).toMatch(/ refs\/remotes\/origin\/main$/);
    expect(logged.slice(1).map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['rev-parse --show-prefix', 'log --first-parent', 'cat-file --batch']);
  });

  it('a worktree or submodule (.git is a file) counts as a repository', () => {
    const project = tempProject();
    mkdirSync(join(project, 'sub'));
    writeFileSync(join(project, '.git'), 'gitdir: /somewhere/else\n');
    expect(mayBeInRepository(join(project, 'sub'), {})).toBe(true);
    const other = tempProject();
    initRepository(other);
    expect(mayBeInRepository(other, {})).toBe(true);
  });

  it('findings sort by code unit, the same under every locale', () => {
    const at = (file: string, rule: string): Finding => ({ file, line: 1, col: 1, severity: 'error', rule, message: 'm' });
    const sorted = sortFindings([at('environments/b.yaml', 'x'), at('environments/B.yaml', 'x'), at('environments/a-b.yaml', 'x'), at('environments/a_b.yaml', 'x'), at('environments/a.yaml', 'y'), at('environments/a.yaml', 'X')]);
    expect(sorted.map((f) => `${f.file} ${f.rule}`)).toEqual([
      'environments/B.yaml x',
      'environments/a-b.yaml x',
      'environments/a.yaml X',
      'environments/a.yaml y',
      'environments/a_b.yaml x',
      'environments/b.yaml x',
    ]);
  });
});
