/**
 * `flagops monitor` never prints a credential that a hostile server echoes, in any encoding, in the
 * terminal or the report, and never a piece of one after a long answer is cut short: the real
 * executable against an HTTP server on 127.0.0.1. (The Redactor itself, in every form and edge,
 * is tested in-process by test/redact.test.ts, which is what mutation testing runs.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EXCERPT } from '../lib/rollout/prometheus.ts';
import { tempProject } from './helpers.ts';
import { startFakePrometheus, type Answer, type FakePrometheus, type Received } from './support/fake-prometheus.ts';
import { startFlagops } from './support/process.ts';
import { b64, FORMS, leaks, PASSWORD, USER } from './support/secret-forms.ts';

let fake: FakePrometheus | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** The password a client sent in its basic-auth header, as a hostile server reads it. */
function sentPassword(req: Received): { user: string; password: string } {
  const decoded = Buffer.from((req.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Runs the real executable's monitor against a server answering every query with `answer`, with basic auth from --user and --password-file. */
async function monitorAgainst(answer: (req: Received) => Answer, report: string): Promise<{ code: number; output: string }> {
  fake = await startFakePrometheus((_s, _n, req) => answer(req));
  const dir = tempProject({ dist: false });
  writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
  const r = await startFlagops(dir, [
    'monitor', 'telehealth_appointments_enabled', '--env', 'production', '--prometheus', fake.url,
    '--user', USER, '--password-file', 'pw', '--duration', '300ms', '--interval', '100ms', '--retry-for', '300ms', '--report', report,
  ]).done;
  return { code: r.code, output: `${r.stdout}\n${r.stderr}\n${readFileSync(join(dir, report), 'utf8')}` };
}

/** A proxy error that echoes a string. */
const echoing = (text: string): Answer => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: text }) });

describe('flagops monitor never prints a credential a hostile server echoes (real executable, server on 127.0.0.1)', () => {
  for (const [i, [name, form]] of Object.entries(FORMS).entries()) {
    it(`redacts the password echoed ${name}, in the terminal and the report`, async () => {
      const report = i % 2 === 0 ? 'r.md' : 'r.json';
      const r = await monitorAgainst((req) => {
        const { user, password } = sentPassword(req);
        return echoing(`authorization for ${user}: ${form(password, user)} (refused)`);
      }, report);
      expect(fake!.received[0]!.authorization).toBe(`Basic ${b64(`${USER}:${PASSWORD}`)}`);
      expect(r.code, r.output).toBe(1);
      expect(r.output).toContain('authorization for oncall: *** (refused)');
      expect(leaks(r.output)).toEqual([]);
    });
  }

  it('redacts a password the server echoes inside a JSON object (printed as JSON by flagops)', async () => {
    // GIVEN a server whose error is an object holding the password: {"echoed":"Zq\"7\\..."}
    const r = await monitorAgainst((req) => ({ status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: { echoed: sentPassword(req).password } }) }), 'r.json');
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('{"echoed":"***"}');
    expect(leaks(r.output)).toEqual([]);
  });

  for (const cut of [1, 5, 9, 16]) {
    it(`redacts before cutting a long answer short: no piece of a password cut after ${cut} characters`, async () => {
      // GIVEN an error longer than is shown (MAX_EXCERPT characters), the password starting `cut` characters before the cut
      const r = await monitorAgainst((req) => echoing(`${'x'.repeat(MAX_EXCERPT - cut)}${sentPassword(req).password} and more`), 'r.md');
      expect(r.code, r.output).toBe(1);
      expect(r.output).toMatch(/xxx\*{1,3}/);
      expect(leaks(r.output)).toEqual([]);
    });
  }
});
