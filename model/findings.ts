/**
 * Findings: what every policy returns. A policy is a pure function from a model (or synthesized
 * objects) to findings; it never prints and never exits. The CLI formats them like a compiler.
 */

export type Severity = 'error' | 'warning';

/** One problem, at one place, under one stable rule id. */
export interface Finding {
  /** Path relative to the project root, with forward slashes. */
  readonly file: string;
  /** 1-based line; 0 when the problem is about the whole file. */
  readonly line: number;
  /** 1-based column; 0 when the problem is about the whole file. */
  readonly col: number;
  readonly severity: Severity;
  /** Stable rule id, see docs/rules.md. */
  readonly rule: string;
  readonly message: string;
}

/** A place in a source file. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * Finds the source location of a value or key inside a parsed file, by its path
 * (`['flags', 'x_enabled', 'rollout']`). Falls back to the nearest existing ancestor.
 */
export interface Locator {
  readonly file: string;
  locate(path: readonly (string | number)[], at?: 'key' | 'value'): Location;
}

/** A locator for a file that has no parsed source (whole-file findings). */
export function fileLocator(file: string): Locator {
  return { file, locate: () => ({ file, line: 0, col: 0 }) };
}

export function finding(at: Location, severity: Severity, rule: string, message: string): Finding {
  return { file: at.file, line: at.line, col: at.col, severity, rule, message };
}

export const error = (at: Location, rule: string, message: string): Finding => finding(at, 'error', rule, message);
export const warning = (at: Location, rule: string, message: string): Finding => finding(at, 'warning', rule, message);

/**
 * Code-unit order: the same on every machine whatever its locale (a collator follows LANG), and
 * free, where setting up an Intl.Collator costs a short command about 10 ms.
 */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Orders findings by file, line, column, rule: the order they are printed in. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => compare(a.file, b.file) || a.line - b.line || a.col - b.col || compare(a.rule, b.rule) || compare(a.message, b.message));
}

export const hasErrors = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === 'error');

/** `--strict`: warnings become errors. */
export function strict(findings: readonly Finding[]): Finding[] {
  return findings.map((f) => (f.severity === 'warning' ? { ...f, severity: 'error' } : f));
}
