/**
 * Directories, FIFOs and sockets named like manifests or flag files (issue 21): each is a finding
 * at its path, never opened for reading, so no command exits 70 (EISDIR) or waits forever on a
 * FIFO. Every case runs the real executable; its spawn timeout is only a safety net that turns a
 * hang into a failure (a blocked read never returns).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCommittedObjects } from '../infra/pulumi/manifests.ts';
import { BIN, cliEnv, git, NOW, tempProject, type CliResult } from './helpers.ts';

const CM = 'dist/production/configmap-feature-flags-config.yaml';
const KILL = ['disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'outage', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com'];
/** A hang fails the test after this long (a normal run takes seconds). */
const SAFETY_NET_MS = 90_000;

/** The real executable; a process still running after {@link SAFETY_NET_MS} is killed and reported as hung. */
function run(cwd: string, args: readonly string[]): CliResult & { hung: boolean } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: cliEnv({ FLAGOPS_NOW: NOW }), timeout: SAFETY_NET_MS, killSignal: 'SIGKILL' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, hung: r.signal === 'SIGKILL' };
}

/** Exit 0, 1 or 2 with no internal error or stack trace, and no hang. */
function expectJudged(r: ReturnType<typeof run>, what: string): void {
  expect(r.hung, `${what} hung (killed by the test's safety net)`).toBe(false);
  expect([0, 1, 2], `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`).toContain(r.code);
  expect(r.stdout + r.stderr).not.toMatch(/internal error|EISDIR|\n\s+at /);
}

/** Every regular file under `dir/sub` with its content (other entries by kind), to prove nothing was written. */
function snapshot(dir: string, sub = 'dist'): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = `${rel}/${name}`;
      const st = statSync(join(dir, path), { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(path);
      else out[path] = st?.isFile() ? readFileSync(join(dir, path), 'utf8') : 'special';
    }
  };
  walk(sub);
  return out;
}

const mkfifo = (path: string): void => {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr}`);
};

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A listening Unix socket at `path` (closed after the test). */
async function socketAt(path: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

describe('a folder named like a manifest (dist/production/evil.yaml/)', () => {
  it('check and synth report it as dist-entry (exit 1, not 70), and synth writes nothing', () => {
    // GIVEN a pull request whose checkout has a folder where a manifest file would be (a submodule, a stray mkdir)
    const dir = tempProject();
    mkdirSync(join(dir, 'dist/production/evil.yaml'));
    const before = snapshot(dir);
    // WHEN check and synth run
    const check = run(dir, ['check']);
    const synth = run(dir, ['synth']);
    // THEN each names the folder, says what to do, and nothing in dist/ changed
    const finding = 'dist/production/evil.yaml: error: dist/production/evil.yaml is a directory, not a file: flagops reads and writes only plain files in dist/, and never opens, replaces or deletes anything else; remove it, then run `npx flagops synth` [dist-entry]';
    for (const [name, r] of [['check', check], ['synth', synth]] as const) {
      expectJudged(r, name);
      expect(r.code, name).toBe(1);
      expect(r.stdout, name).toContain(finding);
    }
    expect(synth.stdout).toContain('flagops synth: nothing written');
    expect(snapshot(dir)).toEqual(before);
  });

  it('does not block the kill switch, which reports it and writes its flag', () => {
    const dir = tempProject();
    mkdirSync(join(dir, 'dist/production/evil.yaml'));
    const r = run(dir, KILL);
    expectJudged(r, 'disable');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('dist/production/evil.yaml is a directory, not a file');
    expect(r.stdout).toContain('production: telehealth_appointments_enabled on 25% -> off');
    expect(readFileSync(join(dir, CM), 'utf8')).toContain('"telehealth_appointments_enabled": false');
  });

  it("the kill switch's own ConfigMap as a folder is refused by name (exit 2), and nothing is written", () => {
    const dir = tempProject();
    rmSync(join(dir, CM));
    mkdirSync(join(dir, CM));
    // Another entry broken, so the kill switch takes its own path to dist/ (it patches the committed ConfigMap).
    const flags = join(dir, 'environments/production/flags.yaml');
    const text = readFileSync(flags, 'utf8');
    spawnSync('sh', ['-c', `sed -i 's/^  maintenance_mode_enabled:$/  maintenance_mode_enabled:\\n    rolout: 5/' ${flags}`]);
    expect(readFileSync(flags, 'utf8')).not.toBe(text);
    const before = snapshot(dir, 'environments');
    const r = run(dir, KILL);
    expectJudged(r, 'disable');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${CM} is not a plain file (a directory), so the kill switch cannot rewrite it`);
    expect(snapshot(dir, 'environments')).toEqual(before);
  });

  it('the Pulumi program refuses it by name instead of deploying without it', () => {
    const dir = tempProject();
    mkdirSync(join(dir, 'dist/production/evil.yaml'));
    expect(() => loadCommittedObjects(dir, 'production')).toThrow('dist/production/evil.yaml is a directory, not a file; remove it, then run `npx flagops synth`');
  });

  it('a dist/<env> that is not a folder is reported the same way', () => {
    const dir = tempProject();
    rmSync(join(dir, 'dist/staging'), { recursive: true });
    mkfifo(join(dir, 'dist/staging'));
    const r = run(dir, ['check']);
    expectJudged(r, 'check');
    expect(r.stdout).toContain('dist/staging: error: dist/staging is a FIFO (named pipe), not a folder: flagops writes manifests into a plain folder at dist/staging/; remove it, then run `npx flagops synth` [dist-entry]');
  });
});

