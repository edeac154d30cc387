/**
 * One entry of a flag file, found by its lines alone, for the kill switch: it must work when the
 * rest of the file is broken in any way (a duplicate key, a git merge conflict, an anchor, a tab,
 * a stray line in another entry), which makes the YAML parser reject the file as a whole.
 *
 * The flag files are a plain block mapping, `flags:` at column 1 and one entry per flag beneath
 * it, so an entry is its key line (`  name:` at the entries' indentation) and the lines after it
 * that are indented deeper, blank or comments. Lines of other entries are never interpreted. The
 * entry's text can then be read and edited on its own: {@link projectEntry} blanks every other
 * line (so positions stay those of the file) and {@link spliceEntry} puts an edited entry back
 * between the file's own other lines, byte for byte.
 *
 * When the lines cannot say for sure where the entry is, the answer is {@link EntryLookup.uncertain}
 * with what is in the way, never a guess: the name twice, a merge conflict running through the entry,
 * its key at another indentation than the other entries, a stray line at column 1 between `flags:`
 * and the entry, or (when the file is valid YAML) the parser reading the lines differently, for
 * example as the continuation of a quoted value.
 */
import { isMap, isScalar, type Pair } from 'yaml';
import type { Location } from '../../model/findings.ts';
import { YamlSource } from './yaml-source.ts';

/** Where an entry is, in 1-based lines of the file. */
export interface EntryLines {
  /** The line of the mapping key above it (`flags:`). */
  readonly parentLine: number;
  /** The entry's key line. */
  readonly keyLine: number;
  /** Its last line with content (comments and blank lines after it belong to the gap). */
  readonly lastLine: number;
  /** The key's column, 0-based: the indentation of the entries. */
  readonly indent: number;
}

/** Why the entry's lines cannot be told for sure: the place, and what to do. */
export interface Uncertainty extends Location {
  readonly message: string;
}

export type EntryLookup =
  | { readonly found: EntryLines }
  | {
      readonly absent: true;
      /** The names of the entries the lines show (for suggestions). */
      readonly names: readonly string[];
    }
  | { readonly uncertain: Uncertainty };

/** The lines of a conflict git left in the file: `<<<<<<<` to `>>>>>>>` (1-based, inclusive). */
interface ConflictRegion {
  readonly start: number;
  readonly end: number;
}

type LineKind = 'blank' | 'comment' | 'marker' | 'top' | 'indented';

interface Line {
  readonly kind: LineKind;
  /** Leading spaces (lines indented with a tab count as deeper than any). */
  readonly indent: number;
  readonly tab: boolean;
  /** The text without the line break, a leading byte-order mark or a trailing `\r`. */
  readonly text: string;
}

const CONFLICT_OPEN = /^<{7}(?: |$)/;
const CONFLICT_CLOSE = /^>{7}(?: |$)/;
const CONFLICT_MIDDLE = /^(?:={7}|\|{7}(?: .*)?)$/;

function classify(raw: string, first: boolean): Line {
  let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (first && text.startsWith('\uFEFF')) text = text.slice(1);
  const lead = /^[ \t]*/.exec(text)![0];
  const rest = text.slice(lead.length);
  const indent = /^ */.exec(lead)![0].length;
  const tab = lead.includes('\t');
  if (rest === '') return { kind: 'blank', indent, tab, text };
  if (rest.startsWith('#')) return { kind: 'comment', indent, tab, text };
  if (lead === '' && (CONFLICT_OPEN.test(text) || CONFLICT_CLOSE.test(text) || CONFLICT_MIDDLE.test(text))) return { kind: 'marker', indent, tab, text };
  return { kind: lead === '' ? 'top' : 'indented', indent, tab, text };
}

