/**
 * `flagops rehearse FLAG`: the release pipeline walked locally, in a scratch git repository with a
 * bare origin and a clock of its own (lib/rollout/rehearsal.ts), each step run with this flagops'
 * own executable, as an engineer and CI would run it. The project is only read.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandResult, FlagopsRunner, RehearsalResult, RehearsalStart, RehearsalStep } from '../../lib/rollout/rehearsal.ts';
import { STOPPED_EXIT } from '../../lib/rollout/monitor.ts';
import { tryGit } from '../../lib/review/git.ts';
import { formatDuration } from '../../common/text/duration.ts';
import { shortSha } from '../../common/text/sha.ts';
import { diskReader, parseProject } from '../../lib/workspace/project.ts';
import { now, openWorkspace, UsageError } from '../../lib/workspace/workspace.ts';
import { printable, safeJson } from '../report.ts';
import { EXIT, note, type CommandContext, type Register } from '../context.ts';
import { knownFlag } from './pipeline.ts';

/** The flagops executable this code belongs to: every step runs it, as a user would. */
const BIN = fileURLToPath(new URL('../../bin/flagops.cjs', import.meta.url));

interface RehearseOptions {
  minutesBetween: string;
  keep?: string;
  ticket?: string;
  json?: boolean;
}

/** Runs `flagops ...args` as a child process of this Node, collecting its output. */
const runFlagops: FlagopsRunner = (cwd, args, env) =>
  new Promise<CommandResult>((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => done({ code: EXIT.internal, stdout: '', stderr: `flagops could not be started: ${e.message}` }));
    child.on('close', (code, signal) =>
      done({ code: code ?? EXIT.internal, stdout: Buffer.concat(out).toString('utf8'), stderr: `${Buffer.concat(err).toString('utf8')}${signal ? `\n(stopped by ${signal})` : ''}` }),
    );
  });

