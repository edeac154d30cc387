import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { progressLine } from '../cli/commands/monitor.ts';
import { errorRatio, latencyQuantile } from '../constructs/signals.ts';
import { formatDuration, parseDuration, promqlRange } from '../common/text/duration.ts';
import { monitorSignals } from '../lib/rollout/monitor.ts';
import { resolveEnvironmentSettings } from '../model/environments.ts';
import { BIN, flagops, NOW, replaceIn, tempProject } from './helpers.ts';
import { healthy, startFakePrometheus, type Answer, type FakePrometheus, type SignalName } from './support/fake-prometheus.ts';
import { closedPort } from './support/ports.ts';
import { startFlagops, waitFor } from './support/process.ts';
import { onPath, requirement } from './support/requirements.ts';

const FLAG = 'telehealth_appointments_enabled';
const FAST = ['--duration', '300ms', '--interval', '100ms'];

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function serve(answer: (signal: SignalName, n: number) => Answer): Promise<string> {
  fake = await startFakePrometheus(answer);
  return fake.url;
}

const monitorIn = (dir: string, url: string, ...args: string[]) => flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, ...FAST, ...args);

describe('flagops monitor: verdicts', () => {
  it('exits 0 and prints one plain line per poll when every figure stays under its threshold', async () => {
    // GIVEN a Prometheus reporting healthy figures
    const url = await serve(healthy);
    // WHEN monitoring (not a terminal)
    const r = await monitorIn(tempProject({ dist: false }), url);
    // THEN it is healthy, with a line per poll
    expect(r.code).toBe(0);
    // (a loaded machine may fit only one poll into the 300 ms window)
    const polls = Number(/healthy: no threshold was breached \((\d+) polls?\)/.exec(r.stdout)?.[1]);
    expect(polls).toBeGreaterThanOrEqual(1);
    expect(r.stdout.split('\n').filter((l) => /^\S+Z \[\S+\/300ms\] .*  ok$/.test(l))).toHaveLength(polls);
    expect(r.stdout).toContain('error ratio 0.2%  p95 latency 0.120s  p99 latency 0.400s  flag evaluation error ratio 0%');
  });

  it('exits 3 at the first poll above a threshold and prints the kill switch with the flag ticket', async () => {
    // GIVEN p99 latency above production's 1s from the second poll on
    const url = await serve((s, n) => (s === 'p99' && n >= 2 ? '7.5' : healthy(s)));
    // WHEN monitoring for much longer than that
    const r = await flagops(tempProject({ dist: false }), 'monitor', FLAG, '--env', 'production', '--prometheus', url, '--duration', '1m', '--interval', '100ms');
    // THEN it stops at the second poll with the rollback command
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('breached: roll back (2 polls)');
    expect(r.stdout).toContain('p99 latency 7.500s > 1s (monitoring.p99LatencySeconds of production)');
    expect(r.stdout).toContain(
      `npx flagops disable ${FLAG} --env production --reason 'Rollback: p99 latency 7.500s > 1s during the 25% rollout (flagops monitor)' --ticket TICKET-12345`,
    );
  });

  it('counts a breach only after --consecutive polls in a row above the threshold', async () => {
    // GIVEN an error ratio that spikes on one poll only
    const url = await serve((s, n) => (s === 'errorRatio' && n === 2 ? '0.2' : healthy(s)));
    // WHEN two polls in a row are required
    const r = await monitorIn(tempProject({ dist: false }), url, '--consecutive', '2');
    // THEN the spike is shown but the rollout stays healthy
    expect(r.stdout).toContain('error ratio 20% (above 5%)');
    expect(r.code).toBe(0);
  });

  it('treats the flag evaluation error ratio above its threshold as a breach', async () => {
    const url = await serve((s) => (s === 'flagEvaluationErrorRatio' ? '0.03' : healthy(s)));
    const r = await monitorIn(tempProject({ dist: false }), url, '--ticket', 'INC-77');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('flag evaluation error ratio 3% > 1%');
    expect(r.stdout).toContain('--ticket INC-77');
  });

  it('is healthy without OpenFeature metrics, but exits 1 when the environment has no request metrics at all', async () => {
    // GIVEN no flag-evaluation series (the MetricsHook is optional)
    let url = await serve((s) => (s === 'flagEvaluationErrorRatio' ? null : healthy(s)));
    const dir = tempProject({ dist: false });
    const withoutHook = await monitorIn(dir, url);
    expect(withoutHook.code).toBe(0);
    expect(withoutHook.stdout).toContain('flag evaluation error ratio n/a');
    await fake!.close();
    // GIVEN no traffic: every ratio is 0/0 = NaN and the latency has no series
    url = await serve((s) => (s === 'errorRatio' ? 'NaN' : null));
    const r = await monitorIn(dir, url);
    // THEN it cannot judge the rollout and says which labels it looked for
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no data for error ratio, p95 latency, p99 latency in \d+ polls/);
    expect(r.stderr).toContain('job="pms-backend", namespace="pms"');
  });
});

