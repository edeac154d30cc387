/**
 * Test helpers: a scratch copy of the sample project (optionally a git repository), and the CLI
 * run in-process (fast) or as a real process through bin/flagops.cjs (exact user experience).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../cli/main.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(REPO_ROOT, 'bin', 'flagops.cjs');
/** A fixed "now" after every sample timestamp, for reproducible edits. */
export const NOW = '2026-11-23T12:00:00Z';
/** The sample's stand-in backend, where environments/project.ts points `sourceFolders` (relative to the project root). */
export const SAMPLE_BACKEND = 'examples/pms-backend';
/** When {@link tempProject} commits the sample (`git: true`): after every sample timestamp, before {@link NOW}. */
export const INITIAL_COMMIT_DATE = '2026-11-21T00:00:00Z';

export interface ProjectOptions {
  /** Make it a git repository with one commit of everything. */
  readonly git?: boolean;
  /** Copy the committed dist/ too (default true). */
  readonly dist?: boolean;
}

/** A scratch copy of the sample project: environments/ (with settings.ts) and dist/. */
export function tempProject(options: ProjectOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-test-'));
  cpSync(join(REPO_ROOT, 'environments'), join(dir, 'environments'), { recursive: true });
  if (options.dist !== false) cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  if (options.git) initRepository(dir);
  return dir;
}

/** Makes `dir` a git repository on `main` with one commit of everything in it. */
export function initRepository(dir: string): void {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'tester@pms.example.com');
  git(dir, 'config', 'user.name', 'Tester');
  git(dir, 'config', 'commit.gpgsign', 'false');
  git(dir, 'add', '-A');
  // A fixed date, so the soak time of the sample's last steps has passed at NOW (and runs are reproducible).
  const dated = spawnSync('git', ['commit', '-q', '-m', 'initial'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: INITIAL_COMMIT_DATE, GIT_COMMITTER_DATE: INITIAL_COMMIT_DATE },
  });
  if (dated.status !== 0) throw new Error(`git commit failed: ${dated.stderr}`);
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export const read = (dir: string, path: string): string => readFileSync(join(dir, path), 'utf8');
export const write = (dir: string, path: string, text: string): void => writeFileSync(join(dir, path), text);
/**
 * Every file under `dir` by path (git's own `.git` folder aside), with its content; a symbolic link
 * as `symlink -> <target>`, never followed. Two equal snapshots: not one byte, mode aside, changed.
 */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, path));
      if (st.isSymbolicLink()) out[path] = `symlink -> ${readlinkSync(join(dir, path))}`;
      else if (st.isDirectory()) {
        if (path !== '.git') walk(path);
      } else out[path] = readFileSync(join(dir, path), 'utf8');
    }
  };
  walk('');
  return out;
}

/** Replaces exactly one occurrence of `from` in a file; fails the test when it is not there once. */
export function replaceIn(dir: string, path: string, from: string, to: string): void {
  const text = read(dir, path);
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`expected exactly one '${from}' in ${path}, found ${count}`);
  write(dir, path, text.replace(from, to));
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment a test's flagops sees: the test process's, without the CI markers (the suite runs
 * under CI=true, and flagops judges a missing base more strictly there) and without a FLAGOPS_SOURCE
 * of the shell (the backend's checkout would replace the sample's), plus `extra`.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLAGOPS_NOW: process.env.FLAGOPS_NOW ?? NOW, NO_COLOR: '1' };
  delete env.CI;
  delete env.GITHUB_ACTIONS;
  delete env.FLAGOPS_SOURCE;
  return { ...env, ...extra };
}

/** Runs `flagops ...args` in-process with `cwd`, capturing output. FLAGOPS_NOW is fixed to {@link NOW}. */
export async function flagops(cwd: string, ...args: string[]): Promise<CliResult> {
  return flagopsWith(cwd, args, {});
}

/** Like {@link flagops}, with extra environment variables (e.g. `{ CI: 'true' }`). */
export async function flagopsWith(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.FLAGOPS_NOW;
  const cliEnvironment = cliEnv(env);
  process.env.FLAGOPS_NOW = cliEnvironment.FLAGOPS_NOW;
  try {
    const code = await main(['node', 'flagops', ...args], { out: (l) => out.push(l), err: (l) => err.push(l), color: false }, cwd, cliEnvironment);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    if (previous === undefined) delete process.env.FLAGOPS_NOW;
    else process.env.FLAGOPS_NOW = previous;
  }
}

/** Runs the real `flagops` executable as a child process. */
export function flagopsProcess(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: cliEnv({ FLAGOPS_NOW: NOW, ...env }),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The sample's catalog line of `online_bill_pay_enabled`'s expiry (line 75, column 14 holds the date). */
export const BILL_PAY_EXPIRES = '    expires: 2027-06-30           # fully rolled out: a clean-up candidate (flagops stale)\n';

/**
 * Makes the sample's `online_bill_pay_enabled` expired (on 2026-06-30, before NOW): the fixture of
 * the expiry rules (the sample itself has no expired flag). Synthesizes `dist/` again when the
 * project has one, so that only the expiry differs from the committed sample.
 */
export function expireBillPay(dir: string): string {
  replaceIn(dir, 'environments/catalog.yaml', BILL_PAY_EXPIRES, '    expires: 2026-06-30           # past: fully rolled out, the code path can be cleaned up\n');
  if (existsSync(join(dir, 'dist'))) {
    const r = flagopsProcess(dir, ['synth']);
    if (r.code !== 0) throw new Error(`synth of the expired sample failed: ${r.stdout}${r.stderr}`);
  }
  return dir;
}
