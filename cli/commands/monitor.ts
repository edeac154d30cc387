import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import pc from 'picocolors';
import writeFileAtomic from 'write-file-atomic';
import { formatDuration, parseDuration, promqlRange } from '../../common/text/duration.ts';
import {
  formatThreshold,
  formatValue,
  monitor,
  monitorSignals,
  rollbackCommand,
  rollbackReason,
  exitCode,
  type Poll,
  type Signal,
} from '../../lib/rollout/monitor.ts';
import { renderReport, reportFormat, verdictText } from '../../lib/rollout/monitor-report.ts';
import { readFlag } from '../../lib/edits/entry-read.ts';
import { CATALOG_FILE, diskReader } from '../../lib/workspace/project.ts';
import { PrometheusClient, PrometheusError, type PrometheusAuth } from '../../lib/rollout/prometheus.ts';
import type { RollbackResult, RollbackTarget } from '../../lib/rollout/rollback.ts';
import { now, openWorkspace, UsageError } from '../../lib/workspace/workspace.ts';
import { unknownEnvironment, unknownFlag } from '../../common/text/suggest.ts';
import { describeExposure } from '../../policies/state-rules.ts';
import { printable, printFindings, type Output } from '../report.ts';
import { EXIT, note, type CommandContext, type Register } from '../context.ts';
import { shortSha } from '../../common/text/sha.ts';

interface MonitorOptions {
  env: string;
  prometheus: string;
  duration: string;
  interval: string;
  window: string;
  consecutive: string;
  retryFor: string;
  timeout: string;
  report?: string;
  ticket?: string;
  user?: string;
  passwordFile?: string;
  bearerTokenFile?: string;
  rollback?: boolean;
  push?: string;
  by?: string;
}

/** Environment variables holding secrets, so they never need to be on a command line. */
export const PASSWORD_ENV = 'FLAGOPS_PROMETHEUS_PASSWORD';
export const TOKEN_ENV = 'FLAGOPS_PROMETHEUS_TOKEN';

function duration(name: string, text: string, min = 1): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < min) throw new UsageError(`--${name} must be a duration like 30s, 5m or 1m30s${min > 1 ? ` (at least ${formatDuration(min)})` : ''}, got '${text}'`);
  return ms;
}

