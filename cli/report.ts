/** How findings and tables are printed: like a compiler, colour only on a TTY. */
import pc from 'picocolors';
import { sortFindings, type Finding } from '../policies/findings.ts';

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

export function formatFinding(f: Finding, color: boolean): string {
  // A finding about the project as a whole (no file, e.g. the git base) reads `flagops: error: ...`.
  const where = f.file === '' ? 'flagops' : f.line > 0 ? `${f.file}:${f.line}:${f.col}` : f.file;
  const sev = color ? (f.severity === 'error' ? pc.red(pc.bold('error')) : pc.yellow(pc.bold('warning'))) : f.severity;
  const rule = color ? pc.dim(`[${f.rule}]`) : `[${f.rule}]`;
  return `${color ? pc.bold(where) : where}: ${sev}: ${f.message} ${rule}`;
}

/** `2 errors, 1 warning in 2 files`, or `no problems`. */
export function summarize(findings: readonly Finding[]): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  if (findings.length === 0) return 'no problems';
  const files = new Set(findings.map((f) => f.file).filter((f) => f !== '')).size;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}${files > 0 ? ` in ${plural(files, 'file')}` : ''}`;
}

/** Prints findings and a summary line; `extra` goes into the JSON form next to `findings` (e.g. the base). */
export function printFindings(o: Output, findings: readonly Finding[], format: 'text' | 'json', context: string, extra: Readonly<Record<string, unknown>> = {}): void {
  const sorted = sortFindings(findings);
  if (format === 'json') {
    const summary = { errors: sorted.filter((f) => f.severity === 'error').length, warnings: sorted.filter((f) => f.severity === 'warning').length };
    o.out(JSON.stringify({ ...extra, findings: sorted, summary }, null, 2));
    return;
  }
  for (const f of sorted) o.out(formatFinding(f, o.color));
  o.out(`${context}: ${summarize(sorted)}`);
}

/** A plain left-aligned table. */
export function table(rows: readonly (readonly string[])[], header: readonly string[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
