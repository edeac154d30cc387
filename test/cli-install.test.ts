/**
 * Before `npm ci`: the command says to run it, in one line, exit 2, instead of an
 * ERR_MODULE_NOT_FOUND stack trace. A copy of the package without (part of) node_modules.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, REPO_ROOT, tempProject } from './helpers.ts';

const SOURCES = ['bin', 'cli', 'model', 'common', 'lib', 'policies', 'constructs', 'synth', 'infra', 'environments', 'package.json'];
const MESSAGE = 'flagops: error: dependencies are not installed; run `npm ci` first\n';

/** A copy of the package's sources; with `except`, its node_modules links every dependency but those. */
function packageCopy(except?: readonly string[]): string {
  const pkg = mkdtempSync(join(tmpdir(), 'flagops-noinstall-'));
  for (const name of SOURCES) cpSync(join(REPO_ROOT, name), join(pkg, name), { recursive: true });
  if (except) {
    const deps = Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    for (const name of deps.filter((d) => !except.includes(d))) {
      mkdirSync(dirname(join(pkg, 'node_modules', name)), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules', name), join(pkg, 'node_modules', name));
    }
  }
  return pkg;
}

const run = (pkg: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(pkg, 'bin', 'flagops.cjs'), ...args], {
    cwd: tempProject({ dist: false }),
    encoding: 'utf8',
    env: cliEnv({ FLAGOPS_CACHE_DIR: mkdtempSync(join(tmpdir(), 'flagops-cache-')) }),
  });

describe('flagops before npm ci', () => {
  it.each([['list'], ['--version'], ['check']])('`flagops %s` without node_modules says to run npm ci: one line, exit 2, no stack trace', (command) => {
    const r = run(packageCopy(), command);
    expect(r.stderr).toBe(MESSAGE);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });

  it('a dependency missing from node_modules (a partial install) is said the same way', () => {
    const r = run(packageCopy(['ajv']), 'list');
    expect(r.stderr).toBe(MESSAGE);
    expect(r.status).toBe(2);
  });
});
