/**
 * What an interrupted write leaves behind (`.flagops/`) and the edit lock (`.flagops.lock`) are one
 * machine's working files, never part of a change (issue 21): `check`, `diff`, `audit`, `status`
 * and every other command that does not write change nothing, ever; only a command that writes
 * completes an interrupted write, and only a journal that is a plain folder, untracked by git,
 * whose plan names only files flagops writes. A journal or lock that a pull request commits is an
 * error in `check`, and an edit ignores a lock that git tracks. With real git (a bare server,
 * `git add -f`), real symbolic links and a real killed edit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isJournalPath, readJournal, recoverTransactions } from '../lib/workspace/transaction.ts';
import { commitAll, setFlag } from './flag-history.ts';
import { BIN, flagops, flagopsProcess, flagopsWith, git, NOW, read, snapshot, tempProject, type CliResult } from './helpers.ts';
import { healthy, startFakePrometheus, type FakePrometheus } from './support/fake-prometheus.ts';
import { cloneOf, gitServer, type GitServer } from './support/git-server.ts';

const CI = { CI: 'true' };
const PROD = 'environments/production/flags.yaml';
const CM = 'dist/production/configmap-feature-flags-config.yaml';
const FLAG = 'e_prescribing_enabled';
const LOCK = JSON.stringify({ pid: 1, host: 'build-agent-7', since: '2026-11-20T08:00:00Z', command: 'flagops rollout x' });
const ROLLOUT = ['rollout', FLAG, '--env', 'production', '--to', '25', '--reason', 'Phase 2', '--ticket', 'TICKET-13500', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com'];
/** Every command that only reads the project (drill aside: it takes seconds per environment). */
const READ_ONLY: readonly (readonly string[])[] = [['check'], ['diff'], ['audit'], ['status'], ['status', FLAG], ['list'], ['stale'], ['refs', '--src', 'environments'], ['alerts'], ['access'], [...ROLLOUT, '--dry-run']];

const errors = (r: CliResult, rule: string): string[] => r.stdout.split('\n').filter((l) => l.includes(': error: ') && l.endsWith(`[${rule}]`));

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Moves the server's main to the tip of `branch`: what a merge that skipped the checks would land. */
const landOnMain = (server: GitServer, branch: string): string => git(server.bare, 'update-ref', 'refs/heads/main', `refs/heads/${branch}`);

/** Runs `run` and expects every file's bytes and `git status --porcelain` to be the same afterwards. */
async function writesNothing(dir: string, run: () => Promise<CliResult>): Promise<CliResult> {
  const files = snapshot(dir);
  const status = git(dir, 'status', '--porcelain', '--ignored');
  const r = await run();
  expect(snapshot(dir), `${r.stdout}\n${r.stderr}`).toEqual(files);
  expect(git(dir, 'status', '--porcelain', '--ignored')).toBe(status);
  return r;
}

/**
 * Writes a transaction as flagops writes one, past its commit point: `files/<n>` holding `files`'
 * texts, and the plan naming their targets (and the paths it `removes`) as `COMMITTED`.
 */
function writeJournal(folder: string, files: Readonly<Record<string, string>>, removes: readonly string[] = []): void {
  mkdirSync(join(folder, 'files'), { recursive: true });
  const writes = Object.entries(files).map(([path, text], n) => {
    writeFileSync(join(folder, 'files', String(n)), text);
    return { path, staged: `files/${n}` };
  });
  writeFileSync(join(folder, 'COMMITTED'), JSON.stringify({ writes, removes }));
}

/** Jumps production e_prescribing_enabled 5% -> 100% (one step at a time is the rule) and synthesizes. */
async function raise(dir: string): Promise<void> {
  setFlag(dir, 'production', FLAG, { rollout: 100, reason: 'Everyone', ticket: 'TICKET-13600', changed_by: 'sam.lee@pms.example.com', changed_at: '2026-11-23T09:00:00Z' });
  const synth = await flagops(dir, 'synth');
  expect(synth.code, synth.stdout + synth.stderr).toBe(0);
}

