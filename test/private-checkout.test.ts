/**
 * The suite passes from a checkout under a folder only its owner may enter (root's home, mode 700,
 * as on many fresh machines), and as a normal user, as on GitHub's runners (not root): the tests
 * that run the real executable as an unprivileged user run it from where that user can reach it
 * (test/support/unprivileged.ts). Proven by running those tests, with vitest, inside such a
 * checkout: as the user running the suite, and, when that is root, as a normal user (`nobody`)
 * who owns the checkout, for whom those tests take their other path (the user's own modes).
 */
import { chownSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { git, REPO_ROOT } from './helpers.ts';
import { reachableByOthers, readableTree, UNPRIVILEGED } from './support/unprivileged.ts';
import { runVitest } from './support/vitest-run.ts';

/** A checkout of the working tree (every file git tracks or would track, as it is now) at `dir`, with an installed node_modules in it. */
function checkoutAt(dir: string): void {
  const files = git(REPO_ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard').split('\0').filter(Boolean);
  for (const file of new Set(files)) {
    const from = join(REPO_ROOT, file);
    if (!statSync(from, { throwIfNoEntry: false })?.isFile()) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(from, join(dir, file));
  }
  // `npm ci` there: the same packages, as hard links (no build cache: each checkout makes its own)
  readableTree(realpathSync(join(REPO_ROOT, 'node_modules')), join(dir, 'node_modules'), ['.cache']);
}

/**
 * Gives `path` to `user`: every folder, and every file but those of node_modules, which are hard
 * links to the repository's own (its owner would change too); the user may read them, and write
 * in their folders (vitest's and flagops's caches).
 */
function giveTo(path: string, user: { uid: number; gid: number }, files = true): void {
  const st = lstatSync(path); // a link is left as it is, and not followed
  if (st.isDirectory()) for (const name of readdirSync(path)) giveTo(join(path, name), user, files && name !== 'node_modules');
  if (st.isDirectory() || (files && st.isFile())) chownSync(path, user.uid, user.gid);
}

const AS_ROOT = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };

/** Who runs the tests: the user running the suite, and a normal user when that is root (none is skipped anywhere). */
const USERS: readonly (readonly [who: string, user: { uid: number; gid: number } | undefined])[] = [
  [AS_ROOT ? 'root, whose unprivileged runs are by nobody' : 'the user running the suite, a normal user', undefined],
  ...(AS_ROOT ? [['a normal user (nobody) who owns the checkout', NOBODY] as const] : []),
];

describe('a checkout in a private folder', () => {
  it.each(USERS)('passes every test that runs the executable unprivileged, from a folder only its owner may enter, as %s', { timeout: 300_000 }, (_, user) => {
    // GIVEN a checkout of this tree under a mode-700 folder, which no other user may enter
    const home = mkdtempSync(join(tmpdir(), 'flagops-home-'));
    expect(statSync(home).mode & 0o777).toBe(0o700);
    onTestFinished(() => rmSync(home, { recursive: true, force: true }));
    const checkout = join(home, 'flagops');
    checkoutAt(checkout);
    if (user) giveTo(home, user);
    expect(reachableByOthers(join(checkout, 'bin', 'flagops.cjs'))).toBe(false);
    // WHEN vitest runs there the tests whose names say they run as an unprivileged user
    const testFiles = readdirSync(join(checkout, 'test'))
      .filter((f) => f.endsWith('.test.ts') && f !== 'private-checkout.test.ts')
      .filter((f) => readFileSync(join(checkout, 'test', f), 'utf8').includes('UNPRIVILEGED'))
      .map((f) => `test/${f}`);
    const r = runVitest(checkout, ['-t', UNPRIVILEGED, ...testFiles], { root: checkout, ...(user ? { user, env: { HOME: home } } : {}) });
    // THEN each of them ran and passed (three at least: check, refs and the compiled CLI's cache)
    const results = r.report.testResults.flatMap((f) => f.assertionResults.filter((t) => t.title.includes(UNPRIVILEGED)).map((t) => ({ file: f.name.slice(checkout.length + 1), ...t })));
    expect(results.length, r.output).toBeGreaterThanOrEqual(3);
    expect(results.filter((t) => t.status !== 'passed').map((t) => `${t.file}: ${t.title}: ${t.status}\n${t.failureMessages.join('\n')}`)).toEqual([]);
    expect(r.report.numFailedTests).toBe(0);
    expect(r.status, r.output).toBe(0);
  });
});
