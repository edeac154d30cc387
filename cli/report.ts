/**
 * How findings and tables are printed: like a compiler, colour only on a TTY.
 *
 * Everything printed that comes from files, git or servers goes through {@link printable} (text)
 * or {@link safeJson} (JSON): control characters, escape sequences, line breaks and invisible
 * bidi/zero-width characters are shown escaped (`\x1b`, `\n`), so they never reach the terminal
 * and a line break in a reason cannot forge a row.
 */
import pc from 'picocolors';
import { printable, safeJson } from '../lib/text/printable.ts';
import { sortFindings, type Finding } from '../model/findings.ts';
import { formatFinding, summarize, table } from '../lib/text/format.ts';

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

/** Prints findings and a summary line; `extra` goes into the JSON form next to `findings` (e.g. the base). */
export function printFindings(o: Output, findings: readonly Finding[], format: 'text' | 'json', context: string, extra: Readonly<Record<string, unknown>> = {}): void {
  const sorted = distinct(sortFindings(findings));
  if (format === 'json') {
    const summary = { errors: sorted.filter((f) => f.severity === 'error').length, warnings: sorted.filter((f) => f.severity === 'warning').length };
    o.out(safeJson({ ...extra, findings: sorted, summary }, 2));
    return;
  }
  const shown = new Map<string, number>();
  for (const f of sorted) {
    const key = `${f.file}\0${f.rule}`;
    const n = (shown.get(key) ?? 0) + 1;
    shown.set(key, n);
    if (n <= MAX_SHOWN_PER_RULE) o.out(formatFinding(f, o.color));
  }
  for (const [key, n] of shown) {
    if (n <= MAX_SHOWN_PER_RULE) continue;
    const [file, rule] = key.split('\0') as [string, string];
    o.out(`${printable(file)}: note: ${n - MAX_SHOWN_PER_RULE} more [${rule}] findings not shown (--format json lists them all)`);
  }
  o.out(`${context}: ${summarize(sorted)}`);
}

/**
 * Findings without exact repeats (same place, rule, severity and message): one line per problem
 * even when two checks reach the same conclusion. The order is kept.
 */
export function distinct(sorted: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return sorted.filter((f) => {
    const key = `${f.file}\0${f.line}\0${f.col}\0${f.severity}\0${f.rule}\0${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

