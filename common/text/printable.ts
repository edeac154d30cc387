/**
 * Text from files, git and servers is untrusted: it may hold control characters, terminal escape
 * sequences, line breaks or invisible bidi/zero-width characters. The flag files' rule
 * (`unsafe-character`) and every printer use the one definition here.
 */

/**
 * Characters that are not allowed in free text and are shown escaped when printed: C0 controls
 * (tab and newline included), DEL, C1 controls, the soft hyphen, bidi marks, embeddings,
 * overrides and isolates, zero-width characters, line and paragraph separators, the BOM /
 * zero-width no-break space, interlinear annotations, Unicode tag characters, and lone surrogates.
 */
export const UNSAFE_CHARACTER =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;

const UNSAFE_GLOBAL = new RegExp(UNSAFE_CHARACTER.source, 'gu');

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One character escaped: `\n`, `\x1b`, `\u202e`, `\u{e0041}`. */
export function escapeCharacter(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/** `text` on one line with every unsafe character visibly escaped; ordinary text is unchanged. */
export function printable(text: string): string {
  return text.replace(UNSAFE_GLOBAL, escapeCharacter);
}

/** The distinct unsafe characters of `text`, escaped, in order of appearance (empty when it is safe). */
export function unsafeCharacters(text: string): string[] {
  return [...new Set(text.match(UNSAFE_GLOBAL) ?? [])].map(escapeCharacter);
}

/** JSON escapes of what `JSON.stringify` leaves raw (DEL, C1, bidi, zero-width...): still valid JSON. */
const JSON_RAW = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;

/** `JSON.stringify` whose output holds no character that a terminal could act on or hide. */
export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(JSON_RAW, (s) => s.split('').map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''));
}
