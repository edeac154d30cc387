/**
 * `flagops monitor`'s core, without CLI concerns: which signals to watch (the PromQL of
 * constructs/signals.ts and the thresholds of the environment's `monitoring` settings, the same
 * ones the alert rules use), the polling loop, and the verdict.
 */
import { errorRatio, flagEvaluationErrorRatio, latencyQuantile, type SignalScope } from '../../constructs/signals.ts';
import type { EnvironmentSettings } from '../../model/environments.ts';
import { PrometheusError, systemClock, type Clock, type Sample } from './prometheus.ts';

export type SignalId = 'errorRatio' | 'p95' | 'p99' | 'flagEvaluationErrorRatio';

/** One figure watched during a rollout. */
export interface Signal {
  readonly id: SignalId;
  /** For people: `error ratio`, `p95 latency`. */
  readonly label: string;
  /** For a narrow terminal line: `errors`, `p95`. */
  readonly short: string;
  readonly query: string;
  /** Breached when the value is above this. */
  readonly threshold: number;
  readonly unit: 'ratio' | 'seconds';
  /** The settings key the threshold comes from (`monitoring.errorRatio`). */
  readonly setting: string;
  /** Missing data is fine (the flag's OpenFeature metrics exist only where the MetricsHook is installed). */
  readonly optional: boolean;
}

/** The signals of one environment and flag, over a PromQL range `window` (e.g. `5m`). */
export function monitorSignals(settings: EnvironmentSettings, flag: string, window: string): Signal[] {
  const scope: SignalScope = { namespace: settings.namespace, job: settings.monitoring.job };
  const m = settings.monitoring;
  return [
    { id: 'errorRatio', label: 'error ratio', short: 'errors', query: errorRatio(scope, window), threshold: m.errorRatio, unit: 'ratio', setting: 'monitoring.errorRatio', optional: false },
    { id: 'p95', label: 'p95 latency', short: 'p95', query: latencyQuantile(scope, 0.95, window), threshold: m.p95LatencySeconds, unit: 'seconds', setting: 'monitoring.p95LatencySeconds', optional: false },
    { id: 'p99', label: 'p99 latency', short: 'p99', query: latencyQuantile(scope, 0.99, window), threshold: m.p99LatencySeconds, unit: 'seconds', setting: 'monitoring.p99LatencySeconds', optional: false },
    {
      id: 'flagEvaluationErrorRatio',
      label: 'flag evaluation error ratio',
      short: 'flag errors',
      query: flagEvaluationErrorRatio(scope, window, flag),
      threshold: m.flagEvaluationErrorRatio,
      unit: 'ratio',
      setting: 'monitoring.flagEvaluationErrorRatio',
      optional: true,
    },
  ];
}

/** Anything that answers instant queries (the Prometheus client, or a fake in tests). */
export interface QueryApi {
  /** The answers to `promqls`, in order; retries (if any) end by `deadline`, a clock time. */
  queryAll(promqls: readonly string[], deadline?: number): Promise<Sample[][]>;
}

/** The figures of one poll. `null`: no data (no series, or NaN such as 0/0 without traffic). */
export interface Poll {
  /** RFC 3339 time of the poll. */
  readonly at: string;
  readonly elapsedMs: number;
  readonly values: Readonly<Record<SignalId, number | null>>;
  /** Signals above their threshold in this poll. */
  readonly above: readonly SignalId[];
}

export interface Breach {
  readonly signal: SignalId;
  readonly value: number;
  readonly threshold: number;
  readonly at: string;
}

export type Verdict = 'healthy' | 'breached' | 'no-data' | 'unreachable';

export interface MonitorResult {
  readonly verdict: Verdict;
  readonly polls: readonly Poll[];
  /** The breaches that decided the verdict (one per signal, the poll that tipped it). */
  readonly breaches: readonly Breach[];
  /** Required signals that had no data in any poll. */
  readonly noData: readonly SignalId[];
  /** Why monitoring stopped early without a verdict on the figures (unreachable). */
  readonly error?: string;
  /** What failed, when it did: the HTTP status of the answer and the signal whose query it answered, where known. */
  readonly failure?: { readonly status?: number; readonly signal?: SignalId };
  /** Stopped by the caller (Ctrl-C) before the duration was up, without a breach. */
  readonly stoppedEarly?: boolean;
  readonly startedAt: string;
  readonly endedAt: string;
}

export interface MonitorOptions {
  readonly signals: readonly Signal[];
  readonly api: QueryApi;
  readonly durationMs: number;
  readonly intervalMs: number;
  /** Polls in a row a signal must be above its threshold to count as breached. @default 1 */
  readonly consecutive?: number;
  readonly clock?: Clock;
  /** Called after each poll. */
  readonly onPoll?: (poll: Poll) => void;
  /** Stops monitoring after the current poll (Ctrl-C); the verdict covers the polls so far. */
  readonly signal?: AbortSignal;
}

/**
 * Polls every signal at once each interval for the duration, and stops early at the first breach.
 * Never throws for Prometheus failures: they end the run with the verdict `unreachable`.
 */
