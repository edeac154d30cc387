/**
 * The Prometheus client against a loopback fake: odd response shapes are errors (exit 1), never a
 * crash, and credentials never appear in any output or report, whatever the server echoes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { flagops, flagopsProcess, tempProject } from './helpers.ts';
import { healthy, startFakePrometheus, type Answer, type FakePrometheus, type Received, type SignalName } from './support/fake-prometheus.ts';

const FLAG = 'telehealth_appointments_enabled';
const FAST = ['--duration', '300ms', '--interval', '100ms', '--retry-for', '300ms'];
const PASSWORD = 'pa55-w0rd-never-print';
const TOKEN = 'tok-9d8c7b6a-never-print';
const BASIC = Buffer.from(`oncall:${PASSWORD}`).toString('base64');

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function serve(answer: (signal: SignalName, n: number, req: Received) => Answer): Promise<string> {
  fake = await startFakePrometheus(answer);
  return fake.url;
}

const monitorIn = (dir: string, url: string, ...args: string[]) => flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, ...FAST, ...args);

/** A proxy that echoes the request headers in its error. */
const echo = (status: number) => (_s: SignalName, _n: number, req: Received): Answer => ({
  status,
  body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: `request headers: ${JSON.stringify(req.headers)}` }),
});

/** Whether any secret, in any form, is in `text`. */
function leaks(text: string): string[] {
  return [PASSWORD, TOKEN, BASIC, encodeURIComponent(PASSWORD)].filter((s) => text.includes(s));
}

