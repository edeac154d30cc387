/**
 * `flagops monitor` against a Prometheus that cannot answer never runs past --duration (retries
 * included), and prints one line per retry: the real executable, a closed loopback port, a server
 * that answers garbage and one that never answers. Margins are generous (a loaded machine); the
 * time is measured from the monitor's first line, so the CLI's start-up does not count.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, tempProject } from './helpers.ts';
import { freePort } from './support/ports.ts';

const FLAG = 'telehealth_appointments_enabled';
const MARGIN_MS = 8_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** From the monitor's first line to the exit. */
  monitoredMs: number;
}

function monitor(url: string, ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, 'monitor', FLAG, '--env', 'production', '--prometheus', url, ...args], { cwd: tempProject({ dist: false }), env: cliEnv() });
  let stdout = '';
  let stderr = '';
  let started: number | undefined;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (started === undefined && stdout.includes('flagops monitor: ')) started = Date.now();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr, monitoredMs: Date.now() - (started ?? Date.now()) })));
}

/** The retry numbers printed, in order. */
const retries = (stderr: string): number[] => [...stderr.matchAll(/^flagops monitor: Prometheus: .*; retry (\d+) in \S+$/gm)].map((m) => Number(m[1]));

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

function expectOneLinePerRetry(r: Run): void {
  const numbers = retries(r.stderr);
  expect(numbers.length, r.stderr).toBeGreaterThan(0);
  // 1, 2, 3, ...: each retry once, not once per signal
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  expect(r.stderr.match(/error: cannot query Prometheus/g)).toHaveLength(1);
  expect(r.stderr).toMatch(/\(gave up after \d+ attempts over [\d.]+s, at the end of the run\)/);
  expect(r.stdout).toContain('unreachable: Prometheus could not be queried (0 polls)');
  expect(r.code).toBe(1);
}

describe('flagops monitor never runs past --duration', () => {
  it('against a closed loopback port: ends with the duration (not --retry-for), one line per retry', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await monitor(url, '--duration', '4s', '--interval', '1s', '--retry-for', '5m');
    expectOneLinePerRetry(r);
    expect(r.monitoredMs).toBeLessThan(4_000 + MARGIN_MS);
  });

  it('against a server that answers garbage: the same', async () => {
    const url = await tcpServer((socket) => socket.end('garbage, not HTTP\r\n\r\n'));
    const r = await monitor(url, '--duration', '4s', '--interval', '1s');
    expectOneLinePerRetry(r);
    expect(r.monitoredMs).toBeLessThan(4_000 + MARGIN_MS);
  });

  it('against a server that never answers: each request is cut to the time left, not --timeout', async () => {
    const url = await tcpServer(() => undefined);
    const r = await monitor(url, '--duration', '3s', '--interval', '1s', '--timeout', '60s');
    expect(r.stderr).toMatch(/the request timed out \(gave up after \d+ attempts? over [\d.]+s, at the end of the run\)/);
    expect(r.code).toBe(1);
    // 3 s, plus at most one shortest request (2 s) past the end; --timeout alone would be 60 s
    expect(r.monitoredMs).toBeLessThan(3_000 + 2_000 + MARGIN_MS);
  });
});
