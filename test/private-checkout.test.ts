/**
 * The suite passes from a checkout under a folder only its owner may enter (root's home, mode 700,
 * as on many fresh machines): the tests that run the real executable as an unprivileged user run
 * it from where that user can reach it (test/support/unprivileged.ts). Proven by running those
 * tests, with vitest, inside such a checkout.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { git, REPO_ROOT } from './helpers.ts';
import { reachableByOthers, readableTree, UNPRIVILEGED } from './support/unprivileged.ts';

interface VitestReport {
  numFailedTests: number;
  testResults: { name: string; assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}

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

describe('a checkout in a private folder', () => {
  it('passes every test that runs the executable unprivileged, from a folder only its owner may enter', { timeout: 300_000 }, () => {
    // GIVEN a checkout of this tree under a mode-700 folder, which no other user may enter
    const home = mkdtempSync(join(tmpdir(), 'flagops-home-'));
    expect(statSync(home).mode & 0o777).toBe(0o700);
    onTestFinished(() => rmSync(home, { recursive: true, force: true }));
    const checkout = join(home, 'flagops');
    checkoutAt(checkout);
    expect(reachableByOthers(join(checkout, 'bin', 'flagops.cjs'))).toBe(false);
    // WHEN vitest runs there the tests whose names say they run as an unprivileged user
    const testFiles = readdirSync(join(checkout, 'test'))
      .filter((f) => f.endsWith('.test.ts') && f !== 'private-checkout.test.ts')
      .filter((f) => readFileSync(join(checkout, 'test', f), 'utf8').includes('UNPRIVILEGED'))
      .map((f) => `test/${f}`);
    const report = join(home, 'report.json');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    const r = spawnSync(process.execPath, [join(checkout, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`, '-t', UNPRIVILEGED, ...testFiles], {
      cwd: checkout,
      encoding: 'utf8',
      env,
    });
    // THEN each of them ran and passed (three at least: check, refs and the compiled CLI's cache)
    const json = JSON.parse(readFileSync(report, 'utf8')) as VitestReport;
    const results = json.testResults.flatMap((f) => f.assertionResults.filter((t) => t.title.includes(UNPRIVILEGED)).map((t) => ({ file: f.name.slice(checkout.length + 1), ...t })));
    expect(results.length, r.stdout + r.stderr).toBeGreaterThanOrEqual(3);
    expect(results.filter((t) => t.status !== 'passed').map((t) => `${t.file}: ${t.title}: ${t.status}\n${t.failureMessages.join('\n')}`)).toEqual([]);
    expect(json.numFailedTests).toBe(0);
    expect(r.status, r.stderr).toBe(0);
  });
});
