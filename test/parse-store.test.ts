/**
 * Parses kept across runs (lib/workspace/parse-store.ts): used only for the very text they were
 * made from, never holding a value JSON would change, bounded in size.
 */
import { mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES, parseStoreIn, type StoredParse } from '../lib/workspace/parse-store.ts';

const parse = (over: Partial<StoredParse> = {}): StoredParse => ({
  readable: true,
  data: { environment: 'dev', flags: { a_enabled: { enabled: true, rollout: 50 } } },
  names: ['a_enabled'],
  valid: { a_enabled: { enabled: true, rollout: 50 } },
  findings: [{ file: 'environments/dev/flags.yaml', line: 3, col: 5, severity: 'warning', rule: 'r', message: 'm' }],
  ...over,
});

const FILE = 'environments/dev/flags.yaml';

describe('the parse store', () => {
  it('gives a parse back for the same file and text only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-parses-'));
    const heard: string[] = [];
    const store = parseStoreIn(dir, (m) => heard.push(m));
    store.put(FILE, 'text one', parse());
    expect(store.get(FILE, 'text one')).toEqual(parse());
    expect(heard).toEqual([`${FILE}: from the parse store`]);
    expect(store.get(FILE, 'text two')).toBeUndefined();
    expect(store.get('environments/staging/flags.yaml', 'text one')).toBeUndefined();
  });

  it('never trusts an entry whose text is not the text read now (a hash collision, a tampered file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-parses-'));
    const store = parseStoreIn(dir);
    store.put(FILE, 'the real text', parse());
    const [name] = readdirSync(dir);
    const entry = JSON.parse(readFileSync(join(dir, name!), 'utf8')) as { text: string };
    writeFileSync(join(dir, name!), JSON.stringify({ ...entry, text: 'other text' }));
    expect(store.get(FILE, 'the real text')).toBeUndefined();
    writeFileSync(join(dir, name!), '{ not json');
    expect(store.get(FILE, 'the real text')).toBeUndefined();
  });

  it.each([
    ['a non-finite number', Infinity],
    ['NaN', NaN],
    ['a negative zero', -0],
  ])('does not keep a parse holding %s (JSON would change it)', (_, value) => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-parses-'));
    const store = parseStoreIn(dir);
    store.put(FILE, 'text', parse({ data: { environment: 'dev', flags: { a_enabled: { rollout: value } } } }));
    expect(store.get(FILE, 'text')).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it(`keeps the ${MAX_ENTRIES} most recently used entries`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-parses-'));
    const store = parseStoreIn(dir);
    store.put(FILE, 'text 0', parse());
    const old = new Date(Date.now() - 60_000);
    for (const name of readdirSync(dir)) utimesSync(join(dir, name), old, old);
    for (let i = 1; i <= MAX_ENTRIES; i++) store.put(FILE, `text ${i}`, parse());
    expect(readdirSync(dir)).toHaveLength(MAX_ENTRIES);
    expect(store.get(FILE, 'text 0')).toBeUndefined();
    expect(store.get(FILE, `text ${MAX_ENTRIES}`)).toBeDefined();
  });

  it('a store that cannot be written costs nothing but the parse', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'flagops-parses-')), 'a-file');
    writeFileSync(file, '');
    const store = parseStoreIn(join(file, 'below-a-file'));
    expect(() => store.put(FILE, 'text', parse())).not.toThrow();
    expect(store.get(FILE, 'text')).toBeUndefined();
  });
});
