import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * How the suite runs (docs/performance.md#the-test-suite):
 *
 * - Test files run in forked processes, several at a time: most of a test's time is spent waiting
 *   for the processes it starts (flagops, git, promtool, PostgreSQL), so more workers than cores
 *   pay. FLAGOPS_TEST_WORKERS overrides the number.
 * - A worker runs one test file after another in the same process, which loads the project's
 *   modules (cdk8s, ajv and its compiled schemas, the CLI) once instead of once per file. A file
 *   that replaces modules (`vi.mock`, `vi.doMock`, `vi.resetModules`) or Pulumi's runtime
 *   (`setMocks`) runs in a fresh process of its own, found by that text, so none leaks into another.
 *   After each file, test/support/shared-worker.ts puts back the environment variables, working
 *   directory, timers and stubs the worker started with.
 */
const TESTS = 'test';
const REPLACES_MODULES = /\bvi\.(?:mock|doMock|resetModules)\(|\bsetMocks\(/;
const testDir = fileURLToPath(new URL(TESTS, import.meta.url));
const testFiles = readdirSync(testDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));
const isolated = testFiles.filter((f) => REPLACES_MODULES.test(readFileSync(join(testDir, f), 'utf8'))).map((f) => join(TESTS, f));
const workers = Number(process.env.FLAGOPS_TEST_WORKERS) || 3;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: workers,
    setupFiles: ['test/support/shared-worker.ts'],
    projects: [
      { extends: true, test: { name: 'shared', include: [`${TESTS}/**/*.test.ts`], exclude: isolated, isolate: false } },
      { extends: true, test: { name: 'isolated', include: isolated, isolate: true } },
    ],
  },
});
