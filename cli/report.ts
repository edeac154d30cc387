/**
 * How findings and tables are printed: like a compiler, colour only on a TTY.
 *
 * Everything printed that comes from files, git or servers goes through {@link printable} (text)
 * or {@link safeJson} (JSON): control characters, escape sequences, line breaks and invisible
 * bidi/zero-width characters are shown escaped (`\x1b`, `\n`), so they never reach the terminal
 * and a line break in a reason cannot forge a row.
 */
import pc from 'picocolors';
import { printable, safeJson } from '../common/text/printable.ts';
import { countFindings, MAX_KEPT_PER_RULE, sortFindings, type Finding } from '../model/findings.ts';
import { formatFinding, summarize, table } from '../common/text/format.ts';

export { printable, safeJson };

export interface Output {
  out(line: string): void;
  err(line: string): void;
  readonly color: boolean;
  /**
   * Rewrites one live status line in place (a progress bar). Only present when stdout is a
   * terminal; commands print plain lines instead when it is undefined.
   */
  readonly status?: (line: string) => void;
}

export function consoleOutput(): Output {
  const tty = Boolean(process.stdout.isTTY);
  let live = false;
  // A plain line first clears the live status line, so the two never mix.
  const clear = () => {
    if (live) process.stdout.write('\r\x1b[2K');
    live = false;
  };
  return {
    out: (l) => {
      clear();
      process.stdout.write(`${l}\n`);
    },
    err: (l) => {
      clear();
      process.stderr.write(`${l}\n`);
    },
    color: tty && !process.env.NO_COLOR,
    status: tty
      ? (l) => {
          const width = process.stdout.columns || 120;
          process.stdout.write(`\r\x1b[2K${truncateVisible(l, width - 1)}`);
          live = l !== '';
        }
      : undefined,
  };
}

/** Cuts a line to `width` visible characters, keeping colour escapes intact. */
function truncateVisible(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const esc = /^\x1b\[[0-9;]*m/.exec(line.slice(i));
    if (esc) {
      out += esc[0];
      i += esc[0].length - 1;
      continue;
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}

/** Text output shows at most this many findings of one rule in one file; the summary counts them all. */
export const MAX_SHOWN_PER_RULE = 100;

/**
 * Prints findings and a summary line; `extra` goes into the JSON form next to `findings` (e.g. the
 * base). A finding that stands for others not kept (`omitted`, model/findings.ts' FindingList) is a
 * note in text and an entry of `omitted` in JSON; the summary counts every finding found.
 */
export function printFindings(o: Output, findings: readonly Finding[], format: 'text' | 'json', context: string, extra: Readonly<Record<string, unknown>> = {}): void {
  const sorted = distinct(sortFindings(findings));
  const listed = sorted.filter((f) => f.omitted === undefined);
  const omitted = new Map<string, number>();
  for (const f of sorted) if (f.omitted !== undefined) omitted.set(`${f.file}\0${f.rule}`, (omitted.get(`${f.file}\0${f.rule}`) ?? 0) + f.omitted);
  if (format === 'json') {
    const summary = { errors: countFindings(sorted.filter((f) => f.severity === 'error')), warnings: countFindings(sorted.filter((f) => f.severity === 'warning')) };
    const counted = sorted.filter((f) => f.omitted !== undefined).map((f) => ({ file: f.file, rule: f.rule, severity: f.severity, count: f.omitted }));
    o.out(safeJson({ ...extra, findings: listed, ...(counted.length > 0 ? { omitted: counted } : {}), summary }, 2));
    return;
  }
  const shown = new Map<string, number>();
  for (const f of listed) {
    const key = `${f.file}\0${f.rule}`;
    const n = (shown.get(key) ?? 0) + 1;
    shown.set(key, n);
    if (n <= MAX_SHOWN_PER_RULE) o.out(formatFinding(f, o.color));
  }
  for (const key of omitted.keys()) if (!shown.has(key)) shown.set(key, 0);
  for (const [key, n] of shown) {
    const notKept = omitted.get(key) ?? 0;
    if (n <= MAX_SHOWN_PER_RULE && notKept === 0) continue;
    const [file, rule] = key.split('\0') as [string, string];
    const more = Math.max(0, n - MAX_SHOWN_PER_RULE) + notKept;
    const json = notKept > 0 ? `--format json lists the first ${MAX_KEPT_PER_RULE}` : '--format json lists them all';
    o.out(`${file === '' ? 'flagops' : printable(file)}: note: ${more} more [${rule}] findings not shown (${json})`);
  }
  o.out(`${context}: ${summarize(sorted)}`);
}

/**
 * Findings without exact repeats (same place, rule, severity and message): one line per problem
 * even when two checks reach the same conclusion. The order is kept. `sorted` is in
 * {@link sortFindings}' order, where repeats are neighbours (only the severity is not sorted on), so
 * each finding is compared with the run of its equals before it: no key is built per finding.
 */
export function distinct(sorted: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  let run = 0; // where the run of findings equal to the last one (but for severity) starts in `out`
  for (const f of sorted) {
    const last = out[out.length - 1];
    if (!last || !samePlaceAndText(last, f)) run = out.length;
    else if (out.slice(run).some((g) => g.severity === f.severity && g.omitted === f.omitted)) continue;
    out.push(f);
  }
  return out;
}

const samePlaceAndText = (a: Finding, b: Finding): boolean => a.file === b.file && a.line === b.line && a.col === b.col && a.rule === b.rule && a.message === b.message;

/** An environment a command could not do, and why: the errors that stop it, or one problem (its settings cannot be loaded). */
export interface Skipped {
  readonly environment: string;
  readonly errors?: readonly Finding[];
  readonly problem?: string;
}

/**
 * Says on stderr which environments `command` skipped and why, each with the errors that stop it
 * as `check` prints them (file:line:col) and a summary line; the other environments' output stands.
 */
export function printSkipped(o: Output, command: string, skipped: readonly Skipped[], what = 'it cannot be synthesized'): void {
  const toErr: Output = { out: (l) => o.err(l), err: (l) => o.err(l), color: o.color };
  for (const s of skipped) {
    if (s.problem !== undefined) {
      o.err(`flagops ${command}: ${s.environment} skipped: ${printable(s.problem)}`);
      continue;
    }
    o.err(`flagops ${command}: ${s.environment} skipped (${what}); fix these first:`);
    printFindings(toErr, s.errors ?? [], 'text', `flagops ${command}: ${s.environment} skipped`);
  }
}
