/**
 * Turns the scenarios into a promtool rule-test file for one environment and runs the real
 * promtool on it, against the rules extracted from that environment's dist/.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXPECTED_PRIORITY, EXPECTED_SEVERITY, firesIn, NAMESPACES, SCENARIOS, type Environment } from './scenarios.ts';

/** Whether promtool is on PATH. */
export function havePromtool(): boolean {
  return spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** The promtool test file (as an object) of one environment, reading `rules.yaml` next to it. */
export function promtoolTests(env: Environment): object {
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
function sloRecordingTest(env: Environment): object {
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

/**
 * Writes `rules` and the environment's test file into a temp folder and runs `promtool test rules`.
 * `withAnnotations: false` strips annotations from the rules: promtool compares annotations
 * verbatim, and the generic scenarios assert labels only (annotations have their own test file).
 */
export function runPromtoolTests(env: Environment, rules: string): PromtoolRun {
  const dir = rulesDir(env, rules);
  writeFileSync(join(dir, 'tests.yaml'), stringify(promtoolTests(env), { lineWidth: 0 }));
  return promtool(dir, ['test', 'rules', 'tests.yaml']);
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
