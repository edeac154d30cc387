/**
 * The mutation-testing setup stays honest (docs/testing.md#mutation-testing) without running a
 * mutant: every guarded module and every test said to guard it exists, stryker.config.json mutates
 * exactly the guarded modules, `npm run mutation` is the script, and docs/testing.md gives each
 * guarded module a measured score or says it is not measured yet.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, GUARDED, incrementalFile, INCREMENTAL_DIR, scoreOf } from '../scripts/mutation.ts';
import { REPO_ROOT } from './helpers.ts';

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const config = JSON.parse(read(BASE_CONFIG)) as { testFiles?: string[]; mutate: string[]; concurrency: number; incremental: boolean; testRunner: string; checkers: string[]; vitest: { configFile: string } };
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };

describe('the mutation-testing setup', () => {
  it('mutates exactly the guarded modules, each an existing file, each guarded by existing test files', () => {
    expect(config.mutate).toEqual(Object.keys(GUARDED));
    for (const [module, tests] of Object.entries(GUARDED)) {
      expect(existsSync(join(REPO_ROOT, module)), module).toBe(true);
      expect(tests.length, module).toBeGreaterThan(0);
      for (const t of tests) expect(existsSync(join(REPO_ROOT, t)), `${module}: ${t}`).toBe(true);
    }
  });

  it('runs the vitest runner with the TypeScript checker, incrementally, on at most 2 cores, with a config file that exists', () => {
    expect(config.testRunner).toBe('vitest');
    expect(config.checkers).toEqual(['typescript']);
    expect(config.incremental).toBe(true);
    // With Stryker's `testFiles`, Stryker 9.6 activates a static mutant only after its module loaded:
    // every static mutant would survive. The tests are chosen by vitest.mutation.config.ts instead.
    expect(config).not.toHaveProperty('testFiles');
    expect(read('scripts/mutation.ts')).not.toMatch(/\btestFiles\b/);
    expect(config.concurrency).toBeLessThanOrEqual(2);
    expect(existsSync(join(REPO_ROOT, config.vitest.configFile))).toBe(true);
    for (const name of ['@stryker-mutator/core', '@stryker-mutator/vitest-runner', '@stryker-mutator/typescript-checker']) {
      expect(packageJson.devDependencies[name], name).toBeDefined();
      expect(existsSync(join(REPO_ROOT, 'node_modules', name, 'package.json')), name).toBe(true);
    }
  });

  it('is `npm run mutation`, and the incremental results are kept in a folder git does not ignore', () => {
    expect(packageJson.scripts.mutation).toBe('node --import tsx scripts/mutation.ts');
    const ignored = spawnSync('git', ['check-ignore', '-q', incrementalFile('common/text/redact.ts')], { cwd: REPO_ROOT });
    expect(ignored.status, `${INCREMENTAL_DIR} must not be ignored by .gitignore`).toBe(1);
    expect(spawnSync('git', ['check-ignore', '-q', 'reports/mutation/common.text.redact/mutation.html'], { cwd: REPO_ROOT }).status).toBe(0);
  });

  it('refuses a module that is not guarded with a usage error (exit 2) naming the guarded ones, and --plan lists each module with its tests', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/mutation.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    const refused = run('lib/not-a-module.ts');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('mutation: error: "lib/not-a-module.ts" is not a guarded module; name one of them (or none for all)');
    expect(refused.stderr).toContain('  common/text/redact.ts\n');
    const plan = run('--plan', 'common/text/redact.ts', 'lib/workspace/links.ts');
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout).toBe(`common/text/redact.ts: ${GUARDED['common/text/redact.ts']!.join(' ')}\nlib/workspace/links.ts: ${GUARDED['lib/workspace/links.ts']!.join(' ')}\n`);
  });

  it('scores a module as detected (killed or timed out) over detected and undetected (survived or not covered); invalid mutants do not count', () => {
    const statuses = ['Killed', 'Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'Ignored', 'RuntimeError'];
    const report = { files: { 'a.ts': { mutants: statuses.map((status) => ({ status })) } } };
    expect(scoreOf(report, 'a.ts', 7)).toEqual({ module: 'a.ts', detected: 3, survived: 1, noCoverage: 1, score: 60, seconds: 7 });
  });

  it('docs/testing.md gives every guarded module a measured score or says it is not measured yet', () => {
    const section = read('docs/testing.md').split('## Mutation testing')[1] ?? '';
    expect(section, 'docs/testing.md has a "## Mutation testing" section').not.toBe('');
    for (const module of Object.keys(GUARDED)) expect(section, module).toMatch(new RegExp(`\\| \`${module.replace(/\./g, '\\.')}\` \\| (?:\\d+(?:\\.\\d+)?%|not measured yet) \\|`));
  });
});
