/**
 * Mutation testing of the modules that guard production (docs/testing.md#mutation-testing), with
 * StrykerJS: it plants small bugs (mutants) in a module one at a time and runs the tests that guard
 * it; a mutant no test notices "survives".
 *
 *   npm run mutation                                   # every guarded module, one after another
 *   npm run mutation -- common/text/redact.ts          # only these modules (what you changed)
 *   npm run mutation -- --plan                         # the modules and their tests, nothing run
 *   npm run mutation -- lib/workspace/links.ts --force # options from the first `-...` on go to Stryker
 *
 * Each module is its own Stryker run (stryker.config.json, plus `mutate` from {@link GUARDED}, its
 * tests through {@link MUTATION_TESTS}), so its dry run only runs the tests that guard it (the whole suite would be
 * related to almost every module through the CLI) and its score is its own. Runs are incremental:
 * the results are kept per module in reports/mutation/incremental/ (committed), and a later run
 * only tests the mutants whose code or covering tests changed. Reports: reports/mutation/<module>/.
 *
 * Exit 0 when every module run scored at least {@link GOAL}%, 1 otherwise, 2 for a usage mistake.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STRYKER = join(ROOT, 'node_modules/@stryker-mutator/core/bin/stryker.js');
/** The mutation score every guarded module must reach (issue 23). */
export const GOAL = 90;
export const BASE_CONFIG = 'stryker.config.json';
export const INCREMENTAL_DIR = 'reports/mutation/incremental';
/** The environment variable that names the test files vitest.mutation.config.ts runs (comma-separated). */
export const MUTATION_TESTS = 'FLAGOPS_MUTATION_TESTS';

/**
 * Each guarded module and the test files that guard it (run for its mutants). A test file that
 * reaches the module only through a child process (the real executable) does not count: Stryker
 * sees coverage and activates mutants in the test's own process only.
 */
export const GUARDED: Readonly<Record<string, readonly string[]>> = {
  'policies/change-rules.ts': ['test/change-rules-model.test.ts', 'test/change-rules.test.ts', 'test/judged-by-main.test.ts'],
  'policies/state-rules.ts': ['test/state-rules.test.ts', 'test/flag-rules.test.ts'],
  'policies/identity-rules.ts': ['test/identity-rules.test.ts', 'test/pull-request-identities.test.ts'],
  'policies/manifest-policies.ts': ['test/manifest-policies.test.ts', 'test/manifest-schemas.test.ts', 'test/labels.test.ts'],
  'lib/edits/edits.ts': ['test/edits.test.ts'],
  'lib/edits/kill-switch.ts': ['test/kill-switch-patch.test.ts'],
  'lib/workspace/transaction.ts': ['test/transaction.test.ts', 'test/journal.test.ts'],
  'lib/workspace/links.ts': ['test/links.test.ts'],
  'common/text/redact.ts': ['test/redact.test.ts'],
  'common/text/printable.ts': ['test/printable.test.ts'],
  'lib/review/review.ts': ['test/lane.test.ts', 'test/review.test.ts'],
  'lib/review/base.ts': ['test/base.test.ts'],
  'lib/review/base-project.ts': ['test/base-project.test.ts', 'test/judged-by-main.test.ts'],
  'lib/review/audit.ts': ['test/audit-trail.test.ts', 'test/audit.test.ts'],
};

/** Where a module's results are kept between runs: `common/text/redact.ts` → `.../common.text.redact.json`. */
export const incrementalFile = (module: string): string => `${INCREMENTAL_DIR}/${module.replace(/\.ts$/, '').replaceAll('/', '.')}.json`;
const reportDir = (module: string): string => `reports/mutation/${module.replace(/\.ts$/, '').replaceAll('/', '.')}`;

/** What a mutant's status counts as in the score: detected, undetected, or not counted (invalid code, ignored). */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

export interface Score {
  readonly module: string;
  readonly detected: number;
  readonly survived: number;
  readonly noCoverage: number;
  readonly score: number;
  readonly seconds: number;
}