describe('flagops monitor: stopping early', () => {
  it('stops at Ctrl-C, still writes the report, and exits 130 rather than claiming a healthy rollout', async () => {
    // GIVEN a 10-minute monitor of healthy figures, as a real process
    const url = await serve(healthy);
    const dir = tempProject({ dist: false });
    const run = startFlagops(dir, ['monitor', FLAG, '--env', 'production', '--prometheus', url, '--duration', '10m', '--interval', '200ms', '--report', 'partial.json']);
    await waitFor('two polls', () => (run.stdout().match(/  ok$/gm) ?? []).length >= 2);
    // WHEN the user presses Ctrl-C
    run.child.kill('SIGINT');
    const r = await run.done;
    // THEN it stops promptly with the figures so far
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('stopping after this poll');
    expect(r.stdout).toContain('healthy: no threshold was breached (stopped early by the user)');
    const report = JSON.parse(readFileSync(join(dir, 'partial.json'), 'utf8'));
    expect(report).toMatchObject({ verdict: 'healthy', stoppedEarly: true, exitCode: 130 });
  });
});

describe('flagops monitor: one source with the alert rules', () => {
  it('sends the PromQL of constructs/signals.ts over the default 5m window', async () => {
    const url = await serve(healthy);
    await monitorIn(tempProject({ dist: false }), url);
    const scope = { namespace: 'pms', job: 'pms-backend' };
    const queries = new Set(fake!.received.map((q) => q.query));
    expect(queries).toContain(errorRatio(scope, '5m'));
    expect(queries).toContain(latencyQuantile(scope, 0.95, '5m'));
    expect(queries).toContain(latencyQuantile(scope, 0.99, '5m'));
    expect(queries.size).toBe(4);
  });

  it("takes its thresholds from the environment's monitoring settings", async () => {
    // GIVEN production allowing a 25% error ratio in its environment.ts
    const dir = tempProject({ dist: false });
    replaceIn(dir, 'environments/production/environment.ts', 'monitoring: {', 'monitoring: {\n    errorRatio: 0.25,');
    const url = await serve((s) => (s === 'errorRatio' ? '0.1' : healthy(s)));
    // WHEN the error ratio is 10%
    const r = await monitorIn(dir, url);
    // THEN that is under the threshold
    expect(r.stdout).toContain('thresholds: error ratio > 25%');
    expect(r.code).toBe(0);
  });

  it('builds the queries of the window it is given', () => {
    const settings = resolveEnvironmentSettings('staging', { namespace: 'pms-staging' });
    const signals = monitorSignals(settings, FLAG, promqlRange(parseDuration('90s')!));
    expect(signals.map((s) => s.threshold)).toEqual([0.05, 0.5, 1, 0.01]);
    expect(signals[0]!.query).toBe(errorRatio({ namespace: 'pms-staging', job: 'pms-backend' }, '1m30s'));
  });
});

