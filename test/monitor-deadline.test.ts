/**
 * `flagops monitor` against a Prometheus that cannot answer never runs past --duration (retries
 * included), and prints one line per retry. The real executable against a port the test holds
 * closed, a server that answers garbage and one that never answers: it gives up "at the end of the
 * run" although --retry-for or --timeout would let it go on for an hour (the test's timeout is the
 * deadline it is given). Then the same code on an injected clock, where every wait and every
 * request's timeout is checked against the deadline, to the millisecond, without reading the time.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { parseDuration } from '../common/text/duration.ts';
import { monitor, monitorSignals } from '../lib/rollout/monitor.ts';
import { MIN_REQUEST_MS, PrometheusClient, type Clock } from '../lib/rollout/prometheus.ts';
import { resolveEnvironmentSettings } from '../model/environments.ts';
import { BIN, cliEnv, NOW, tempProject } from './helpers.ts';
import { closedPort } from './support/ports.ts';

const FLAG = 'telehealth_appointments_enabled';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real executable's `monitor` against `url`, killed when the test ends (one that overran its deadline would otherwise live on). */
function monitorProcess(url: string, ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, 'monitor', FLAG, '--env', 'production', '--prometheus', url, ...args], { cwd: tempProject({ dist: false }), env: cliEnv() });
  onTestFinished(() => void child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** The retries printed, in order: their numbers and the back-off each announced, in ms. */
const retries = (stderr: string): { n: number; ms: number }[] =>
  [...stderr.matchAll(/^flagops monitor: Prometheus: .*; retry (\d+) in (\S+)$/gm)].map((m) => ({ n: Number(m[1]), ms: parseDuration(m[2]!)! }));

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterAll(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function tcpServer(onConnection: (socket: Socket) => void): Promise<string> {
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** One line per retry, numbered 1, 2, 3...; the back-offs fit in `durationMs`; it gave up at the end of the run. */
function expectRetriesWithin(r: Run, durationMs: number): void {
  const printed = retries(r.stderr);
  expect(printed.length, r.stderr).toBeGreaterThan(0);
  // 1, 2, 3, ...: each retry once, not once per signal
  expect(printed.map((p) => p.n)).toEqual(printed.map((_, i) => i + 1));
  // no back-off runs past the end of the run
  expect(printed.reduce((sum, p) => sum + p.ms, 0)).toBeLessThan(durationMs);
  expect(r.stderr.match(/error: cannot query Prometheus/g)).toHaveLength(1);
  expect(r.stderr).toMatch(/\(gave up after \d+ attempts over [\d.]+s, at the end of the run\)/);
  expect(r.stdout).toContain('unreachable: Prometheus could not be queried (0 polls)');
  expect(r.code).toBe(1);
}

describe('flagops monitor never runs past --duration', () => {
  it('against a port nothing listens on: ends with the duration (not --retry-for), one line per retry', async () => {
    const closed = await closedPort();
    onTestFinished(() => closed.release());
    // --retry-for 1h: only the duration can end this run before the test's timeout
    const r = await monitorProcess(closed.url, '--duration', '4s', '--interval', '1s', '--retry-for', '1h');
    expectRetriesWithin(r, 4_000);
    expect(r.stderr).toContain(`error: cannot query Prometheus at ${closed.url}: connect ECONNREFUSED`);
  });

  it('against a server that answers garbage: the same', async () => {
    const url = await tcpServer((socket) => socket.end('garbage, not HTTP\r\n\r\n'));
    const r = await monitorProcess(url, '--duration', '4s', '--interval', '1s', '--retry-for', '1h');
    expectRetriesWithin(r, 4_000);
  });

  it('against a server that never answers: each request is cut to the time left, not --timeout', async () => {
    const url = await tcpServer(() => undefined);
    // --timeout 1h: a request not cut to the time left would outlast the test's timeout
    const r = await monitorProcess(url, '--duration', '3s', '--interval', '1s', '--timeout', '1h', '--retry-for', '1h');
    expect(r.stderr).toMatch(/the request timed out \(gave up after \d+ attempts? over [\d.]+s, at the end of the run\)/);
    expect(r.code).toBe(1);
  });
});

/** A clock that moves only when told: by a sleep, or by a request that takes its whole timeout. */
class FakeClock implements Clock {
  readonly sleeps: { from: number; ms: number }[] = [];
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push({ from: this.time, ms });
    this.time += ms;
  }
}

describe('the deadline on an injected clock', () => {
  const START = Date.parse(NOW);
  const signals = monitorSignals(resolveEnvironmentSettings('production', { namespace: 'pms' }), FLAG, '5m');

  it('retries a Prometheus that refuses with back-offs that all end before the deadline, and gives up at the end of the run', async () => {
    // GIVEN a port nothing listens on, a clock that starts at NOW, and --retry-for an hour
    const closed = await closedPort();
    onTestFinished(() => closed.release());
    const clock = new FakeClock(START);
    const announced: number[] = [];
    const api = new PrometheusClient({ url: closed.url, retryForMs: 3_600_000, clock, onRetry: (r) => announced.push(r.delayMs) });
    // WHEN monitoring for 4 s, a poll a second
    const result = await monitor({ signals, api, durationMs: 4_000, intervalMs: 1_000, clock });
    // THEN it backed off 250 ms, 500 ms, 1 s, 2 s: the next back-off (4 s) would end past the deadline, so it gave up instead
    expect(announced).toEqual([250, 500, 1_000, 2_000]);
    expect(clock.sleeps.map((s) => s.ms)).toEqual(announced);
    for (const s of clock.sleeps) expect(s.from + s.ms - START, `a back-off of ${s.ms} ms`).toBeLessThan(4_000);
    expect(result.verdict).toBe('unreachable');
    expect(result.error).toMatch(/connect ECONNREFUSED .*\(gave up after 5 attempts over 3\.8s, at the end of the run\)$/);
    // AND it returned before the deadline it was given: 3.75 s into the run
    expect(clock.now() - START).toBe(3_750);
    expect(result.polls).toEqual([]);
  });

  it("cuts each request's timeout to the time left before the deadline (never below 2 s), whatever --timeout says", async () => {
    // GIVEN a Prometheus that never answers: each request takes its whole timeout (the clock moves by it)
    const clock = new FakeClock(START);
    const timeouts: number[] = [];
    vi.spyOn(AbortSignal, 'timeout').mockImplementation((ms: number) => {
      timeouts.push(ms);
      clock.time += ms;
      return AbortSignal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    });
    onTestFinished(() => vi.mocked(AbortSignal.timeout).mockRestore());
    const api = new PrometheusClient({ url: 'http://prometheus.invalid', timeoutMs: 3_600_000, retryForMs: 3_600_000, clock });
    // WHEN a query has 2.5 s left before its deadline
    await expect(api.queryAll(['up'], START + 2_500)).rejects.toThrow('the request timed out (gave up after 1 attempt over 0s, at the end of the run)');
    // THEN its request waited 2.5 s, not an hour: it ended at the deadline
    expect(timeouts).toEqual([2_500]);
    expect(clock.now()).toBe(START + 2_500);
    // AND with 0.5 s left, a request still gets the shortest timeout (the last poll of a run gets its answer)
    await expect(api.queryAll(['up'], clock.now() + 500)).rejects.toThrow('at the end of the run');
    expect(timeouts).toEqual([2_500, MIN_REQUEST_MS]);
    // AND a --timeout shorter than the time left is kept
    const short = new PrometheusClient({ url: 'http://prometheus.invalid', timeoutMs: 1_000, retryForMs: 0, clock });
    await expect(short.queryAll(['up'], clock.now() + 60_000)).rejects.toThrow('the request timed out (gave up after 1 attempt over 0s)');
    expect(timeouts).toEqual([2_500, MIN_REQUEST_MS, 1_000]);
  });
});
