/**
 * CI shows how many tests were skipped and fails if any was (scripts/skipped-tests.ts): fed the
 * JSON reports of real vitest runs, one with a test skipped in each way vitest allows and one
 * clean; and .ci/run, with `npm` standing in, failing on the first and passing the second.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers.ts';
import { runVitest } from './support/vitest-run.ts';

const CLEAN = `import { describe, expect, it } from 'vitest';
describe('arithmetic', () => {
  it('adds', () => expect(1 + 1).toBe(2));
  it('subtracts', () => expect(2 - 1).toBe(1));
});
`;

const SKIPPING = `import { describe, expect, it } from 'vitest';
const promtool = { skip: true };
describe('each way to skip', () => {
  it('runs', () => expect(1).toBe(1));
  it.skip('is skipped', () => {});
  it.skipIf(promtool.skip)('is skipped when promtool is missing', () => {});
  it.todo('is to do');
  it('skips itself', (ctx) => ctx.skip());
});
describe.skipIf(true)('a skipped suite', () => {
  it('never runs, \\u001b[31mred\\u001b[0m', () => {});
});
`;

/** Runs vitest on `files` (name: text) in a scratch folder: that folder, and the path of its JSON report. */
function vitestReport(files: Readonly<Record<string, string>>): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-vitest-'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const run = runVitest(dir, []);
  if (run.status !== 0) throw new Error(`vitest failed in ${dir}:\n${run.output}`);
  return { dir, file: run.reportFile };
}

/** The script on the report `file`, run in `dir` (where vitest ran, so files are shown relative to it). */
const skippedTests = ({ dir, file }: { dir: string; file: string }) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'skipped-tests.ts'), file], { cwd: dir, encoding: 'utf8' });

let clean: { dir: string; file: string };
let skipping: { dir: string; file: string };
beforeAll(() => {
  clean = vitestReport({ 'clean.test.ts': CLEAN });
  skipping = vitestReport({ 'clean.test.ts': CLEAN, 'skipping.test.ts': SKIPPING });
});

describe('scripts/skipped-tests.ts', () => {
  it('fails a run with a skipped or todo test, naming each by file and name, after the counts', () => {
    const r = skippedTests(skipping);
    expect(r.stdout.split('\n')).toEqual([
      'tests: 3 passed, 0 failed, 5 skipped or todo, in 2 files',
      'error: 5 tests did not run; under CI every test must run: install what a skipped test needs (its message says what), remove .skip/.todo (docs/testing.md#what-ci-requires)',
      '  skipping.test.ts: each way to skip > is skipped (skipped)',
      '  skipping.test.ts: each way to skip > is skipped when promtool is missing (skipped)',
      '  skipping.test.ts: each way to skip > is to do (todo)',
      '  skipping.test.ts: each way to skip > skips itself (skipped)',
      // a name is printed escaped
      '  skipping.test.ts: a skipped suite > never runs, \\x1b[31mred\\x1b[0m (skipped)',
      '',
    ]);
    expect(r.status).toBe(1);
  });

  it('passes a run where every test ran, and shows that none was skipped', () => {
    const r = skippedTests(clean);
    expect(r.stdout).toBe('tests: 2 passed, 0 failed, 0 skipped or todo, in 1 file\n');
    expect(r.status).toBe(0);
  });

  it('fails when no test ran, and says so when the report is missing or is not a vitest report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-report-'));
    writeFileSync(join(dir, 'empty.json'), JSON.stringify({ testResults: [] }));
    writeFileSync(join(dir, 'other.json'), '{"results": []}');
    const empty = skippedTests({ dir: REPO_ROOT, file: join(dir, 'empty.json') });
    expect(empty.stdout).toContain('error: no test ran: the report holds no test');
    expect(empty.status).toBe(1);
    const missing = skippedTests({ dir: REPO_ROOT, file: join(dir, 'missing.json') });
    expect(missing.stdout).toBe(`error: cannot read the test report ${join(dir, 'missing.json')}: it does not exist: the test run ended before writing it (see its output above)\n`);
    expect(missing.status).toBe(2);
    const other = skippedTests({ dir: REPO_ROOT, file: join(dir, 'other.json') });
    expect(other.stdout).toBe(`error: ${join(dir, 'other.json')} is not a vitest JSON report (no testResults)\n`);
    expect(other.status).toBe(2);
  });
});

describe('.ci/run', () => {
  /**
   * Runs .ci/run with stand-ins on PATH: promtool, prometheus, initdb and script (so nothing is
   * installed), and an npm whose `npm test` writes `report` where --outputFile says and exits `status`.
   */
  function ciRun(report: { file: string }, status: number) {
    const bin = mkdtempSync(join(tmpdir(), 'flagops-ci-bin-'));
    for (const tool of ['promtool', 'prometheus', 'initdb', 'script']) writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const calls = join(bin, 'calls');
    writeFileSync(
      join(bin, 'npm'),
      `#!/bin/sh
echo "npm $*" >> '${calls}'
[ "$1" = test ] || exit 0
for a in "$@"; do case "$a" in --outputFile=*) cp '${report.file}' "\${a#--outputFile=}";; esac; done
exit ${status}
`,
    );
    chmodSync(join(bin, 'npm'), 0o755);
    mkdirSync(join(bin, 'home'));
    const r = spawnSync(join(REPO_ROOT, '.ci', 'run'), [], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: join(bin, 'home') } });
    return { ...r, calls: readFileSync(calls, 'utf8') };
  }

  it('runs npm ci, then npm test with a JSON report, and fails when a test was skipped, naming it', () => {
    const r = ciRun(skipping, 0);
    expect(r.calls).toMatch(/^npm ci --no-audit --no-fund\nnpm test -- --reporter=default --reporter=json --outputFile=\S+\/vitest\.json\n$/);
    expect(r.stdout).toContain('tests: 3 passed, 0 failed, 5 skipped or todo, in 2 files');
    expect(r.stdout).toContain('each way to skip > is skipped when promtool is missing (skipped)');
    expect(r.status).toBe(1);
  });

  it('passes when every test ran and passed, and keeps the exit code of a failed test run', () => {
    const r = ciRun(clean, 0);
    expect(r.stdout).toContain('tests: 2 passed, 0 failed, 0 skipped or todo, in 1 file');
    expect(r.status, r.stderr).toBe(0);
    expect(ciRun(clean, 1).status).toBe(1);
    expect(ciRun(skipping, 2).status).toBe(2);
  });
});
