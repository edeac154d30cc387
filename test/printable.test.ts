/**
 * common/text/printable.ts on its own: the one definition of what text from files, git and servers
 * may not carry to a terminal, and how it is shown escaped. Every range of UNSAFE_CHARACTER is pinned
 * at both ends and just outside them, so that mutation testing (docs/testing.md#mutation-testing)
 * sees a test fail for every bug planted in the module.
 */
import { describe, expect, it } from 'vitest';
import { escapeCharacter, printable, safeJson, unsafeCharacters, UNSAFE_CHARACTER } from '../common/text/printable.ts';

const cp = (code: number): string => String.fromCodePoint(code);

/** Each unsafe range, as [first, last] code points (a single character twice). */
const UNSAFE_RANGES: readonly (readonly [number, number])[] = [
  [0x00, 0x1f], [0x7f, 0x9f], [0xad, 0xad], [0x61c, 0x61c], [0x180e, 0x180e], [0x200b, 0x200f],
  [0x2028, 0x202e], [0x2060, 0x2069], [0xfeff, 0xfeff], [0xfff9, 0xfffb], [0xe0000, 0xe007f],
];

describe('the unsafe characters: every range is refused at both ends, its neighbours are not', () => {
  it('refuses the first and the last character of every range', () => {
    for (const [first, last] of UNSAFE_RANGES) {
      expect(UNSAFE_CHARACTER.test(`a${cp(first)}b`), first.toString(16)).toBe(true);
      expect(UNSAFE_CHARACTER.test(`a${cp(last)}b`), last.toString(16)).toBe(true);
    }
  });

  it('accepts the characters just outside every range (ordinary text stays as it is)', () => {
    const neighbours = [0x20, 0x7e, 0xa0, 0xac, 0xae, 0x61b, 0x61d, 0x180d, 0x180f, 0x200a, 0x2010, 0x2027, 0x202f, 0x205f, 0x206a, 0xfefe, 0xff00, 0xfff8, 0xfffc, 0xe0080, 0x1f600];
    for (const code of neighbours) {
      expect(UNSAFE_CHARACTER.test(cp(code)), code.toString(16)).toBe(false);
      expect(printable(`x${cp(code)}y`)).toBe(`x${cp(code)}y`);
    }
    expect(unsafeCharacters('plain text: é, ü, 日本, 😀')).toEqual([]);
  });

  it('refuses a lone surrogate, high or low, and accepts a pair', () => {
    expect(printable('a\ud83db')).toBe('a\\ud83db');
    expect(printable('a\ude00b')).toBe('a\\ude00b');
    expect(printable('end\ud83d')).toBe('end\\ud83d');
    expect(printable('\ude00start')).toBe('\\ude00start');
    expect(printable('pair \ud83d\ude00')).toBe('pair \ud83d\ude00');
  });
});

describe('escapeCharacter and printable: one line, every unsafe character visible', () => {
  it('names newline, carriage return and tab; other characters by code, with as many digits as they need', () => {
    expect(['\n', '\r', '\t', '\u0000', '\u001b', '\u007f', '\u009f', '\u00ad', '\u061c', '\u202e', '\ufeff', cp(0xe0041)].map(escapeCharacter)).toEqual([
      '\\n', '\\r', '\\t', '\\x00', '\\x1b', '\\x7f', '\\x9f', '\\xad', '\\u061c', '\\u202e', '\\ufeff', '\\u{e0041}',
    ]);
    // At each boundary of the three forms: \xff is the last two-digit one, \uffff the last four-digit one.
    expect([0xff, 0x100, 0xffff, 0x10000].map((code) => escapeCharacter(cp(code)))).toEqual(['\\xff', '\\u0100', '\\uffff', '\\u{10000}']);
  });

  it('escapes every unsafe character of a text, not only the first', () => {
    expect(printable('a\nb\u001b[31mc\u202ed\n')).toBe('a\\nb\\x1b[31mc\\u202ed\\n');
  });

  it('unsafeCharacters lists each distinct unsafe character once, escaped, in order of appearance', () => {
    expect(unsafeCharacters('x\u202ey\nz\u202e\n\t')).toEqual(['\\u202e', '\\n', '\\t']);
  });
});

describe('safeJson: valid JSON that no terminal can act on', () => {
  it('escapes what JSON.stringify leaves raw, at both ends of every range, and reads back to the same value', () => {
    const raw = [0x7f, 0x9f, 0xad, 0x61c, 0x180e, 0x200b, 0x200f, 0x2028, 0x202e, 0x2060, 0x2069, 0xfeff, 0xfff9, 0xfffb].map(cp).join('');
    const tags = `${cp(0xe0000)}${cp(0xe007f)}`;
    const value = { text: `a${raw}b${tags}c` };
    const json = safeJson(value);
    expect(json).toMatch(/^[\x20-\x7e]*$/);
    expect(json).toContain('\\u007f\\u009f\\u00ad\\u061c\\u180e\\u200b\\u200f\\u2028\\u202e\\u2060\\u2069\\ufeff\\ufff9\\ufffb');
    expect(json).toContain('\\udb40\\udc00\\udb40\\udc7f');
    expect(JSON.parse(json)).toEqual(value);
  });

  it('leaves ordinary text and the neighbours of each range as JSON.stringify writes them, indented when asked', () => {
    const value = { text: `é ${cp(0x7e)}${cp(0xa0)}${cp(0x2010)}${cp(0xfffc)}${cp(0xe0080)} 😀` };
    expect(safeJson(value)).toBe(JSON.stringify(value));
    expect(safeJson(value, 2)).toBe(JSON.stringify(value, null, 2));
  });
});
