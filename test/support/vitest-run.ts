/**
 * vitest run from a test, on other test files: for what only a whole run shows (what is skipped,
 * what fails and with which message, under which user and environment).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.ts';
import { nodeBinary } from './unprivileged.ts';

/** vitest's JSON report (`--reporter=json`), the fields the tests read. */
export interface VitestReport {
  readonly numFailedTests: number;
  readonly testResults: readonly {
    /** The test file, absolute. */
    readonly name: string;
    readonly assertionResults: readonly { readonly ancestorTitles: readonly string[]; readonly title: string; readonly status: string; readonly failureMessages: readonly string[] }[];
  }[];
}

export interface VitestRun {
  readonly report: VitestReport;
  /** Where the report was written. */
  readonly reportFile: string;
  /** What the default reporter printed, stdout and stderr. */
  readonly output: string;
  readonly status: number | null;
}

export interface VitestRunOptions {
  /** Added to the test process's environment (its VITEST* variables left out); `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The vitest of this checkout. @default the repository's */
  readonly root?: string;
  /** Run as this user (the tests run as root), who then owns the report's folder, with a node that user may run. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/** `vitest run ...args` in `cwd`, with the default reporter and a JSON report. */
export function runVitest(cwd: string, args: readonly string[], options: VitestRunOptions = {}): VitestRun {
  const out = mkdtempSync(join(tmpdir(), 'flagops-vitest-report-'));
  if (options.user) chownSync(out, options.user.uid, options.user.gid);
  const reportFile = join(out, 'report.json');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const vitest = join(options.root ?? REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const r = spawnSync(options.user ? nodeBinary() : process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile=${reportFile}`, ...args], {
    cwd,
    encoding: 'utf8',
    env,
    ...(options.user ?? {}),
  });
  let report: VitestReport;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as VitestReport;
  } catch {
    throw new Error(`vitest ${args.join(' ')} in ${cwd} wrote no report (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return { report, reportFile, output: r.stdout + r.stderr, status: r.status };
}
