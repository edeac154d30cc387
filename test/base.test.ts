/**
 * The base of a change (lib/review/base.ts), called in-process: which commit a pull request or a
 * local edit is judged against (BRIEF §5, "Judged by main"), how it is named in messages, and the
 * one-line problem and fix when there is none. Real git: a bare server with main and a branch, and
 * clones of it as CI and engineers make them (full, shallow, single-branch). These are the tests
 * `npm run mutation` runs against base.ts, so each problem's message is asserted whole.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeBase, findBase, isShallow, shallowBoundary, underCi, type ChangeBase } from '../lib/review/base.ts';
import { shortSha } from '../common/text/sha.ts';
import { git } from './helpers.ts';

const CI_FIX = '(GitHub Actions: actions/checkout with `fetch-depth: 0`)';

/** A new folder with a repository on `main` and an identity, without a commit. */
function repository(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'flagops-base-')), 'repo');
  git(tmpdir(), 'init', '-q', '-b', 'main', dir);
  git(dir, 'config', 'user.email', 'tester@pms.example.com');
  git(dir, 'config', 'user.name', 'Tester');
  git(dir, 'config', 'commit.gpgsign', 'false');
  return dir;
}

/** Makes an empty commit named `name`; returns its full SHA. */
function commit(dir: string, name: string): string {
  git(dir, 'commit', '-q', '--allow-empty', '-m', name);
  return git(dir, 'rev-parse', 'HEAD').trim();
}

interface Server {
  /** `file://` URL of the bare repository (only such URLs honour `--depth` in local clones). */
  readonly url: string;
  /** The commit `topic` forked from, and main's tip after it. */
  readonly fork: string;
  readonly mainTip: string;
  /** The tip of `topic`: one commit after the fork. */
  readonly topicTip: string;
}

/** GIVEN a server whose main is c1, c2 (the fork), c3, and whose branch `topic` is c2, t1. */
function server(): Server {
  const seed = repository();
  commit(seed, 'c1');
  const fork = commit(seed, 'c2');
  git(seed, 'checkout', '-q', '-b', 'topic');
  const topicTip = commit(seed, 't1');
  git(seed, 'checkout', '-q', 'main');
  const mainTip = commit(seed, 'c3');
  const bare = mkdtempSync(join(tmpdir(), 'flagops-base-server-'));
  git(bare, 'init', '-q', '--bare', '-b', 'main');
  git(seed, 'push', '-q', bare, 'main', 'topic');
  return { url: `file://${bare}`, fork, mainTip, topicTip };
}

/** `git clone [...args]` of the server, checked out on `topic`. */
function clone(s: Server, ...args: string[]): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'flagops-base-clone-')), 'repo');
  git(tmpdir(), 'clone', '-q', ...args, s.url, dir);
  if (git(dir, 'branch', '--show-current').trim() !== 'topic') git(dir, 'checkout', '-q', 'topic');
  return dir;
}

