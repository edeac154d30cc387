import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveEnvironmentSettings, type MonitoringSettings } from '../model/environments.ts';
import production from '../environments/production/environment.ts';
import { extractRules, type RuleFile } from '../lib/rollout/prometheus-rules.ts';
import { flagops, REPO_ROOT, replaceIn, tempProject } from './helpers.ts';
import { havePromtool, promtool, promtoolTests, rulesDir, rulesObservedBy, runPromtoolTests, type RuleGroups, type TestGroup } from './promtool/promtool-suite.ts';
import { ENVIRONMENTS, firesIn, SCENARIOS } from './promtool/scenarios.ts';
import { requirement } from './support/requirements.ts';

// promtool comes from Debian's `prometheus` package (.ci/run installs it). Locally the tests that
// run it are skipped with a message when it is missing; under CI they fail instead.
const promtoolHere = requirement({ what: 'promtool (on PATH)', found: havePromtool(), install: "apt-get install -y prometheus; .ci/run installs it", tests: 'the promtool rule tests (test/promtool.test.ts)' });

const alertsIn = (rules: string): string[] =>
  (parse(rules) as RuleFile).groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => typeof a === 'string'));

describe('alert scenarios', () => {
  for (const env of ENVIRONMENTS) {
    it(`cover every alert of ${env} with a firing and a quiet case`, () => {
      // GIVEN the alerts synthesized for the environment
      const alerts = alertsIn(extractRules(REPO_ROOT, env));
      expect(alerts.length).toBeGreaterThanOrEqual(23);
      // THEN each has a scenario where it fires and one where it stays quiet, and no scenario names an unknown alert
      for (const alert of alerts) {
        const mine = SCENARIOS.filter((s) => s.alert === alert);
        expect(mine.some((s) => firesIn(s, env)), `${alert} fires somewhere in ${env}`).toBe(true);
        expect(mine.some((s) => !firesIn(s, env)), `${alert} stays quiet somewhere in ${env}`).toBe(true);
      }
      for (const s of SCENARIOS) expect(alerts, `scenario '${s.name}'`).toContain(s.alert);
    });
  }
});

/** The thresholds of the operations template (seeds/004 sections 3.2, 3.5) and the alerts they set. */
const GUIDE_THRESHOLDS = {
  errorRatio: 'HighErrorRate',
  elevatedErrorRatio: 'ElevatedErrorRate',
  p95LatencySeconds: 'SlowResponseTime',
  p99LatencySeconds: 'HighP99Latency',
  databaseConnectionSaturation: 'DatabaseConnectionPoolSaturation',
  cacheHitRatio: 'CacheHitRateLow',
  cpuUtilization: 'HighCpuUsage',
  memoryUtilization: 'HighMemoryUsage',
  diskUtilization: 'DiskSpaceLow',
  elevatedDiskUtilization: 'ElevatedDiskUsage',
} as const satisfies Partial<Record<keyof MonitoringSettings, string>>;
/** The one guide threshold an alert fires *below*. */
const FIRES_BELOW: readonly string[] = ['cacheHitRatio'];

describe('boundary scenarios', () => {
  it('bracket every production threshold of the operations template: one just above, one just below', () => {
    for (const alert of Object.values(GUIDE_THRESHOLDS)) {
      const mine = SCENARIOS.filter((s) => s.alert === alert && s.boundary);
      // THEN one fires and one stays quiet in production, as their names say
      expect(mine.filter((s) => s.boundary === 'fires' && firesIn(s, 'production')), alert).toHaveLength(1);
      expect(mine.filter((s) => s.boundary === 'quiet' && !firesIn(s, 'production')), alert).toHaveLength(1);
      expect(mine, alert).toHaveLength(2);
    }
  });
});