function secretFile(name: string, file: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, file), 'utf8').trim();
  } catch (e) {
    throw new UsageError(`--${name}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function auth(opts: MonitorOptions, cwd: string): PrometheusAuth | undefined {
  const token = opts.bearerTokenFile ? secretFile('bearer-token-file', opts.bearerTokenFile, cwd) : process.env[TOKEN_ENV] || undefined;
  const password = opts.passwordFile ? secretFile('password-file', opts.passwordFile, cwd) : process.env[PASSWORD_ENV];
  if (opts.user !== undefined && token !== undefined) throw new UsageError(`use either basic auth (--user) or a bearer token (--bearer-token-file / ${TOKEN_ENV}), not both`);
  if (opts.passwordFile && opts.user === undefined) throw new UsageError('--password-file needs --user');
  if (token !== undefined) return { bearerToken: token };
  if (opts.user !== undefined) return { basic: { user: opts.user, password: password ?? '' } };
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const BAR = 24;

/** The live line on a terminal: `[████░░░░] 7m30s left  error ratio 0.4% ...`. */
export function progressLine(signals: readonly Signal[], poll: Poll | undefined, elapsedMs: number, durationMs: number, color: boolean, note = ''): string {
  const done = Math.min(BAR, Math.round((elapsedMs / durationMs) * BAR));
  const bar = `[${'█'.repeat(done)}${'░'.repeat(BAR - done)}]`;
  const left = `${formatDuration(Math.max(0, durationMs - elapsedMs))} left`;
  return [bar, left, figures(signals, poll, color, true), note].filter(Boolean).join('  ');
}

function figures(signals: readonly Signal[], poll: Poll | undefined, color: boolean, short = false): string {
  if (!poll) return 'waiting for the first figures';
  return signals
    .map((s) => {
      const text = `${short ? s.short : s.label} ${formatValue(poll.values[s.id], s.unit)}`;
      const above = poll.above.includes(s.id);
      if (!color) return above ? `${text} (above ${formatThreshold(s.threshold, s.unit)})` : text;
      return above ? pc.red(pc.bold(text)) : poll.values[s.id] === null ? pc.dim(text) : pc.green(text);
    })
    .join('  ');
}

/** A plain line per poll when stdout is not a terminal (CI logs, pipes). */
export function plainLine(signals: readonly Signal[], poll: Poll, durationMs: number): string {
  const state = poll.above.length > 0 ? 'ABOVE THRESHOLD' : 'ok';
  return `${poll.at} [${formatDuration(Math.round(poll.elapsedMs / 100) * 100)}/${formatDuration(durationMs)}] ${figures(signals, poll, false)}  ${state}`;
}

function thresholdsLine(signals: readonly Signal[]): string {
  return `thresholds: ${signals.map((s) => `${s.label} > ${formatThreshold(s.threshold, s.unit)}`).join(', ')}`;
}

export const registerMonitor: Register = (program, ctx) => {
  program
    .command('monitor <flag>')
    .description(
      "watch a rollout: poll Prometheus for the environment's error ratio, p95/p99 latency and the flag's evaluation errors " +
        'against the alert thresholds; exit 0 healthy, 3 breached (prints the rollback command), 1 Prometheus unreachable or no data',
    )
    .requiredOption('--env <env>', 'environment (dev, staging, production)')
    .addOption(new Option('--prometheus <url>', 'Prometheus base URL, e.g. http://127.0.0.1:9090').env('FLAGOPS_PROMETHEUS_URL').makeOptionMandatory())
    .option('--duration <d>', 'how long to watch', '10m')
    .option('--interval <d>', 'time between polls', '30s')
    .option('--window <d>', 'PromQL range of each query (the alert rules use 5m)', '5m')
    .option('--consecutive <n>', 'polls in a row above a threshold that count as a breach', '1')
    .option('--retry-for <d>', 'keep retrying an unreachable Prometheus this long before giving up (exit 1)', '1m')
    .option('--timeout <d>', 'timeout of one request to Prometheus', '10s')
    .option('--report <file>', 'write the report to FILE: markdown (.md) or JSON (.json)')
    .option('--ticket <id>', 'ticket for the printed rollback command (default: the flag\'s ticket in that environment)')
    .option('--user <name>', `basic-auth user; the password comes from --password-file or ${PASSWORD_ENV}`)
    .option('--password-file <file>', 'file holding the basic-auth password')
    .option('--bearer-token-file <file>', `file holding a bearer token (or set ${TOKEN_ENV}); never printed`)
    .option('--rollback', 'on a breach, prepare the kill switch as a commit on a new branch flagops/rollback/<flag>-<UTC time> from main (never on main, never in this working tree)')
    .option('--push <remote>', 'with --rollback: push the rollback branch to this remote, ready for a pull request')
    .option('--by <email>', 'with --rollback: changed_by of the kill switch (default: git config user.email)')
    .action(async (flag: string, opts: MonitorOptions) => {
      const durationMs = duration('duration', opts.duration);
      const intervalMs = duration('interval', opts.interval, 100);
      const windowMs = duration('window', opts.window, 1000);
      const retryForMs = duration('retry-for', opts.retryFor, 0);
      const timeoutMs = duration('timeout', opts.timeout, 100);
      const consecutive = Number(opts.consecutive);
      if (!Number.isInteger(consecutive) || consecutive < 1) throw new UsageError(`--consecutive must be a whole number of polls, at least 1, got '${opts.consecutive}'`);
      const format = opts.report === undefined ? undefined : reportFormat(opts.report);
      if (opts.report !== undefined && !format) throw new UsageError(`--report must end in .md or .json (the format follows the extension), got '${opts.report}'`);
      if (opts.report !== undefined && isDirectory(resolve(ctx.cwd, opts.report))) throw new UsageError(`--report ${opts.report} is a directory; name a file`);
      const credentials = auth(opts, ctx.cwd);
      if (credentials?.bearerToken) ctx.redactor.add(credentials.bearerToken);
      if (credentials?.basic) ctx.redactor.addBasic(credentials.basic.user, credentials.basic.password);

      const ws = await openWorkspace(ctx.cwd, note(ctx));
      const settings = ws.settings.find((s) => s.name === opts.env);
      if (!settings) throw new UsageError(unknownEnvironment(opts.env, ws.settings.map((s) => s.name)));
      // Only the flag's own entries are read, as its kill switch reads them: a broken entry of another flag blocks neither.
      const { catalog, state } = readFlag(ws.root, diskReader(ws.root), settings, flag);
      if (catalog.declared === false) throw new UsageError(unknownFlag(flag, catalog.names, CATALOG_FILE));
      // Everything the rollback branch needs is checked before monitoring starts, not after a breach.
      if ((opts.push !== undefined || opts.by !== undefined) && !opts.rollback) throw new UsageError('--push and --by go with --rollback');
      let rollbackTo: RollbackTarget | undefined;
      let rollbackBy = '';
      // Loaded only here: the rollback runs the edit code (synthesis), which plain monitoring does not need.
      const rollbackModule = opts.rollback ? await import('../../lib/rollout/rollback.ts') : undefined;
      if (opts.rollback) {
        rollbackTo = rollbackModule!.rollbackTarget(ws.root, opts.push);
        rollbackBy = (await import('./edit.ts')).changedBy(ws, opts.by);
        if (settings.requireTicket && !(opts.ticket ?? state?.ticket)) throw new UsageError(`--rollback in ${settings.name} needs a ticket for the kill switch: pass --ticket (the flag has none there)`);
      }

      let client: PrometheusClient;
      try {
        client = new PrometheusClient({ url: opts.prometheus, auth: credentials, retryForMs, timeoutMs, onRetry: (r) => retrying(r) });
      } catch (e) {
        if (e instanceof PrometheusError) throw new UsageError(e.message);
        throw e;
      }
      const window = promqlRange(windowMs);
      const signals = monitorSignals(settings, flag, window);
      const out = ctx.output;
      const flagState = state ? describeExposure(state) : undefined;
      out.out(
        `flagops monitor: ${flag}${flagState ? ` (${flagState})` : ''} in ${settings.name} (namespace ${settings.namespace}) via ${client.displayUrl}: every ${formatDuration(intervalMs)} for ${formatDuration(durationMs)}, window ${window}`,
      );
      out.out(thresholdsLine(signals));
      if (state && !state.enabled) out.out(`note: ${flag} is off in ${settings.name}; watching the environment anyway`);

      const live = liveDisplay(out, signals, durationMs);
      function retrying(r: { attempt: number; delayMs: number; reason: string }): void {
        const note = `Prometheus: ${printable(client.redact(r.reason))}; retry ${r.attempt} in ${formatDuration(r.delayMs)}`;
        if (live) live.note(note);
        else out.err(`flagops monitor: ${note}`);
      }

      // Ctrl-C stops after the current poll and still reports; a second Ctrl-C quits at once.
      const stop = new AbortController();
      const onInterrupt = () => {
        out.err('flagops monitor: stopping after this poll (Ctrl-C again to quit at once)');
        stop.abort();
      };
      process.once('SIGINT', onInterrupt);
      const result = await monitor({
        signals,
        api: client,
        durationMs,
        intervalMs,
        consecutive,
        signal: stop.signal,
        onPoll: (poll) => (live ? live.poll(poll) : out.out(plainLine(signals, poll, durationMs))),
      }).finally(() => {
        process.removeListener('SIGINT', onInterrupt);
        live?.stop();
      });

      const rollback =
        result.verdict === 'breached'
          ? rollbackCommand({ flag, environment: settings.name, reason: rollbackReason(signals, result.breaches, state?.enabled ? state.rollout : undefined), ticket: opts.ticket ?? state?.ticket })
          : undefined;
      const color = (s: string) => (!out.color ? s : result.verdict === 'healthy' ? pc.green(pc.bold(s)) : pc.red(pc.bold(s)));
      out.out(`flagops monitor: ${color(verdictText(result))} (${result.polls.length} poll${result.polls.length === 1 ? '' : 's'})`);
      for (const b of result.breaches) {
        const s = signals.find((x) => x.id === b.signal)!;
        out.out(`  ${b.at}: ${s.label} ${formatValue(b.value, s.unit)} > ${formatThreshold(b.threshold, s.unit)} (${s.setting} of ${settings.name})`);
      }
      if (result.error) out.err(`flagops monitor: error: ${printable(client.redact(result.error))}`);
      if (result.verdict === 'no-data') {
        const names = result.noData.map((id) => signals.find((s) => s.id === id)!.label).join(', ');
        out.err(`flagops monitor: error: no data for ${names} in ${result.polls.length} polls; check that the backend is scraped with job="${settings.monitoring.job}", namespace="${settings.namespace}" and has traffic`);
      }
      if (rollback) {
        out.out('roll back with:');
        out.out(`  ${printable(rollback)}`);
      }
      let prepared: RollbackResult | undefined;
      if (rollbackTo && result.verdict === 'breached') {
        const reason = rollbackReason(signals, result.breaches, state?.enabled ? state.rollout : undefined);
        prepared = await rollbackModule!.prepareRollback(rollbackTo, { flag, environment: settings.name, reason, ticket: opts.ticket ?? state?.ticket, by: rollbackBy, at: now() }, note(ctx));
        reportRollback(ctx, prepared);
      }
      if (opts.report && format) {
        const text = renderReport(
          { flag, environment: settings.name, namespace: settings.namespace, job: settings.monitoring.job, flagState, prometheus: client.displayUrl, window, intervalMs, durationMs, consecutive, signals, result, rollback, rollbackBranch: branchOf(prepared) },
          format,
        );
        try {
          writeFileAtomic.sync(resolve(ctx.cwd, opts.report), ctx.redactor.redact(client.redact(text)), { encoding: 'utf8' });
        } catch (e) {
          throw new UsageError(`--report: cannot write ${opts.report} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        out.out(`report written to ${printable(opts.report)}`);
      }
      ctx.exitCode = prepared && (prepared.status === 'failed' || prepared.status === 'refused') ? EXIT.violations : exitCode(result);
    });
};

