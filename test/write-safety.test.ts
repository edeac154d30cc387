/**
 * Writes stay inside the project and are all-or-nothing (issue 11): symbolic links under dist/ and
 * environments/ are refused, never followed or deleted through; an edit killed at any instant
 * leaves the old or the new state, or a journal the next command that writes completes (one that
 * only reads leaves it alone: test/journal.test.ts); a lock left by a dead edit is taken over at
 * once; file modes are kept and no temporary file survives.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, flagops, flagopsProcess, NOW, read, snapshot as tree, tempProject, write } from './helpers.ts';
import { startFlagops } from './support/process.ts';

const PROD = 'environments/production/flags.yaml';
const CM = 'dist/production/configmap-feature-flags-config.yaml';
const ROLLOUT = ['rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Phase 2', '--ticket', 'TICKET-13500', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com'];
const ADD = ['add', 'visit_notes_export_enabled', '--description', 'Export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag', '--ticket', 'TICKET-13501', '--by', 'sam.lee@pms.example.com'];

/** Files left behind by an interrupted write: temp files, the journal, the lock. */
function leftovers(dir: string): string[] {
  return Object.keys(tree(dir)).filter((p) => p.startsWith('.flagops') || p.endsWith('.tmp'));
}

describe('symbolic links in the project', () => {
  it('synth refuses a dist/ file that links outside, and the file outside is not touched', async () => {
    // GIVEN a pull request that turned the flag ConfigMap into a link to a file outside the project
    const dir = tempProject();
    const outside = join(mkdtempSync(join(tmpdir(), 'flagops-outside-')), 'precious.yaml');
    writeFileSync(outside, 'keep me\n');
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, CM));
    symlinkSync(outside, join(dir, CM));
    // WHEN synth and the kill switch run
    const synth = await flagops(dir, 'synth');
    const kill = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'outage', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    // THEN both refuse, naming the link, and the outside file keeps its content
    expect(synth.code).toBe(1);
    expect(synth.stdout).toContain(`${CM}: error: ${CM} is a symbolic link (to ${outside}); flagops never reads, writes or deletes through links in the project`);
    expect(kill.code).not.toBe(0);
    expect(`${kill.stdout}\n${kill.stderr}`).toContain(`${CM} is a symbolic link`);
    expect(readFileSync(outside, 'utf8')).toBe('keep me\n');
  });

  it('never deletes "stale" files through a dist/<env> folder that links elsewhere', async () => {
    const dir = tempProject();
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
    cpSync(join(dir, 'dist', 'staging'), elsewhere, { recursive: true });
    writeFileSync(join(elsewhere, 'configmap-someone-elses.yaml'), 'kind: ConfigMap\n');
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'dist', 'staging'), { recursive: true });
    symlinkSync(elsewhere, join(dir, 'dist', 'staging'));
    const before = tree(elsewhere);
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('dist/staging: error: dist/staging is a symbolic link');
    expect(tree(elsewhere)).toEqual(before);
    const check = await flagops(dir, 'check');
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('[symlink]');
  });

  it('check reports a flag file that is a link, by name', async () => {
    const dir = tempProject();
    const outside = join(mkdtempSync(join(tmpdir(), 'flagops-outside-')), 'flags.yaml');
    cpSync(join(dir, PROD), outside);
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, PROD));
    symlinkSync(outside, join(dir, PROD));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${PROD}: error: ${PROD} is a symbolic link; flagops never reads through links in the project`);
  });

  it('refuses an environment folder that is a link, instead of skipping that environment', async () => {
    const dir = tempProject();
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-env-'));
    cpSync(join(dir, 'environments', 'staging'), elsewhere, { recursive: true });
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'environments', 'staging'), { recursive: true });
    symlinkSync(elsewhere, join(dir, 'environments', 'staging'));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('flagops: error: environments/staging is a symbolic link; flagops never reads, writes or deletes through links in the project: replace it with the plain folder or file');
  });

  it('the drill refuses a project with a link, and its scratch copy never writes through one', async () => {
    const dir = tempProject();
    const outside = join(mkdtempSync(join(tmpdir(), 'flagops-outside-')), 'x.yaml');
    writeFileSync(outside, 'keep\n');
    symlinkSync(outside, join(dir, 'dist', 'production', 'extra.yaml'));
    const r = await flagops(dir, 'drill', '--env', 'production');
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain('dist/production/extra.yaml is a symbolic link');
    expect(readFileSync(outside, 'utf8')).toBe('keep\n');
  });

  it('a journal naming a path outside the project is refused, and nothing is written there', async () => {
    const dir = tempProject();
    const txn = join(dir, '.flagops', 'txn-1-1');
    mkdirSync(join(txn, 'files'), { recursive: true });
    writeFileSync(join(txn, 'files', '0'), 'pwned\n');
    writeFileSync(join(txn, 'COMMITTED'), JSON.stringify({ writes: [{ path: '../escaped.txt', staged: 'files/0' }], removes: [] }));
    const before = tree(dir);
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a journal flagops wrote');
    expect(existsSync(join(dir, '..', 'escaped.txt'))).toBe(false);
    expect(tree(dir)).toEqual(before);
  });
});

describe('all-or-nothing writes', () => {
  /** The project after `args` ran to completion, as the reference "new state". */
  function newState(args: readonly string[]): Record<string, string> {
    const dir = tempProject();
    const r = flagopsProcess(dir, args);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return tree(dir);
  }

  /**
   * Kills `args` (SIGKILL) after each of `steps` file-system steps of its write, runs a command that
   * only reads (it changes nothing) and one that writes, and expects the old or the new state of
   * every file, nothing left over.
   */
  async function crashAt(args: readonly string[], steps: Iterable<number>): Promise<Set<string>> {
    const old = tree(tempProject());
    const next = newState(args);
    const seen = new Set<string>();
    for (const step of steps) {
      // GIVEN an edit killed after its n-th file-system step
      const dir = tempProject();
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, FLAGOPS_NOW: NOW, FLAGOPS_CRASH_AFTER: String(step), CI: '' } });
      if (r.signal !== 'SIGKILL') {
        // it finished before the n-th step
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(tree(dir)).toEqual(next);
        seen.add('finished');
        break;
      }
      // WHEN a command that only reads runs THEN it changes nothing
      const interrupted = tree(dir);
      expect((await flagops(dir, 'status')).code).toBe(0);
      expect(tree(dir)).toEqual(interrupted);
      // WHEN the next command that writes runs (here: synth)
      const after = await flagops(dir, 'synth');
      expect(after.code, after.stdout + after.stderr).toBe(0);
      // THEN every file is in its old state or every file in its new state, and nothing is left over
      const now = JSON.stringify(tree(dir));
      expect(leftovers(dir)).toEqual([]);
      const state = now === JSON.stringify(old) ? 'old' : now === JSON.stringify(next) ? 'new' : `mixed after step ${step}`;
      expect(state).toMatch(/^(old|new)$/);
      seen.add(state);
      if (state === 'new') expect(after.stderr).toContain('flagops: note: completed an interrupted write before going on');
      else if (step > 1) expect(after.stderr).toContain('flagops: note: discarded an interrupted write that had not reached its commit point');
    }
    return seen;
  }

  it('rollout (one flag file, one manifest), killed after every single file-system step: old or new state, completed by the next command that writes', async () => {
    const seen = await crashAt(ROLLOUT, Array.from({ length: 30 }, (_, i) => i + 1));
    expect([...seen].sort()).toEqual(['finished', 'new', 'old']);
  }, 180_000);

  it('add (the catalog, three flag files, three manifests), killed while staging, at the commit point and while moving files into place', async () => {
    // 7 files: steps 1-7 stage them, 8 writes the plan, 9 commits, 10-16 move them into place
    const seen = await crashAt(ADD, [1, 4, 7, 8, 9, 10, 13, 16, 99]);
    expect([...seen].sort()).toEqual(['finished', 'new', 'old']);
  }, 180_000);

  it('killed at random moments by a real signal, it never leaves a mixed state', async () => {
    const old = tree(tempProject());
    // how long the whole edit takes here, so that the kills land anywhere inside it
    const timed = tempProject();
    const started = Date.now();
    expect(flagopsProcess(timed, ROLLOUT).code).toBe(0);
    const duration = Date.now() - started;
    const next = tree(timed);
    for (let i = 0; i < 8; i++) {
      const dir = tempProject();
      const child = spawn(process.execPath, [BIN, ...ROLLOUT], { cwd: dir, env: { ...process.env, FLAGOPS_NOW: NOW, CI: '' }, stdio: 'ignore' });
      // registered at once: an edit that ends before the kill must not leave the test waiting for ever
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, Math.floor(((i + Math.random()) / 8) * duration)));
      child.kill('SIGKILL');
      await exited;
      expect(flagopsProcess(dir, ['synth']).code).toBe(0);
      const now = JSON.stringify(tree(dir));
      expect(leftovers(dir)).toEqual([]);
      expect([JSON.stringify(old), JSON.stringify(next)]).toContain(now);
    }
  }, 120_000);

  it('keeps the mode of every file it replaces', () => {
    const dir = tempProject();
    chmodSync(join(dir, PROD), 0o640);
    chmodSync(join(dir, CM), 0o600);
    expect(flagopsProcess(dir, ROLLOUT).code).toBe(0);
    expect(statSync(join(dir, PROD)).mode & 0o777).toBe(0o640);
    expect(statSync(join(dir, CM)).mode & 0o777).toBe(0o600);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('the edit lock', () => {
  it('is taken over at once, with a note, when the edit that held it is gone', async () => {
    // GIVEN a lock left by a process that no longer exists
    const dir = tempProject();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    write(dir, '.flagops.lock', JSON.stringify({ pid: Number(gone), host: hostname(), since: '2026-11-23T11:59:00Z', command: 'flagops rollout x' }));
    // WHEN an edit runs that would wait an hour for a live holder (the test's timeout, a minute, is its deadline)
    const run = startFlagops(dir, ROLLOUT, { FLAGOPS_LOCK_WAIT: '3600', CI: '', GITHUB_ACTIONS: '' });
    onTestFinished(() => void run.child.kill('SIGKILL'));
    const r = await run.done;
    // THEN it goes ahead without waiting, and says so
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`flagops: note: took over the edit lock of a flagops process that is gone (pid ${gone} on ${hostname()} since 2026-11-23T11:59:00Z (flagops rollout x))`);
    expect(existsSync(join(dir, '.flagops.lock'))).toBe(false);
  });

  it('waits a bounded time for a live holder, then says who holds it', () => {
    const dir = tempProject();
    const holder = spawn('sleep', ['30']);
    try {
      write(dir, '.flagops.lock', JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-11-23T11:59:00Z', command: 'flagops add slow_enabled' }));
      const before = read(dir, PROD);
      const r = flagopsProcess(dir, ROLLOUT, { FLAGOPS_LOCK_WAIT: '1' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`flagops: error: another flagops process holds the edit lock: pid ${holder.pid} on ${hostname()} since 2026-11-23T11:59:00Z (flagops add slow_enabled); wait for it to finish, or if it hangs, stop it (kill ${holder.pid})`);
      expect(read(dir, PROD)).toBe(before);
    } finally {
      holder.kill();
    }
  });
});