describe('flagops monitor: Prometheus failures', () => {
  it('retries transient errors with backoff and carries on', async () => {
    // GIVEN a Prometheus that answers 503 twice before it is ready
    const url = await serve((s, n) => (s === 'errorRatio' && n <= 2 ? { status: 503, body: '{"status":"error","error":"not ready"}' } : healthy(s)));
    // (retries end with the duration: long enough for two back-offs)
    const r = await monitorIn(tempProject({ dist: false }), url, '--duration', '2s', '--interval', '1s');
    expect(r.stderr).toContain('Prometheus: HTTP 503: not ready; retry 1 in 250ms');
    expect(r.stderr).toContain('retry 2 in 500ms');
    expect(r.code).toBe(0);
  });

  it('gives up after --retry-for with exit 1 and a clear message when nothing listens', async () => {
    // GIVEN a port nobody listens on (held closed by the test)
    const closed = await closedPort();
    onTestFinished(() => closed.release());
    // WHEN monitoring for a minute, retrying for a second (the test's timeout is 60 s: a run to the end of the duration fails it)
    const r = await flagops(tempProject({ dist: false }), 'monitor', FLAG, '--env', 'production', '--prometheus', closed.url, '--retry-for', '1s', '--duration', '1m');
    // THEN it stops within the retry budget, not at the end of the duration: the back-offs it announced add up to at most 1 s
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`error: cannot query Prometheus at ${closed.url}: connect ECONNREFUSED .*\\(gave up after \\d+ attempts over [\\d.]+s\\)$`, 'm'));
    expect(r.stderr).not.toContain('at the end of the run');
    const backoffs = [...r.stderr.matchAll(/; retry \d+ in (\S+)$/gm)].map((m) => parseDuration(m[1]!)!);
    expect(backoffs.length, r.stderr).toBeGreaterThan(0);
    expect(backoffs.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(1_000);
    expect(r.stdout).toContain('unreachable: Prometheus could not be queried (0 polls)');
  });

  it('does not retry a query Prometheus rejects', async () => {
    const url = await serve(() => ({ status: 400, body: '{"status":"error","errorType":"bad_data","error":"parse error"}' }));
    const r = await monitorIn(tempProject({ dist: false }), url);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Prometheus rejected the query (HTTP 400, bad_data: parse error)');
    expect(r.stderr).not.toContain('retry');
  });

  it('says when the URL is not a Prometheus API', async () => {
    const url = await serve(() => ({ status: 200, body: '<html>login</html>' }));
    const r = await monitorIn(tempProject({ dist: false }), url);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('answered HTTP 200 (application/json), not like the Prometheus HTTP API: "login"; is --prometheus the Prometheus base URL?');
  });
});