/** The git conflicts in `lines`; an unclosed one runs to the end, a stray marker is one line. */
function conflictRegions(lines: readonly Line[]): ConflictRegion[] {
  const regions: ConflictRegion[] = [];
  let open: number | undefined;
  lines.forEach((l, i) => {
    if (l.kind !== 'marker') return;
    if (CONFLICT_OPEN.test(l.text)) open ??= i + 1;
    else if (CONFLICT_CLOSE.test(l.text)) {
      regions.push({ start: open ?? i + 1, end: i + 1 });
      open = undefined;
    } else if (open === undefined) regions.push({ start: i + 1, end: i + 1 });
  });
  if (open !== undefined) regions.push({ start: open, end: lines.length });
  return regions;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A line that is the key `name` of a block mapping entry (plain or quoted), with or without a value. */
const keyPattern = (name: string): RegExp => {
  const n = escapeRegExp(name);
  return new RegExp(`^(?:${n}|"${n}"|'${n}')[ \\t]*:(?:[ \\t]|$)`);
};

/** A `parent:` line opening a block (nothing after the colon but a comment). */
const parentPattern = (parent: string): RegExp => {
  const n = escapeRegExp(parent);
  return new RegExp(`^(?:${n}|"${n}"|'${n}')[ \\t]*:[ \\t]*(?:#.*)?$`);
};

/** An entry key's name, as the lines show it (for suggestions only). */
const KEY_NAME = /^(["']?)([^\s"':#][^"':]*?)\1[ \t]*:(?:[ \t]|$)/;

/**
 * Finds the entry `key` of the top-level block mapping `parent` in `text` by its lines (see the
 * module comment). `file` names the file in the messages.
 */
export function findEntry(text: string, parent: string, key: string, file: string): EntryLookup {
  const lines = text.split('\n').map((l, i) => classify(l, i === 0));
  const at = (line: number, col: number, message: string): EntryLookup => ({ uncertain: { file, line, col, message } });
  const isKey = keyPattern(key);
  const isParent = parentPattern(parent);

  // Every line that names the key, at any indentation, and the top-level line above each.
  const candidates: { line: number; under: number | undefined }[] = [];
  const names: string[] = [];
  let top: number | undefined; // the last line at column 1 (0-based index), when it is `parent:`
  let entryIndent: number | undefined; // the first entry's indentation under it
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.kind === 'top') {
      top = isParent.test(l.text) ? i : undefined;
      entryIndent = undefined;
      continue;
    }
    if (l.kind !== 'indented' || top === undefined) continue;
    entryIndent ??= l.tab ? undefined : l.indent;
    const content = l.text.trimStart();
    if (!l.tab && l.indent === entryIndent) {
      const name = KEY_NAME.exec(content)?.[2];
      if (name !== undefined) names.push(name);
    }
    if (isKey.test(content)) candidates.push({ line: i, under: top });
  }
  const regions = conflictRegions(lines);
  // A key line under another line at column 1, itself below `parent:`: which of the two it belongs to is uncertain.
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.kind !== 'indented' || !isKey.test(l.text.trimStart()) || candidates.some((c) => c.line === i)) continue;
    const above = lastTopBefore(lines, i);
    const parentAbove = lastParentBefore(lines, i, isParent);
    if (above !== undefined && parentAbove !== undefined) {
      const stray = lines[above]!;
      const conflict = regions.find((r) => r.start <= above + 1 && r.end >= above + 1);
      if (conflict) return at(conflict.start, 1, `${conflictText(conflict)} lies between '${parent}:' (line ${parentAbove + 1}) and the entry '${key}' (line ${i + 1}); ${RESOLVE}`);
      return at(above + 1, 1, `line ${above + 1} (${quoteLine(stray.text)}) starts at column 1 between '${parent}:' (line ${parentAbove + 1}) and the entry '${key}' (line ${i + 1}), so the lines do not say that the entry belongs to '${parent}'; indent or remove line ${above + 1}`);
    }
  }

  const entries: EntryLines[] = [];
  for (const c of candidates) {
    const l = lines[c.line]!;
    const parentLine = c.under! + 1;
    const firstIndent = firstEntryIndent(lines, c.under!);
    if (l.tab) return at(c.line + 1, 1, `the entry '${key}' is indented with a tab; YAML indents with spaces only: indent it like the other entries`);
    if (firstIndent !== undefined && l.indent > firstIndent) continue; // a field (or text) inside another entry
    if (firstIndent !== undefined && l.indent < firstIndent) {
      return at(c.line + 1, l.indent + 1, `the entry '${key}' is indented by ${l.indent} spaces, the entries of '${parent}:' by ${firstIndent}; indent it like the other entries`);
    }
    const lastLine = lastLineOf(lines, c.line);
    const orphan = orphanAfter(lines, lastLine, l.indent);
    if (orphan) {
      return at(orphan.stray + 1, lines[orphan.stray]!.indent + 1, `line ${orphan.stray + 1} (${quoteLine(lines[orphan.stray]!.text)}) is indented less than the entries of '${parent}:', and the lines after it (from line ${orphan.line + 1}) are indented like the fields of '${key}' (line ${c.line + 1}), so where that entry ends is uncertain; fix the indentation of line ${orphan.stray + 1}`);
    }
    entries.push({ parentLine, keyLine: c.line + 1, lastLine, indent: l.indent });
  }
  if (entries.length === 0) return { absent: true, names };
  if (entries.length > 1) {
    return at(entries[1]!.keyLine, entries[1]!.indent + 1, `'${key}' has ${entries.length} entries (lines ${entries.map((e) => e.keyLine).join(', ')}): keep one, delete the others`);
  }
  const entry = entries[0]!;
  const through = regions.find((r) => r.start <= entry.lastLine && r.end >= entry.keyLine);
  if (through) return at(through.start, 1, `${conflictText(through)} runs through the entry '${key}' (lines ${entry.keyLine}-${entry.lastLine}); ${RESOLVE}`);
  const above = regions.find((r) => r.start <= entry.parentLine && r.end >= entry.parentLine);
  if (above) return at(above.start, 1, `${conflictText(above)} holds '${parent}:' (line ${entry.parentLine}), above the entry '${key}' (line ${entry.keyLine}); ${RESOLVE}`);
  return { found: entry };
}

