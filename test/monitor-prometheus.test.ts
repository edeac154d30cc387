/**
 * flagops monitor against a real Prometheus (Debian's `prometheus` binary) scraping a stand-in
 * backend every second. Skipped with a message when the binary is missing locally; fails under
 * CI instead (.ci/run installs it; test/support/requirements.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagops, git, tempProject } from './helpers.ts';
import { cloneOf, gitServer } from './support/git-server.ts';
import { startFlagops } from './support/process.ts';
import { HEALTHY, startBackendExporter, type BackendExporter } from './support/backend-exporter.ts';
import { findPrometheus, instantQuery, startPrometheus, type PrometheusServer } from './support/prometheus-server.ts';
import { requirement } from './support/requirements.ts';

const binary = findPrometheus();
const prometheusHere = requirement({ what: 'the prometheus binary', found: binary !== undefined, install: 'apt-get install -y prometheus; .ci/run installs it', tests: 'the tests of flagops monitor against a real Prometheus (test/monitor-prometheus.test.ts)' });

const FLAG = 'telehealth_appointments_enabled';

describe.skipIf(prometheusHere.skip)('flagops monitor against a real Prometheus', () => {
  let exporter: BackendExporter;
  let prometheus: PrometheusServer;
  const project = tempProject({ dist: false });

  beforeAll(async () => {
    prometheusHere.check();
    // GIVEN the production backend (namespace pms, job pms-backend) scraped every second
    exporter = await startBackendExporter(FLAG, HEALTHY);
    prometheus = await startPrometheus(binary!, [{ job: 'pms-backend', target: exporter.target, labels: { namespace: 'pms' } }]);
    // ... with at least three scrapes stored, so a rate over 5s has data
    const deadline = Date.now() + 20_000;
    while (((await instantQuery(prometheus.url, 'count_over_time(up{job="pms-backend", namespace="pms"}[10s])')) ?? 0) < 3) {
      if (Date.now() > deadline) throw new Error(`Prometheus stored no scrapes of the exporter in 20s:\n${prometheus.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    await prometheus?.stop();
    await exporter?.close();
  });

  it('reports healthy traffic as healthy with exit code 0 and the figures in the JSON report', async () => {
    // WHEN monitoring healthy traffic for 4 seconds
    const result = await flagops(project, 'monitor', FLAG, '--env', 'production', '--prometheus', prometheus.url, '--duration', '4s', '--interval', '1s', '--window', '5s', '--report', 'healthy.json');
    // THEN it is healthy, and the report carries the real figures of every signal
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('healthy: no threshold was breached');
    const report = JSON.parse(readFileSync(join(project, 'healthy.json'), 'utf8'));
    expect(report.verdict).toBe('healthy');
    expect(report.polls.length).toBeGreaterThanOrEqual(2);
    const last = report.polls.at(-1).values;
    expect(last.errorRatio).toBeGreaterThan(0);
    expect(last.errorRatio).toBeLessThan(0.05);
    expect(last.p95).toBeGreaterThan(0.05);
    expect(last.p95).toBeLessThanOrEqual(0.1);
    expect(last.flagEvaluationErrorRatio).toBe(0);
  });

  it('stops with exit code 3 and prints the rollback command when a 5xx burst crosses the error-ratio threshold', async () => {
    // GIVEN a burst of 5xx: 40% of requests fail from now on
    exporter.setProfile({ ...HEALTHY, errorRatio: 0.4 });
    // WHEN monitoring for up to 30 seconds with the real executable
    const result = await startFlagops(project, ['monitor', FLAG, '--env', 'production', '--prometheus', prometheus.url, '--duration', '30s', '--interval', '1s', '--window', '5s', '--report', 'burst.md']).done;
    // THEN it stops at the first poll above the threshold, before the end of the duration, and tells how to roll back
    expect(result.code, result.stdout + result.stderr).toBe(3);
    const polls = result.stdout.split('\n').filter((l) => / \[[^\]]+\/30s\] /.test(l));
    expect(polls.map((l) => l.endsWith('ABOVE THRESHOLD'))).toEqual([...polls.slice(1).map(() => false), true]);
    expect(polls.at(-1)).not.toContain('[30s/30s]');
    expect(result.stdout).toMatch(new RegExp(`^flagops monitor: breached: roll back \\(${polls.length} polls?\\)$`, 'm'));
    expect(result.stdout).toMatch(/error ratio \d+(\.\d+)?% > 5%/);
    expect(result.stdout).toContain(`npx flagops disable ${FLAG} --env production --reason 'Rollback: error ratio`);
    expect(result.stdout).toContain('--ticket TICKET-12345');
    const report = readFileSync(join(project, 'burst.md'), 'utf8');
    expect(report).toContain('**Verdict: breached: roll back** (exit code 3)');
    expect(report).toContain('during the 25% rollout');
  });

  it('with --rollback --push, turns the breach into a kill-switch branch on the bare remote, with the report naming it', async () => {
    // GIVEN the 5xx burst goes on, and the project is a clone of a bare server
    exporter.setProfile({ ...HEALTHY, errorRatio: 0.4 });
    const server = gitServer();
    const dir = cloneOf(server);
    // WHEN monitoring with --rollback --push origin (what CI runs after a production deploy that raised the flag)
    const result = await startFlagops(dir, ['monitor', FLAG, '--env', 'production', '--prometheus', prometheus.url, '--duration', '30s', '--interval', '1s', '--window', '5s', '--rollback', '--push', 'origin', '--by', 'flagops-bot@pms.example.com', '--report', 'monitor.md']).done;
    // THEN it exits 3 with the branch pushed to the server
    expect(result.code, result.stdout + result.stderr).toBe(3);
    const branch = /^rollback branch: (flagops\/rollback\/telehealth_appointments_enabled-\d{8}T\d{6}Z) /m.exec(result.stdout)?.[1];
    expect(branch, result.stdout).toBeDefined();
    expect(git(server.bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/flagops/').trim()).toBe(branch);
    const entry = git(server.bare, 'show', `${branch}:environments/production/flags.yaml`);
    expect(entry).toMatch(new RegExp(`  ${FLAG}:\n    enabled: false\n    rollout: 25 +# percent of users, integer 0..100\n    reason: "?Rollback: error ratio \\d+(\\.\\d+)?% > 5% during the 25% rollout \\(flagops monitor\\)"?\n    ticket: TICKET-12345 `));
    // AND main on the server is unchanged, and the report (the pull request's body) names the branch
    expect(git(server.bare, 'rev-parse', 'main').trim()).toBe(git(dir, 'rev-parse', 'origin/main').trim());
    const report = readFileSync(join(dir, 'monitor.md'), 'utf8');
    expect(report).toContain(`The kill switch is prepared on branch \`${branch}\``);
    expect(report).toContain('pushed to `origin`');
  });
});
