import { defineConfig } from 'vitest/config';

/**
 * The suite as StrykerJS runs it (`npm run mutation`, docs/testing.md#mutation-testing): one
 * project, every test file in a fresh module graph (`isolate: true`), so a mutant that Stryker
 * activates while a module loads (a "static" mutant: a constant, a regular expression built at load
 * time) is seen by the file that tests it. vitest.config.ts's projects (a shared process for most
 * files) suit a full run of the suite, not a runner that reloads it for each mutant. Stryker sets
 * the pool and one worker itself.
 *
 * FLAGOPS_MUTATION_TESTS (comma-separated, set by scripts/mutation.ts) names the test files that
 * guard the module under test; without it every test file runs.
 */
const chosen = process.env.FLAGOPS_MUTATION_TESTS?.split(',').filter((f) => f !== '');

export default defineConfig({
  test: {
    include: chosen && chosen.length > 0 ? chosen : ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    isolate: true,
    setupFiles: ['test/support/shared-worker.ts'],
  },
});