export async function monitor(options: MonitorOptions): Promise<MonitorResult> {
  const clock = options.clock ?? systemClock;
  const consecutive = options.consecutive ?? 1;
  const start = clock.now();
  const polls: Poll[] = [];
  const streak = new Map<SignalId, number>();
  const seen = new Set<SignalId>();
  const breaches: Breach[] = [];
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const finish = (verdict: Verdict, error?: PrometheusError): MonitorResult => ({
    verdict,
    polls,
    breaches,
    // "No data" is about answers: a Prometheus that could not be queried is the failure, not missing figures.
    noData: error ? [] : options.signals.filter((s) => !s.optional && !seen.has(s.id)).map((s) => s.id),
    ...(error ? { error: error.message, failure: { status: error.details.status, signal: options.signals.find((s) => s.query === error.details.query)?.id } } : {}),
    startedAt: iso(start),
    endedAt: iso(clock.now()),
  });

  for (let i = 0; ; i++) {
    const at = clock.now();
    let values: Record<SignalId, number | null>;
    try {
      // One call for every signal: a retry is one round (one line), and none runs past the duration.
      const results = await options.api.queryAll(options.signals.map((s) => s.query), start + options.durationMs);
      values = Object.fromEntries(options.signals.map((s, k) => [s.id, worst(results[k]!)])) as Record<SignalId, number | null>;
    } catch (e) {
      if (e instanceof PrometheusError) return finish('unreachable', e);
      throw e;
    }
    const above: SignalId[] = [];
    for (const s of options.signals) {
      const v = values[s.id];
      if (v !== null) seen.add(s.id);
      if (v !== null && v > s.threshold) {
        above.push(s.id);
        streak.set(s.id, (streak.get(s.id) ?? 0) + 1);
        if (streak.get(s.id) === consecutive) breaches.push({ signal: s.id, value: v, threshold: s.threshold, at: iso(at) });
      } else streak.set(s.id, 0);
    }
    const poll: Poll = { at: iso(at), elapsedMs: at - start, values, above };
    polls.push(poll);
    options.onPoll?.(poll);
    if (breaches.length > 0) return finish('breached');
    if (clock.now() - start >= options.durationMs || options.signal?.aborted) break;
    const next = Math.min(start + (i + 1) * options.intervalMs, start + options.durationMs);
    await clock.sleep(Math.max(0, next - clock.now()), options.signal);
    if (options.signal?.aborted) break;
  }
  const result: MonitorResult = { ...finish('healthy'), stoppedEarly: options.signal?.aborted || undefined };
  return result.noData.length > 0 ? { ...result, verdict: 'no-data' } : result;
}

/** The highest value of a result (the worst series), ignoring NaN; null when there is none. */
function worst(samples: readonly Sample[]): number | null {
  let max: number | null = null;
  for (const { value } of samples) if (!Number.isNaN(value) && (max === null || value > max)) max = value;
  return max;
}

/** The exit code of a verdict: 0 healthy, 3 breached, 1 could not judge. */
export const VERDICT_EXIT: Readonly<Record<Verdict, number>> = { healthy: 0, breached: 3, 'no-data': 1, unreachable: 1 };
/** The exit code when the user stopped monitoring early without a breach (128 + SIGINT). */
export const STOPPED_EXIT = 130;

/** The exit code of a result. */
export const exitCode = (r: MonitorResult): number => (r.stoppedEarly && r.verdict === 'healthy' ? STOPPED_EXIT : VERDICT_EXIT[r.verdict]);

/** A figure for people: `2.50%`, `0.180s`, `+Inf`, `n/a`. */
export function formatValue(value: number | null, unit: Signal['unit']): string {
  if (value === null) return 'n/a';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return unit === 'ratio' ? `${trim((value * 100).toFixed(2))}%` : `${value.toFixed(3)}s`;
}

/** A threshold for people: `5%`, `2s`. */
export function formatThreshold(value: number, unit: Signal['unit']): string {
  return unit === 'ratio' ? `${trim((value * 100).toFixed(3))}%` : `${trim(value.toFixed(3))}s`;
}

const trim = (n: string): string => (n.includes('.') ? n.replace(/\.?0+$/, '') : n);

export interface RollbackCommand {
  readonly flag: string;
  readonly environment: string;
  readonly reason: string;
  readonly ticket?: string;
}

/** The kill-switch command a breach asks for, ready to paste. */
export function rollbackCommand(c: RollbackCommand): string {
  return ['npx flagops disable', c.flag, '--env', c.environment, '--reason', shellQuote(c.reason), ...(c.ticket ? ['--ticket', shellQuote(c.ticket)] : [])].join(' ');
}

/** Why to roll back, from the breaches: `error ratio 12.5% > 5%`. */
export function rollbackReason(signals: readonly Signal[], breaches: readonly Breach[], rollout: number | undefined): string {
  const what = breaches
    .map((b) => {
      const s = signals.find((x) => x.id === b.signal)!;
      return `${s.label} ${formatValue(b.value, s.unit)} > ${formatThreshold(b.threshold, s.unit)}`;
    })
    .join(', ');
  return `Rollback: ${what} during the ${rollout === undefined ? '' : `${rollout}% `}rollout (flagops monitor)`;
}

/** Quotes for a POSIX shell only when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