/**
 * GIVEN a pull request branch `name` pushed to `server`: `change` runs in a clone of main on that
 * branch, everything is committed with `git add -f` (ignored files too); returns CI's full clone of it.
 */
async function pullRequest(server: GitServer, name: string, change: (dir: string) => Promise<void> | void): Promise<string> {
  const dir = cloneOf(server);
  git(dir, 'checkout', '-q', '-b', name);
  await change(dir);
  git(dir, 'add', '-f', '-A', '.');
  commitAll(dir, name, { date: '2026-11-23T09:05:00Z' });
  git(dir, 'push', '-q', 'origin', name);
  return cloneOf(server, '--branch', name);
}

/** CI's `flagops check` of a pull request `name` that `change` makes; not a byte may change. */
async function checkedByCi(name: string, change: (dir: string) => Promise<void> | void): Promise<CliResult> {
  const ci = await pullRequest(gitServer(), name, change);
  return writesNothing(ci, () => flagopsWith(ci, ['check'], CI));
}

/** The raise, with a committed journal whose plan writes main's flag file and ConfigMap back over it. */
async function raiseWithReplay(dir: string): Promise<void> {
  const main = { [PROD]: git(dir, 'show', `HEAD:${PROD}`), [CM]: git(dir, 'show', `HEAD:${CM}`) };
  await raise(dir);
  writeJournal(join(dir, '.flagops', 'txn-1-1'), main);
}

