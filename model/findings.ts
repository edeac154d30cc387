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
  /**
   * Only on the one finding that stands for findings not kept (see {@link FindingList}): how many
   * more findings of this rule and severity the file has. Its line and column are 0.
   */
  readonly omitted?: number;
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

/** How many findings `findings` stands for: each counts 1, one that stands for those not kept counts them. */
export const countFindings = (findings: readonly Finding[]): number => findings.reduce((n, f) => n + (f.omitted ?? 1), 0);

/**
 * Most findings kept of one rule and severity in one file: the text output shows 100 of them, and
 * a 10 MB file can hold millions of problems (each finding kept costs a few hundred bytes).
 */
export const MAX_KEPT_PER_RULE = 1000;

/**
 * The findings a command decides by, which no other finding may push out of a {@link FindingList}:
 * those `test` marks among the findings of `files` (the files an edit writes: say, the errors in
 * the entry a kill switch writes).
 */
export interface Keep {
  readonly files: ReadonlySet<string>;
  readonly test: (finding: Finding) => boolean;
}

/**
 * Findings as they are found, keeping at most {@link MAX_KEPT_PER_RULE} of one rule and severity
 * in one file and counting the rest, so that memory stays bounded whatever the input: the first
 * ones found are kept; {@link toArray} adds one finding per group that stands for the rest
 * (`omitted`). Findings `keep` marks (see {@link Keep}) are capped on their own, so no other
 * finding can push one out.
 */
export class FindingList {
  private readonly kept: Finding[] = [];
  private readonly counts = new Map<string, number>();
  private readonly omitted = new Map<string, { file: string; rule: string; severity: Severity; count: number }>();

  constructor(
    private readonly keep?: Keep,
    private readonly limit = MAX_KEPT_PER_RULE,
  ) {}

  /**
   * Whether a finding of `rule` and `severity` in `file` would be kept now: when not, a caller may
   * {@link count} it instead of building it (its message and position cost more than the count).
   * Always true in the files `keep` decides in: the finding is needed to ask it.
   */
  wants(file: string, rule: string, severity: Severity): boolean {
    return this.keep?.files.has(file) === true || (this.counts.get(`${file}\0${rule}\0${severity}\0${0}`) ?? 0) < this.limit;
  }

  push(f: Finding): void {
    if (f.omitted !== undefined) return this.count(f.file, f.rule, f.severity, f.omitted);
    const key = `${f.file}\0${f.rule}\0${f.severity}\0${this.keep?.files.has(f.file) && this.keep.test(f) ? 1 : 0}`;
    const n = this.counts.get(key) ?? 0;
    if (n < this.limit) {
      this.counts.set(key, n + 1);
      this.kept.push(f);
    } else this.count(f.file, f.rule, f.severity, 1);
  }

  addAll(findings: Iterable<Finding>): this {
    for (const f of findings) this.push(f);
    return this;
  }

  /** Counts `n` findings that are not kept. */
  count(file: string, rule: string, severity: Severity, n: number): void {
    const key = `${file}\0${rule}\0${severity}`;
    const o = this.omitted.get(key);
    if (o) o.count += n;
    else this.omitted.set(key, { file, rule, severity, count: n });
  }

  /** The findings kept, in the order found, then one per group of those not kept. */
  toArray(): Finding[] {
    return [...this.kept, ...[...this.omitted.values()].map((o) => omittedFinding(o.file, o.rule, o.severity, o.count, this.limit))];
  }
}

function omittedFinding(file: string, rule: string, severity: Severity, count: number, limit: number): Finding {
  const where = file === '' ? '' : ` in ${file}`;
  const message = `${count} more [${rule}] ${severity}${count === 1 ? '' : 's'}${where} not listed: flagops keeps the first ${limit} of one rule in one file`;
  return { file, line: 0, col: 0, severity, rule, message, omitted: count };
}

/** Findings capped as {@link FindingList} keeps them. */
export const capFindings = (findings: Iterable<Finding>, keep?: Keep): Finding[] => new FindingList(keep).addAll(findings).toArray();

/** `--strict`: warnings become errors. */
export function strict(findings: readonly Finding[]): Finding[] {
  return findings.map((f) => (f.severity === 'warning' ? { ...f, severity: 'error' } : f));
}