/** Whether `path` is `folder` or inside it. */
const within = (path: string, folder: string): boolean => {
  const r = relative(folder, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
};

/** `path` with every link of its deepest existing folder resolved: where a write there really lands. */
function realTarget(path: string): string {
  const rest: string[] = [];
  let dir = path;
  for (;;) {
    try {
      return join(realpathSync(dir), ...rest);
    } catch {
      const up = dirname(dir);
      if (up === dir) return path;
      rest.unshift(basename(dir));
      dir = up;
    }
  }
}

/**
 * The scratch folder: `--keep DIR` (new or empty, kept afterwards) or a new temporary folder; never
 * inside the project or its git repository (links resolved), whose files and `git status` the
 * rehearsal leaves alone.
 */
function scratchFolder(root: string, cwd: string, keep: string | undefined): string {
  const top = tryGit(root, ['rev-parse', '--show-toplevel'])?.trim();
  const folders = [root, ...(top ? [top] : [])];
  const inside = (dir: string) => folders.find((f) => within(realTarget(dir), realTarget(f)));
  if (keep === undefined) {
    const tmp = resolve(tmpdir());
    const project = inside(tmp);
    if (project) throw new UsageError(`the temporary folder ${printable(tmp)} is inside the project (${printable(project)}); the rehearsal never writes there: pass --keep DIR with a folder outside it, or set TMPDIR`);
    return mkdtempSync(join(tmp, 'flagops-rehearse-'));
  }
  const dir = resolve(cwd, keep);
  const project = inside(dir);
  if (project) throw new UsageError(`--keep ${printable(keep)} is inside the project (${printable(project)}); the rehearsal never writes there: name a folder outside it, for example --keep /tmp/rehearsal`);
  let empty = true;
  try {
    const st = lstatSync(dir);
    empty = st.isDirectory() && readdirSync(dir).length === 0;
  } catch {
    empty = true; // not there yet
  }
  if (!empty) throw new UsageError(`--keep ${printable(keep)} already exists and is not an empty folder: name a new folder (the rehearsal keeps its scratch repository there)`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** `--minutes-between`: a whole number of minutes, 0 or more. */
function minutes(value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new UsageError(`--minutes-between is a whole number of minutes, 0 or more, written in digits; got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `+1h30m`: a time on the rehearsal clock, from its start. */
const since = (start: string, at: string): string => `+${formatDuration(Date.parse(at) - Date.parse(start))}`;

function printStart(ctx: CommandContext, s: RehearsalStart, from: string): void {
  const out = ctx.output;
  out.out(`flagops rehearse: ${s.flag}, in a scratch copy of the project: a git repository with a bare origin, on a clock that starts at ${from} (${s.start})`);
  out.out(`start: ${s.initial.map((e) => `${e.environment} ${e.state}`).join(', ')}`);
  out.out(
    `each step: flagops advance on a branch (--by ${s.by} --approved-by ${s.approvedBy}), flagops check as CI runs it (CI=true, --base refs/remotes/origin/main, ` +
      "--pull-request: the step's commit and its approval), then a merge commit pushed to the origin's main, all at the step's time on the rehearsal clock",
  );
}

function printStep(ctx: CommandContext, start: string, s: RehearsalStep): void {
  const out = ctx.output;
  const why = s.wait.soak ? `: ${s.wait.soak.environment} holds each step for ${s.wait.soak.minutes} minutes on main` : s.index === 1 ? '' : ' (--minutes-between)';
  const after = s.wait.ms === 0 ? 'at once' : `after ${formatDuration(s.wait.ms)}${why}`;
  out.out(`step ${s.index} at ${since(start, s.at)} (${s.at}): ${s.environment} ${s.from} -> ${s.to}${s.stepOf ? ` (${s.stepOf})` : ''}, ${after}`);
  if (s.refused?.by === 'advance') {
    out.out(`  advance  refused (exit ${s.refused.code}):`);
    for (const l of s.refused.lines) out.out(`    ${printable(l)}`);
    return;
  }
  out.out(`  advance  on branch ${s.branch}`);
  if (s.refused?.by === 'check') {
    out.out(`  check    failed (exit ${s.refused.code}), as CI would fail the pull request:`);
    for (const l of s.refused.lines) out.out(`    ${printable(l)}`);
    return;
  }
  out.out(`  check    ${printable(s.check?.summary ?? '')}`);
  for (const w of s.check?.warnings ?? []) out.out(`    ${printable(w)}`);
  out.out(`  merged   at ${s.at}, merge commit ${s.merge ? shortSha(s.merge) : '-'}`);
}

function printEnd(ctx: CommandContext, r: RehearsalResult, kept: string | undefined): void {
  const out = ctx.output;
  const merged = r.steps.filter((s) => s.merge).length;
  const steps = `${merged} step${merged === 1 ? '' : 's'} merged`;
  const span = `${formatDuration(Date.parse(r.end) - Date.parse(r.start))} on the rehearsal clock (${r.start} to ${r.end})`;
  const last = r.steps.at(-1);
  switch (r.outcome) {
    case 'done':
      out.out(`flagops rehearse: done: ${r.flag} is on 100% in every environment; ${steps}, ${span}`);
      break;
    case 'refused':
      out.out(`flagops rehearse: refused: ${last?.environment} ${last?.from} -> ${last?.to} is refused by ${last?.refused?.by} (above), as the pipeline would refuse it; ${steps} before it, ${span}`);
      break;
    case 'blocked':
      out.out(`flagops rehearse: blocked: ${printable(r.problem ?? '')}; ${steps}`);
      break;
    case 'stopped':
      out.out(`flagops rehearse: stopped (Ctrl-C); ${steps}, ${span}`);
      break;
  }
  if (kept) {
    out.out(`kept: ${printable(kept)}: work/ is the clone (main, and a branch per step), origin.git/ its bare origin, pull-requests/ what each check read`);
    out.out(`  to go on by hand there, run flagops in work/ with FLAGOPS_NOW=${r.end} or later (and FLAGOPS_ALLOW_FUTURE_NOW=1 for the edits)`);
  } else {
    out.out('the project was only read; the scratch repository is removed (--keep DIR keeps it)');
  }
}

export const registerRehearse: Register = (program, ctx) => {
  program
    .command('rehearse <flag>')
    .description(
      "rehearse the flag's pipeline locally: in a scratch copy of the project (a git repository with a bare origin, outside the project), " +
        'take every step as the pipeline would (advance on a branch, check as CI does, a merge pushed to main), on a clock of its own that starts now and ' +
        'moves past each soak time, until the flag is on 100% everywhere or a step is refused; the project is only read',
    )
    .option('--minutes-between <n>', 'the least time between a merge and the next step on the rehearsal clock (the soak time may ask for more)', '5')
    .option('--keep <dir>', 'keep the scratch repository in this new or empty folder outside the project (default: a temporary folder, removed)')
    .option('--ticket <id>', "the change ticket of every step (default: advance's, the flag's ticket in each environment)")
    .option('--json', 'JSON output: every step and the outcome')
    .action(async (flag: string, opts: RehearseOptions) => {
      const between = minutes(opts.minutesBetween);
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      knownFlag(parseProject(ws.settings, diskReader(ws.root)).model, flag);
      // The clock starts now: the machine's clock, or FLAGOPS_NOW (scripts, tests). Only the scratch
      // copy ever sees the later times it moves to.
      const start = now();
      const from = process.env.FLAGOPS_NOW ? 'FLAGOPS_NOW' : 'the real now';
      const scratch = scratchFolder(ws.root, ctx.cwd, opts.keep);
      const stop = new AbortController();
      const onInterrupt = () => {
        ctx.output.err('flagops rehearse: stopping after this command (Ctrl-C again to quit at once)');
        stop.abort();
      };
      process.once('SIGINT', onInterrupt);
      let result: RehearsalResult;
      try {
        const { rehearse } = await import('../../lib/rollout/rehearsal.ts');
        let started = '';
        result = await rehearse({
          root: ws.root,
          flag,
          scratch,
          start,
          minutesBetween: between,
          ticket: opts.ticket,
          flagops: runFlagops,
          env: ctx.env,
          signal: stop.signal,
          onStart: (s) => {
            started = s.start;
            if (!opts.json) printStart(ctx, s, from);
          },
          onStep: opts.json ? undefined : (s) => printStep(ctx, started, s),
        });
      } finally {
        process.removeListener('SIGINT', onInterrupt);
        if (opts.keep === undefined) rmSync(scratch, { recursive: true, force: true });
      }
      if (opts.json) {
        // The clone's paths only when they are still there.
        const { work, origin, ...rest } = result;
        ctx.output.out(safeJson(opts.keep === undefined ? { ...rest, kept: null } : { ...rest, kept: scratch, work, origin }, 2));
      } else {
        printEnd(ctx, result, opts.keep === undefined ? undefined : scratch);
      }
      ctx.exitCode = result.outcome === 'done' ? EXIT.ok : result.outcome === 'stopped' ? STOPPED_EXIT : EXIT.violations;
    });
};
