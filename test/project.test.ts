/**
 * Reading the flag files: a path that is not a readable file of text is a finding on that file,
 * and parsing plus every rule run in time linear in the size of the files.
 */
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openWorkspace } from '../lib/workspace/workspace.ts';
import { cliEnv, NOW, flagops, flagopsProcess, read, tempProject } from './helpers.ts';
import { UNPRIVILEGED, unprivilegedBin, unprivilegedNode } from './support/unprivileged.ts';

const PROD = 'environments/production/flags.yaml';
const CATALOG = 'environments/catalog.yaml';

/** A temp project whose production flags.yaml is replaced by what `make` puts at its path. */
function projectWith(make: (path: string, dir: string) => void): string {
  const dir = tempProject();
  rmSync(join(dir, PROD));
  make(join(dir, PROD), dir);
  return dir;
}

describe('a flags.yaml that cannot be read is a finding on that file', () => {
  it('reports a directory in place of flags.yaml, exit 1, no stack trace (real process)', () => {
    const dir = projectWith((path) => mkdirSync(path));
    const r = flagopsProcess(dir, ['check']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`${PROD}: error: ${PROD} is a directory, not a file; replace it with the plain flag file [unreadable-file]`);
    expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('reports a symlink to a directory, without following it', async () => {
    const dir = projectWith((path, root) => symlinkSync(join(root, 'environments', 'dev'), path));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${PROD}: error: ${PROD} is a symbolic link; flagops never reads through links in the project: replace it with the plain file [unreadable-file]`);
  });

  it('reports a symlink loop, without following it', async () => {
    const dir = projectWith((path) => symlinkSync(path, path));
    const r = await flagops(dir, 'status');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${PROD}: error: ${PROD} is a symbolic link; flagops never reads through links in the project: replace it with the plain file [unreadable-file]`);
  });

  it(`reports a file it has no permission to read (EACCES) as exit 1, not 70 (${UNPRIVILEGED})`, () => {
    // GIVEN a flag file nobody may read, in a project others may enter
    const dir = projectWith((path) => {
      writeFileSync(path, 'environment: production\nflags: {}\n');
      chmodSync(path, 0o000);
    });
    chmodSync(dir, 0o755);
    // WHEN the real executable checks it as a user bound by modes (root reads any file)
    const r = unprivilegedNode(unprivilegedBin(), ['check'], { cwd: dir, env: cliEnv({ FLAGOPS_NOW: NOW, HOME: dir }) });
    // THEN the file is a finding
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain(`${PROD}: error: ${PROD} cannot be read (permission denied) [unreadable-file]`);
  });

  it('reports a flag file larger than the limit without reading it whole', async () => {
    const dir = projectWith((path) => writeFileSync(path, `environment: production\nflags: {}\n${'#'.repeat(20 * 1024 * 1024)}\n`));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${PROD}: error: ${PROD} is 20\\.0 MiB; flag files may be at most 16 MiB \\[unreadable-file\\]`));
  });

  it('reports bytes that are not UTF-8 at their line and column', async () => {
    const dir = projectWith((path) => writeFileSync(path, Buffer.concat([Buffer.from('environment: production\nflags:\n  x: \n'), Buffer.from([0x61, 0xff, 0xfe]), Buffer.from('\n')])));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${PROD}:4:2: error: byte 0xff is not UTF-8: flag files are UTF-8 text [unreadable-file]`);
  });
});

