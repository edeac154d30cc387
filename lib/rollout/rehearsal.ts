/**
 * The release pipeline rehearsed locally (`flagops rehearse FLAG`): the project's flag files, dist/
 * and identities copied into a scratch git repository with a bare origin, and the flag walked step
 * by step as the pipeline would: `flagops advance` on a branch, `flagops check` judged like CI
 * (CI=true, against refs/remotes/origin/main, with the pull request's commit and approval), a merge
 * commit pushed to the origin's main, then the next step once the soak time is over.
 *
 * One clock drives it all: it starts now (the caller's "now") and only moves forward, and every step's
 * "now" (FLAGOPS_NOW), commit and merge dates (GIT_AUTHOR_DATE, GIT_COMMITTER_DATE) come from it,
 * so the soak-time rule, which reads landings from the merge commits' dates, sees the same time
 * as the edit that writes `changed_at`. Only the scratch copy ever holds those times: the project
 * itself is read, never written, and no git command runs in its repository.
 *
 * The flagops commands themselves run through a {@link FlagopsRunner} the caller gives (the CLI
 * runs its own executable), so this module knows nothing of the CLI.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SoakStep } from '../../policies/change-rules.ts';
import { describeExposure } from '../../policies/state-rules.ts';
import { IDENTITIES_FILE } from '../../model/pull-request.ts';
import { DIST } from '../workspace/dist.ts';
import { diskReader, MAX_FILE_BYTES, parseProject } from '../workspace/project.ts';
import { readRegularFile } from '../workspace/regular-files.ts';
import { ALLOW_FUTURE_NOW, openWorkspace, UsageError } from '../workspace/workspace.ts';
import { pipelinePosition } from './pipeline.ts';

/** Who takes each step in the scratch repository (`--by`, the commits), and who approves and merges it. */
export const REHEARSAL_AUTHOR = { login: 'flagops-rehearsal', email: 'rehearsal@flagops.local', name: 'flagops rehearse' } as const;
export const REHEARSAL_APPROVER = { login: 'flagops-rehearsal-approver', email: 'rehearsal-approver@flagops.local', name: 'flagops rehearse (approver)' } as const;