/** The rollback branch for the report, when one exists. */
function branchOf(r: RollbackResult | undefined): { branch: string; commit: string; pushed?: string } | undefined {
  if (r?.status === 'prepared') return { branch: r.branch, commit: r.commit, ...(r.pushed ? { pushed: r.pushed } : {}) };
  if (r?.status === 'failed' && r.branch) return { branch: r.branch, commit: r.commit! };
  return undefined;
}

function reportRollback(ctx: CommandContext, r: RollbackResult): void {
  const out = ctx.output;
  switch (r.status) {
    case 'prepared':
      for (const n of r.outcome.notes ?? []) note(ctx)(n);
      out.out(`rollback branch: ${r.branch} (commit ${shortSha(r.commit)}, from ${r.start}): the kill switch, with every rule checked against main`);
      out.out(r.pushed ? `pushed to ${printable(r.pushed)}: open its pull request (gh pr create --base main --head ${r.branch})` : `push it and open its pull request: git push origin ${r.branch}`);
      return;
    case 'already-off':
      out.out(`no rollback branch: ${printable(r.summary)} (on ${r.start})`);
      return;
    case 'refused':
      printFindings(out, r.outcome.findings.filter((f) => f.severity === 'error'), 'text', `flagops monitor: error: the kill switch was refused on ${r.start}; no rollback branch was made`);
      return;
    case 'failed':
      out.err(`flagops monitor: error: ${printable(r.problem)}`);
      if (r.branch) out.err(`flagops monitor: the rollback commit is complete on the local branch ${r.branch} (nothing was pushed): push it by hand, or delete it with git branch -D ${r.branch}`);
      else out.err('flagops monitor: no rollback branch was made; run the kill switch by hand (the command above)');
  }
}

interface LiveDisplay {
  poll(p: Poll): void;
  note(text: string): void;
  stop(): void;
}

/** The terminal's live line, refreshed every second so the time left keeps moving. */
function liveDisplay(out: Output, signals: readonly Signal[], durationMs: number): LiveDisplay | undefined {
  const status = out.status;
  if (!status) return undefined;
  const start = Date.now();
  let last: Poll | undefined;
  let note = '';
  const draw = () => status(progressLine(signals, last, Date.now() - start, durationMs, out.color, note));
  const timer = setInterval(draw, 1000);
  timer.unref();
  draw();
  return {
    poll: (p) => {
      last = p;
      note = '';
      draw();
    },
    note: (text) => {
      note = out.color ? pc.yellow(text) : text;
      draw();
    },
    stop: () => {
      clearInterval(timer);
      status('');
      // Keep the last figures on screen once the live line is gone.
      if (last) out.out(plainLine(signals, last, durationMs));
    },
  };
}