const conflictText = (r: ConflictRegion): string => `a git merge conflict (lines ${r.start}-${r.end})`;
const RESOLVE = 'resolve it (keep the lines you want, delete the <<<<<<<, ======= and >>>>>>> lines)';

function lastTopBefore(lines: readonly Line[], i: number): number | undefined {
  for (let j = i - 1; j >= 0; j--) if (lines[j]!.kind === 'top') return j;
  return undefined;
}

/** The last `parent:` line above line `i`. */
function lastParentBefore(lines: readonly Line[], i: number, isParent: RegExp): number | undefined {
  for (let j = i - 1; j >= 0; j--) if (lines[j]!.kind === 'top' && isParent.test(lines[j]!.text)) return j;
  return undefined;
}

/** The indentation of the first entry under the top-level line `top` (YAML's rule for a block mapping). */
function firstEntryIndent(lines: readonly Line[], top: number): number | undefined {
  for (let j = top + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.kind === 'top') return undefined;
    if (l.kind === 'indented' && !l.tab) return l.indent;
  }
  return undefined;
}

/** The entry's last content line: deeper lines, blank lines, comments and conflict markers continue it. */
function lastLineOf(lines: readonly Line[], keyIndex: number): number {
  const indent = lines[keyIndex]!.indent;
  let last = keyIndex;
  for (let j = keyIndex + 1; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.kind === 'blank' || l.kind === 'comment' || l.kind === 'marker') continue;
    if (l.kind === 'top' || (!l.tab && l.indent <= indent)) break;
    last = j;
  }
  return last + 1;
}

/**
 * After an entry ending at `lastLine` (1-based): when the line that ends it is not a sibling entry
 * (it is indented less, or a stray line at column 1) and lines indented like fields follow it, those
 * lines may be the rest of the entry. Returns the stray line and the first such line (0-based).
 */
function orphanAfter(lines: readonly Line[], lastLine: number, indent: number): { stray: number; line: number } | undefined {
  let stray: number | undefined;
  for (let j = lastLine; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.kind === 'blank' || l.kind === 'comment' || l.kind === 'marker') continue;
    const deeper = l.kind === 'indented' && (l.tab || l.indent > indent);
    if (stray === undefined) {
      if (l.kind === 'indented' && !l.tab && l.indent === indent && KEY_NAME.test(l.text.trimStart())) return undefined; // the next entry
      stray = j;
      continue;
    }
    if (deeper) return { stray, line: j };
    if (l.kind === 'top' || l.indent <= indent) return undefined;
  }
  return undefined;
}

const quoteLine = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);

