/**
 * The report `flagops monitor --report FILE` writes: the figures over time, the thresholds and
 * the verdict, as markdown (for a ticket or a pull request) or JSON (for machines).
 */
import { formatDuration } from '../../common/text/duration.ts';
import { printable, safeJson } from '../../common/text/printable.ts';
import { code, fenced, inline } from '../../common/text/markdown.ts';
import { exitCode, formatThreshold, formatValue, type MonitorResult, type Signal, type SignalId } from './monitor.ts';
import { shortSha } from '../../common/text/sha.ts';

export interface MonitorReport {
  readonly flag: string;
  readonly environment: string;
  readonly namespace: string;
  readonly job: string;
  /** The flag's state in the environment when monitoring started, e.g. `on 25%`. */
  readonly flagState?: string;
  /** Prometheus base URL without credentials. */
  readonly prometheus: string;
  /** PromQL range of the queries, e.g. `5m`. */
  readonly window: string;
  readonly intervalMs: number;
  readonly durationMs: number;
  readonly consecutive: number;
  readonly signals: readonly Signal[];
  readonly result: MonitorResult;
  /** The kill-switch command, when the verdict is `breached`. */
  readonly rollback?: string;
  /** The branch `--rollback` prepared the kill switch on (and the remote it was pushed to). */
  readonly rollbackBranch?: { readonly branch: string; readonly commit: string; readonly pushed?: string };
}

export type ReportFormat = 'markdown' | 'json';

/** The report format for a file name, or undefined for an unknown extension. */
export function reportFormat(file: string): ReportFormat | undefined {
  if (/\.(md|markdown)$/i.test(file)) return 'markdown';
  if (/\.json$/i.test(file)) return 'json';
  return undefined;
}

export function renderReport(report: MonitorReport, format: ReportFormat): string {
  return format === 'json' ? `${safeJson(toJson(report), 2)}\n` : toMarkdown(report);
}

/** What each verdict means for the person watching. */
export const VERDICT_TEXT: Readonly<Record<MonitorResult['verdict'], string>> = {
  healthy: 'healthy: no threshold was breached',
  breached: 'breached: roll back',
  'no-data': 'no data: Prometheus answered, but without the figures needed to judge the rollout',
  unreachable: 'unreachable: Prometheus could not be queried',
};

/** The verdict in words, saying so when the user stopped monitoring early. */
export function verdictText(result: MonitorResult): string {
  const text = VERDICT_TEXT[result.verdict];
  return result.stoppedEarly ? `${text} (stopped early by the user)` : text;
}

/** JSON has no Infinity: such values are written as Prometheus writes them, `"+Inf"`. */
const jsonValue = (v: number | null): number | string | null => (v === null || Number.isFinite(v) ? v : v > 0 ? '+Inf' : '-Inf');

function toJson(r: MonitorReport): unknown {
  return {
    flag: r.flag,
    environment: r.environment,
    namespace: r.namespace,
    job: r.job,
    flagState: r.flagState,
    prometheus: r.prometheus,
    window: r.window,
    intervalSeconds: r.intervalMs / 1000,
    durationSeconds: r.durationMs / 1000,
    consecutive: r.consecutive,
    verdict: r.result.verdict,
    exitCode: exitCode(r.result),
    stoppedEarly: r.result.stoppedEarly ?? false,
    startedAt: r.result.startedAt,
    endedAt: r.result.endedAt,
    signals: r.signals.map((s) => ({ id: s.id, label: s.label, threshold: s.threshold, unit: s.unit, setting: s.setting, optional: s.optional, query: s.query })),
    polls: r.result.polls.map((p) => ({
      at: p.at,
      elapsedSeconds: p.elapsedMs / 1000,
      values: Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, jsonValue(v)])),
      above: p.above,
    })),
    breaches: r.result.breaches.map((b) => ({ ...b, value: jsonValue(b.value) })),
    noData: r.result.noData,
    error: r.result.error,
    rollbackCommand: r.rollback,
    rollbackBranch: r.rollbackBranch ?? null,
  };
}

