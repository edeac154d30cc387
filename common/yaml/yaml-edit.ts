/**
 * Text-exact edits of YAML mappings. The `yaml` Document API locates every key and value (with
 * its source range); edits replace only those ranges, so comments, the column of trailing
 * comments, quoting, line endings and every untouched entry keep their exact text.
 */
import { isMap, isPair, isScalar, isSeq, stringify, type Pair, type YAMLMap } from 'yaml';
import { UsageError } from '../text/errors.ts';
import { YamlSource } from './yaml-source.ts';

export type ScalarValue = string | number | boolean;

interface TextEdit {
  start: number;
  end: number;
  text: string;
}

type Ranged = { range?: [number, number, number] | null };

/**
 * Sets (or, with `undefined`, removes) fields of the mapping at `path`. Existing fields keep
 * their position; new fields are added after the last one, at the same indentation.
 *
 * @throws UsageError (naming `file` and the line) when the entry is not a block mapping of plain
 *   values, for example written in flow style `{...}` or with an alias.
 */
export function setFields(
  text: string,
  path: readonly string[],
  fields: Readonly<Record<string, ScalarValue | undefined>>,
  file = 'the file',
): string {
  const source = new YamlSource(file, text);
  const map = mappingAt(source, path);
  const edits: TextEdit[] = [];
  const pairs = map.items as Pair[];
  const additions: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const pair = pairs.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && value === undefined) {
      edits.push(removeLines(text, pair));
    } else if (pair && isScalar(pair.value) && pair.value.range) {
      edits.push(replaceValue(text, pair.value.range[0], contentEnd(text, pair.value), renderScalar(value!)));
    } else if (pair) {
      const at = source.locate([...path, key]);
      throw new UsageError(`${file}:${at.line}:${at.col}: '${key}' of ${path.join('.')} is not a plain value (an alias or a collection); write it as a plain value to edit it with flagops`);
    } else if (value !== undefined) {
      additions.push(`${key}: ${renderScalar(value)}`);
    }
  }
  if (additions.length > 0) edits.push(appendToMapping(text, map, additions));
  return applyEdits(text, edits);
}

/**
 * Adds a new entry `key:` with the given fields at the end of the mapping at `path`, indented like
 * its existing entries (or two spaces deeper than the parent key when it is empty).
 */