describe('findBase: the commit a change is judged against', () => {
  let s: Server;
  let full: string;
  beforeAll(() => {
    s = server();
    full = clone(s);
  });

  it('is the merge base of HEAD and refs/remotes/origin/main, named origin/main', () => {
    expect(findBase(full)).toEqual({ ok: true, base: { ref: 'origin/main', commit: s.fork, tip: s.mainTip, mergeBase: true } });
  });

  it('is the merge base with --base REF when one is given, named as given', () => {
    expect(findBase(full, 'main')).toEqual({ ok: true, base: { ref: 'main', commit: s.fork, tip: s.mainTip, mergeBase: true } });
    expect(findBase(full, s.mainTip)).toEqual({ ok: true, base: { ref: s.mainTip, commit: s.fork, tip: s.mainTip, mergeBase: true } });
  });

  it('never takes a tag named origin/main for main; naming origin/main when both exist is a usage error', () => {
    const dir = clone(s);
    git(dir, 'tag', 'origin/main', s.topicTip);
    expect(findBase(dir)).toEqual({ ok: true, base: { ref: 'origin/main', commit: s.fork, tip: s.mainTip, mergeBase: true } });
    expect(() => findBase(dir, 'origin/main')).toThrow(
      `--base origin/main is ambiguous: git finds refs/tags/origin/main (${shortSha(s.topicTip)}) and refs/remotes/origin/main (${shortSha(s.mainTip)}); ` +
        'pass the full ref you mean: --base refs/tags/origin/main or --base refs/remotes/origin/main',
    );
  });

  it('outside a repository, or in one without a commit: no base and no fallback', () => {
    const problem = 'this project is not in a git repository with a commit, so there is no base to compare with: commit it first, or pass --base REF';
    expect(findBase(mkdtempSync(join(tmpdir(), 'flagops-base-none-')))).toEqual({ ok: false, problem });
    expect(findBase(repository(), 'main')).toEqual({ ok: false, problem });
  });

  it('a clone without origin/main: the fetch that brings it, and HEAD as the fallback', () => {
    const dir = clone(s, '--single-branch', '--branch', 'topic');
    const fallback = { ref: 'HEAD', commit: s.topicTip, tip: s.topicTip, mergeBase: false };
    expect(findBase(dir)).toEqual({ ok: false, problem: `no origin/main in this clone, so the change has no base: run \`git fetch origin main:refs/remotes/origin/main\` ${CI_FIX}, or pass --base REF`, fallback });
    // AND a shallow one (GitHub's default checkout): the fetch unshallows too
    const shallow = clone(s, '--depth', '1', '--branch', 'topic');
    expect(findBase(shallow)).toEqual({
      ok: false,
      problem: `no origin/main in this clone, so the change has no base: run \`git fetch --unshallow origin main:refs/remotes/origin/main\` ${CI_FIX}, or pass --base REF`,
      fallback,
    });
  });

  it('a --base that is not a commit here: the fetch for a branch of origin, the unshallow for a shallow clone, else to fetch it', () => {
    const fallback = { ref: 'HEAD', commit: s.topicTip, tip: s.topicTip, mergeBase: false };
    const problems = (dir: string, bases: readonly string[]) => bases.map((b) => findBase(dir, b)).map((r) => (r.ok ? 'found' : `${r.problem} / ${JSON.stringify(r.fallback)}`));
    const bases = ['origin/gone', 'refs/remotes/origin/gone', 'nothing', 'fork/origin/gone', 'origin/gone~1'];
    expect(problems(full, bases)).toEqual([
      `--base origin/gone is not a commit in this repository: run \`git fetch origin gone:refs/remotes/origin/gone\` ${CI_FIX} / ${JSON.stringify(fallback)}`,
      `--base refs/remotes/origin/gone is not a commit in this repository: run \`git fetch origin gone:refs/remotes/origin/gone\` ${CI_FIX} / ${JSON.stringify(fallback)}`,
      `--base nothing is not a commit in this repository: fetch it, or name another ref / ${JSON.stringify(fallback)}`,
      `--base fork/origin/gone is not a commit in this repository: fetch it, or name another ref / ${JSON.stringify(fallback)}`,
      `--base origin/gone~1 is not a commit in this repository: fetch it, or name another ref / ${JSON.stringify(fallback)}`,
    ]);
    const shallow = clone(s, '--depth', '1', '--branch', 'topic');
    expect(problems(shallow, ['origin/gone', 'nothing'])).toEqual([
      `--base origin/gone is not a commit in this repository: run \`git fetch --unshallow origin gone:refs/remotes/origin/gone\` ${CI_FIX} / ${JSON.stringify(fallback)}`,
      `--base nothing is not a commit in this repository: this clone is shallow: fetch the full history: \`git fetch --unshallow origin\` ${CI_FIX} / ${JSON.stringify(fallback)}`,
    ]);
  });

  it('a shallow clone that has origin/main but not the merge base: unshallow', () => {
    const dir = clone(s, '--depth', '1', '--no-single-branch');
    expect(findBase(dir)).toEqual({
      ok: false,
      problem: `HEAD and origin/main have no common commit in this shallow clone, so the change has no base: fetch the full history: \`git fetch --unshallow origin\` ${CI_FIX}`,
      fallback: { ref: 'HEAD', commit: s.topicTip, tip: s.topicTip, mergeBase: false },
    });
  });

  it('unrelated histories: no base, and no fetch would give one', () => {
    const dir = clone(s);
    git(dir, 'checkout', '-q', '--orphan', 'lone');
    const lone = commit(dir, 'lone');
    expect(findBase(dir)).toEqual({
      ok: false,
      problem: 'HEAD and origin/main share no history (unrelated histories), so the change has no base: pass --base REF',
      fallback: { ref: 'HEAD', commit: lone, tip: lone, mergeBase: false },
    });
  });
});

