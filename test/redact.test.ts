/**
 * Credentials never reach output, in any encoding a server can echo them in: raw, JSON-escaped (as
 * JSON.stringify writes it, with `\/`, and with `\uXXXX` escapes), URL-encoded (encodeURIComponent
 * and the `+`-for-space form), HTML entities, as flagops prints control characters (`\x1b`), base64
 * of `user:password` and of the password alone (and base64url), and never in part after a long
 * answer is cut short. These tests call common/text/redact.ts in-process (the Redactor, runSecrets,
 * redactUrl): they are what `npm run mutation` runs against it, so every table entry, every form and
 * every edge has a test here. test/monitor-redaction.test.ts runs the real executable against a
 * hostile server.
 */
import { describe, expect, it } from 'vitest';
import { printable } from '../common/text/printable.ts';
import { Redactor, redactUrl, runSecrets } from '../common/text/redact.ts';
import { PrometheusClient } from '../lib/rollout/prometheus.ts';
import { b64, b64url, FORMS, jsonInner, PASSWORD, URL_PASSWORD, USER } from './support/secret-forms.ts';

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

  it('keeps every text as it is when it knows no secret', () => {
    const text = 'HTTP 400: {"status":"error"} 100% a+b c/d \\u0041 %41 &amp; Basic b25jYWxsOg==';
    expect(new Redactor().redact(text)).toBe(text);
  });

  it('ignores an empty secret and an empty password: the base64 of the user name alone is no secret', () => {
    const r = new Redactor().add('').add(undefined).addBasic(USER, '');
    const text = `user ${USER}, header Basic ${b64(`${USER}:`)} or ${b64url(`${USER}:`)}`;
    expect(r.redact(text)).toBe(text);
  });

  it('redacts a secret added after it has redacted a text', () => {
    const r = new Redactor().add('first-s3cret');
    expect(r.redact('first-s3cret second-s3cret')).toBe('*** second-s3cret');
    r.add('second-s3cret');
    expect(r.redact('first-s3cret second-s3cret')).toBe('*** ***');
  });

  it('two occurrences side by side are two ***', () => {
    expect(new Redactor().add('s3cret').redact('[s3crets3cret]')).toBe('[******]');
  });

  it("JSON's two-character escapes: each stands for its character, escaped once or twice (and `\\/` as PHP writes `/`)", () => {
    for (const c of ['"', '\\', '\b', '\f', '\n', '\r', '\t']) {
      const r = new Redactor().add(`pw${c}9`);
      expect(r.redact(`[${jsonInner(`pw${c}9`)}]`), JSON.stringify(c)).toBe('[***]');
      expect(r.redact(`[${jsonInner(jsonInner(`pw${c}9`))}]`), `${JSON.stringify(c)} escaped twice`).toBe('[***]');
    }
    expect(new Redactor().add('pw/9').redact('[pw\\/9] [pw\\\\\\/9]')).toBe('[***] [***]');
  });

  it("HTML's named entities, each for its character: &amp; &lt; &gt; &quot; &apos;", () => {
    for (const [c, entity] of [['&', '&amp;'], ['<', '&lt;'], ['>', '&gt;'], ['"', '&quot;'], ["'", '&apos;']] as const) {
      expect(new Redactor().add(`pw${c}9`).redact(`[pw${entity}9]`), entity).toBe('[***]');
    }
  });

  it('HTML numeric character references, decimal or hexadecimal in either case, with leading zeros', () => {
    const r = new Redactor().add("pw'é9");
    for (const text of ['pw&#39;&#233;9', 'pw&#x27;&#xe9;9', 'pw&#X27;&#XE9;9', 'pw&#0039;&#x00E9;9']) expect(r.redact(`[${text}]`), text).toBe('[***]');
  });

  it('a + stands for a space (form encoding), and for no other character', () => {
    expect(new Redactor().add('pass word').redact('[pass+word]')).toBe('[***]');
    expect(new Redactor().add('passXword').redact('[pass+word]')).toBe('[pass+word]');
  });

  it('a secret as flagops prints its control and invisible characters (\\x1b, \\u202e, \\u{e0041}), hexadecimal in either case', () => {
    const secret = 'pw\x1b[0m\u202e\u{e0041}9';
    const r = new Redactor().add(secret);
    expect(printable(secret)).toBe('pw\\x1b[0m\\u202e\\u{e0041}9');
    expect(r.redact(`[${printable(secret)}]`)).toBe('[***]');
    expect(r.redact('[pw\\x1B[0m\\u202E\\u{E0041}9]')).toBe('[***]');
  });

  it('a secret with characters outside the BMP (an emoji): raw, as a JSON surrogate pair, URL-encoded, as HTML references', () => {
    const r = new Redactor().add('\u{1f600}pw\u{1f600}');
    for (const form of ['\u{1f600}pw\u{1f600}', '\\ud83d\\ude00pw\\uD83D\\uDE00', '%F0%9F%98%80pw%f0%9f%98%80', '&#128512;pw&#x1F600;']) {
      expect(r.redact(`[${form}]`), form).toBe('[***]');
    }
    // AND occurrences that overlap: after a match the search goes on one character (not one UTF-16 unit) further
    expect(r.redact('[\u{1f600}pw\u{1f600}pw\u{1f600}]')).toBe('[***]');
  });

  it('the base64 forms of a secret whose base64 has + and / and two = of padding: padded, unpadded, base64url', () => {
    // 'pw~ÿé' is cHd+w7/DqQ== in base64
    const r = new Redactor().add('pw~ÿé');
    for (const form of ['cHd+w7/DqQ==', 'cHd+w7/DqQ', 'cHd-w7_DqQ']) expect(r.redact(`[${form}]`), form).toBe('[***]');
    // AND the Basic header of oncall:pw-ÿé~a, b25jYWxsOnB3LcO/w6l+YQ== in base64
    const basic = new Redactor().addBasic(USER, 'pw-ÿé~a');
    for (const form of ['b25jYWxsOnB3LcO/w6l+YQ==', 'b25jYWxsOnB3LcO/w6l+YQ', 'b25jYWxsOnB3LcO_w6l-YQ']) expect(basic.redact(`Basic ${form}!`), form).toBe('Basic ***!');
  });

  it('truncate: redacts the whole text, then cuts it to max characters, with ... only after a cut', () => {
    const r = new Redactor().add('s3cret');
    expect(r.truncate('abcdef', 6)).toBe('abcdef');
    expect(r.truncate('abcdefg', 6)).toBe('abcdef...');
    expect(r.truncate('id s3cret', 6)).toBe('id ***');
    expect(r.truncate('id s3cret', 5)).toBe('id **...');
  });
});