/**
 * When the whole text is valid YAML, whether the parser agrees with the lines: the entry `key`
 * under `parent` exists once, from `entry.keyLine` to `entry.lastLine`. Returns the disagreement,
 * or undefined (also when the text is not valid YAML: the lines are all there is to go by).
 */
export function crossCheck(text: string, parent: string, key: string, file: string, entry: EntryLines | undefined): Uncertainty | undefined {
  const source = new YamlSource(file, text);
  if (source.findings.some((f) => f.rule === 'yaml-syntax' || f.rule === 'yaml-depth' || f.rule === 'yaml-size')) return undefined;
  const root = source.doc.contents;
  const pairs: Pair[] = [];
  if (isMap(root)) {
    for (const p of root.items as Pair[]) {
      if (!isScalar(p.key) || String(p.key.value) !== parent || !isMap(p.value)) continue;
      for (const q of p.value.items as Pair[]) if (isScalar(q.key) && String(q.key.value) === key) pairs.push(q);
    }
  }
  const lineOf = (offset: number) => source.lineCounter.linePos(offset).line;
  if (!entry) {
    if (pairs.length === 0) return undefined;
    const start = (pairs[0]!.key as { range?: [number, number, number] }).range?.[0] ?? 0;
    const pos = source.position(start);
    return { ...pos, message: `the entry '${key}' is not written as a block entry under '${parent}:' (its key on a line of its own, one field per line, as the other entries); write it that way` };
  }
  const ranges = pairs.map((p) => ({ key: (p.key as { range?: [number, number, number] }).range, value: (p.value as { range?: [number, number, number] } | null)?.range }));
  const agrees =
    ranges.length === 1 &&
    ranges[0]!.key !== undefined &&
    lineOf(ranges[0]!.key[0]) === entry.keyLine &&
    lineOf(contentEnd(text, ranges[0]!.value ?? ranges[0]!.key)) === entry.lastLine;
  if (agrees) return undefined;
  return {
    file,
    line: entry.keyLine,
    col: entry.indent + 1,
    message: `the lines ${entry.keyLine}-${entry.lastLine} look like the entry '${key}', but YAML reads them differently (${ranges.length === 0 ? 'as part of another value, such as a quoted text running over several lines' : 'with other bounds'}); rewrite the entries around it one field per line`,
  };
}

/** The offset of a node's last character (trailing line breaks and spaces left out). */
function contentEnd(text: string, range: readonly number[]): number {
  let end = range[1]!;
  while (end > range[0]! && /\s/.test(text[end - 1]!)) end--;
  return Math.max(range[0]!, end - 1);
}

/**
 * The text with only the entry, under a plain `parent:` line: every other line is empty (its line
 * break kept), so lines and columns are those of the file.
 */
export function projectEntry(text: string, parent: string, entry: EntryLines): string {
  return text
    .split('\n')
    .map((line, i) => {
      const n = i + 1;
      const cr = line.endsWith('\r') ? '\r' : '';
      if (n === entry.parentLine) return `${parent}:${cr}`;
      return n >= entry.keyLine && n <= entry.lastLine ? line : cr;
    })
    .join('\n');
}

/**
 * Puts the entry of `edited` (a {@link projectEntry} of `text`, changed only within the entry's
 * lines, which may have grown or shrunk) back into `text`: every line outside the entry keeps its
 * exact text. Returns the new text and the entry's lines in it.
 */
export function spliceEntry(text: string, entry: EntryLines, projected: string, edited: string): { text: string; entry: EntryLines } {
  const lines = text.split('\n');
  const before = projected.split('\n');
  const after = edited.split('\n');
  const delta = after.length - before.length;
  const head = entry.keyLine - 1;
  const tail = before.length - entry.lastLine;
  // The edit may only touch the entry's lines: the blanked lines around it must come back unchanged.
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(after.slice(0, head), before.slice(0, head)) || !same(after.slice(after.length - tail), before.slice(before.length - tail))) {
    throw new Error('internal error: an entry edit changed lines outside the entry');
  }
  const body = after.slice(head, entry.lastLine + delta);
  return {
    text: [...lines.slice(0, head), ...body, ...lines.slice(entry.lastLine)].join('\n'),
    entry: { ...entry, lastLine: entry.lastLine + delta },
  };
}
