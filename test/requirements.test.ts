/**
 * "Required here" (test/support/requirements.ts): under CI, recognised by any `CI` but an empty
 * value, `false` or `0`, a test that needs a missing tool fails, saying what is missing; locally it
 * is skipped with that message. Proven on the helper, then on the suite's own tests that need
 * promtool, prometheus and util-linux `script`, run by vitest with none of them on PATH.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { REPO_ROOT } from './helpers.ts';
import { missingMessage, onPath, requirement, skipMessage, underCi, type Need } from './support/requirements.ts';
import { runVitest, type VitestReport, type VitestRun } from './support/vitest-run.ts';

describe('under CI', () => {
  it.each(['true', 'TRUE', 'True', '1', 'yes', 'woodpecker', ' true '])('is CI=%j', (value) => {
    expect(underCi({ CI: value })).toBe(true);
  });

  it.each([undefined, '', ' ', 'false', 'FALSE', 'False', '0'])('is not CI=%j', (value) => {
    expect(underCi(value === undefined ? {} : { CI: value })).toBe(false);
  });
});

describe('a requirement', () => {
  const need: Need = { what: 'promtool', found: false, install: 'apt-get install -y prometheus', tests: 'the promtool rule tests' };

  it('skips the tests that need what is missing, locally, with one line saying what and how to get it', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const r = requirement(need, {});
    expect(r.skip).toBe(true);
    expect(warn.mock.calls).toEqual([['SKIPPED the promtool rule tests: promtool is missing here (apt-get install -y prometheus); under CI (CI=true or CI=1) they fail instead']]);
    warn.mockRestore();
  });

  it.each(['true', '1'])('never skips under CI=%s: the tests run, and fail at check() saying what is missing', (ci) => {
    const r = requirement(need, { CI: ci });
    expect(r.skip).toBe(false);
    expect(() => r.check()).toThrow('the promtool rule tests need promtool, which is missing: apt-get install -y prometheus');
  });

  it('runs the tests when what they need is here, under CI or not', () => {
    for (const env of [{}, { CI: 'true' }]) {
      const r = requirement({ ...need, found: true }, env);
      expect(r.skip).toBe(false);
      expect(() => r.check()).not.toThrow();
    }
  });

  it('finds a program on PATH as `command -v` does: the first executable file of that name', () => {
    const [a, b] = [mkdtempSync(join(tmpdir(), 'flagops-path-')), mkdtempSync(join(tmpdir(), 'flagops-path-'))];
    writeFileSync(join(a, 'tool'), '#!/bin/sh\n', { mode: 0o644 }); // not executable
    writeFileSync(join(b, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    expect(onPath('tool', { PATH: `${a}:${b}` })).toBe(join(b, 'tool'));
    expect(onPath('tool', { PATH: a })).toBeUndefined();
    expect(onPath('tool', { PATH: '' })).toBeUndefined();
    expect(onPath('tool', {})).toBeUndefined();
  });
});

/** The suite's tests that need a tool (a suite, or one test of it), and the need each declares. */
const TOOL_TESTS: readonly { file: string; suite: string; test?: string; need: Pick<Need, 'what' | 'tests'> }[] = [
  { file: 'test/promtool.test.ts', suite: 'promtool on the committed rules', need: { what: 'promtool (on PATH)', tests: 'the promtool rule tests (test/promtool.test.ts)' } },
  { file: 'test/monitor-prometheus.test.ts', suite: 'flagops monitor against a real Prometheus', need: { what: 'the prometheus binary', tests: 'the tests of flagops monitor against a real Prometheus (test/monitor-prometheus.test.ts)' } },
  { file: 'test/monitor.test.ts', suite: 'the terminal progress line', test: 'is redrawn in place on a real terminal and replaced by the last figures at the end', need: { what: 'util-linux `script` (a pseudo-terminal)', tests: 'the terminal progress line test (test/monitor.test.ts)' } },
];

/** vitest on the tests of {@link TOOL_TESTS} with `CI` set to `ci` (unset when undefined) and a PATH that holds none of their tools. */
function withoutTools(ci: string | undefined): VitestRun {
  const names = TOOL_TESTS.map((t) => (t.test ? `${t.suite} ${t.test}` : `${t.suite} `)).join('|');
  const empty = mkdtempSync(join(tmpdir(), 'flagops-no-tools-'));
  return runVitest(REPO_ROOT, ['-t', `^(${names})`, ...TOOL_TESTS.map((t) => t.file)], { env: { CI: ci, PATH: empty, FLAGOPS_TEST_WORKERS: '1' } });
}

/** The outcome of each test of {@link TOOL_TESTS} `t`. */
const outcomes = (report: VitestReport, t: (typeof TOOL_TESTS)[number]) =>
  report.testResults
    .filter((f) => f.name === join(REPO_ROOT, t.file))
    .flatMap((f) => f.assertionResults.filter((r) => r.ancestorTitles[0] === t.suite && (t.test === undefined || r.title === t.test)));

describe("the suite's tests that need a tool, with none on PATH", () => {
  it('fail under CI=1, each saying what it needs', () => {
    const { report, output, status } = withoutTools('1');
    for (const t of TOOL_TESTS) {
      const results = outcomes(report, t);
      expect(results.length, `${t.file}\n${output}`).toBeGreaterThan(0);
      // (a test fails; when the need is checked in beforeAll, the suite fails and its tests do not run)
      expect(results.filter((r) => r.status === 'passed')).toEqual([]);
      expect(output).toContain(missingMessage({ ...t.need, found: false, install: '' }));
    }
    expect(status).toBe(1);
  });

  it('are skipped locally, with the line that says what is missing and how to install it', () => {
    const { report, output, status } = withoutTools(undefined);
    for (const t of TOOL_TESTS) {
      const results = outcomes(report, t);
      expect(results.length, `${t.file}\n${output}`).toBeGreaterThan(0);
      expect(results.map((r) => r.status)).toEqual(results.map(() => 'skipped'));
      expect(output).toContain(`SKIPPED ${t.need.tests}: ${t.need.what} is missing here (`);
    }
    expect(status, output).toBe(0);
  });
});

// The messages the suite's tests print are the helper's: one wording everywhere.
it('words the skip and the failure from the same need', () => {
  const need: Need = { what: 'X', found: false, install: 'get X', tests: 'the X tests' };
  expect(skipMessage(need)).toBe('SKIPPED the X tests: X is missing here (get X); under CI (CI=true or CI=1) they fail instead');
  expect(missingMessage(need)).toBe('the X tests need X, which is missing: get X');
});
