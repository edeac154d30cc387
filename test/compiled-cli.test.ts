/**
 * The CLI runs compiled (bin/compiled.cjs): built on the first run, and never run stale. A copy
 * of the package's sources with its own cache folder stands in for a checkout being edited.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, REPO_ROOT, tempProject } from './helpers.ts';

const SOURCES = ['bin', 'cli', 'model', 'lib', 'policies', 'constructs', 'infra', 'environments', 'docs', 'package.json'];

describe('the compiled CLI', () => {
  let pkg: string;
  let cache: string;
  let project: string;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(pkg, 'bin', 'flagops.cjs'), ...args], { cwd: project, encoding: 'utf8', env: cliEnv({ FLAGOPS_CACHE_DIR: cache, FLAGOPS_DEBUG: '1' }) });
  const builds = () => readdirSync(cache).filter((n) => n.startsWith('cli-'));

  beforeAll(() => {
    // GIVEN a copy of the package (its node_modules linked) with an empty build cache
    pkg = mkdtempSync(join(tmpdir(), 'flagops-pkg-'));
    for (const name of SOURCES) cpSync(join(REPO_ROOT, name), join(pkg, name), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
    cache = mkdtempSync(join(tmpdir(), 'flagops-cache-'));
    project = tempProject();
  });

  it('is built by the first command and reused by the next', () => {
    const first = run('list');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('flagops: debug: compiled the CLI into');
    expect(builds()).toHaveLength(1);
    const second = run('list');
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain('compiled the CLI');
    expect(second.stdout).toBe(first.stdout);
  });

  it('never runs stale: a changed source is rebuilt before it runs, even with its old modification time', () => {
    // WHEN a command's description changes, and the file's mtime is set back to what it was
    const file = join(pkg, 'cli', 'commands', 'info.ts');
    const { atime, mtime } = statSync(file);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("'the flag catalog");
    writeFileSync(file, text.replace("'the flag catalog", "'THE CHANGED flag catalog"));
    utimesSync(file, atime, mtime);
    // THEN the next run builds again and shows the change
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('compiled the CLI into');
    expect(r.stdout).toContain('THE CHANGED flag catalog');
  });

  it('keeps a build a running command may still load from, and removes one unused for a day', () => {
    // GIVEN an unused build from a minute ago (a command may still load its chunks) and one from two days ago
    const recent = join(cache, 'cli-0000000000000001');
    const old = join(cache, 'cli-0000000000000002');
    for (const dir of [recent, old]) mkdirSync(dir);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    // WHEN a changed source makes the next command build again
    const file = join(pkg, 'cli', 'commands', 'info.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("'THE CHANGED flag catalog", "'THE flag catalog, changed again"));
    const r = run('--help');
    expect(r.stderr).toContain('compiled the CLI into');
    // THEN the recent one is still there and the old one is gone
    expect(builds()).toContain('cli-0000000000000001');
    expect(builds()).not.toContain('cli-0000000000000002');
  });

  it('does not rebuild for a file touched without a change', () => {
    const file = join(pkg, 'lib', 'text', 'errors.ts');
    const now = new Date();
    utimesSync(file, now, now);
    const before = builds();
    const r = run('list');
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('compiled the CLI');
    expect(builds()).toEqual(before);
  });

  it('runs from V8\'s code cache, one per command, and writes a rejected one again', () => {
    // GIVEN a build whose `list` has run once (the cache is written at exit)
    expect(run('list').status).toBe(0);
    const pointer = readdirSync(cache).find((n) => n.startsWith('current-'))!;
    const dir = join(cache, (JSON.parse(readFileSync(join(cache, pointer), 'utf8')) as { dir: string }).dir);
    const listCache = join(dir, 'main.cjs.list.v8');
    expect(statSync(listCache).size).toBeGreaterThan(1000);
    // WHEN the cache is garbage
    writeFileSync(listCache, 'not a code cache');
    const r = run('list');
    // THEN the command still runs, says so under FLAGOPS_DEBUG, and the cache is written again
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('V8 rejected the code cache');
    expect(statSync(listCache).size).toBeGreaterThan(1000);
    expect(run('list').stderr).not.toContain('rejected');
    // AND a misspelt command leaves no cache of its own
    expect(run('lsit').status).toBe(2);
    expect(readdirSync(dir).filter((n) => n.includes('lsit'))).toEqual([]);
  });

  it('runs through bin/flagops.mjs too, which links made before bin/flagops.cjs (an npx cache) still name', () => {
    const old = (...args: string[]) => spawnSync(join(pkg, 'bin', 'flagops.mjs'), args, { cwd: project, encoding: 'utf8', env: cliEnv({ FLAGOPS_CACHE_DIR: cache }) });
    expect(old('list').stdout).toBe(run('list').stdout);
    const typo = old('lsit');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('Did you mean list?');
  });

  it('has no import() a code-cached script cannot run, but the tsx fallback nothing compiled reaches', () => {
    expect(run('--version').status).toBe(0);
    const pointer = readdirSync(cache).find((n) => n.startsWith('current-'))!;
    const bundle = readFileSync(join(cache, (JSON.parse(readFileSync(join(cache, pointer), 'utf8')) as { dir: string }).dir, 'main.cjs'), 'utf8');
    expect(bundle.match(/\bimport\([^)]{0,80}\)/g)).toEqual(['import("tsx/esm/api")']);
  });

  it('keeps parses across runs: the same output from the parse store, a changed file parsed again', () => {
    // GIVEN a flag file with a problem, so the findings need positions in it
    const file = join(project, 'environments', 'dev', 'flags.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/rollout: \d+/, 'rollout: 150'));
    const stored = (stderr: string) => stderr.split('\n').filter((l) => l.endsWith(': from the parse store')).map((l) => l.split(' ')[2]);
    const first = run('check');
    expect(first.status).toBe(1);
    expect(first.stdout).toMatch(/environments\/dev\/flags\.yaml:\d+:\d+: error: .*\[/);
    // WHEN check runs again on the same files
    const second = run('check');
    // THEN every flag file comes from the store, and the output is the same byte for byte
    expect(stored(second.stderr)).toEqual(['environments/catalog.yaml:', 'environments/dev/flags.yaml:', 'environments/staging/flags.yaml:', 'environments/production/flags.yaml:']);
    expect(second.stdout).toBe(first.stdout);
    expect(second.status).toBe(1);
    // AND a file changed only in a comment is parsed again, the others still come from the store
    const staging = join(project, 'environments', 'staging', 'flags.yaml');
    writeFileSync(staging, `# a comment\n${readFileSync(staging, 'utf8')}`);
    const third = run('check');
    expect(stored(third.stderr)).not.toContain('environments/staging/flags.yaml:');
    expect(stored(third.stderr)).toContain('environments/dev/flags.yaml:');
    expect(third.stdout).toBe(first.stdout);
    writeFileSync(file, text);
  });

  it.runIf(process.getuid?.() === 0)('runs for a user who may not write the cache: environment modules through tsx, no code cache or parse kept', () => {
    // GIVEN a new project (its environment modules are not compiled yet) that nobody may read, and
    // a cache only root may write
    expect(run('list').status).toBe(0); // the build exists
    const other = tempProject();
    for (const dir of [other, pkg, cache]) chmodSync(dir, 0o755);
    const r = spawnSync(process.execPath, [join(pkg, 'bin', 'flagops.cjs'), 'check'], {
      cwd: other,
      encoding: 'utf8',
      env: cliEnv({ FLAGOPS_CACHE_DIR: cache, HOME: other, FLAGOPS_DEBUG: '1' }),
      uid: 65534,
      gid: 65534,
    });
    // THEN the command runs the compiled CLI, as for anyone else
    expect(r.stderr).not.toContain('running the sources');
    expect(r.stderr).not.toContain('internal error');
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).toContain('0 errors');
  });

  it('compiles an environment.ts again when it changes', () => {
    const file = join(project, 'environments', 'staging', 'environment.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("namespace: 'pms-staging'", "namespace: 'pms-stage'"));
    const r = run('synth', '--env', 'staging');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('created dist/staging/namespace-pms-stage.yaml');
  });
});