describe('credentials never appear in output or reports', () => {
  for (const status of [400, 503]) {
    it(`redacts basic auth (password and its base64) echoed in an HTTP ${status} error body, in the terminal and the report`, async () => {
      const dir = tempProject({ dist: false });
      const url = await serve(echo(status));
      const r = await monitorIn(dir, url.replace('http://', `http://oncall:${PASSWORD}@`), '--report', 'r.md');
      expect(fake!.received[0]!.authorization).toBe(`Basic ${BASIC}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('request headers');
      const report = readFileSync(join(dir, 'r.md'), 'utf8');
      expect(leaks(r.stdout + r.stderr + report)).toEqual([]);
    });
  }

  it('redacts a bearer token from FLAGOPS_PROMETHEUS_TOKEN echoed in an error, also in the JSON report', async () => {
    const dir = tempProject({ dist: false });
    const url = await serve(echo(422));
    process.env.FLAGOPS_PROMETHEUS_TOKEN = TOKEN;
    try {
      const r = await monitorIn(dir, url, '--report', 'r.json');
      expect(fake!.received[0]!.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.code).toBe(1);
      expect(leaks(r.stdout + r.stderr + readFileSync(join(dir, 'r.json'), 'utf8'))).toEqual([]);
    } finally {
      delete process.env.FLAGOPS_PROMETHEUS_TOKEN;
    }
  });

  it('redacts basic auth from --user and --password-file echoed by the server', async () => {
    const dir = tempProject({ dist: false });
    writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
    const url = await serve(echo(400));
    const r = await monitorIn(dir, url, '--user', 'oncall', '--password-file', 'pw');
    expect(r.code).toBe(1);
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
  });

  it('never prints a password of the --prometheus URL in a usage error (real process)', () => {
    const dir = tempProject({ dist: false });
    const cases = [
      ['monitor', FLAG, '--env', 'production', `--prometeus=http://oncall:${PASSWORD}@prometheus.invalid`],
      ['monitor', FLAG, '--env', 'production', '--prometheus', `oncall:${PASSWORD}@prometheus.example.com`],
      ['monitor', FLAG, '--env', 'production', '--prometheus', `ftp://oncall:${PASSWORD}@prometheus.example.com`],
      ['monitor', FLAG, '--env', 'production', '--prometheus', `http://oncall:${PASSWORD}@prometheus.example.com`, '--duration', 'soon'],
      ['monitor', FLAG, '--env', 'nowhere', '--prometheus', `http://oncall:${PASSWORD}@prometheus.example.com`],
    ];
    for (const args of cases) {
      const r = flagopsProcess(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(leaks(r.stdout + r.stderr), args.join(' ')).toEqual([]);
    }
  });
});

describe('odd Prometheus answers are errors with exit 1, never a crash', () => {
  const vector = (result: unknown) => ({ status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }) });
  const cases: readonly [string, Answer, RegExp][] = [
    ['a body that is not JSON', { status: 200, body: 'not json {' }, /answered HTTP 200 \(application\/json\), not like the Prometheus HTTP API: "not json \{"/],
    ['JSON null', { status: 200, body: 'null' }, /answered HTTP 200 \(application\/json\), not like the Prometheus HTTP API: "null"/],
    ['a success without data', { status: 200, body: '{"status":"success"}' }, /unexpected answer from Prometheus: data is missing/],
    ['data.result that is not a list', { status: 200, body: '{"status":"success","data":{"resultType":"vector","result":{"a":1}}}' }, /unexpected answer from Prometheus: data\.result is not a list/],
    ['a sample whose value is an object', vector([{ metric: {}, value: [1, { x: 1 }] }]), /unexpected answer from Prometheus: a sample value is not a number/],
    ['a sample without a value', vector([{ metric: {} }]), /unexpected answer from Prometheus: a sample has no \[time, value\]/],
    ['a value that is not a number', vector([{ metric: {}, value: [1, '0x10'] }]), /a sample value is not a number: '0x10'/],
    ['a scalar that is not a pair', { status: 200, body: '{"status":"success","data":{"resultType":"scalar","result":"x"}}' }, /a sample has no \[time, value\]/],
    ['a matrix', { status: 200, body: '{"status":"success","data":{"resultType":"matrix","result":[]}}' }, /expected an instant vector or scalar from Prometheus, got a matrix/],
    ['an error whose fields are objects', { status: 400, body: '{"status":"error","errorType":{"a":1},"error":["x"]}' }, /Prometheus rejected the query/],
    ['an error nested 1,000,000 lists deep', { status: 400, body: `{"status":"error","errorType":"bad_data","error":${'['.repeat(1e6)}${']'.repeat(1e6)}}` }, /Prometheus rejected the query \(HTTP 400, bad_data: \(a list nested too deeply to show\)\)/],
    [
      'a sample value nested 1,000,000 lists deep',
      { status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,${'['.repeat(1e6)}${']'.repeat(1e6)}]}]}}` },
      /a sample value is not a number: \(a list nested too deeply to show\)/,
    ],
  ];
  for (const [what, answer, message] of cases) {
    it(`reports ${what}`, async () => {
      const url = await serve((s) => (s === 'errorRatio' ? answer : healthy(s)));
      const r = await monitorIn(tempProject({ dist: false }), url);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('internal error');
    });
  }

  it('reads NaN as no data and +Inf as a breach', async () => {
    const url = await serve((s) => (s === 'p95' ? '+Inf' : s === 'errorRatio' ? 'NaN' : healthy(s)));
    const r = await monitorIn(tempProject({ dist: false }), url);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('p95 latency +Inf');
  });

  it('takes the worst of 150,000 series without running out of stack', async () => {
    const result = Array.from({ length: 150_000 }, (_, i) => ({ metric: { i: String(i) }, value: [1, i === 7 ? '0.5' : '0.001'] }));
    const url = await serve((s) => (s === 'errorRatio' ? vector(result) : healthy(s)));
    const r = await monitorIn(tempProject({ dist: false }), url);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('error ratio 50%');
  });

  it('refuses a body larger than the limit without reading it all', async () => {
    const url = await serve((s) => (s === 'errorRatio' ? { status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[${'{"metric":{},"value":[1,"0"]},'.repeat(400_000)}{}]}}` } : healthy(s)));
    const r = await monitorIn(tempProject({ dist: false }), url);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the answer from Prometheus is larger than 8 MiB/);
  });

  it('escapes control characters a server puts in its error', async () => {
    const url = await serve(() => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'x\x1b]0;pwned\x07\x1b[2J\nforged line' }) }));
    const dir = tempProject({ dist: false });
    const r = await monitorIn(dir, url, '--report', 'r.md');
    // (its first line only: the forged one is never shown)
    expect(r.stderr).toContain('x\\x1b]0;pwned\\x07\\x1b[2J)');
    expect(r.stderr).not.toContain('forged line');
    expect(r.stdout + r.stderr + readFileSync(join(dir, 'r.md'), 'utf8')).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
  });
});
