import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * How the suite runs (docs/performance.md#the-test-suite):
 *
 * - Test files run in forked processes, three at a time: a test often waits for the processes it
 *   starts (flagops, git, promtool, PostgreSQL), and a third worker keeps both cores of a 2-core
 *   machine busy meanwhile. FLAGOPS_TEST_WORKERS overrides the number.
 * - A worker runs one test file after another in the same process, which loads the project's
 *   modules (cdk8s, ajv and its compiled schemas, the CLI) once instead of once per file. A file
 *   that replaces modules (`vi.mock`, `vi.doMock`, `vi.resetModules`) or Pulumi's runtime
 *   (`setMocks`) runs in a fresh process of its own, found by that text, so none leaks into another.
 *   After each file, test/support/shared-worker.ts puts back the environment variables, working
 *   directory, timers and stubs the worker started with.
 * - A file that measures a process's peak memory (through test/support/max-rss.cjs) runs first and
 *   alone: V8 collects garbage on helper threads, and a process starved of CPU by test files
 *   running beside it grows further before a collection ends (measured: 376-481 MiB alone,
 *   525 MiB beside two other files, for a bound of 500).
 */
const TESTS = 'test';
const REPLACES_MODULES = /\bvi\.(?:mock|doMock|resetModules)\(|\bsetMocks\(/;
const MEASURES_MEMORY = /max-rss\.cjs/;
const testDir = fileURLToPath(new URL(TESTS, import.meta.url));
const testFiles = readdirSync(testDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));
const text = (f: string) => readFileSync(join(testDir, f), 'utf8');
const alone = testFiles.filter((f) => MEASURES_MEMORY.test(text(f))).map((f) => join(TESTS, f));
const isolated = testFiles.filter((f) => REPLACES_MODULES.test(text(f))).map((f) => join(TESTS, f)).filter((f) => !alone.includes(f));
const workers = Number(process.env.FLAGOPS_TEST_WORKERS) || 3;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: workers,
    setupFiles: ['test/support/shared-worker.ts'],
    projects: [
      { extends: true, test: { name: 'alone', include: alone, isolate: true, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'shared', include: [`${TESTS}/**/*.test.ts`], exclude: [...isolated, ...alone], isolate: false, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'isolated', include: isolated, isolate: true, sequence: { groupOrder: 1 } } },
    ],
  },
});