/** The score of `module` in a mutation-testing-report-schema JSON report (Stryker's `json` reporter). */
export function scoreOf(report: { files: Record<string, { mutants: { status: string }[] }> }, module: string, seconds: number): Score {
  const mutants = report.files[module]?.mutants ?? [];
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const survived = mutants.filter((m) => m.status === 'Survived').length;
  const noCoverage = mutants.filter((m) => m.status === 'NoCoverage').length;
  const counted = mutants.filter((m) => DETECTED.has(m.status) || UNDETECTED.has(m.status)).length;
  return { module, detected, survived, noCoverage, score: counted === 0 ? 100 : Math.floor((detected / counted) * 10000) / 100, seconds };
}

function usage(message: string): never {
  process.stderr.write(`mutation: error: ${message}\nguarded modules:\n${Object.keys(GUARDED).map((m) => `  ${m}`).join('\n')}\n`);
  process.exit(2);
}

function run(argv: readonly string[]): number {
  const firstOption = argv.findIndex((a) => a.startsWith('-') && a !== '--plan');
  const own = firstOption < 0 ? argv : argv.slice(0, firstOption);
  const forwarded = firstOption < 0 ? [] : argv.slice(firstOption);
  const plan = own.includes('--plan');
  const named = own.filter((a) => a !== '--plan').map((a) => a.replace(/^\.\//, ''));
  for (const m of named) if (!(m in GUARDED)) usage(`${JSON.stringify(m)} is not a guarded module; name one of them (or none for all)`);
  const modules = named.length > 0 ? named : Object.keys(GUARDED);
  if (plan) {
    for (const m of modules) process.stdout.write(`${m}: ${GUARDED[m]!.join(' ')}\n`);
    return 0;
  }
  const base = JSON.parse(readFileSync(join(ROOT, BASE_CONFIG), 'utf8')) as Record<string, unknown>;
  const scores: Score[] = [];
  for (const module of modules) {
    const dir = reportDir(module);
    mkdirSync(join(ROOT, dir), { recursive: true });
    mkdirSync(join(ROOT, INCREMENTAL_DIR), { recursive: true });
    const config = join(dir, 'stryker.config.json');
    const json = `${dir}/mutation.json`;
    writeFileSync(
      join(ROOT, config),
      `${JSON.stringify({ ...base, $schema: undefined, mutate: [module], incrementalFile: incrementalFile(module), htmlReporter: { fileName: `${dir}/mutation.html` }, jsonReporter: { fileName: json } }, null, 2)}\n`,
    );
    process.stdout.write(`\n== ${module} (tests: ${GUARDED[module]!.join(', ')})\n`);
    const started = process.hrtime.bigint();
    // The tests are chosen by vitest.mutation.config.ts, not by Stryker's option for test files: with
    // it, Stryker 9.6 activates a static mutant only after the module has loaded, so none is ever seen.
    const env = { ...process.env, [MUTATION_TESTS]: GUARDED[module]!.join(',') };
    const r = spawnSync(process.execPath, [STRYKER, 'run', config, ...forwarded], { cwd: ROOT, stdio: 'inherit', env });
    const seconds = Math.round(Number(process.hrtime.bigint() - started) / 1e9);
    if (r.status !== 0 || !existsSync(join(ROOT, json))) {
      process.stderr.write(`mutation: error: Stryker failed on ${module} (exit ${r.status ?? r.signal}); see its output above and stryker.log\n`);
      return 1;
    }
    scores.push(scoreOf(JSON.parse(readFileSync(join(ROOT, json), 'utf8')), module, seconds));
  }
  process.stdout.write('\nmodule | score | detected | survived | no coverage | time\n');
  for (const s of scores) process.stdout.write(`${s.module} | ${s.score}% | ${s.detected} | ${s.survived} | ${s.noCoverage} | ${s.seconds} s\n`);
  const low = scores.filter((s) => s.score < GOAL);
  for (const s of low) process.stderr.write(`mutation: ${s.module} scores ${s.score}%, under the goal of ${GOAL}%: kill its survivors with tests, or list them as equivalent in docs/testing.md\n`);
  return low.length > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(run(process.argv.slice(2)));