/** `n` flag names, in the shape of real ones. */
const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}_${i}_enabled`);

describe('parsing and rules run in time linear in the size of the files', () => {
  // Bounded by the test's timeout (a quadratic run takes hours), not by a timing assertion; `npm run bench` times them.
  it('reports 100,000 unknown flags in an environment file, one finding each', { timeout: 120_000 }, async () => {
    const dir = tempProject();
    writeFileSync(join(dir, PROD), `environment: production\nflags:\n${names(100_000, 'ghost').map((n) => `  ${n}: ~\n`).join('')}`);
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    // one unknown-flag and one wrong-type (an entry is a mapping) per flag, and the 15 catalog flags missing
    expect(r.stdout).toContain('flagops check (base: none, change rules not applied): 200015 errors');
    expect(r.stdout).toContain(`${PROD}: note: 99900 more [unknown-flag] findings not shown (--format json lists the first 1000)`);
    expect(r.stdout.split('\n').filter((l) => l.endsWith('[unknown-flag]'))).toHaveLength(100);
  });

  it('reports 100,000 catalog flags missing from every environment, and caps the text output per rule', { timeout: 120_000 }, async () => {
    const dir = tempProject();
    const extra = names(100_000, 'extra').map((n) => `  ${n}: ~\n`);
    writeFileSync(join(dir, CATALOG), `${read(dir, CATALOG)}${extra.join('')}`);
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    // three missing-flag-state per flag, and one wrong-type (an entry is a mapping)
    expect(r.stdout).toContain('flagops check (base: none, change rules not applied): 400000 errors');
    expect(r.stdout.split('\n').filter((l) => l.endsWith('[missing-flag-state]'))).toHaveLength(3 * 100);
    expect(r.stdout).toContain('environments/dev/flags.yaml: note: 99900 more [missing-flag-state] findings not shown (--format json lists the first 1000)');
  });

  it('reports 20,000 duplicate keys quickly', { timeout: 60_000 }, async () => {
    const dir = tempProject();
    writeFileSync(join(dir, PROD), `environment: production\nflags:\n${'  telehealth_appointments_enabled: {}\n'.repeat(20_000)}`);
    const r = await flagops(dir, 'check', '--format', 'json');
    const json = JSON.parse(r.stdout) as { findings: { rule: string }[]; omitted: { file: string; rule: string; severity: string; count: number }[] };
    // The first 1,000 listed, the rest counted (model/findings.ts' FindingList).
    expect(json.findings.filter((f) => f.rule === 'duplicate-key')).toHaveLength(1_000);
    expect(json.omitted).toContainEqual({ file: PROD, rule: 'duplicate-key', severity: 'error', count: 18_999 });
  });
});

describe('settings files load from their source in-process, afresh each time', () => {
  // Tests and scripts load environment.ts through tsx (the compiled CLI compiles it): each load is
  // its own, so a change to the file, or to a file it imports, shows at the next open, and modules
  // of a load are not kept.
  it('sees a change to an environment.ts and to the settings file it imports at the next open', async () => {
    const dir = tempProject();
    const settings = join(dir, 'environments', 'shared-steps.ts');
    writeFileSync(settings, 'export const steps = [0, 5, 25, 50, 100];\n');
    const file = join(dir, 'environments', 'production', 'environment.ts');
    const original = read(dir, 'environments/production/environment.ts');
    writeFileSync(file, `import { steps } from '../shared-steps.ts';\n${original.replace('rolloutSteps: [0, 5, 25, 50, 100],', 'rolloutSteps: steps,')}`);
    const steps = async () => (await openWorkspace(dir)).settings.find((s) => s.name === 'production')?.rolloutSteps;
    expect(await steps()).toEqual([0, 5, 25, 50, 100]);
    writeFileSync(settings, 'export const steps = [0, 5, 25, 50, 75, 100];\n');
    expect(await steps()).toEqual([0, 5, 25, 50, 75, 100]);
    writeFileSync(file, read(dir, 'environments/production/environment.ts').replace('rolloutSteps: steps,', 'rolloutSteps: [0, 5, 10, 25, 50, 100],'));
    expect(await steps()).toEqual([0, 5, 10, 25, 50, 100]);
    expect(Object.keys(createRequire(import.meta.url).cache).filter((k) => k.startsWith(dir))).toEqual([]);
  });

  it('reports an environment.ts that does not compile as a usage error naming the file', async () => {
    const dir = tempProject();
    writeFileSync(join(dir, 'environments', 'staging', 'environment.ts'), 'export default { namespace: ;\n');
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flagops: error: environments\/staging\/environment\.ts cannot be loaded: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