function toMarkdown(r: MonitorReport): string {
  const { result } = r;
  const label = (id: SignalId) => r.signals.find((s) => s.id === id)?.label ?? id;
  const lines = [
    `# Rollout monitor: ${inline(r.flag)} in ${inline(r.environment)}`,
    '',
    `**Verdict: ${verdictText(result)}** (exit code ${exitCode(result)})`,
    '',
    '| | |',
    '|---|---|',
    `| Flag | ${code(r.flag)}${r.flagState ? ` (${inline(r.flagState)} when monitoring started)` : ''} |`,
    `| Environment | ${inline(r.environment)} (namespace ${code(r.namespace)}, job ${code(r.job)}) |`,
    `| Prometheus | ${code(r.prometheus)} |`,
    `| Polling | every ${formatDuration(r.intervalMs)} for ${formatDuration(r.durationMs)}, queries over \`[${r.window}]\`; a breach is ${r.consecutive} poll${r.consecutive === 1 ? '' : 's'} in a row above a threshold |`,
    `| Started | ${result.startedAt} |`,
    `| Ended | ${result.endedAt} (${result.polls.length} poll${result.polls.length === 1 ? '' : 's'}) |`,
    '',
  ];
  if (result.breaches.length > 0) {
    lines.push('## Breaches', '');
    for (const b of result.breaches) {
      const s = r.signals.find((x) => x.id === b.signal)!;
      lines.push(`- ${b.at}: ${inline(s.label)} ${formatValue(b.value, s.unit)} > ${formatThreshold(b.threshold, s.unit)} (${code(s.setting)})`);
    }
    lines.push('');
  }
  if (r.rollbackBranch) {
    const b = r.rollbackBranch;
    lines.push(
      '## Roll back',
      '',
      `The kill switch is prepared on branch ${code(b.branch)} (commit ${code(shortSha(b.commit))}${b.pushed ? `, pushed to ${code(b.pushed)}` : ''}), with every rule checked against main: review and merge its pull request. The same change by hand:`,
      '',
      ...fenced(r.rollback ?? '', 'sh'),
      '',
    );
  } else if (r.rollback) lines.push('## Roll back', '', 'Run the kill switch, then open the pull request it prepares:', '', ...fenced(r.rollback, 'sh'), '');
  if (result.error) {
    // What failed first, then the message: server text, one printable line, in a code block (longer
    // than any backtick run in it) so markdown and HTML stay inert.
    const f = result.failure;
    const signal = f?.signal === undefined ? undefined : r.signals.find((s) => s.id === f.signal);
    const what = [f?.status === undefined ? 'no answer' : `HTTP ${f.status}`, signal ? `for the query of ${inline(signal.label)}: ${code(signal.query)}` : ''].filter(Boolean).join(' ');
    lines.push('## Failure', '', `Prometheus at ${code(r.prometheus)} could not be queried: ${what}. No figure was judged after this.`, '', ...fenced(printable(result.error), 'text'), '');
  }
  if (result.noData.length > 0) {
    lines.push('## No data', '', `No data in any poll for: ${result.noData.map((id) => inline(label(id))).join(', ')}. Check that the backend is scraped with job ${code(r.job)} and namespace ${code(r.namespace)}, and that it had traffic.`, '');
  }
  lines.push('## Thresholds', '', '| Signal | Threshold | Setting | Query |', '|---|---|---|---|');
  for (const s of r.signals) {
    lines.push(`| ${inline(s.label)}${s.optional ? ' (when present)' : ''} | ${formatThreshold(s.threshold, s.unit)} | ${code(s.setting)} | ${code(s.query)} |`);
  }
  lines.push('', '## Figures over time', '', `| Time | Elapsed | ${r.signals.map((s) => inline(s.label)).join(' | ')} |`, `|---|---|${r.signals.map(() => '---|').join('')}`);
  for (const p of result.polls) {
    const values = r.signals.map((s) => {
      const text = formatValue(p.values[s.id], s.unit);
      return p.above.includes(s.id) ? `**${text}**` : text;
    });
    lines.push(`| ${p.at} | ${formatDuration(p.elapsedMs)} | ${values.join(' | ')} |`);
  }
  if (result.polls.length === 0) lines.push(`| - | - | ${r.signals.map(() => '-').join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
