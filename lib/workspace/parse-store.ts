/**
 * Parses of flag files kept across runs. Reading a flag file with the `yaml` package is the
 * largest part of a short command (about 50 ms for the sample's four files in a fresh process,
 * seconds at 10,000 flags), and between two commands the files rarely change. What a parse
 * produced (the data, the names, the entries that pass the schema, the findings) is plain data:
 * it is kept per file and text, and a later run with the same text uses it instead of parsing.
 *
 * An entry is used only when its file and whole text equal the ones read now (the hash only
 * names the entry). The store lives in the compiled CLI's build folder, so code that parses
 * differently never meets an old entry. A parse that JSON cannot hold exactly (a non-finite
 * number, a negative zero) is not kept, nor one above 16 MiB. At most {@link MAX_ENTRIES} entries
 * and {@link MAX_BYTES} are kept, the least recently used go first. Nothing here is ever needed: an
 * entry that cannot be read or written only costs the parse.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../../model/findings.ts';

/** What parsing one flag file produced, besides its document. */
export interface StoredParse {
  readonly readable: boolean;
  readonly data: Record<string, unknown> | undefined;
  readonly names: string[];
  readonly valid: Record<string, unknown>;
  /** The file's own findings: YAML-level and schema. */
  readonly findings: Finding[];
}

export interface ParseStore {
  get(file: string, text: string): StoredParse | undefined;
  put(file: string, text: string, parse: StoredParse): void;
}

interface Entry extends StoredParse {
  readonly format: number;
  readonly file: string;
  readonly text: string;
}

const FORMAT = 1;
export const MAX_ENTRIES = 64;
export const MAX_BYTES = 64 * 1024 * 1024;
/** Largest entry kept: a parse with hundreds of thousands of findings is not worth its write. */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

/** A store in `dir` (created on the first write). `debug` hears which files came from it. */
export function parseStoreIn(dir: string, debug: (message: string) => void = () => {}): ParseStore {
  const path = (file: string, text: string) => join(dir, `${nameHash(`${file}\0${text}`)}.json`);
  return {
    get(file, text) {
      const at = path(file, text);
      let entry: Entry;
      try {
        entry = JSON.parse(readFileSync(at, 'utf8')) as Entry;
      } catch {
        return undefined;
      }
      if (entry.format !== FORMAT || entry.file !== file || entry.text !== text) return undefined;
      try {
        const now = new Date();
        utimesSync(at, now, now); // recently used
      } catch {
        // a read-only store still serves
      }
      debug(`${file}: from the parse store`);
      return { readable: entry.readable, data: entry.data, names: entry.names, valid: entry.valid, findings: entry.findings };
    },
    put(file, text, parse) {
      if (text.length > MAX_ENTRY_BYTES) return; // the entry holds the text: never kept, not worth serializing
      const entry: Entry = { format: FORMAT, file, text, ...parse };
      let json: string;
      try {
        json = JSON.stringify(entry, exactOnly);
      } catch {
        return; // JSON would change a value: parsed again next time
      }
      if (json.length > MAX_ENTRY_BYTES) return;
      try {
        mkdirSync(dir, { recursive: true });
        const at = path(file, text);
        const temp = `${at}.${process.pid}.tmp`;
        writeFileSync(temp, json);
        renameSync(temp, at);
        prune(dir);
      } catch {
        // a read-only cache: parsed again next time
      }
    },
  };
}

/** JSON.stringify's replacer: throws on a number JSON cannot hold exactly. */
function exactOnly(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) throw new RangeError('not exact in JSON');
  return value;
}

/** Removes the least recently used entries above {@link MAX_ENTRIES} or {@link MAX_BYTES}. */
function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  const entries = names.flatMap((name) => {
    try {
      const st = statSync(join(dir, name));
      return [{ name, size: st.size, used: st.mtimeMs }];
    } catch {
      return []; // removed meanwhile
    }
  });
  entries.sort((a, b) => b.used - a.used || (a.name < b.name ? -1 : 1));
  let bytes = 0;
  entries.forEach((e, i) => {
    bytes += e.size;
    if (i >= MAX_ENTRIES || bytes > MAX_BYTES) rmSync(join(dir, e.name), { force: true });
  });
}

/** A short hash naming an entry (FNV-1a, twice over; no node:crypto to load at start-up). */
function nameHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  return [a, b].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
}