export function addEntry(
  text: string,
  path: readonly string[],
  key: string,
  fields: Readonly<Record<string, ScalarValue | readonly string[] | undefined>>,
  file = 'the file',
): string {
  const source = new YamlSource(file, text);
  const parent = source.doc.getIn(path, true);
  if (!isMap(parent)) throw new UsageError(`${file}: ${path.join('.')} is not a mapping`);
  const eol = lineEnding(text);
  const pairs = parent.items as Pair[];
  const first = pairs[0];
  let keyIndent: string;
  let fieldIndent: string;
  if (first && isScalar(first.key) && first.key.range) {
    keyIndent = ' '.repeat(columnOf(text, first.key.range[0]));
    const firstField = isMap(first.value) ? (first.value.items[0] as Pair | undefined) : undefined;
    const fieldCol = firstField && isScalar(firstField.key) && firstField.key.range ? columnOf(text, firstField.key.range[0]) : keyIndent.length + 2;
    fieldIndent = ' '.repeat(fieldCol);
  } else {
    keyIndent = '  ';
    fieldIndent = '    ';
  }
  const body = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${fieldIndent}${renderScalar(k)}: ${Array.isArray(v) ? `[${v.map((x: string) => renderScalar(x)).join(', ')}]` : renderScalar(v as ScalarValue)}`);
  // Keys and list items are rendered like values: whatever they hold, they stay one scalar.
  const block = [`${keyIndent}${renderScalar(key)}:`, ...body].join(eol);
  if (pairs.length === 0) {
    // `flags: {}` or `flags:` with nothing: replace the empty value with a block.
    const parentPair = pairOf(source, path);
    if (!parentPair || !isScalar(parentPair.key) || !parentPair.key.range) throw new UsageError(`${file}: cannot add to ${path.join('.')}`);
    const lineEnd = endOfLine(text, parentPair.key.range[1]);
    const keyText = text.slice(parentPair.key.range[0], parentPair.key.range[1]);
    return `${text.slice(0, parentPair.key.range[0])}${keyText}:${eol}${block}${text.slice(lineEnd)}`;
  }
  if (parent.flow) throw new UsageError(`${file}: ${path.join('.')} is written in flow style {...}; write it as a block mapping to edit it with flagops`);
  const last = pairs[pairs.length - 1]!;
  const end = endOfLine(text, nodeEnd(text, last));
  return `${text.slice(0, end)}${eol}${block}${text.slice(end)}`;
}

/**
 * Removes the entry `key` of the mapping at `path`: its key line through the end of its value,
 * comments inside it included; every other line keeps its text. The last entry leaves `{}`.
 *
 * @throws UsageError when the mapping has no such key, or is not a block mapping.
 */
export function removeEntry(text: string, path: readonly string[], key: string, file = 'the file'): string {
  const source = new YamlSource(file, text);
  const map = mappingAt(source, path);
  const pairs = map.items as Pair[];
  const pair = pairs.find((p) => isScalar(p.key) && String(p.key.value) === key);
  if (!pair) throw new UsageError(`${file}: ${path.join('.')} has no entry '${key}'`);
  if (pairs.length > 1) return applyEdits(text, [removeLines(text, pair)]);
  // The only entry: the mapping becomes `{}` on its parent key's line.
  const parent = pairOf(source, path);
  const keyEnd = (parent?.key as Ranged | undefined)?.range?.[1];
  if (!parent || keyEnd === undefined) throw new UsageError(`${file}: cannot remove the last entry of ${path.join('.')}`);
  return `${text.slice(0, keyEnd)}: {}${text.slice(endOfLine(text, nodeEnd(text, parent)))}`;
}

function mappingAt(source: YamlSource, path: readonly string[]): YAMLMap {
  const node = source.doc.getIn(path, true);
  if (!isMap(node) || node.flow) {
    const at = source.locate(path, 'key');
    throw new UsageError(
      `${source.file}:${at.line}:${at.col}: ${path.join('.')} is ${isMap(node) ? 'written in flow style {...}' : 'not a mapping'}; write it as a block mapping (one field per line) to edit it with flagops`,
    );
  }
  return node;
}

function pairOf(source: YamlSource, path: readonly string[]): Pair | undefined {
  const parent = path.length > 1 ? source.doc.getIn(path.slice(0, -1), true) : source.doc.contents;
  if (!isMap(parent)) return undefined;
  return (parent.items as Pair[]).find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === path[path.length - 1]);
}

/** The scalar as YAML would write it: plain when safe, quoted when needed. */
export function renderScalar(value: ScalarValue): string {
  if (typeof value === 'string' && /[\n\r]/.test(value)) throw new UsageError('values must be on one line');
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

/**
 * Replaces a value. When a comment follows on the same line, the gap before it grows or shrinks so
 * the comment keeps its column (at least one space remains).
 */
function replaceValue(text: string, start: number, end: number, replacement: string): TextEdit {
  const rest = /^( +)#/.exec(text.slice(end, endOfLine(text, end)));
  if (!rest || text.slice(start, end).includes('\n')) return { start, end, text: replacement };
  const gap = rest[1]!.length + (end - start) - replacement.length;
  return { start, end: end + rest[1]!.length, text: replacement + ' '.repeat(Math.max(1, gap)) };
}

function appendToMapping(text: string, map: YAMLMap, lines: readonly string[]): TextEdit {
  const pairs = map.items as Pair[];
  const first = pairs[0];
  if (!first || !isScalar(first.key) || !first.key.range) throw new UsageError('cannot add a field to an empty mapping');
  const indent = ' '.repeat(columnOf(text, first.key.range[0]));
  const eol = lineEnding(text);
  const at = endOfLine(text, nodeEnd(text, pairs[pairs.length - 1]!));
  return { start: at, end: at, text: lines.map((l) => `${eol}${indent}${l}`).join('') };
}

function removeLines(text: string, pair: Pair): TextEdit {
  const keyStart = (pair.key as Ranged).range![0];
  const start = text.lastIndexOf('\n', keyStart - 1) + 1;
  let end = endOfLine(text, nodeEnd(text, pair));
  if (text[end] === '\r') end++;
  if (text[end] === '\n') end++;
  return { start, end, text: '' };
}

/** Where a pair's content ends: the end of its last scalar, never past a line break. */
function nodeEnd(text: string, pair: Pair): number {
  const value = pair.value;
  if (isMap(value) && !value.flow && value.items.length > 0) return nodeEnd(text, value.items[value.items.length - 1] as Pair);
  if (isSeq(value) && !value.flow && value.items.length > 0) return contentEnd(text, value.items[value.items.length - 1] as Ranged);
  return contentEnd(text, (value as Ranged | null) ?? (pair.key as Ranged));
}

/**
 * The end of a node's own text. A block scalar's range (`|`, `>-`) includes the line break after
 * it, and a plain scalar's may include trailing spaces: both are left out.
 */
function contentEnd(text: string, node: Ranged): number {
  const [start, end] = node.range ?? [0, 0];
  let e = end;
  while (e > start && /[\s]/.test(text[e - 1]!)) e--;
  return e;
}

/** The offset of the line break at or after `offset` (before a `\r\n`'s `\r`), or the end. */
function endOfLine(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  if (nl === -1) return text.length;
  return nl > 0 && text[nl - 1] === '\r' && nl - 1 >= offset ? nl - 1 : nl;
}

function lineEnding(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
