/**
 * Credentials never appear in output: every line flagops prints, and every report it writes,
 * passes through a {@link Redactor} that knows the secrets of the run (passwords in URLs on the
 * command line, FLAGOPS_PROMETHEUS_PASSWORD / FLAGOPS_PROMETHEUS_TOKEN, and secrets read from
 * files), in every form a server could echo them: as given; JSON-escaped (`\"`, `\\`, `\/`, and
 * `\uXXXX` for any character, escaped once or more); URL-encoded (`%XX` in either case, `+` for a
 * space, encoded again as `%25XX`); as HTML entities; as printed by {@link printable} (`\x1b`); and
 * as the base64 and base64url of the secret, and of `user:password` in a `Basic` header. A server
 * may mix the forms character by character: each character of a secret matches any of its forms.
 *
 * Redact first, then shorten: a secret cut in half is no longer recognizable (see
 * {@link Redactor.truncate}).
 */
import { escapeCharacter } from './printable.ts';

/** Environment variables that hold secrets. */
export const SECRET_ENV = ['FLAGOPS_PROMETHEUS_PASSWORD', 'FLAGOPS_PROMETHEUS_TOKEN'] as const;
/** Environment variables that may hold a URL with credentials. */
export const URL_ENV = ['FLAGOPS_PROMETHEUS_URL'] as const;

export class Redactor {
  /** The secrets and their base64 forms, as given. */
  private readonly secrets = new Set<string>();
  /** One pattern per secret, matching it in any encoding (built when first needed). */
  private patterns: RegExp[] | undefined;

  /** Adds a secret (empty ones are ignored), with its base64 and base64url forms. */
  add(secret: string | undefined): this {
    if (!secret) return this;
    this.addForm(secret);
    for (const form of base64Forms(secret)) this.addForm(form);
    return this;
  }

  /** Adds a basic-auth password in every form, with the base64 of `user:password` (the `Basic` header). */
  addBasic(user: string, password: string): this {
    if (!password) return this;
    this.add(password);
    for (const form of base64Forms(`${user}:${password}`)) this.addForm(form);
    return this;
  }

  /** Adds the credentials of every URL-like `scheme://user:password@` or `user:password@host` in `text`. */
  addUrlCredentials(text: string): this {
    for (const m of text.matchAll(/(?:^|[\s='"]|\/\/)([^\s:/@'"=]*):([^\s@'"/]+)@/g)) {
      const user = safeDecode(m[1]!);
      const raw = m[2]!;
      this.add(raw);
      this.addBasic(user, safeDecode(raw));
    }
    return this;
  }

  /**
   * `text` with every secret, in any encoding, replaced by `***`. Every occurrence of every secret
   * is found in the text as given (overlapping ones too), and each stretch of text they cover
   * becomes one `***`: a secret containing another, or two secrets overlapping, leave no piece.
   */
  redact(text: string): string {
    // A lookahead matches no text, so the search goes on at the next character (a code point: the
    // `u` flag) and finds the occurrences that begin inside another; the secret is its group.
    this.patterns ??= [...this.secrets].map((s) => new RegExp(`(?=(${[...s].map(characterForms).join('')}))`, 'gu'));
    const covered: [number, number][] = [];
    for (const pattern of this.patterns) for (const m of text.matchAll(pattern)) covered.push([m.index, m.index + m[1]!.length]);
    covered.sort((a, b) => a[0] - b[0]);
    let out = '';
    let at = 0;
    for (const [start, end] of covered) {
      if (start >= at) out += `${text.slice(at, start)}***`;
      at = Math.max(at, end);
    }
    return out + text.slice(at);
  }

  /**
   * `text` redacted, then cut to `max` characters with `...` after a cut: redaction sees the whole
   * text, so a secret that the cut would halve is never printed in part.
   */
  truncate(text: string, max: number): string {
    const safe = this.redact(text);
    return safe.length > max ? `${safe.slice(0, max)}...` : safe;
  }

  private addForm(form: string): void {
    this.secrets.add(form);
    this.patterns = undefined;
  }
}

/** The secrets of a run known before any command starts: from the command line and the environment. */
export function runSecrets(argv: readonly string[], env: NodeJS.ProcessEnv): Redactor {
  const redactor = new Redactor();
  for (const arg of argv) redactor.addUrlCredentials(arg);
  for (const name of URL_ENV) if (env[name]) redactor.addUrlCredentials(env[name]!);
  for (const name of SECRET_ENV) redactor.add(env[name]);
  return redactor;
}

/** A URL for messages: everything between the scheme and the last `@` (the user and password) replaced by `***`. */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at === -1) return url;
  const scheme = /^(?:[a-z][a-z0-9+.-]*:)?\/\//i.exec(url)?.[0] ?? '';
  return `${scheme}***${url.slice(at)}`;
}

/** The base64 (with and without its padding) and base64url of `text`. */
function base64Forms(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const padded = bytes.toString('base64');
  return [padded, padded.replaceAll('=', ''), bytes.toString('base64url')];
}

/**
 * JSON's two-character escapes: the character after the backslash. (`\n`, `\r` and `\t` are also
 * how flagops prints those characters, a form every character has: see {@link characterForms}.)
 */
const JSON_SHORT: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f' };
/** HTML's named entities for the characters servers escape (`&#39;` is a numeric reference, a form every character has). */
const HTML_NAMED: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** A regular expression source matching the one character `c` (a code point) in any of its encodings. */
function characterForms(c: string): string {
  const code = c.codePointAt(0)!;
  // One or more backslashes: the escape may itself be escaped (JSON inside a JSON string).
  const slashes = '\\\\+';
  const forms = [
    utf16(c).map((unit) => `${slashes}u${hex(unit, 4)}`).join(''),
    // As printed by printable (`\x1b`, `\u{e0041}`), its backslash one of the slashes.
    slashes + literal(escapeCharacter(c).slice(1)).replace(/[0-9a-f]/g, hexDigit),
    utf8(c).map((byte) => `%(?:25)*${hex(byte, 2)}`).join(''),
    `&#0*${code};`,
    `&#[xX]0*${hex(code, 1)};`,
  ];
  const short = JSON_SHORT[c];
  if (short) forms.push(slashes + literal(short));
  const entity = HTML_NAMED[c];
  if (entity) forms.push(entity);
  if (c === ' ') forms.push('\\+');
  // The character itself last: the first alternative that matches wins, so at the end of a secret an
  // encoded form that begins with the character (`%25` for `%`, `&amp;` for `&`, `\\` for `\`)
  // must be tried first, or its tail (`25`) would be left after the `***`.
  forms.push(literal(c));
  return `(?:${forms.join('|')})`;
}

/** `c` as a regular expression matching itself (valid with the `u` flag). */
const literal = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
/** A hexadecimal number of at least `width` digits, any letter case. */
const hex = (n: number, width: number): string => [...n.toString(16).padStart(width, '0')].map(hexDigit).join('');
const hexDigit = (d: string): string => (/[a-f]/i.test(d) ? `[${d.toLowerCase()}${d.toUpperCase()}]` : d);
const utf16 = (c: string): number[] => [...Array(c.length).keys()].map((i) => c.charCodeAt(i));
const utf8 = (c: string): number[] => [...Buffer.from(c, 'utf8')];

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
