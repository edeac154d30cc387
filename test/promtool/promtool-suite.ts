/**
 * Turns the scenarios into promtool rule tests for one environment and runs the real promtool on
 * them, against the rules extracted from that environment's dist/.
 *
 * promtool evaluates every rule of its rule files at every step of every test group, so a group
 * costs the number of rules times its steps. Each group's rules are the ones it can observe: the
 * alert it tests (or the series its PromQL test reads), and the recording rules those read (all
 * rules when one reads `ALERTS`). Rule groups keep their names, intervals and the order of their
 * rules, so every observed rule evaluates exactly as in the whole file; the whole file is proven
 * valid by `promtool check rules`. The groups that observe the same rules share a test file, and
 * one promtool run takes every file: about a sixth of the time of one file over all the rules.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { EXPECTED_PRIORITY, EXPECTED_SEVERITY, firesIn, NAMESPACES, SCENARIOS, type Environment } from './scenarios.ts';

/** Whether promtool is on PATH. */
export function havePromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

export interface TestGroup {
  readonly name: string;
  readonly interval: string;
  readonly input_series: readonly object[];
  readonly alert_rule_test?: readonly { readonly alertname: string }[];
  readonly promql_expr_test?: readonly { readonly expr: string }[];
}

interface TestFile {
  readonly rule_files: readonly string[];
  readonly evaluation_interval: string;
  readonly tests: readonly TestGroup[];
}

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
}

export interface RuleGroups {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
}

/** The promtool test file (as an object) of one environment, reading `rules.yaml` next to it. */
export function promtoolTests(env: Environment): TestFile {
  const ns = NAMESPACES[env];
  const tests = SCENARIOS.map((s) => {
    const fires = firesIn(s, env);
    const expected = EXPECTED_PRIORITY[s.alert];
    if (!expected) throw new Error(`no expected priority for ${s.alert}`);
    const priority = env === 'dev' ? expected[1] : expected[0];
    return {
      name: `${s.alert} ${fires ? 'fires' : 'stays quiet'} in ${env}: ${s.name}`,
      interval: s.interval ?? '1m',
      input_series: s.series(ns),
      alert_rule_test: [
        {
          eval_time: s.evalTime,
          alertname: s.alert,
          exp_alerts: fires
            ? [{ exp_labels: { ...s.labels?.(ns), severity: EXPECTED_SEVERITY[priority], priority, environment: env, namespace: ns } }]
            : [],
        },
      ],
    };
  });
  return { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: [...tests, sloRecordingTest(env)] };
}

/** The SLO recording rules hold the error ratio of every window, with the environment's labels. */
function sloRecordingTest(env: Environment): TestGroup {
  const ns = NAMESPACES[env];
  const labels = `{job="pms-backend", namespace="${ns}", slo="availability"}`;
  return {
    name: `SLO recording rules in ${env}: a quarter of requests failing for 4 hours is a 0.25 error ratio in every window`,
    interval: '1m',
    input_series: [
      { series: `http_requests_total{job="pms-backend", namespace="${ns}", status="200"}`, values: '0+75x300' },
      { series: `http_requests_total{job="pms-backend", namespace="${ns}", status="500"}`, values: '0+25x300' },
    ],
    promql_expr_test: ['5m', '30m', '1h', '2h', '6h', '1d', '3d'].map((w) => ({
      expr: `pms:http_requests_errors:ratio_rate${w}`,
      eval_time: '4h',
      exp_samples: [{ labels: `pms:http_requests_errors:ratio_rate${w}${labels}`, value: 0.25 }],
    })),
  };
}

export interface PromtoolRun {
  readonly code: number;
  readonly output: string;
  readonly dir: string;
}

/** The names a PromQL expression may read (metric names, recording rules, `ALERTS`): every identifier in it, a superset. */
const namesIn = (expr: string): string[] => expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];

/**
 * The rules a test group observes: those of the alerts it tests, those recording a series one of
 * its PromQL tests reads, and, transitively, the recording rules those rules read; every rule when
 * one of them reads `ALERTS` (its result depends on every alert). In the groups and order of `rules`.
 */
export function rulesObservedBy(group: TestGroup, rules: RuleGroups): RuleGroups {
  const all = rules.groups.flatMap((g) => g.rules);
  const alerts = new Set((group.alert_rule_test ?? []).map((t) => t.alertname));
  const wanted = new Set(all.filter((r) => r.alert !== undefined && alerts.has(r.alert)));
  const names = [...(group.promql_expr_test ?? []).map((t) => t.expr), ...[...wanted].map((r) => r.expr)].flatMap(namesIn);
  for (let i = 0; i < names.length; i++) {
    if (names[i] === 'ALERTS' || names[i] === 'ALERTS_FOR_STATE') return rules;
    for (const rule of all) {
      if (rule.record !== names[i] || wanted.has(rule)) continue;
      wanted.add(rule);
      names.push(...namesIn(rule.expr));
    }
  }
  return { groups: rules.groups.map((g) => ({ ...g, rules: g.rules.filter((r) => wanted.has(r)) })).filter((g) => g.rules.length > 0) };
}

/**
 * Writes `rules` and the environment's tests into a temp folder and runs `promtool test rules` on
 * them, each test group against the rules it observes ({@link rulesObservedBy}), in one run.
 * `withAnnotations: false` strips annotations from the rules: promtool compares annotations
 * verbatim, and the generic scenarios assert labels only (annotations have their own test file).
 */
export function runPromtoolTests(env: Environment, rules: string): PromtoolRun {
  const dir = rulesDir(env, rules);
  const parsed = parse(rules) as RuleGroups;
  const tests = promtoolTests(env);
  // One rule file and one test file per distinct set of observed rules.
  const files = new Map<string, { rules: string; tests: TestGroup[] }>();
  for (const group of tests.tests) {
    const text = stringify(rulesObservedBy(group, parsed), { lineWidth: 0 });
    const file = files.get(text) ?? { rules: `rules-${files.size + 1}.yaml`, tests: [] };
    file.tests.push(group);
    files.set(text, file);
  }
  const names: string[] = [];
  for (const [text, file] of files) {
    writeFileSync(join(dir, file.rules), text);
    const name = file.rules.replace('rules-', 'tests-');
    writeFileSync(join(dir, name), stringify({ ...tests, rule_files: [file.rules], tests: file.tests }, { lineWidth: 0 }));
    names.push(name);
  }
  return promtool(dir, ['test', 'rules', ...names]);
}

/** A temp folder holding `rules` as `rules.yaml`. */
export function rulesDir(env: Environment, rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), `flagops-promtool-${env}-`));
  writeFileSync(join(dir, 'rules.yaml'), rules);
  return dir;
}

export function promtool(dir: string, args: readonly string[]): PromtoolRun {
  const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}`, dir };
}
