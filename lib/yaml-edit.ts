/**
 * Text-exact edits of YAML mappings. The `yaml` Document API locates every key and value (with
 * its source range); edits replace only those ranges, so comments, alignment, quoting and every
 * untouched entry keep their exact text.
 */
import { isMap, isPair, isScalar, isSeq, stringify, type Pair, type YAMLMap } from 'yaml';
import { YamlSource } from './yaml-source.ts';

export type ScalarValue = string | number | boolean;

interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * Sets (or, with `undefined`, removes) fields of the mapping at `path`. Existing fields keep
 * their position; new fields are added after the last one, at the same indentation.
 *
 * @throws Error when the path does not lead to a block mapping.
 */
export function setFields(text: string, path: readonly string[], fields: Readonly<Record<string, ScalarValue | undefined>>): string {
  const source = new YamlSource('edit', text);
  const map = mappingAt(source, path);
  const edits: TextEdit[] = [];
  const pairs = map.items as Pair[];
  const additions: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const pair = pairs.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && value === undefined) {
      edits.push(removeLines(text, pair));
    } else if (pair && isScalar(pair.value) && pair.value.range) {
      edits.push({ start: pair.value.range[0], end: pair.value.range[1], text: renderScalar(value!) });
    } else if (pair) {
      throw new Error(`cannot edit '${key}' in ${path.join('.')}: it is not a plain value`);
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
export function addEntry(text: string, path: readonly string[], key: string, fields: Readonly<Record<string, ScalarValue | readonly string[] | undefined>>): string {
  const source = new YamlSource('edit', text);
  const parent = source.doc.getIn(path, true);
  if (!isMap(parent)) throw new Error(`${path.join('.')} is not a mapping`);
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
    .map(([k, v]) => `${fieldIndent}${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : renderScalar(v as ScalarValue)}`);
  const block = [`${keyIndent}${key}:`, ...body].join('\n');
  if (pairs.length === 0) {
    // `flags: {}` or `flags:` with nothing: replace the empty value with a block.
    const parentPair = pairOf(source, path);
    if (!parentPair || !isScalar(parentPair.key) || !parentPair.key.range) throw new Error(`cannot add to ${path.join('.')}`);
    const lineEnd = endOfLine(text, parentPair.key.range[1]);
    const keyText = text.slice(parentPair.key.range[0], parentPair.key.range[1]);
    return `${text.slice(0, parentPair.key.range[0])}${keyText}:\n${block}${text.slice(lineEnd)}`;
  }
  const last = pairs[pairs.length - 1]!;
  const end = endOfLine(text, nodeEnd(last));
  return `${text.slice(0, end)}\n${block}${text.slice(end)}`;
}

function mappingAt(source: YamlSource, path: readonly string[]): YAMLMap {
  const node = source.doc.getIn(path, true);
  if (!isMap(node) || node.flow) throw new Error(`${path.join('.')} is not a block mapping in ${source.file}`);
  return node;
}

function pairOf(source: YamlSource, path: readonly string[]): Pair | undefined {
  const parent = path.length > 1 ? source.doc.getIn(path.slice(0, -1), true) : source.doc.contents;
  if (!isMap(parent)) return undefined;
  return (parent.items as Pair[]).find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === path[path.length - 1]);
}

/** The scalar as YAML would write it: plain when safe, quoted when needed. */
export function renderScalar(value: ScalarValue): string {
  if (typeof value === 'string' && /[\n\r]/.test(value)) throw new Error('values must be on one line');
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

function appendToMapping(text: string, map: YAMLMap, lines: readonly string[]): TextEdit {
  const pairs = map.items as Pair[];
  const first = pairs[0];
  if (!first || !isScalar(first.key) || !first.key.range) throw new Error('cannot add a field to an empty mapping');
  const indent = ' '.repeat(columnOf(text, first.key.range[0]));
  const at = endOfLine(text, nodeEnd(pairs[pairs.length - 1]!));
  return { start: at, end: at, text: lines.map((l) => `\n${indent}${l}`).join('') };
}

function removeLines(text: string, pair: Pair): TextEdit {
  const keyStart = (pair.key as { range: [number, number, number] }).range[0];
  const start = text.lastIndexOf('\n', keyStart - 1) + 1;
  let end = endOfLine(text, nodeEnd(pair));
  if (text[end] === '\n') end++;
  return { start, end, text: '' };
}

/** Where a pair's content ends: the end of its last scalar (block mappings end after their newline). */
function nodeEnd(pair: Pair): number {
  const value = pair.value;
  if (isMap(value) && !value.flow && value.items.length > 0) return nodeEnd(value.items[value.items.length - 1] as Pair);
  if (isSeq(value) && !value.flow && value.items.length > 0) {
    return (value.items[value.items.length - 1] as { range?: [number, number, number] }).range?.[1] ?? 0;
  }
  const ranged = value as { range?: [number, number, number] } | null;
  const key = pair.key as { range?: [number, number, number] };
  // range[1] is the end of the value itself, before any trailing comment or blank lines.
  return ranged?.range?.[1] ?? key.range?.[1] ?? 0;
}

function endOfLine(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
