/**
 * The CLI runs compiled (bin/compiled.cjs): built on the first run, and never run stale. A copy
 * of the package's sources with its own cache folder stands in for a checkout being edited; a
 * folder of links to the worktree's node_modules, with copies of the packages a test patches,
 * stands in for an installed node_modules (the worktree's own is never changed).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, REPO_ROOT, tempProject } from './helpers.ts';
import { readableNodeModules, UNPRIVILEGED, unprivilegedNode } from './support/unprivileged.ts';

const SOURCES = ['bin', 'cli', 'model', 'common', 'lib', 'policies', 'constructs', 'synth', 'infra', 'environments', 'docs', 'package.json'];

describe('the compiled CLI', () => {
  let pkg: string;
  let cache: string;
  let project: string;
  const run = (...args: string[]) => runFrom(pkg, project, cache, ...args);
  const builds = () => readdirSync(cache).filter((n) => n.startsWith('cli-'));

  beforeAll(() => {
    // GIVEN a copy of the package (its node_modules linked) with an empty build cache
    pkg = checkout(readableNodeModules());
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
    const file = join(pkg, 'common', 'text', 'errors.ts');
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

  it('has no import(), which a code-cached script cannot run (the tsx fallback, which nothing compiled reaches, is a require)', () => {
    expect(run('--version').status).toBe(0);
    const pointer = readdirSync(cache).find((n) => n.startsWith('current-'))!;
    const bundle = readFileSync(join(cache, (JSON.parse(readFileSync(join(cache, pointer), 'utf8')) as { dir: string }).dir, 'main.cjs'), 'utf8');
    expect(bundle.match(/\bimport\([^)]{0,80}\)/g)).toBeNull();
    expect(bundle).toContain('"tsx/cjs/api"');
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

  it(`runs for a user who may not write the cache: environment modules through tsx, no code cache or parse kept (${UNPRIVILEGED})`, () => {
    // GIVEN a new project (its environment modules are not compiled yet) that the user may read,
    // and a cache with a build that the user may not write (by its owner for root's tests, by its
    // modes for everyone)
    expect(run('list').status).toBe(0); // the build exists
    const other = tempProject();
    for (const dir of [other, pkg]) chmodSync(dir, 0o755);
    const folders = [cache, ...readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(e.parentPath, e.name))];
    for (const dir of folders) chmodSync(dir, 0o555);
    try {
      // WHEN a command runs
      const r = unprivilegedNode(join(pkg, 'bin', 'flagops.cjs'), ['check'], { cwd: other, env: cliEnv({ FLAGOPS_CACHE_DIR: cache, HOME: other, FLAGOPS_DEBUG: '1' }) });
      // THEN it runs the compiled CLI, as for anyone else
      expect(r.stderr).not.toContain('running the sources');
      expect(r.stderr).not.toContain('internal error');
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout + r.stderr).toContain('0 errors');
    } finally {
      for (const dir of folders) chmodSync(dir, 0o755);
    }
  });

  it('compiles an environment.ts again when it changes', () => {
    const file = join(project, 'environments', 'staging', 'environment.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("namespace: 'pms-staging'", "namespace: 'pms-stage'"));
    const r = run('synth', '--env', 'staging');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('created dist/staging/namespace-pms-stage.yaml');
  });
});

/**
 * A folder standing in for an installed node_modules: each entry a link to the worktree's, but the
 * packages named in `copies` (`name` or `@scope/name`), which are real copies a test may patch. It
 * has no `.cache`: what flagops keeps there stays in the test's own folders.
 */
function nodeModulesOverlay(copies: readonly string[] = []): string {
  const real = join(REPO_ROOT, 'node_modules');
  const dir = join(mkdtempSync(join(tmpdir(), 'flagops-install-')), 'node_modules');
  mkdirSync(dir);
  const scopes = new Set(copies.filter((c) => c.startsWith('@')).map((c) => c.split('/')[0]!));
  for (const name of readdirSync(real)) {
    if (name === '.cache' || copies.includes(name)) continue;
    if (!scopes.has(name)) {
      symlinkSync(join(real, name), join(dir, name));
      continue;
    }
    mkdirSync(join(dir, name));
    for (const inner of readdirSync(join(real, name))) if (!copies.includes(`${name}/${inner}`)) symlinkSync(join(real, name, inner), join(dir, name, inner));
  }
  for (const name of copies) cpSync(join(real, name), join(dir, name), { recursive: true });
  return dir;
}

/** A checkout of the package: a copy of its sources (and `extra` files), node_modules a link to `nodeModules`. */
function checkout(nodeModules: string, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-pkg-'));
  for (const name of [...SOURCES, ...extra]) cpSync(join(REPO_ROOT, name), join(dir, name), { recursive: true });
  symlinkSync(nodeModules, join(dir, 'node_modules'));
  return dir;
}

