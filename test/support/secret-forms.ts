/**
 * A password and every form a server could echo it in (test/redact.test.ts on the Redactor itself,
 * test/monitor-redaction.test.ts against the real executable), and a search of a text for any of
 * them or for a piece of the password.
 */

export const USER = 'oncall';
/** Every character class an encoding treats differently: quote, backslash, slash, space, plus, ampersand, angle bracket, percent, non-ASCII. */
export const PASSWORD = 'Zq"7\\é Kx+/&<%9pW';
/** A password that URL-encoding changes at every kind of character: '@', '/', a two-byte UTF-8 letter, '+', a space and '%'. */
export const URL_PASSWORD = 'p@ss/wörd+1 %';

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const b64url = (s: string): string => Buffer.from(s).toString('base64url');
export const jsonInner = (s: string): string => JSON.stringify(s).slice(1, -1);
/** JSON with every character but letters and digits as `\uXXXX` (Go escapes `<>&`, Python's ensure_ascii non-ASCII). */
const jsonUnicode = (s: string): string => [...s].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)).join('');
const html = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Every form of the password a server could send back. */
export const FORMS: Readonly<Record<string, (password: string, user: string) => string>> = {
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

/** Every encoded form of {@link PASSWORD}, and every 5-character piece of it and of its JSON form, found in `text`. */
export function leaks(text: string): string[] {
  const found = Object.entries(FORMS).filter(([, form]) => text.includes(form(PASSWORD, USER))).map(([name]) => name);
  for (const s of [PASSWORD, jsonInner(PASSWORD)]) {
    for (let i = 0; i + 5 <= s.length; i++) if (text.includes(s.slice(i, i + 5))) found.push(`the piece ${JSON.stringify(s.slice(i, i + 5))}`);
  }
  return [...new Set(found)];
}