describe('a FIFO or a socket named like a manifest or a flag file is never opened', () => {
  it('check, synth and diff report FIFOs in dist/<env>/ and dist/openfeature/ without waiting on them', () => {
    // GIVEN FIFOs where manifests would be (opening one for reading waits for a writer forever)
    const dir = tempProject({ git: true });
    mkfifo(join(dir, 'dist/production/pipe.yaml'));
    rmSync(join(dir, 'dist/openfeature/flags.json'));
    mkfifo(join(dir, 'dist/openfeature/flags.json'));
    for (const args of [['check'], ['synth'], ['diff', '--base', 'HEAD'], ['status']]) {
      const r = run(dir, args);
      expectJudged(r, args[0]!);
      if (args[0] !== 'diff' && args[0] !== 'status') {
        expect(r.code, args[0]).toBe(1);
        expect(r.stdout).toContain('dist/production/pipe.yaml: error: dist/production/pipe.yaml is a FIFO (named pipe), not a file');
        expect(r.stdout).toContain('dist/openfeature/flags.json: error: dist/openfeature/flags.json is a FIFO (named pipe), not a file');
      }
      if (args[0] === 'diff') {
        // diff (the pull-request comment) never says "nothing changes" where check fails, nor blames the flag files
        expect(r.stdout).not.toContain('nothing changes');
        expect(r.stdout).toContain('dist/production/pipe.yaml: error: dist/production/pipe.yaml is a FIFO (named pipe), not a file');
        expect(r.stderr).toContain('flagops: note: dist/ holds what flagops does not write (below) (run `flagops check`)');
      }
    }
  });

  it('reports a socket named like a manifest', async () => {
    const dir = tempProject();
    await socketAt(join(dir, 'dist/production/socket.yaml'));
    const r = run(dir, ['check']);
    expectJudged(r, 'check');
    expect(r.stdout).toContain('dist/production/socket.yaml: error: dist/production/socket.yaml is a socket, not a file');
  });

  it('a flags.yaml that is a FIFO is unreadable-file, and an environment.ts that is one is a usage error (exit 2), never loaded', () => {
    const dir = tempProject();
    const flags = 'environments/production/flags.yaml';
    rmSync(join(dir, flags));
    mkfifo(join(dir, flags));
    const check = run(dir, ['check']);
    expectJudged(check, 'check');
    expect(check.stdout).toContain(`${flags}: error: ${flags} is a FIFO (named pipe), not a file; replace it with the plain flag file [unreadable-file]`);

    const other = tempProject();
    mkdirSync(join(other, 'environments/qa'));
    mkfifo(join(other, 'environments/qa/environment.ts'));
    const list = run(other, ['list']);
    expectJudged(list, 'list');
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('flagops: error: environments/qa/environment.ts is a FIFO (named pipe), not a file; flagops loads settings only from a plain file: remove it or replace it with the file');
  });

  it('the kill switch is not blocked by a FIFO elsewhere in dist/', () => {
    const dir = tempProject({ git: true });
    mkfifo(join(dir, 'dist/staging/pipe.yaml'));
    const r = run(dir, KILL);
    expectJudged(r, 'disable');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('dist/staging/pipe.yaml is a FIFO (named pipe), not a file');
    expect(git(dir, 'status', '--porcelain')).toContain(CM);
  });
});