describe('isShallow and shallowBoundary: where a shallow history is cut', () => {
  let s: Server;
  beforeAll(() => {
    s = server();
  });

  it('a full clone is not shallow and has no cut', () => {
    const dir = clone(s);
    expect(isShallow(dir)).toBe(false);
    expect(shallowBoundary(dir)).toEqual(new Set());
  });

  it('a shallow clone is cut at the commits whose parents it lacks', () => {
    expect(isShallow(clone(s, '--depth', '1', '--branch', 'topic'))).toBe(true);
    expect(shallowBoundary(clone(s, '--depth', '1', '--branch', 'topic'))).toEqual(new Set([s.topicTip]));
    expect(shallowBoundary(clone(s, '--depth', '1', '--no-single-branch'))).toEqual(new Set([s.topicTip, s.mainTip]));
  });

  it('outside a repository: not shallow, no cut', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-base-none-'));
    expect(isShallow(dir)).toBe(false);
    expect(shallowBoundary(dir)).toEqual(new Set());
  });
});

describe('describeBase: the base as messages name it', () => {
  const commit = '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d';
  const tip = '0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f';
  const base = (ref: string, mergeBase = true): ChangeBase => ({ ref, commit, tip, mergeBase });

  it('a ref and its merge base', () => {
    expect(describeBase(base('origin/main'))).toBe('origin/main, merge base 1a2b3c4d5e6f');
    expect(describeBase(base('refs/remotes/origin/main'))).toBe('origin/main, merge base 1a2b3c4d5e6f');
  });

  it('HEAD, the fallback, without "merge base"', () => {
    expect(describeBase({ ref: 'HEAD', commit, tip: commit, mergeBase: false })).toBe('HEAD 1a2b3c4d5e6f');
  });

  it('a base given as the SHA of its commit: that commit once, short; as the SHA of another: both, short', () => {
    expect(describeBase(base(commit))).toBe('1a2b3c4d5e6f');
    expect(describeBase(base('1a2b3c4d5e6f'))).toBe('1a2b3c4d5e6f');
    expect(describeBase(base(tip))).toBe('0f0f0f0f0f0f, merge base 1a2b3c4d5e6f');
  });
});

describe('underCi: CI or GITHUB_ACTIONS set to anything but empty, false or 0, where a missing base is an error', () => {
  it('true, 1, yes or a service\'s name, in any case and with spaces around, in CI or GITHUB_ACTIONS', () => {
    for (const value of ['true', 'TRUE', 'True', '1', 'yes', 'Yes', ' true ', 'woodpecker', '10', 'no']) {
      expect(underCi({ CI: value }), `CI=${JSON.stringify(value)}`).toBe(true);
      expect(underCi({ GITHUB_ACTIONS: value }), `GITHUB_ACTIONS=${JSON.stringify(value)}`).toBe(true);
    }
  });

  it('nothing else: unset, empty, spaces, false or 0 in any case', () => {
    expect(underCi({})).toBe(false);
    for (const value of ['', '  ', 'false', 'FALSE', ' False ', '0', ' 0 ']) {
      expect(underCi({ CI: value, GITHUB_ACTIONS: value }), JSON.stringify(value)).toBe(false);
    }
  });
});