describe('flagops monitor: authentication', () => {
  const TOKEN = 'tok-3f9c2e1d-never-print-me';

  it('sends a bearer token from a file and never prints it, not even when refused', async () => {
    // GIVEN a token file and a Prometheus that refuses it and echoes it back in errors
    const dir = tempProject({ dist: false });
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const url = await serve(() => ({ status: 403, body: `{"status":"error","error":"bad token ${TOKEN}"}` }));
    // WHEN monitoring with it
    const r = await monitorIn(dir, url, '--bearer-token-file', 'token', '--report', 'r.json');
    // THEN the header was sent, the refusal is explained, and the token appears nowhere
    expect(fake!.received[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the credentials (HTTP 403)');
    expect(r.stdout + r.stderr + readFileSync(join(dir, 'r.json'), 'utf8')).not.toContain(TOKEN);
  });

  it('takes the token from FLAGOPS_PROMETHEUS_TOKEN', async () => {
    const url = await serve(healthy);
    process.env.FLAGOPS_PROMETHEUS_TOKEN = TOKEN;
    try {
      const r = await monitorIn(tempProject({ dist: false }), url);
      expect(r.code).toBe(0);
      expect(fake!.received.every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
    } finally {
      delete process.env.FLAGOPS_PROMETHEUS_TOKEN;
    }
  });

  it('sends basic auth from --user and --password-file', async () => {
    const dir = tempProject({ dist: false });
    writeFileSync(join(dir, 'pw'), 's3cret-pw\n');
    const url = await serve(healthy);
    const r = await monitorIn(dir, url, '--user', 'oncall', '--password-file', 'pw');
    expect(r.code).toBe(0);
    expect(fake!.received[0]!.authorization).toBe(`Basic ${Buffer.from('oncall:s3cret-pw').toString('base64')}`);
  });

  it('turns credentials in the URL into basic auth and prints the URL without them', async () => {
    const url = await serve(healthy);
    const r = await monitorIn(tempProject({ dist: false }), url.replace('http://', 'http://oncall:pa55word@'));
    expect(fake!.received[0]!.authorization).toBe(`Basic ${Buffer.from('oncall:pa55word').toString('base64')}`);
    expect(r.stdout).toContain(`via ${url}:`);
    expect(r.stdout + r.stderr).not.toContain('pa55word');
  });

  it('refuses basic auth and a bearer token together', async () => {
    const dir = tempProject({ dist: false });
    writeFileSync(join(dir, 'token'), TOKEN);
    const r = await monitorIn(dir, 'http://prometheus.invalid', '--user', 'x', '--bearer-token-file', 'token');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('use either basic auth (--user) or a bearer token');
  });
});

describe('flagops monitor: reports', () => {
  it('writes a markdown report with the thresholds, the figures over time and the rollback command', async () => {
    const url = await serve((s, n) => (s === 'errorRatio' && n >= 3 ? '0.125' : healthy(s)));
    const dir = tempProject({ dist: false });
    const r = await monitorIn(dir, url, '--report', 'rollout.md');
    expect(r.code).toBe(3);
    const md = readFileSync(join(dir, 'rollout.md'), 'utf8');
    expect(md).toContain('# Rollout monitor: `telehealth_appointments_enabled` in production');
    expect(md).toContain('**Verdict: breached: roll back** (exit code 3)');
    expect(md).toContain('| error ratio | 5% | `monitoring.errorRatio` |');
    expect(md).toMatch(/\| \d{4}-\d\d-\d\dT[\d:]+Z \| \d+ms \| \*\*12\.5%\*\* \| 0\.120s \| 0\.400s \| 0% \|/);
    expect(md).toContain("npx flagops disable telehealth_appointments_enabled --env production --reason 'Rollback: error ratio 12.5% > 5% during the 25% rollout (flagops monitor)' --ticket TICKET-12345");
  });

  it('writes a JSON report, with an infinite latency as "+Inf"', async () => {
    const url = await serve((s) => (s === 'p95' ? '+Inf' : healthy(s)));
    const dir = tempProject({ dist: false });
    const r = await monitorIn(dir, url, '--report', 'rollout.json');
    expect(r.code).toBe(3);
    const report = JSON.parse(readFileSync(join(dir, 'rollout.json'), 'utf8'));
    expect(report).toMatchObject({ flag: FLAG, environment: 'production', namespace: 'pms', verdict: 'breached', exitCode: 3, window: '5m' });
    expect(report.polls[0].values).toEqual({ errorRatio: 0.002, p95: '+Inf', p99: 0.4, flagEvaluationErrorRatio: 0 });
    expect(report.breaches).toEqual([expect.objectContaining({ signal: 'p95', value: '+Inf', threshold: 0.5 })]);
    expect(report.signals.map((s: { setting: string }) => s.setting)).toEqual([
      'monitoring.errorRatio',
      'monitoring.p95LatencySeconds',
      'monitoring.p99LatencySeconds',
      'monitoring.flagEvaluationErrorRatio',
    ]);
  });

  it('refuses a report file whose extension names no format, before querying anything', async () => {
    const url = await serve(healthy);
    const r = await monitorIn(tempProject({ dist: false }), url, '--report', 'out.txt');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--report must end in .md or .json');
    expect(fake!.received).toHaveLength(0);
  });
});

describe('flagops monitor: usage', () => {
  it.each([
    [['--duration', 'soon'], "--duration must be a duration like 30s, 5m or 1m30s, got 'soon'"],
    [['--interval', '10ms'], '--interval must be a duration like 30s, 5m or 1m30s (at least 100ms)'],
    [['--consecutive', '0'], '--consecutive must be a whole number of polls, at least 1'],
  ])('rejects %j', async (args, message) => {
    const r = await monitorIn(tempProject({ dist: false }), 'http://prometheus.invalid', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('rejects a flag that is not in the catalog', async () => {
    const r = await flagops(tempProject({ dist: false }), 'monitor', 'nope_enabled', '--env', 'production', '--prometheus', 'http://prometheus.invalid');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag 'nope_enabled'");
  });
});

describe('the terminal progress line', () => {
  const script = onPath('script');
  const scriptHere = requirement({ what: 'util-linux `script` (a pseudo-terminal)', found: script !== undefined, install: 'apt-get install -y bsdutils; .ci/run installs it', tests: 'the terminal progress line test (test/monitor.test.ts)' });
  it.skipIf(scriptHere.skip)('is redrawn in place on a real terminal and replaced by the last figures at the end', async () => {
    scriptHere.check();
    // GIVEN a pseudo-terminal (util-linux `script`) running the real executable
    const url = await serve(healthy);
    const dir = tempProject({ dist: false });
    const command = [process.execPath, BIN, 'monitor', FLAG, '--env', 'production', '--prometheus', url, '--duration', '1s', '--interval', '200ms'].join(' ');
    const run = spawn(script!, ['-qec', command, '/dev/null'], { cwd: dir, env: { ...process.env, FLAGOPS_NOW: NOW, NO_COLOR: '1', COLUMNS: '200' } });
    let out = '';
    run.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
    // THEN the live line is rewritten with carriage returns, shows the bar and the time left,
    // and the final plain line with the figures stays
    expect(code).toBe(0);
    expect(out).toMatch(/\r\x1b\[2K\[█*░+\]  \d+(ms|\.\ds|s) left  errors 0.2%  p95 0.120s/);
    expect(out).toMatch(/\[1(\.\d)?s\/1s\] error ratio 0.2%  p95 latency 0.120s .* ok\r?\n/);
    expect(out).toContain('healthy: no threshold was breached');
  });

  it('shows a bar, the time left and the figures', () => {
    const settings = resolveEnvironmentSettings('production', { namespace: 'pms' });
    const signals = monitorSignals(settings, FLAG, '5m');
    const poll = { at: '2026-11-23T12:00:00Z', elapsedMs: 150_000, values: { errorRatio: 0.08, p95: 0.2, p99: 0.5, flagEvaluationErrorRatio: null }, above: ['errorRatio' as const] };
    const line = progressLine(signals, poll, 150_000, 600_000, false);
    expect(line).toBe(`[${'█'.repeat(6)}${'░'.repeat(18)}]  7m30s left  errors 8% (above 5%)  p95 0.200s  p99 0.500s  flag errors n/a`);
  });

  it('formats durations the way people write them', () => {
    expect([0, 250, 1500, 30_000, 90_000, 3_600_000].map(formatDuration)).toEqual(['0s', '250ms', '1.5s', '30s', '1m30s', '1h']);
    expect(['10m', '1m30s', '500ms', '2h', '5', 'm'].map(parseDuration)).toEqual([600_000, 90_000, 500, 7_200_000, undefined, undefined]);
  });
});