/** Runs `flagops` of the checkout `pkg` in `cwd`; `cache` is FLAGOPS_CACHE_DIR (none: the checkout's node_modules/.cache/flagops). */
function runFrom(pkg: string, cwd: string, cache: string | undefined, ...args: string[]) {
  const env = cliEnv({ FLAGOPS_DEBUG: '1' });
  if (cache === undefined) delete env.FLAGOPS_CACHE_DIR;
  else env.FLAGOPS_CACHE_DIR = cache;
  return spawnSync(process.execPath, [join(pkg, 'bin', 'flagops.cjs'), ...args], { cwd, encoding: 'utf8', env });
}

/** Replaces the one `from` in a file where it lies: same inode, its modification time set back. */
function patchInPlace(file: string, from: string, to: string): void {
  const { atime, mtime } = statSync(file);
  const text = readFileSync(file, 'utf8');
  expect(text.split(from)).toHaveLength(2);
  writeFileSync(file, text.replace(from, to));
  utimesSync(file, atime, mtime);
}

describe('the compiled CLI and the packages it bundles (commander, yaml, picocolors, ...)', () => {
  let modules: string;
  let pkg: string;
  let cache: string;
  const run = (...args: string[]) => runFrom(pkg, pkg, cache, ...args);
  const VERSION_LINE = '`${str}\\n`';

  beforeAll(() => {
    // GIVEN a checkout with its own copies of commander and picocolors (the others linked) and its lockfile
    modules = nodeModulesOverlay(['commander', 'picocolors']);
    pkg = checkout(modules, ['package-lock.json']);
    cache = mkdtempSync(join(tmpdir(), 'flagops-cache-'));
    const first = run('--version');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^flagops \d+\.\d+\.\d+\n$/);
  });

  it('runs a bundled package patched in place in node_modules: same size, its old modification time', () => {
    // WHEN commander's file is edited where it lies, to print the version on stderr
    const file = join(modules, 'commander', 'lib', 'command.js');
    const { size } = statSync(file);
    patchInPlace(file, `writeOut(${VERSION_LINE})`, `writeErr(${VERSION_LINE})`);
    expect(statSync(file).size).toBe(size);
    // THEN the next start builds again and runs the patched code
    const r = run('--version');
    expect(r.stderr).toContain('compiled the CLI into');
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^flagops \d+\.\d+\.\d+$/m);
  });

  it('accepts a reinstall of the same content without building, and runs a reinstall with new content', () => {
    const commander = join(modules, 'commander');
    // WHEN the package is installed again with the same files (new inodes)
    const saved = join(mkdtempSync(join(tmpdir(), 'flagops-saved-')), 'commander');
    cpSync(commander, saved, { recursive: true });
    rmSync(commander, { recursive: true });
    cpSync(saved, commander, { recursive: true });
    // THEN the build is still good
    const same = run('--version');
    expect(same.stderr).not.toContain('compiled the CLI');
    expect(same.stdout).toBe('');
    expect(same.stderr).toMatch(/^flagops \d+\.\d+\.\d+$/m);
    // WHEN it is installed with other content (`npm update`: new files, new text)
    rmSync(commander, { recursive: true });
    cpSync(join(REPO_ROOT, 'node_modules', 'commander'), commander, { recursive: true });
    patchInPlace(join(commander, 'lib', 'command.js'), VERSION_LINE, '`${str} (updated)\\n`');
    // THEN the new code runs
    const updated = run('--version');
    expect(updated.stderr).toContain('compiled the CLI into');
    expect(updated.stdout).toMatch(/^flagops \S+ \(updated\)\n$/);
  });

  it("follows a bundled package's package.json: a new entry point it names runs", () => {
    // WHEN commander's package.json points its ES module entry at a new file
    const commander = join(modules, 'commander');
    writeFileSync(
      join(commander, 'esm-next.mjs'),
      [
        "import commander from './index.js';",
        'const version = commander.Command.prototype.version;',
        'commander.Command.prototype.version = function (str, ...rest) {',
        '  return version.call(this, str === undefined ? str : `${str} (package.json)`, ...rest);',
        '};',
        "export * from './esm.mjs';",
        '',
      ].join('\n'),
    );
    const manifest = JSON.parse(readFileSync(join(commander, 'package.json'), 'utf8')) as { exports: { '.': { import: { default: string } } } };
    manifest.exports['.'].import.default = './esm-next.mjs';
    writeFileSync(join(commander, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // THEN the next start builds again from it
    const r = run('--version');
    expect(r.stderr).toContain('compiled the CLI into');
    expect(r.stdout).toContain('(package.json)');
  });

  it('builds again when package-lock.json changes (an npm install or update), once', () => {
    const lock = readFileSync(join(pkg, 'package-lock.json'), 'utf8');
    const changed = lock.replace(/("node_modules\/commander": \{\s*"version": ")[^"]+"/, '$1999.0.0"');
    expect(changed).not.toBe(lock);
    writeFileSync(join(pkg, 'package-lock.json'), changed);
    expect(run('--version').stderr).toContain('compiled the CLI into');
    expect(run('--version').stderr).not.toContain('compiled the CLI');
  });

  it('compiles an environment.ts again when a bundled package it imports changes', () => {
    // GIVEN the checkout's own staging environment reads its namespace through picocolors (a stand-in for any import)
    const file = join(pkg, 'environments', 'staging', 'environment.ts');
    const text = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      `import colors from 'picocolors';\n${text.replace("namespace: 'pms-staging'", "namespace: (colors as unknown as { namespace?: string }).namespace ?? 'pms-staging'")}`,
    );
    const before = run('synth', '--env', 'staging');
    expect(before.status, before.stderr).toBe(0);
    expect(before.stdout).toContain('dist/staging/namespace-pms-staging.yaml');
    // WHEN picocolors is patched in place
    patchInPlace(join(modules, 'picocolors', 'picocolors.js'), 'module.exports.createColors = createColors', "module.exports.createColors = createColors\nmodule.exports.namespace = 'pms-patched'");
    // THEN the environment module is compiled again with it
    const after = run('synth', '--env', 'staging');
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).toContain('created dist/staging/namespace-pms-patched.yaml');
  });
});

