/**
 * `flagops monitor` pointed at a port where something else answers (issue 22): it says the HTTP
 * status and at most one line of that server's body (escaped, cut short, credentials redacted), and
 * the report names the failure (the status, the query) instead of "No data: check scraping".
 * Real HTTP servers on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { flagops, tempProject } from './helpers.ts';

const FLAG = 'telehealth_appointments_enabled';
const FAST = ['--duration', '300ms', '--interval', '100ms', '--retry-for', '300ms'];
/** An error page of about 4 KB: a title line, then 180 more. */
const PAGE = `<!DOCTYPE html>\n<html><head><title>400 Bad Request</title></head>\n<body>\n${'<p>The request could not be understood by the gateway.</p>\n'.repeat(70)}</body></html>\n`;

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
});

/** A server that answers every request with `status`, `type` and the body `body(headers)`. */
async function serve(status: number, type: string, body: (headers: IncomingHttpHeaders) => string): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': type }).end(body(req.headers)));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const monitorIn = (dir: string, url: string, ...args: string[]) => flagops(dir, 'monitor', FLAG, '--env', 'production', '--prometheus', url, ...FAST, ...args);

/** The `flagops monitor: error:` line. */
const errorLine = (stderr: string): string => stderr.split('\n').find((l) => l.startsWith('flagops monitor: error:')) ?? '';

describe('flagops monitor against a server that is not Prometheus', () => {
  it('shows the HTTP status and one line of a 4 KB error page, and the report names the failure, not "No data"', async () => {
    // GIVEN a port where a gateway answers every request with HTTP 400 and a 4 KB page
    expect(PAGE.length).toBeGreaterThan(4000);
    const url = await serve(400, 'text/html', () => PAGE);
    const dir = tempProject({ dist: false });
    // WHEN monitoring with a markdown report
    const r = await monitorIn(dir, url, '--report', 'rollout.md');
    // THEN exit 1, with the status and the page's first line of text, once, on one line
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe(
      `flagops monitor: error: ${url}/api/v1/query answered HTTP 400 (text/html), not like the Prometheus HTTP API: "400 Bad Request"; is --prometheus the Prometheus base URL?`,
    );
    expect(r.stdout + r.stderr).not.toContain('could not be understood');
    // ... and the report says what failed: the status and the query, without a "No data" section
    const md = readFileSync(join(dir, 'rollout.md'), 'utf8');
    expect(md).toContain('## Failure');
    expect(md).toContain('HTTP 400 for the query of error ratio:');
    expect(md).not.toContain('## No data');
    expect(md).not.toContain('check that the backend is scraped');
    expect(md).not.toContain('could not be understood');
  });

  it('cuts a 4 KB error of an API-shaped answer to one short line', async () => {
    // GIVEN a server that answers like the API, with an error of 4 KB over several lines
    const url = await serve(400, 'application/json', () => JSON.stringify({ status: 'error', errorType: 'bad_data', error: `unsupported query\n${'detail '.repeat(600)}` }));
    const r = await monitorIn(tempProject({ dist: false }), url);
    // THEN its first line, and the query that was rejected
    expect(r.code).toBe(1);
    const line = errorLine(r.stderr);
    expect(line).toMatch(/^flagops monitor: error: Prometheus rejected the query \(HTTP 400, bad_data: unsupported query\): sum\(rate\(http_requests_total/);
    expect(line).not.toContain('detail');
    expect(r.stderr.length).toBeLessThan(1000);
  });

  it('cuts a long first line short, escapes it, and never prints the credentials it echoes', async () => {
    // GIVEN a proxy whose page starts with the request's Authorization header, a control character and 4 KB of text
    const url = await serve(400, 'text/plain', (h) => `denied for ${h.authorization} \x1b[2J ${'x'.repeat(4000)}\nsecond line`);
    const r = await monitorIn(tempProject({ dist: false }), url.replace('http://', 'http://oncall:pa55-w0rd@'));
    const line = errorLine(r.stderr);
    expect(line).toContain('answered HTTP 400 (text/plain), not like the Prometheus HTTP API: "denied for Basic *** \\x1b[2J xxx');
    expect(line).toContain('..."');
    expect(line.length).toBeLessThan(400);
    expect(r.stderr).not.toContain(Buffer.from('oncall:pa55-w0rd').toString('base64'));
    expect(r.stderr).not.toContain('second line');
  });

  it('retries a 503 and shows one line of its body in each retry', async () => {
    const url = await serve(503, 'text/html', () => PAGE.replace('400 Bad Request', '503 Service Unavailable'));
    // a run of an hour: the first retry (in 250ms, within --retry-for 300ms) never meets the run's end,
    // however long the first answer takes on a loaded machine; the second (in 500ms) is past --retry-for
    const r = await monitorIn(tempProject({ dist: false }), url, '--duration', '1h');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Prometheus: HTTP 503: "503 Service Unavailable"; retry 1 in 250ms');
    expect(r.stderr).not.toContain('could not be understood');
    expect(r.stderr).toMatch(/gave up after 2 attempts over [\d.]+s\)/);
  });
});