describe('the rules each promtool test group runs against', () => {
  const rules = parse(extractRules(REPO_ROOT, 'production', { annotations: false })) as RuleGroups;
  const kept = (group: TestGroup) =>
    rulesObservedBy(group, rules).groups.flatMap((g) => g.rules.map((r) => `${g.name}/${r.alert ?? r.record}`));
  const groupOf = (alert: string) => promtoolTests('production').tests.find((t) => t.alert_rule_test?.[0]?.alertname === alert)!;

  it('are the alert it tests, in its rule group', () => {
    expect(kept(groupOf('HighErrorRate'))).toEqual(['pms.service/HighErrorRate']);
  });

  it('include the recording rules an alert reads, in their order, and those they read in turn', () => {
    // GIVEN an SLO alert reading the error ratio of several windows, and a recording rule reading another
    const chained = {
      groups: [
        { name: 'base', rules: [{ record: 'job:errors:rate5m', expr: 'sum(rate(http_requests_total{status=~"5.."}[5m]))' }, { alert: 'Other', expr: 'up == 0' }] },
        { name: 'derived', rules: [{ record: 'job:errors:ratio', expr: 'job:errors:rate5m / 2' }, { alert: 'Burn', expr: 'job:errors:ratio > 1' }] },
      ],
    };
    // THEN the alert comes with every recording rule on its way, and nothing else
    expect(rulesObservedBy({ name: 'burn', interval: '1m', input_series: [], alert_rule_test: [{ alertname: 'Burn' }] }, chained)).toEqual({
      groups: [
        { name: 'base', rules: [chained.groups[0]!.rules[0]] },
        { name: 'derived', rules: chained.groups[1]!.rules },
      ],
    });
    const fast = kept(groupOf('ErrorBudgetBurnFast'));
    expect(fast.at(-1)).toBe('pms.slo/ErrorBudgetBurnFast');
    expect(fast.filter((r) => r.startsWith('pms.slo/pms:')).length).toBeGreaterThanOrEqual(2);
  });

  it('are the recording rules a PromQL test reads', () => {
    const recording = promtoolTests('production').tests.find((t) => t.promql_expr_test)!;
    expect(kept(recording)).toEqual(rules.groups.flatMap((g) => g.rules.filter((r) => r.record).map((r) => `${g.name}/${r.record}`)));
  });

  it('are every rule when one reads ALERTS', () => {
    const withAlerts = { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0' }, { alert: 'B', expr: 'count(ALERTS{alertname="A"}) > 0' }] }] };
    expect(rulesObservedBy({ name: 'b', interval: '1m', input_series: [], alert_rule_test: [{ alertname: 'B' }] }, withAlerts)).toBe(withAlerts);
  });
});

describe.skipIf(promtoolHere.skip)('promtool on the committed rules', () => {
  beforeAll(() => promtoolHere.check());
  for (const env of ENVIRONMENTS) {
    it(`accepts the rules of dist/${env}/ (promtool check rules)`, () => {
      // GIVEN the rule groups of dist/<env>/ as a plain rule file
      const dir = rulesDir(env, extractRules(REPO_ROOT, env));
      // WHEN promtool checks them
      const result = promtool(dir, ['check', 'rules', 'rules.yaml']);
      // THEN they are valid, recording rules and alerts alike
      expect(result.output).toContain('SUCCESS: 32 rules found');
      expect(result.code).toBe(0);
    });

    it(`fires and stays quiet as the scenarios say in ${env} (promtool test rules)`, () => {
      // GIVEN the rules of dist/<env>/ and the scenarios
      // WHEN promtool runs the unit tests
      const result = runPromtoolTests(env, extractRules(REPO_ROOT, env, { annotations: false }));
      // THEN every scenario passes
      expect(result.output).toContain('SUCCESS');
      expect(result.code).toBe(0);
    });
  }

  it('renders the annotations on-call reads in production', () => {
    // GIVEN the production rules with their annotations and the hand-written annotation tests
    const dir = rulesDir('production', extractRules(REPO_ROOT, 'production'));
    copyFileSync(join(REPO_ROOT, 'test/promtool/production-annotations.test.yaml'), join(dir, 'annotations.yaml'));
    // WHEN promtool runs them
    const run = promtool(dir, ['test', 'rules', 'annotations.yaml']);
    // THEN the templates expand to the expected text
    expect(run.output).toContain('SUCCESS');
    expect(run.code).toBe(0);
  });

  it('fails when a threshold is changed so that an alert can no longer fire', async () => {
    // GIVEN production's HighErrorRate threshold raised to 100%: no error ratio can exceed it
    const dir = tempProject();
    replaceIn(dir, 'environments/production/environment.ts', 'monitoring: {', 'monitoring: {\n    errorRatio: 1,');
    expect((await flagops(dir, 'synth', '--env', 'production')).code).toBe(0);
    // WHEN the promtool tests run against the re-synthesized rules
    const result = runPromtoolTests('production', extractRules(dir, 'production', { annotations: false }));
    // THEN the firing scenarios of HighErrorRate fail, and only those
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('HighErrorRate fires in production: a third of requests fail with 503');
    expect(result.output).not.toContain('SlowResponseTime');
  });

  for (const side of ['fires', 'quiet'] as const) {
    it(`flips every boundary scenario on the ${side === 'fires' ? 'firing' : 'quiet'} side when production's thresholds move 2% across it`, async () => {
      // GIVEN production's guide thresholds moved 2% towards the ${side === 'fires' ? 'quiet' : 'firing'} side
      const m = resolveEnvironmentSettings('production', production).monitoring;
      const shift = side === 'fires' ? 1.02 : 0.98;
      const moved = Object.keys(GUIDE_THRESHOLDS).map((key) => {
        const factor = FIRES_BELOW.includes(key) ? 2 - shift : shift;
        return `    ${key}: ${+(m[key as keyof typeof GUIDE_THRESHOLDS] * factor).toFixed(6)},`;
      });
      const dir = tempProject();
      replaceIn(dir, 'environments/production/environment.ts', 'monitoring: {', `monitoring: {\n${moved.join('\n')}`);
      expect((await flagops(dir, 'synth', '--env', 'production')).code).toBe(0);
      // WHEN the promtool tests run against the re-synthesized rules
      const result = runPromtoolTests('production', extractRules(dir, 'production', { annotations: false }));
      // THEN exactly the boundary scenarios of that side fail: the data sits within 2% of each threshold
      expect(result.code).not.toBe(0);
      for (const s of SCENARIOS.filter((x) => x.boundary)) {
        const name = `${s.alert} ${s.boundary === 'fires' ? 'fires' : 'stays quiet'} in production: ${s.name}`;
        if (s.boundary === side) expect(result.output, name).toContain(name);
        else expect(result.output, name).not.toContain(name);
      }
    });
  }

  it('fails when an alert loses its paging priority in production', async () => {
    // GIVEN production configured like dev (no paging)
    const dir = tempProject();
    replaceIn(dir, 'environments/production/environment.ts', 'monitoring: {', 'monitoring: {\n    pages: false,');
    expect((await flagops(dir, 'synth', '--env', 'production')).code).toBe(0);
    // WHEN the promtool tests run
    const result = runPromtoolTests('production', extractRules(dir, 'production', { annotations: false }));
    // THEN ServiceDown no longer arrives as P1 and the test says so
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/ServiceDown fires in production[\s\S]*priority="P1"/);
  });
});