/** What a flagops command printed, and its exit code. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the flagops CLI with `args` in `cwd`, with exactly the environment variables `env`. */
export type FlagopsRunner = (cwd: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<CommandResult>;

export interface RehearsalOptions {
  /** The project root (read only). */
  readonly root: string;
  readonly flag: string;
  /** The scratch folder: empty, outside the project (the caller creates and removes it). */
  readonly scratch: string;
  /** Where the rehearsal clock starts: now (the real clock, or FLAGOPS_NOW for scripts and tests). */
  readonly start: Date;
  /** The least time between one merge and the next step, in minutes (the soak time may ask for more). */
  readonly minutesBetween: number;
  /** `--ticket` for every step (default: advance's, the flag's ticket in the environment). */
  readonly ticket?: string;
  readonly flagops: FlagopsRunner;
  /** The environment the commands start from (default: this process's); GIT_* and FLAGOPS_* of it never reach the scratch repository. */
  readonly env?: NodeJS.ProcessEnv;
  /** Told where the walk starts, once the scratch repository is ready. */
  readonly onStart?: (start: RehearsalStart) => void;
  /** Told of each step as soon as it is taken (or refused). */
  readonly onStep?: (step: RehearsalStep) => void;
  /** Stops the walk before the next command (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Why the rehearsal clock moved before a step. */
export interface Wait {
  /** How long, in milliseconds, since the previous merge (or the start). */
  readonly ms: number;
  /** The soak time that set it (the environment that holds its step, and for how long), when it asked for more than `--minutes-between`. */
  readonly soak?: { readonly environment: string; readonly minutes: number };
}

/** One step of the walk: the edit, what check said, the merge. */
export interface RehearsalStep {
  readonly index: number;
  readonly environment: string;
  readonly from: string;
  readonly to: string;
  /** "step 2 of 4 in production", for an environment with several pipeline steps. */
  readonly stepOf?: string;
  /** The rehearsal clock at this step: advance, check and merge all run at it. */
  readonly at: string;
  readonly wait: Wait;
  readonly branch: string;
  /** What refused the step, with the lines it printed; undefined when the step was merged. */
  readonly refused?: { readonly by: 'advance' | 'check'; readonly code: number; readonly lines: readonly string[] };
  /** check's verdict (its summary line) and the warnings it printed, when it ran. */
  readonly check?: { readonly summary: string; readonly warnings: readonly string[] };
  /** The merge commit on main, pushed to the bare origin. */
  readonly merge?: string;
}

export type RehearsalOutcome =
  /** On 100% in every environment. */
  | 'done'
  /** A step was refused (by advance or by check): the last step says why. */
  | 'refused'
  /** The flag cannot go on from where it is (an invalid entry before its next step). */
  | 'blocked'
  /** Stopped by the signal. */
  | 'stopped';

/** Where the walk starts. */
export interface RehearsalStart {
  readonly flag: string;
  /** The rehearsal clock at the start (to the second). */
  readonly start: string;
  /** Where the flag stood at the start, per environment. */
  readonly initial: readonly { readonly environment: string; readonly state: string }[];
  /** `--by` of every step (the commits' author), and `--approved-by` (the approval and the merge). */
  readonly by: string;
  readonly approvedBy: string;
}

export interface RehearsalResult extends RehearsalStart {
  /** The rehearsal clock at the end. */
  readonly end: string;
  readonly steps: readonly RehearsalStep[];
  readonly outcome: RehearsalOutcome;
  /** For 'blocked': why. */
  readonly problem?: string;
  /** The clone the steps ran in, and its bare origin, inside the scratch folder. */
  readonly work: string;
  readonly origin: string;
}

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The environment of every command run in the scratch repository: the caller's, without anything
 * that could point git elsewhere (GIT_DIR, GIT_WORK_TREE, ...) or change flagops' judgement
 * (FLAGOPS_*, CI), without the user's git configuration (hooks, signing), plus `extra`.
 */
function scratchEnv(base: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!/^(GIT_|FLAGOPS_)/.test(k) && k !== 'CI' && k !== 'GITHUB_ACTIONS') env[k] = v;
  return { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', NO_COLOR: '1', ...extra };
}

/** A git command in the scratch repository; throws with git's message when it fails (the scratch is ours: a failure there is a bug or a full disk). */
function git(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new UsageError('flagops rehearse runs git, and there is no git on the PATH: install git first');
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in the rehearsal's scratch repository ${cwd}: ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout;
}

/** Dated as the rehearsal clock says, by `who`. */
const dated = (env: NodeJS.ProcessEnv, at: string, who: { name: string; email: string }): NodeJS.ProcessEnv => ({
  ...env,
  GIT_AUTHOR_NAME: who.name,
  GIT_AUTHOR_EMAIL: who.email,
  GIT_AUTHOR_DATE: at,
  GIT_COMMITTER_NAME: who.name,
  GIT_COMMITTER_EMAIL: who.email,
  GIT_COMMITTER_DATE: at,
});

/**
 * The scratch repository: `work/` holds a copy of the project's environments/ (settings included),
 * dist/ and .github/flagops-identities (with the rehearsal's author and approver added), committed
 * on main at the start of the clock and pushed to the bare `origin.git/`.
 */
function prepare(root: string, scratch: string, start: string, env: NodeJS.ProcessEnv): { work: string; origin: string } {
  const work = join(scratch, 'work');
  const origin = join(scratch, 'origin.git');
  // Regular files and folders only: a link would be followed out of the project, and a FIFO or a
  // device cannot be copied (flagops reports them in the project as findings, never opens them).
  const plain = (src: string) => {
    const st = lstatSync(src);
    return st.isFile() || st.isDirectory();
  };
  cpSync(join(root, 'environments'), join(work, 'environments'), { recursive: true, filter: plain });
  if (existsSync(join(root, DIST))) cpSync(join(root, DIST), join(work, DIST), { recursive: true, filter: plain });
  const identities = readRegularFile(join(root, IDENTITIES_FILE), MAX_FILE_BYTES);
  const text = identities.status === 'read' ? identities.bytes.toString('utf8') : '';
  mkdirSync(join(work, '.github'), { recursive: true });
  writeFileSync(
    join(work, IDENTITIES_FILE),
    `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}# Added by flagops rehearse, in its scratch copy only: who takes and who approves each step.\n` +
      `@${REHEARSAL_AUTHOR.login} ${REHEARSAL_AUTHOR.email}\n@${REHEARSAL_APPROVER.login} ${REHEARSAL_APPROVER.email}\n`,
  );
  git(scratch, ['init', '-q', '--bare', '-b', 'main', origin], env);
  git(scratch, ['init', '-q', '-b', 'main', work], env);
  git(work, ['add', '-A'], env);
  git(work, ['commit', '-q', '-m', 'The project as it was when the rehearsal started (flagops rehearse)'], dated(env, start, REHEARSAL_AUTHOR));
  git(work, ['remote', 'add', 'origin', origin], env);
  git(work, ['push', '-q', 'origin', 'main'], env);
  git(work, ['fetch', '-q', 'origin'], env);
  return { work, origin };
}

/** The lines a command printed, stdout then stderr, without empty ones. */
const linesOf = (r: CommandResult): string[] => `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');

/** What CI's GitHub API step writes for `check --pull-request`: the step's one commit, by the rehearsal's author, approved on it by its approver. */
function pullRequestFacts(head: string): object {
  const person = (p: { login: string }) => ({ login: p.login });
  const commit = { author: { name: REHEARSAL_AUTHOR.name, email: REHEARSAL_AUTHOR.email }, committer: { name: REHEARSAL_AUTHOR.name, email: REHEARSAL_AUTHOR.email } };
  return {
    head,
    author: REHEARSAL_AUTHOR.login,
    commits: [{ sha: head, author: person(REHEARSAL_AUTHOR), committer: person(REHEARSAL_AUTHOR), commit }],
    reviews: [{ user: person(REHEARSAL_APPROVER), state: 'APPROVED', commit_id: head }],
  };
}

/** When the next step may run: at least `minutesBetween` after the previous merge, and once every step it waits on has soaked. */
function nextTime(previous: number, first: boolean, minutesBetween: number, soak: readonly SoakStep[]): { at: number; wait: Wait } {
  const least = first ? previous : previous + minutesBetween * 60_000;
  const latest = soak.reduce<SoakStep | undefined>((a, s) => (a === undefined || s.ready > a.ready ? s : a), undefined);
  if (latest && latest.ready > least) {
    return { at: latest.ready, wait: { ms: latest.ready - previous, soak: { environment: latest.environment, minutes: latest.minutes } } };
  }
  return { at: least, wait: { ms: least - previous } };
}

/**
 * Walks `flag` through the pipeline in the scratch folder, until it is on 100% everywhere, a step
 * is refused, or the signal stops it. Throws UsageError for a project that cannot be opened.
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalResult> {
  const { flag, minutesBetween } = options;
  const base = scratchEnv(options.env ?? process.env);
  const start = Math.floor(options.start.getTime() / 1000) * 1000;
  const { work, origin } = prepare(options.root, options.scratch, utc(start), base);
  const ws = await openWorkspace(work);
  const position = (at: number) => pipelinePosition(ws, parseProject(ws.settings, diskReader(work)).model, flag, new Date(at));
  const first = position(start);
  const started: RehearsalStart = {
    flag,
    start: utc(start),
    initial: first.stages.map((s) => ({ environment: s.environment, state: describeExposure(s.state) })),
    by: REHEARSAL_AUTHOR.email,
    approvedBy: REHEARSAL_APPROVER.email,
  };
  options.onStart?.(started);
  const steps: RehearsalStep[] = [];
  // Every step advances the flag by one pipeline step: this many are enough to reach 100% everywhere.
  const most = ws.settings.reduce((n, s) => n + s.pipelineSteps.length, 1);
  let clock = start;
  const result = (outcome: RehearsalOutcome, problem?: string): RehearsalResult => ({
    ...started,
    end: utc(clock),
    steps,
    outcome,
    ...(problem ? { problem } : {}),
    work,
    origin,
  });
  for (let index = 1; ; index++) {
    if (options.signal?.aborted) return result('stopped');
    const p = index === 1 ? first : position(clock);
    if (!p.next) return result('blocked', `${flag} has an invalid entry in an environment before its next step; run flagops check in the project and fix it first`);
    if (p.next.done) return result('done');
    if (index > most) return result('blocked', `${flag} is not on 100% everywhere after ${most - 1} steps (${p.stages.map((s) => `${s.environment}: ${describeExposure(s.state)}`).join(', ')})`);
    const { environment, from, to } = p.next;
    const { at, wait } = nextTime(clock, index === 1, minutesBetween, p.soak);
    clock = at;
    const now = utc(at);
    const pipeline = p.stages.find((s) => s.environment === environment)!.steps;
    const step = {
      index,
      environment,
      from: describeExposure(from),
      to: `on ${to}%`,
      ...(pipeline.length > 1 ? { stepOf: `step ${pipeline.indexOf(to) + 1} of ${pipeline.length} in ${environment}` } : {}),
      at: now,
      wait,
      branch: `rehearse/${index}-${environment}-${to}`,
    };
    const done = (s: RehearsalStep): void => {
      steps.push(s);
      options.onStep?.(s);
    };

    // The engineer: advance on a branch, commit, push it (the pull request).
    git(work, ['checkout', '-q', '-b', step.branch, 'main'], base);
    const flagopsEnv = { ...base, FLAGOPS_NOW: now };
    const advance = await options.flagops(
      work,
      ['advance', flag, '--by', REHEARSAL_AUTHOR.email, '--approved-by', REHEARSAL_APPROVER.email, ...(options.ticket ? ['--ticket', options.ticket] : [])],
      { ...flagopsEnv, [ALLOW_FUTURE_NOW]: '1' },
    );
    if (options.signal?.aborted) return result('stopped');
    if (advance.code !== 0) {
      done({ ...step, refused: { by: 'advance', code: advance.code, lines: linesOf(advance) } });
      return result('refused');
    }
    git(work, ['add', '-A'], base);
    git(work, ['commit', '-q', '-m', `${flag}: ${environment} ${step.from} -> ${step.to} (flagops rehearse)`], dated(base, now, REHEARSAL_AUTHOR));
    const head = git(work, ['rev-parse', 'HEAD'], base).trim();
    git(work, ['push', '-q', 'origin', step.branch], base);

    // CI: check against main, with the pull request's commit and approval from "the GitHub API".
    const facts = join(options.scratch, 'pull-requests', `${index}.json`);
    mkdirSync(join(options.scratch, 'pull-requests'), { recursive: true });
    writeFileSync(facts, `${JSON.stringify(pullRequestFacts(head), null, 2)}\n`);
    const check = await options.flagops(work, ['check', '--base', 'refs/remotes/origin/main', '--pull-request', facts], { ...flagopsEnv, CI: 'true' });
    if (options.signal?.aborted) return result('stopped');
    const checkLines = linesOf(check);
    const summary = check.stdout.trim().split('\n').at(-1) ?? '';
    const verdict = { summary: summary.replace(/^flagops check \(base: [^)]*\): /, ''), warnings: checkLines.filter((l) => /: warning: /.test(l)) };
    if (check.code !== 0) {
      done({ ...step, check: verdict, refused: { by: 'check', code: check.code, lines: checkLines.filter((l) => / error: |^flagops: error: /.test(l) || l === summary) } });
      return result('refused');
    }

    // The merge button: a merge commit on main at the rehearsal clock, pushed to the origin.
    git(work, ['checkout', '-q', 'main'], base);
    git(work, ['merge', '-q', '--no-ff', '-m', `Merge pull request #${index} from ${step.branch}`, step.branch], dated(base, now, REHEARSAL_APPROVER));
    git(work, ['push', '-q', 'origin', 'main'], base);
    done({ ...step, check: verdict, merge: git(work, ['rev-parse', 'HEAD'], base).trim() });
  }
}
