/**
 * Reads the JSON report of a vitest run and fails when any test did not run: under CI every test
 * must run (docs/testing.md#what-ci-requires), and a skip there would hide a missing tool. Prints
 * the counts either way, then each test that did not run, by file and full name.
 *
 *   npm test -- --reporter=default --reporter=json --outputFile=vitest.json
 *   node --import tsx scripts/skipped-tests.ts vitest.json
 *
 * Exit 0 when every test ran (passed or failed: failures are the test run's own exit code), 1 when
 * a test was skipped, marked todo, or no test ran at all, 2 when the report cannot be read.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { printable } from '../common/text/printable.ts';

/** What the JSON reporter writes (the fields read here). */
interface VitestReport {
  readonly testResults: readonly {
    readonly name: string;
    readonly assertionResults: readonly { readonly ancestorTitles?: readonly string[]; readonly title: string; readonly status: string }[];
  }[];
}

export interface TestCounts {
  readonly files: number;
  readonly passed: number;
  readonly failed: number;
  /** Every test that did not run, as `file: describe > ... > title (status)`. */
  readonly notRun: readonly string[];
}

/** The tests of a report by outcome; files relative to `root`. Throws when `json` is not a vitest JSON report. */
export function countTests(json: unknown, root: string): TestCounts {
  const report = json as Partial<VitestReport> | null;
  if (typeof report !== 'object' || report === null || !Array.isArray(report.testResults)) throw new Error('not a vitest JSON report (no testResults)');
  let passed = 0;
  let failed = 0;
  const notRun: string[] = [];
  for (const file of report.testResults) {
    const path = relative(root, String(file.name));
    const shown = path.startsWith('..') ? String(file.name) : path;
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'passed') passed++;
      else if (test.status === 'failed') failed++;
      else notRun.push(printable(`${shown}: ${[...(test.ancestorTitles ?? []), test.title].join(' > ')} (${test.status})`));
    }
  }
  return { files: report.testResults.length, passed, failed, notRun };
}

/** The lines to print, and the exit code: 1 when a test did not run or none ran. */
export function judge(counts: TestCounts): { lines: string[]; code: number } {
  const lines = [`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.notRun.length} skipped or todo, in ${counts.files} file${counts.files === 1 ? '' : 's'}`];
  if (counts.notRun.length > 0) {
    lines.push(`error: ${counts.notRun.length} test${counts.notRun.length === 1 ? '' : 's'} did not run; under CI every test must run: install what a skipped test needs (its message says what), remove .skip/.todo (docs/testing.md#what-ci-requires)`);
    for (const t of counts.notRun) lines.push(`  ${t}`);
    return { lines, code: 1 };
  }
  if (counts.passed + counts.failed === 0) return { lines: [...lines, 'error: no test ran: the report holds no test'], code: 1 };
  return { lines, code: 0 };
}

export function run(args: readonly string[], root = process.cwd()): { lines: string[]; code: number } {
  if (args.length !== 1 || args[0]!.startsWith('-')) return { lines: ['usage: node --import tsx scripts/skipped-tests.ts REPORT.json (the file of vitest --reporter=json --outputFile=...)'], code: 2 };
  const file = args[0]!;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(resolve(root, file), 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist: the test run ended before writing it (see its output above)' : (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return { lines: [`error: cannot read the test report ${printable(file)}: ${printable(why)}`], code: 2 };
  }
  try {
    return judge(countTests(json, root));
  } catch (e) {
    return { lines: [`error: ${printable(file)} is ${printable((e as Error).message)}`], code: 2 };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { lines, code } = run(process.argv.slice(2));
  for (const line of lines) console.log(line);
  process.exitCode = code;
}
