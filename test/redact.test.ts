/**
 * Credentials never reach output, in any encoding a server can echo them in: raw, JSON-escaped (as
 * JSON.stringify writes it, and with `\uXXXX` escapes), URL-encoded (encodeURIComponent and the
 * `+`-for-space form), HTML entities, base64 of `user:password` and of the password alone (and
 * base64url), and never in part after a long answer is cut short. The Redactor on its own first,
 * then a hostile HTTP server on 127.0.0.1 against the real executable.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_EXCERPT } from '../lib/rollout/prometheus.ts';
import { Redactor } from '../common/text/redact.ts';
import { tempProject } from './helpers.ts';
import { startFakePrometheus, type Answer, type FakePrometheus, type Received } from './support/fake-prometheus.ts';
import { startFlagops } from './support/process.ts';

const USER = 'oncall';
/** Every character class an encoding treats differently: quote, backslash, slash, space, plus, ampersand, angle bracket, percent, non-ASCII. */
const PASSWORD = 'Zq"7\\é Kx+/&<%9pW';
/** A password that URL-encoding changes at every kind of character: '@', '/', a two-byte UTF-8 letter, '+', a space and '%'. */
const URL_PASSWORD = 'p@ss/wörd+1 %';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const jsonInner = (s: string): string => JSON.stringify(s).slice(1, -1);
/** JSON with every character but letters and digits as `\uXXXX` (Go escapes `<>&`, Python's ensure_ascii non-ASCII). */
const jsonUnicode = (s: string): string => [...s].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)).join('');
const html = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Every form of the password a server could send back. */
const FORMS: Readonly<Record<string, (password: string, user: string) => string>> = {
  raw: (p) => p,
  'JSON-escaped (JSON.stringify)': jsonInner,
  'JSON-escaped twice (JSON inside a JSON string)': (p) => jsonInner(jsonInner(p)),
  'JSON with \\uXXXX escapes': jsonUnicode,
  'JSON with upper-case \\uXXXX escapes': (p) => jsonUnicode(p).replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\u${h.toUpperCase()}`),
  'URL-encoded (encodeURIComponent)': encodeURIComponent,
  'URL-encoded with lower-case hex': (p) => encodeURIComponent(p).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
  'URL-encoded twice (%25XX: a proxy encoding a query already encoded)': (p) => encodeURIComponent(encodeURIComponent(p)),
  'URL-encoded in part (encodeURI keeps @, / and +)': encodeURI,
  'form-encoded (+ for a space)': (p) => new URLSearchParams({ p }).toString().slice(2),
  'HTML entities': html,
  'base64 of user:password': (p, u) => b64(`${u}:${p}`),
  'base64 of user:password without padding': (p, u) => b64(`${u}:${p}`).replace(/=+$/, ''),
  'base64url of user:password': (p, u) => b64url(`${u}:${p}`),
  'base64 of the password alone': (p) => b64(p),
  'base64url of the password alone': (p) => b64url(p),
};

/** Every encoded form of the password, and every 5-character piece of the password and of its JSON form, found in `text`. */
function leaks(text: string): string[] {
  const found = Object.entries(FORMS).filter(([, form]) => text.includes(form(PASSWORD, USER))).map(([name]) => name);
  for (const s of [PASSWORD, jsonInner(PASSWORD)]) {
    for (let i = 0; i + 5 <= s.length; i++) if (text.includes(s.slice(i, i + 5))) found.push(`the piece ${JSON.stringify(s.slice(i, i + 5))}`);
  }
  return [...new Set(found)];
}

describe('Redactor', () => {
  it('replaces the URL-encoded form of a password', () => {
    const r = new Redactor().addBasic(USER, 'p@ss word/1');
    expect(r.redact('echo p%40ss%20word%2F1 end')).toBe('echo *** end');
  });

  it('replaces a secret that contains another one whole, and secrets that overlap without leaving a piece', () => {
    const r = new Redactor().add('abc123').add('xxabc123xx');
    expect(r.redact('token xxabc123xx!')).toBe('token ***!');
    // AND two secrets overlapping in the text: neither leaves a piece of itself behind
    const overlap = new Redactor().add('cdefgh').add('abcd');
    expect(overlap.redact('[abcdefgh]')).toBe('[***]');
    // AND a secret repeated with overlap ("aXaXa" holds "aXa" twice)
    expect(new Redactor().add('aXa').redact('-aXaXa-')).toBe('-***-');
  });

  // (and passwords ending in a character whose encoded forms begin with it: the last character's form is taken whole)
  for (const password of [PASSWORD, URL_PASSWORD, 'ends-in\\', 'ends-in&']) {
    describe(`every form of the password ${JSON.stringify(password)}`, () => {
      for (const [name, form] of Object.entries(FORMS)) {
        it(`replaces the password ${name}`, () => {
          const r = new Redactor().addBasic(USER, password);
          const out = r.redact(`before ${form(password, USER)} after`);
          expect(out).toBe('before *** after');
        });
      }
    });
  }

  it('longest first: a secret that begins or ends with another is replaced whole, whichever was added first', () => {
    for (const [shorter, longer] of [['s3cret', 's3cret-tail'], ['s3cret', 'head-s3cret']]) {
      for (const r of [new Redactor().add(shorter!).add(longer!), new Redactor().add(longer!).add(shorter!)]) {
        expect(r.redact(`a ${longer} b ${shorter} c`), `${shorter} and ${longer}`).toBe('a *** b *** c');
      }
    }
    // AND the URL-encoded forms of two such passwords
    const r = new Redactor().add('p@ss').add(URL_PASSWORD);
    expect(r.redact(`u=${encodeURIComponent(URL_PASSWORD)}&v=${encodeURIComponent('p@ss')}`)).toBe('u=***&v=***');
  });

  it('keeps text without secrets as it is', () => {
    const r = new Redactor().addBasic(USER, PASSWORD).add('tok-123');
    const text = 'HTTP 400: {"status":"error"} 100% a+b c/d \\u0041 %41 &amp;';
    expect(r.redact(text)).toBe(text);
  });
});

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
