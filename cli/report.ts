/** How findings and tables are printed: like a compiler, colour only on a TTY. */
import pc from 'picocolors';
import { sortFindings, type Finding } from '../policies/findings.ts';

export interface Output {
  out(line: string): void;
  err(line: string): void;
  readonly color: boolean;
}

export const consoleOutput = (): Output => ({
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
});

export function formatFinding(f: Finding, color: boolean): string {
  const where = f.line > 0 ? `${f.file}:${f.line}:${f.col}` : f.file;
  const sev = color ? (f.severity === 'error' ? pc.red(pc.bold('error')) : pc.yellow(pc.bold('warning'))) : f.severity;
  const rule = color ? pc.dim(`[${f.rule}]`) : `[${f.rule}]`;
  return `${color ? pc.bold(where) : where}: ${sev}: ${f.message} ${rule}`;
}

/** `2 errors, 1 warning in 2 files`, or `no problems`. */
export function summarize(findings: readonly Finding[]): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  if (findings.length === 0) return 'no problems';
  const files = new Set(findings.map((f) => f.file)).size;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(files, 'file')}`;
}

export function printFindings(o: Output, findings: readonly Finding[], format: 'text' | 'json', context: string): void {
  const sorted = sortFindings(findings);
  if (format === 'json') {
    o.out(JSON.stringify({ findings: sorted, summary: { errors: sorted.filter((f) => f.severity === 'error').length, warnings: sorted.filter((f) => f.severity === 'warning').length } }, null, 2));
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