describe('a journal committed to a pull request', () => {
  it('check judges what is committed: the journal is an error, the 5% -> 100% jump is found, and not a byte changes', async () => {
    // WHEN CI checks the pull request
    const r = await checkedByCi('raise', raiseWithReplay);
    // THEN the journal is an error of its own, and the raise is judged as committed
    expect(r.code).toBe(1);
    expect(errors(r, 'tracked-journal')).toEqual([
      '.flagops: error: .flagops/ is in git (3 files, such as .flagops/txn-1-1/COMMITTED): it is the journal of an interrupted write on one machine, never part of a change, and flagops never replays a journal from git; remove it: git rm -r --cached .flagops, then commit [tracked-journal]',
    ]);
    expect(errors(r, 'rollout-one-step')).toEqual([expect.stringContaining(`flag '${FLAG}' goes from 5% on the base`)]);
    expect(r.stdout).not.toContain('no problems');
  });

  it('diff shows the raise that is committed, and diff, audit, status and every other reading command write nothing', async () => {
    const ci = await pullRequest(gitServer(), 'raise', raiseWithReplay);
    for (const args of READ_ONLY) {
      const r = await writesNothing(ci, () => flagops(ci, ...args));
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBeLessThan(2);
      expect(r.stderr).not.toContain('completed an interrupted write');
    }
    const diff = await flagops(ci, 'diff');
    expect(diff.stdout).toContain(`${FLAG}: on 5% -> on 100% (raised; 95% of users switch on)`);
    expect(diff.stderr).toContain('flagops: note: .flagops/ is in git (3 files, such as .flagops/txn-1-1/COMMITTED): flagops never replays a journal from git and left it alone; remove it: git rm -r --cached .flagops, then commit');
  });

  it('an edit refuses to replay it (exit 2), says how to remove it, and writes nothing', async () => {
    const ci = await pullRequest(gitServer(), 'raise', raiseWithReplay);
    const r = await writesNothing(ci, () => flagops(ci, 'rollout', FLAG, '--env', 'production', '--to', '50', '--reason', 'next', '--ticket', 'TICKET-1', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'flagops: error: .flagops/ is in git (3 files, such as .flagops/txn-1-1/COMMITTED): flagops never replays a journal from git; remove it (git rm -r --cached .flagops, then rm -r .flagops), commit, and run the command again',
    );
  });

  it('the kill switch is not blocked by it: it goes ahead with a note, and neither replays nor touches it', async () => {
    const ci = await pullRequest(gitServer(), 'raise', raiseWithReplay);
    const journal = () => snapshot(join(ci, '.flagops'));
    const before = journal();
    const r = await flagops(ci, 'disable', FLAG, '--env', 'production', '--reason', 'outage', '--ticket', 'INC-1', '--by', 'oncall@pms.example.com');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain('flagops: note: .flagops/ is in git (3 files, such as .flagops/txn-1-1/COMMITTED): flagops never replays a journal from git and left it alone; the kill switch goes ahead');
    // THEN the flag is off (the journal's plan, main's old file at 5%, was not replayed), and the journal is as it was
    expect(read(ci, PROD)).toMatch(new RegExp(`  ${FLAG}:\\n    enabled: false\\n`));
    expect(journal()).toEqual(before);
  });

  it('a .flagops/txn-* that links to a folder outside: check moves nothing from there, and synth refuses it', async () => {
    // GIVEN a folder outside the project holding a "journal" that writes the production flag file
    const outside = mkdtempSync(join(tmpdir(), 'flagops-outside-'));
    writeJournal(outside, { [PROD]: 'environment: production\nflags: {}\n' });
    const before = snapshot(outside);
    // WHEN CI checks a pull request whose .flagops/txn-1 links to it THEN it is an error and nothing moves
    const check = await checkedByCi('link', (dir) => {
      mkdirSync(join(dir, '.flagops'));
      symlinkSync(outside, join(dir, '.flagops', 'txn-1'));
    });
    expect(check.code).toBe(1);
    expect(errors(check, 'tracked-journal')).toHaveLength(1);
    expect(snapshot(outside)).toEqual(before);
    // AND the same link made locally (untracked) is refused by a command that writes, and reported by check
    const local = tempProject({ git: true });
    mkdirSync(join(local, '.flagops'));
    symlinkSync(outside, join(local, '.flagops', 'txn-1'));
    const synth = await writesNothing(local, () => flagops(local, 'synth'));
    expect(synth.code).toBe(2);
    expect(synth.stderr).toBe(
      'flagops: error: .flagops/txn-1 is a symbolic link, so .flagops/ is not a journal flagops can trust; flagops never replays it: delete it (rm -r .flagops), check the flag files and dist/ with git status, and run the command again',
    );
    const localCheck = await writesNothing(local, () => flagops(local, 'check'));
    expect(localCheck.code).toBe(1);
    expect(errors(localCheck, 'interrupted-write')).toEqual([expect.stringContaining('.flagops: error: .flagops/txn-1 is a symbolic link, so .flagops/ is not a journal flagops can trust')]);
    expect(snapshot(outside)).toEqual(before);
  });

  it("a plan naming a file no flagops command writes (an environment's settings) is refused, never replayed", async () => {
    const dir = tempProject({ git: true });
    const settings = 'environments/production/environment.ts';
    writeJournal(join(dir, '.flagops', 'txn-1-1'), { [settings]: 'export default { name: "production", rolloutOneStepAtATime: false };\n' });
    await writesNothing(dir, () => flagops(dir, 'status'));
    const r = await writesNothing(dir, () => flagops(dir, 'synth'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`.flagops/txn-1-1 is not a journal flagops wrote: its plan names "${settings}", which no flagops command writes`);
  });
});

describe('a .flagops.lock that git tracks', () => {
  /** A pull request that commits someone's lock file with `git add -f`. */
  const commitLock = (dir: string) => writeFileSync(join(dir, '.flagops.lock'), `${LOCK}\n`);

  it('is an error in check, which writes nothing', async () => {
    const r = await checkedByCi('lock', commitLock);
    expect(r.code).toBe(1);
    expect(errors(r, 'tracked-lock')).toEqual([
      '.flagops.lock: error: .flagops.lock is in git: it is the edit lock of a flagops process on one machine, never part of a change (on main, every edit would find it held); remove it: git rm --cached .flagops.lock, then commit [tracked-lock]',
    ]);
  });

  it('once on main, an edit ignores it with a note, leaves it alone, and goes ahead', async () => {
    const server = gitServer();
    await pullRequest(server, 'lock', commitLock);
    landOnMain(server, 'lock');
    const dir = cloneOf(server);
    const r = await flagopsWith(dir, ROLLOUT, { FLAGOPS_LOCK_WAIT: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'flagops: note: .flagops.lock is in git, so it is not a lock of this machine: flagops ignores it and takes its edit lock in the git folder; remove it: git rm --cached .flagops.lock, then rm .flagops.lock, and commit',
    );
    expect(read(dir, '.flagops.lock')).toBe(`${LOCK}\n`);
    expect(git(dir, 'status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual([` M ${CM}`, ` M ${PROD}`]);
  });

  it('an edit still waits for a live flagops holding the lock it takes instead', async () => {
    const server = gitServer();
    await pullRequest(server, 'lock', commitLock);
    landOnMain(server, 'lock');
    const dir = cloneOf(server);
    const holder = spawn('sleep', ['30']);
    try {
      const lock = resolve(dir, git(dir, 'rev-parse', '--git-path', 'flagops.lock').trim());
      writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-11-23T11:59:00Z', command: 'flagops add slow_enabled' }));
      const r = await writesNothing(dir, async () => flagopsProcess(dir, ROLLOUT, { FLAGOPS_LOCK_WAIT: '1' }));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`flagops: error: another flagops process holds the edit lock: pid ${holder.pid} on ${hostname()}`);
    } finally {
      holder.kill();
    }
  });

  it('monitor --rollback prepares its branch from a main that tracks it', async () => {
    const server = gitServer();
    await pullRequest(server, 'lock', commitLock);
    landOnMain(server, 'lock');
    const dir = cloneOf(server);
    fake = await startFakePrometheus((signal, n) => (signal === 'errorRatio' && n >= 2 ? '0.125' : healthy(signal)));
    const r = await flagopsWith(
      dir,
      ['monitor', 'telehealth_appointments_enabled', '--env', 'production', '--prometheus', fake.url, '--duration', '2s', '--interval', '100ms', '--rollback', '--push', 'origin', '--ticket', 'INC-2400', '--by', 'oncall@pms.example.com'],
      { FLAGOPS_LOCK_WAIT: '1' },
    );
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain('rollback branch: flagops/rollback/telehealth_appointments_enabled-20261123T120000Z (commit ');
    expect(r.stderr).toContain('flagops: note: .flagops.lock is in git, so it is not a lock of this machine');
  });
});

describe('a lock left by a flagops process that is gone', () => {
  it('stays as it is under reading commands, and the next command that writes takes it over', async () => {
    const dir = tempProject({ git: true });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir, '.flagops.lock'), JSON.stringify({ pid: Number(gone), host: hostname(), since: '2026-11-23T11:59:00Z', command: 'flagops rollout x' }));
    for (const args of [['status'], ['check'], ['diff']]) await writesNothing(dir, () => flagops(dir, ...args));
    const synth = await flagops(dir, 'synth');
    expect(synth.stderr).toContain(`flagops: note: took over the edit lock of a flagops process that is gone (pid ${gone} on `);
    expect(existsSync(join(dir, '.flagops.lock'))).toBe(false);
  });
});

describe('an interrupted write on this machine', () => {
  it('killed half-way through moving files into place: reading commands say so and change nothing, check fails, synth completes it', async () => {
    // GIVEN a rollout killed (SIGKILL) after its commit point, with one of its two files in place
    const dir = tempProject({ git: true });
    const done = tempProject();
    expect((await flagops(done, ...ROLLOUT)).code).toBe(0);
    // steps: 1-2 stage the two files, 3 writes the plan, 4 commits, 5 moves the first file into place
    const killed = spawnSync(process.execPath, [BIN, ...ROLLOUT], { cwd: dir, encoding: 'utf8', env: { ...process.env, FLAGOPS_NOW: NOW, FLAGOPS_CRASH_AFTER: '5', CI: '' } });
    expect(killed.signal).toBe('SIGKILL');
    expect([read(dir, PROD) === read(done, PROD), read(dir, CM) === read(done, CM)].sort()).toEqual([false, true]);
    // WHEN reading commands run THEN each says the write is pending and writes nothing
    for (const args of [['status'], ['diff'], ['list']]) {
      const r = await writesNothing(dir, () => flagops(dir, ...args));
      expect(r.stderr).toMatch(/flagops: note: \.flagops\/ holds an interrupted write that reached its commit point \(2 files: environments\/production\/flags\.yaml, dist\/production\/configmap-feature-flags-config\.yaml\): the files may be half-written; run flagops synth \(or the interrupted edit again\) to complete it/);
    }
    // AND check fails with an error that says what to do
    const check = await writesNothing(dir, () => flagops(dir, 'check'));
    expect(check.code).toBe(1);
    expect(errors(check, 'interrupted-write')).toEqual([
      '.flagops: error: .flagops/ holds an interrupted write that reached its commit point (2 files: environments/production/flags.yaml, dist/production/configmap-feature-flags-config.yaml): the files may be half-written, and this check judged them as they are; run flagops synth (or the interrupted edit again) to complete it, then check again [interrupted-write]',
    ]);
    // WHEN synth runs THEN it completes the write: the new state of every file, nothing left over
    const synth = await flagops(dir, 'synth');
    expect(synth.code, synth.stdout + synth.stderr).toBe(0);
    expect(synth.stderr).toContain('flagops: note: completed an interrupted write before going on (2 files: ');
    expect(snapshot(dir)).toEqual(snapshot(done));
    expect(existsSync(join(dir, '.flagops'))).toBe(false);
    expect((await flagops(dir, 'check')).code).toBe(0);
  });

  it('one killed before its commit point: reading commands and check leave it alone, and the next write discards it', async () => {
    // GIVEN a rollout killed (SIGKILL) after staging its files, before its commit point: no file changed
    const dir = tempProject({ git: true });
    const before = snapshot(dir);
    const killed = spawnSync(process.execPath, [BIN, ...ROLLOUT], { cwd: dir, encoding: 'utf8', env: { ...process.env, FLAGOPS_NOW: NOW, FLAGOPS_CRASH_AFTER: '2', CI: '' } });
    expect(killed.signal).toBe('SIGKILL');
    const note = 'flagops: note: .flagops/ holds an interrupted write that had not reached its commit point: the files are as they were before it; the next flagops synth or edit discards it';
    // WHEN status and check run THEN they say so, pass, and the staged files stay where they are
    for (const args of [['status'], ['check']]) {
      const r = await writesNothing(dir, () => flagops(dir, ...args));
      expect(r.code, r.stdout).toBe(0);
      expect(r.stderr).toContain(note);
    }
    // WHEN synth runs THEN it discards the preparation, and every file is as before
    const synth = await flagops(dir, 'synth');
    expect(synth.stderr).toContain('flagops: note: discarded an interrupted write that had not reached its commit point');
    expect(snapshot(dir)).toEqual(before);
  });

  it('a journal naming environments/../../escaped.txt is refused, and nothing is written outside the project', async () => {
    const dir = tempProject();
    writeJournal(join(dir, '.flagops', 'txn-1-1'), { 'environments/../../escaped.txt': 'pwned\n' });
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.flagops/txn-1-1 is not a journal flagops wrote: its plan names "environments/../../escaped.txt", which no flagops command writes');
    expect(existsSync(resolve(dir, '..', 'escaped.txt'))).toBe(false);
    expect(existsSync(join(dir, '.flagops', 'txn-1-1', 'files', '0'))).toBe(true);
  });

  it('a journal path never leaves the project: environments/../../escaped.txt is refused even where every other check would let it through', () => {
    // GIVEN a project inside a scratch folder, and a committed journal writing environments/../../escaped.txt
    // (it starts with environments/, so only the ".." guard tells it leaves the project)
    const outer = mkdtempSync(join(tmpdir(), 'flagops-outer-'));
    const dir = join(outer, 'project');
    mkdirSync(join(dir, 'environments'), { recursive: true });
    writeJournal(join(dir, '.flagops', 'txn-1-1'), { 'environments/../../escaped.txt': 'pwned\n' });
    // WHEN it is completed by a caller that would let any path through (the writers' own list aside)
    const anyPath = () => true;
    // THEN the transaction layer refuses it on its own, and nothing appears outside the project
    expect(readJournal(dir, anyPath)).toEqual({ ok: false, problem: '.flagops/txn-1-1 is not a journal flagops wrote: its plan names "environments/../../escaped.txt", which no flagops command writes' });
    expect(() => recoverTransactions(dir, anyPath)).toThrow(/its plan names "environments\/\.\.\/\.\.\/escaped\.txt", which no flagops command writes; flagops never replays it/);
    expect(readdirSync(outer)).toEqual(['project']);
    expect(readFileSync(join(dir, '.flagops', 'txn-1-1', 'files', '0'), 'utf8')).toBe('pwned\n');
  });

  it("a journal path never leaves the project: a removal of dist/../../<another checkout>/dist/openfeature/flags.json is refused, and that checkout's manifest stays", async () => {
    // GIVEN two checkouts side by side, and in the first a committed journal removing the second's OpenFeature manifest
    // (under dist/, a .json file outside every environment's folder, and a flagops manifest: one a synth may remove as stale)
    const dir = tempProject();
    const neighbour = tempProject();
    const victim = join(neighbour, 'dist', 'openfeature', 'flags.json');
    const escaping = `dist/${relative(join(dir, 'dist'), victim)}`;
    expect(escaping).toMatch(/^dist\/\.\.\/\.\.\/flagops-test-[A-Za-z0-9]+\/dist\/openfeature\/flags\.json$/);
    writeJournal(join(dir, '.flagops', 'txn-1-1'), {}, [escaping]);
    const before = snapshot(neighbour);
    // WHEN a command that writes runs THEN it refuses the journal, and the other checkout keeps every file
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`.flagops/txn-1-1 is not a journal flagops wrote: its plan removes "${escaping}", which no flagops command removes`);
    expect(snapshot(neighbour)).toEqual(before);
  });

  it('a journal path is a plain path under environments/ or dist/: no "." or ".." segment, nothing absolute', () => {
    expect(isJournalPath('environments/production/flags.yaml')).toBe(true);
    expect(isJournalPath('dist/dev/configmap-feature-flags-config.yaml')).toBe(true);
    for (const path of ['environments/../../escaped.txt', 'dist/dev/../../../escaped.yaml', 'dist/./dev/x.yaml', 'environments/..', '../escaped.txt', '/etc/passwd', 'environments//flags.yaml', 'elsewhere/x.yaml']) {
      expect(isJournalPath(path), path).toBe(false);
    }
  });

  /**
   * GIVEN a project whose dist/dev is a link to a folder outside holding a ConfigMap, and an
   * interrupted write (`files`, `removes`) committed in its journal; WHEN synth runs, THEN it
   * refuses naming the link, and the folder outside keeps every byte. Returns the project.
   */
  async function refusedThroughLinkedDistDev(files: Readonly<Record<string, string>>, removes: readonly string[] = []): Promise<string> {
    const dir = tempProject();
    const elsewhere = mkdtempSync(join(tmpdir(), 'flagops-elsewhere-'));
    writeFileSync(join(elsewhere, 'configmap-feature-flags-config.yaml'), 'kind: ConfigMap\n');
    rmSync(join(dir, 'dist', 'dev'), { recursive: true });
    symlinkSync(elsewhere, join(dir, 'dist', 'dev'));
    writeJournal(join(dir, '.flagops', 'txn-1-1'), files, removes);
    const before = snapshot(elsewhere);
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot complete the interrupted write in .flagops/txn-1-1: dist/dev is a symbolic link; flagops never writes or deletes through links');
    expect(snapshot(elsewhere)).toEqual(before);
    return dir;
  }

  it('completing a journal never writes through a dist/dev that links elsewhere', async () => {
    const dir = await refusedThroughLinkedDistDev({ 'dist/dev/configmap-feature-flags-config.yaml': 'kind: ConfigMap\nmetadata: {name: hijacked}\n' });
    expect(readFileSync(join(dir, '.flagops', 'txn-1-1', 'files', '0'), 'utf8')).toContain('hijacked');
  });

  it('completing a journal never deletes through a dist/dev that links elsewhere (a plan that only removes)', async () => {
    const dir = await refusedThroughLinkedDistDev({}, ['dist/dev/configmap-feature-flags-config.yaml']);
    expect(existsSync(join(dir, '.flagops', 'txn-1-1', 'COMMITTED'))).toBe(true);
  });
});
