/**
 * Findings and tables as text: the one-line `file:line:col: severity: message [rule]` form and the
 * summary line, shared by the CLI (cli/report.ts prints them) and the Pulumi program and policy pack.
 */
import pc from 'picocolors';
import { countFindings, type Finding } from '../../model/findings.ts';
import { printable } from './printable.ts';

export function formatFinding(f: Finding, color: boolean): string {
  // A finding about the project as a whole (no file, e.g. the git base) reads `flagops: error: ...`.
  const file = f.file === '' ? 'flagops' : printable(f.file);
  const where = f.line > 0 ? `${file}:${f.line}:${f.col}` : file;
  const sev = color ? (f.severity === 'error' ? pc.red(pc.bold('error')) : pc.yellow(pc.bold('warning'))) : f.severity;
  const rule = color ? pc.dim(`[${f.rule}]`) : `[${f.rule}]`;
  return `${color ? pc.bold(where) : where}: ${sev}: ${printable(f.message)} ${rule}`;
}

/** `2 errors, 1 warning in 2 files`, or `no problems`. */
export function summarize(findings: readonly Finding[]): string {
  // A finding that stands for others not kept (model/findings.ts' FindingList) counts them all.
  const errors = countFindings(findings.filter((f) => f.severity === 'error'));
  const warnings = countFindings(findings) - errors;
  if (findings.length === 0) return 'no problems';
  const files = new Set(findings.map((f) => f.file).filter((f) => f !== '')).size;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}${files > 0 ? ` in ${plural(files, 'file')}` : ''}`;
}

/** A plain left-aligned table; every cell printable (one line, escapes shown). */
export function table(rows: readonly (readonly string[])[], header: readonly string[]): string[] {
  const all = [header, ...rows].map((r) => r.map(printable));
  const widths = header.map((_, i) => all.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(all[0]!), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)];
}