describe('Redactor.addUrlCredentials', () => {
  const secretsOf = (text: string): string => new Redactor().addUrlCredentials(text).redact(`[hunter2] [${b64('oncall:hunter2')}]`);

  it('takes the password of scheme://user:password@host, and the base64 of user:password', () => {
    expect(secretsOf('--prometheus https://oncall:hunter2@prom.example:9090/')).toBe('[***] [***]');
  });

  it('takes user:password@host without a scheme: at the start of the text, or after a space, an = or a quote', () => {
    for (const text of ['oncall:hunter2@prom', 'connect oncall:hunter2@prom', '--url=oncall:hunter2@prom', "url='oncall:hunter2@prom'", 'url="oncall:hunter2@prom"']) {
      expect(secretsOf(text), text).toBe('[***] [***]');
    }
  });

  it('takes a percent-encoded user and password as given and decoded', () => {
    const r = new Redactor().addUrlCredentials('https://on%2Bcall:p%40ss%2Fw@prom');
    expect(r.redact(`[p%40ss%2Fw] [p@ss/w] [${b64('p%40ss%2Fw')}] [${b64('on+call:p@ss/w')}]`)).toBe('[***] [***] [***] [***]');
  });

  it('takes a password that is not valid percent-encoding as it is', () => {
    const r = new Redactor().addUrlCredentials('https://oncall:50%zz@prom');
    expect(r.redact(`[50%zz] [${b64('oncall:50%zz')}]`)).toBe('[***] [***]');
  });

  it('finds no credentials where there is no user:password@', () => {
    const text = 'https://prom.example:9090/api at 10:30, mail@example.com';
    expect(new Redactor().addUrlCredentials(text).redact(text)).toBe(text);
  });
});

describe('runSecrets: the secrets known before a command starts', () => {
  it('the passwords of URLs on the command line and in FLAGOPS_PROMETHEUS_URL, and FLAGOPS_PROMETHEUS_PASSWORD and FLAGOPS_PROMETHEUS_TOKEN', () => {
    const r = runSecrets(['monitor', 'f', '--prometheus', 'https://oncall:pw-argv@prom'], {
      FLAGOPS_PROMETHEUS_URL: 'https://oncall:pw-url@prom',
      FLAGOPS_PROMETHEUS_PASSWORD: 'pw-password',
      FLAGOPS_PROMETHEUS_TOKEN: 'pw-token',
    });
    expect(r.redact('pw-argv pw-url pw-password pw-token')).toBe('*** *** *** ***');
  });

  it('none when the command line and the environment hold none', () => {
    const r = runSecrets(['check', '--base', 'main'], { PATH: '/usr/bin' });
    expect(r.redact('check --base main /usr/bin')).toBe('check --base main /usr/bin');
  });
});

describe('redactUrl: a URL for messages', () => {
  it('replaces everything between the scheme and the last @ by ***', () => {
    expect(redactUrl('https://oncall:hunter2@prom.example:9090/api')).toBe('https://***@prom.example:9090/api');
    expect(redactUrl('HTTPS://oncall:hunter2@prom')).toBe('HTTPS://***@prom');
    expect(redactUrl('git+ssh://git:hunter2@example.com/repo.git')).toBe('git+ssh://***@example.com/repo.git');
    expect(redactUrl('//oncall:hunter2@prom')).toBe('//***@prom');
    expect(redactUrl('oncall:hunter2@prom')).toBe('***@prom');
    expect(redactUrl('https://on@call:p@ss@prom')).toBe('https://***@prom');
  });

  it('keeps a text without @ as it is', () => {
    expect(redactUrl('https://prom.example:9090/api')).toBe('https://prom.example:9090/api');
    expect(redactUrl('origin')).toBe('origin');
  });

  it('replaces a password holding a space, a line break or // whole', () => {
    expect(redactUrl('htp://oncall:pass word@prom')).toBe('htp://***@prom');
    expect(redactUrl('oncall:pass\nword@prom')).toBe('***@prom');
    expect(redactUrl('oncall:pa//ss@prom')).toBe('***@prom');
  });

  it('a usage error about a mistyped --prometheus URL never shows its password', () => {
    expect(() => new PrometheusClient({ url: 'htp://oncall:pass word@prom' })).toThrow("--prometheus must be an http(s) URL, got 'htp://***@prom'");
  });
});