describe('checkouts that share one node_modules (git worktrees with a linked node_modules)', () => {
  let shared: string;
  let complete: string;
  let missingPage: string;
  let project: string;

  beforeAll(() => {
    // GIVEN two checkouts with the same TypeScript sources, one of them without a runbook page,
    // both using one node_modules (and so its .cache/flagops)
    shared = nodeModulesOverlay();
    complete = checkout(shared);
    missingPage = checkout(shared);
    rmSync(join(missingPage, 'docs', 'runbooks', 'service-down.md'));
    project = tempProject();
  });

  it("each runs its own code: the checkout without the runbook page fails, the other passes, in turn", () => {
    const first = runFrom(complete, project, undefined, 'check');
    expect(first.status, first.stdout + first.stderr).toBe(0);
    const other = runFrom(missingPage, project, undefined, 'check');
    expect(other.stdout).toContain('docs/runbooks/service-down.md, which does not exist');
    expect(other.status).toBe(1);
    const again = runFrom(complete, project, undefined, 'check');
    expect(again.status, again.stdout).toBe(0);
  });

  it('keeps a build (with its parse store) and compiled environment modules per checkout, reused by its next command', () => {
    const cache = join(shared, '.cache', 'flagops');
    const builds = readdirSync(cache)
      .filter((n) => n.startsWith('current-'))
      .map((n) => (JSON.parse(readFileSync(join(cache, n), 'utf8')) as { dir: string; root: string }));
    expect(builds.map((b) => b.root).sort()).toEqual([complete, missingPage].sort());
    expect(new Set(builds.map((b) => b.dir)).size).toBe(2);
    // WHEN each checkout runs a command on a new project in turn
    const fresh = tempProject();
    const compiled = (r: { stderr: string }) => r.stderr.includes('compiled the environment module');
    expect(compiled(runFrom(complete, fresh, undefined, 'list'))).toBe(true);
    expect(compiled(runFrom(missingPage, fresh, undefined, 'list'))).toBe(true);
    // THEN neither compiles again on its next command
    expect(compiled(runFrom(complete, fresh, undefined, 'list'))).toBe(false);
    expect(compiled(runFrom(missingPage, fresh, undefined, 'list'))).toBe(false);
  });
});

describe('checkouts that share one FLAGOPS_CACHE_DIR, each with its own node_modules', () => {
  it('loads the packages kept external (cdk8s, ajv, lezer-promql, ...) from its own node_modules', () => {
    // GIVEN a checkout whose PromQL parser is patched to reject every expression, and one with the worktree's
    const patched = nodeModulesOverlay(['@prometheus-io/lezer-promql']);
    const parser = join(patched, '@prometheus-io', 'lezer-promql', 'dist', 'index.cjs');
    writeFileSync(parser, `${readFileSync(parser, 'utf8')}\n{ const parse = parser.parse.bind(parser); parser.parse = (text) => parse('(' + text); }\n`);
    const plain = checkout(join(REPO_ROOT, 'node_modules'));
    const strict = checkout(patched);
    const cache = mkdtempSync(join(tmpdir(), 'flagops-cache-'));
    const project = tempProject();
    // WHEN both run check through one cache
    const first = runFrom(plain, project, cache, 'check');
    const second = runFrom(strict, project, cache, 'check');
    // THEN each ran its own parser
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(second.stdout).toContain('[promql-syntax]');
    expect(second.status).toBe(1);
  });
});
