/**
 * A YAML file parsed with the `yaml` package's Document API: comments and ranges are kept, so
 * findings point at `file:line:col` and edits keep the user's formatting.
 *
 * Parsing is bounded and linear in the size of the text, whatever the text: the concrete syntax
 * tree is read first (without recursion) to refuse nesting deeper than {@link MAX_DEPTH} before
 * the document is composed, duplicate keys are found with one Set per mapping (the `yaml`
 * package's own check compares every key with every earlier one), and keys are looked up through
 * an index built once per mapping.
 *
 * The flag files (`{ flagFile: true }`) are a plain subset of YAML, because anything else changes
 * what a value means without a visible change in the file: no anchors, aliases or merge keys (an
 * edit of one entry would change another), no tags, no `%YAML`/`%TAG` directives (YAML 1.1 reads
 * `031` as 25 and `yes` as true), numbers as plain decimal integers (`0x19`, `2.5e1`, `+25` are
 * 25 to the parser), and free text as one line of printable characters.
 */
import { Composer, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Parser, Scalar, YAMLParseError, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { error, FindingList, type Finding, type Keep, type Location, type Locator } from '../../model/findings.ts';
import type { FlagFileSource } from '../../model/flags.ts';
import { describePath } from '../text/paths.ts';
import { collectGarbage, LARGE_PARSE } from './heap.ts';
import { escapeCharacter, UNSAFE_CHARACTER, unsafeCharacters } from '../text/printable.ts';

/** Deepest nesting of collections read; the flag files need 4 levels, Kubernetes manifests about 12. */
export const MAX_DEPTH = 64;

/**
 * Most values read, as {@link countValues} estimates them before parsing (a key and its value are
 * two). While the `yaml` package builds a document, its syntax tree and the document take about
 * 700 bytes per value together, so this keeps one parse under about 200 MB, and any input of 10 MB
 * judged in under 500 MiB (test/memory-bound.test.ts). A complete flag entry in block style is 16
 * values: a flag file holds about 15,000 of them, a catalog about 25,000 (the `feature_flags.json`
 * key of the flag ConfigMap passes its 256 KiB warning at about 5,500 flags).
 */
export const MAX_VALUES = 250_000;

export interface YamlSourceOptions {
  /** Apply the flag files' subset of YAML (see the module comment). @default false */
  readonly flagFile?: boolean;
  /** Findings capped apart from the others (model/findings.ts' FindingList): those a command decides by. */
  readonly keep?: Keep;
}

export class YamlSource implements Locator {
  readonly lineCounter = new LineCounter();
  /**
   * Every YAML-level finding: syntax, duplicate keys, nesting, and the flag files' subset; at most
   * MAX_KEPT_PER_RULE of one rule, then one that counts the rest (model/findings.ts).
   */
  readonly findings: Finding[];
  private readonly found: FindingList;
  /**
   * Whether the data can be trusted: no syntax error, duplicate key, excessive nesting, or (in a
   * flag file) construct that changes what values mean. Findings on single values (numbers, free
   * text) leave the rest of the data trusted, so every other rule still runs.
   */
  readonly ok: boolean;
  private readonly keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  /** The composed document; undefined after {@link release} until {@link doc} is read again. */
  private composed: Document.Parsed | undefined;
  /** Whether the text composes again after {@link release} (not when it was refused unread: too many values, too deep). */
  private composable = false;

  constructor(
    /** Path relative to the project root. */
    readonly file: string,
    readonly text: string,
    options: YamlSourceOptions = {},
  ) {
    this.found = new FindingList(options.keep);
    const values = countValues(text, MAX_VALUES);
    const tooMany = values.passedAt;
    if (tooMany !== undefined) {
      // Not parsed at all: only the line counter is needed, for the position (lines start at 0, as the parser counts them).
      this.lineCounter.addNewLine(0);
      for (let i = text.indexOf('\n'); i >= 0 && i < tooMany; i = text.indexOf('\n', i + 1)) this.lineCounter.addNewLine(i + 1);
      this.found.push(error(this.position(tooMany), 'yaml-size', `the YAML holds more than about ${String(MAX_VALUES).replace(/\B(?=(\d{3})+$)/g, ',')} values by here; it is not read (a flag file of 15,000 complete entries holds about 240,000)`));
      this.composed = parseDocument('');
      this.ok = false;
      this.findings = this.found.toArray();
      return;
    }
    if (values.count > LARGE_PARSE) collectGarbage();
    const parsed = concreteSyntax(text, this.lineCounter);
    const scan = 'overflow' in parsed ? { tooDeep: parsed.overflow, props: [] } : scanTokens(parsed.tokens);
    let trusted = true;
    if (scan.tooDeep !== undefined || !('tokens' in parsed)) {
      trusted = false;
      this.found.push(
        error(this.position(scan.tooDeep ?? 0), 'yaml-depth', `the YAML is nested more than ${MAX_DEPTH} levels deep here; it is not read further`),
      );
      this.composed = parseDocument('');
    } else {
      this.composed = compose(parsed.tokens, text.length);
      this.composable = true;
      // One syntax error is reported per file: the parser's later errors are usually its consequences.
      const first = this.composed.errors[0];
      if (first) {
        trusted = false;
        this.found.push(error(this.position(first.pos[0]), 'yaml-syntax', firstLine(first.message)));
      }
    }
    if (options.flagFile) {
      for (const t of scan.props) {
        trusted = false;
        this.found.push(error(this.position(t.offset), PROP_RULES[t.type], propMessage(t)));
      }
    }
    const walk = this.walk(options.flagFile === true);
    this.ok = trusted && walk.trusted;
    this.findings = this.found.toArray();
  }

  /** The document, with comments and source ranges (composed again from the text after {@link release}). */
  get doc(): Document.Parsed {
    // Only a source whose text composed is ever released, and its text composes again without an overflow.
    if (!this.composed && countValues(this.text, LARGE_PARSE).passedAt !== undefined) collectGarbage();
    this.composed ??= compose((concreteSyntax(this.text, new LineCounter()) as { tokens: Token[] }).tokens, this.text.length);
    return this.composed;
  }

  /**
   * Lets go of the composed document once its data has been read and checked: the `yaml` package
   * takes about 1 KB per value, 30 MB for a flag file of 10,000 entries, and a project's four
   * documents held together through synthesis set how far the heap grows (at 10,000 flags, peak
   * memory about 590 MB instead of about 430). A finding's position or an edit composes it again
   * from the text, once. A source refused unread (too many values, too deep) keeps its empty document.
   */
  release(): void {
    if (this.composable) this.composed = undefined;
  }

  /** The plain data of the document (only meaningful when {@link ok}). */
  data(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  position(offset: number): Location {
    const { line, col } = this.lineCounter.linePos(offset);
    return { file: this.file, line, col };
  }

  locate(path: readonly (string | number)[], at: 'key' | 'value' = 'value'): Location {
    let node: unknown = this.doc.contents;
    let pair: Pair | undefined;
    for (const segment of path) {
      const next = this.child(node, segment);
      if (!next) break;
      pair = next.pair;
      node = next.node;
    }
    const target = at === 'key' && pair && isNodeWithRange(pair.key) ? pair.key : node;
    const start = isNodeWithRange(target) ? target.range[0] : 0;
    return this.position(start);
  }

  private child(node: unknown, segment: string | number): { node: unknown; pair?: Pair } | undefined {
    if (isMap(node)) {
      const pair = this.keysOf(node).get(String(segment));
      return pair ? { node: pair.value ?? pair.key, pair } : undefined;
    }
    if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      return item === undefined ? undefined : { node: item };
    }
    return undefined;
  }

  /** The pairs of a mapping by key (the first of duplicates), built once. */
  private keysOf(map: YAMLMap): Map<string, Pair> {
    let index = this.keyIndex.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) {
        if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p as Pair);
      }
      this.keyIndex.set(map, index);
    }
    return index;
  }

  /**
   * One pass over every node, without recursion: duplicate keys, and in a flag file merge keys,
   * numbers and unsafe characters. Returns whether the data can still be trusted.
   */
  private walk(flagFile: boolean): { trusted: boolean } {
    let trusted = true;
    const stack: { node: unknown; at: PathLink | undefined }[] = [{ node: this.doc.contents, at: undefined }];
    while (stack.length > 0) {
      const { node, at } = stack.pop()!;
      if (isMap(node)) {
        if (hasDuplicateKeys(node)) trusted = this.duplicates(node) && trusted;
        for (let i = node.items.length - 1; i >= 0; i--) {
          const item = node.items[i]!;
          if (!isPair(item)) continue;
          const key = isScalar(item.key) ? String(item.key.value) : undefined;
          const inner = key === undefined ? at : { parent: at, key };
          stack.push({ node: item.value, at: inner });
          if (!flagFile) continue;
          if (isScalar(item.key)) {
            const problem = this.scalarProblem(item.key, inner);
            if (problem) this.found.push(problem);
          } else stack.push({ node: item.key, at: inner });
          if (key === '<<' && isScalar(item.key) && item.key.type === Scalar.PLAIN) {
            trusted = false;
            this.found.push(
              error(this.nodePosition(item.key), 'yaml-merge-key', `merge key '<<'${where(pathOf(at))}: write out every field of an entry (a merge key lets an edit of one entry change another)`),
            );
          }
        }
      } else if (isSeq(node)) {
        for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i], at: { parent: at, key: String(i) } });
      } else if (flagFile && isScalar(node)) {
        const problem = this.scalarProblem(node, at);
        if (problem) this.found.push(problem);
      }
    }
    return { trusted };
  }

  /** Reports every key of `map` that repeats an earlier one; returns false when there is any. */
  private duplicates(map: YAMLMap): boolean {
    const seen = new Set<string>();
    let none = true;
    for (const item of map.items) {
      if (!isPair(item) || !isScalar(item.key)) continue;
      const key = String(item.key.value);
      if (!seen.has(key)) {
        seen.add(key);
        continue;
      }
      none = false;
      if (!this.found.wants(this.file, 'duplicate-key', 'error')) this.found.count(this.file, 'duplicate-key', 'error', 1);
      else this.found.push(error(this.nodePosition(item.key), 'duplicate-key', `duplicate key '${key}': a later value would silently replace an earlier one`));
    }
    return none;
  }

  /** A number that is not a plain decimal integer, or free text with an unsafe character. */
  private scalarProblem(node: Scalar, at: PathLink | undefined): Finding | undefined {
    const { value } = node;
    if (typeof value !== 'number' && typeof value !== 'bigint' && (typeof value !== 'string' || !UNSAFE_CHARACTER.test(value))) return undefined;
    const numeric = typeof value === 'number' || typeof value === 'bigint';
    const written = numeric && node.range ? this.text.slice(node.range[0], node.range[1]) : String(value);
    if (numeric && /^(0|-?[1-9][0-9]*)$/.test(written)) return undefined;
    // Past the findings kept of one rule, only counted: building each would cost more than the count.
    const rule = numeric ? 'yaml-number' : 'unsafe-character';
    if (!this.found.wants(this.file, rule, 'error')) {
      this.found.count(this.file, rule, 'error', 1);
      return undefined;
    }
    const path = pathOf(at);
    if (typeof value === 'number' || typeof value === 'bigint') {
      return error(this.nodePosition(node), 'yaml-number', `${describePath(path) || 'value'}: ${numberProblem(written, value)}; write numbers as plain decimal integers${integerHint(value)}`);
    }
    if (typeof value === 'string' && UNSAFE_CHARACTER.test(value)) {
      const found = unsafeCharacters(value);
      const first = [...value].find((c) => UNSAFE_CHARACTER.test(c)) ?? '';
      const more = found.length > 1 ? ` and ${found.slice(1, 5).join(', ')}${found.length > 5 ? ', ...' : ''}` : '';
      return error(
        this.nodePosition(node),
        'unsafe-character',
        `${describePath(path) || 'value'} contains ${characterName(first)} (${escapeCharacter(first)})${more}: free text must be one line of printable characters`,
      );
    }
    return undefined;
  }

  private nodePosition(node: unknown): Location {
    return this.position(isNodeWithRange(node) ? node.range[0] : 0);
  }
}

/** Whether two keys of `map` are the same scalar (small maps are compared pairwise, larger ones through a Set). */
function hasDuplicateKeys(map: YAMLMap): boolean {
  const items = map.items;
  if (items.length < 2) return false;
  const keyOf = (i: number): string | undefined => {
    const k = items[i]?.key;
    return isScalar(k) ? String(k.value) : undefined;
  };
  if (items.length <= 8) {
    for (let i = 1; i < items.length; i++) {
      const a = keyOf(i);
      for (let j = 0; j < i; j++) if (a !== undefined && a === keyOf(j)) return true;
    }
    return false;
  }
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const k = keyOf(i);
    if (k === undefined) continue;
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/** The path to a node as a linked list from the node up, built into an array only for a finding. */
interface PathLink {
  readonly parent: PathLink | undefined;
  readonly key: string;
}

function pathOf(at: PathLink | undefined): string[] {
  const path: string[] = [];
  for (let p = at; p; p = p.parent) path.push(p.key);
  return path.reverse();
}

/**
 * A cheap estimate of the values in `text`, without parsing: line breaks and `- `, `? `, `: `
 * indicators count 1 (a block entry), commas and opening brackets 2 (a flow item and its node).
 * It stops where the count passes `limit` ({@link MAX_VALUES} when reading), and says where.
 */
export function countValues(text: string, limit = Infinity): { count: number; passedAt?: number } {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) count += 1; // \n
    else if (c === 44 || c === 91 || c === 123) count += 2; // , [ {
    else if ((c === 45 || c === 63 || c === 58) && (text.charCodeAt(i + 1) === 32 || text.charCodeAt(i + 1) === 10)) count += 1; // - ? :
    else continue;
    if (count > limit) return { count, passedAt: i };
  }
  return { count };
}

type Token = Parameters<Composer['next']>[0];

/**
 * The concrete syntax tree of `text`. The parser recurses on some nestings of block collections
 * (thousands of `? ` in a row): it then runs out of stack, and the offset it had reached is returned.
 */
function concreteSyntax(text: string, lineCounter: LineCounter): { tokens: Token[] } | { overflow: number } {
  const parser = new Parser(lineCounter.addNewLine);
  try {
    return { tokens: [...parser.parse(text)] };
  } catch (e) {
    if (e instanceof RangeError) return { overflow: Math.min(parser.offset, text.length) };
    throw e;
  }
}

/** Composes the document from CST tokens the way `parseDocument` does (one document per file). */
function compose(tokens: readonly Token[], length: number): Document.Parsed {
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false, keepSourceTokens: false });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(tokens, true, length)) {
    if (!doc) doc = d as Document.Parsed;
    else {
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'a flag file holds one YAML document; this is a second one'));
      break;
    }
  }
  return doc ?? parseDocument('');
}

type PropType = 'anchor' | 'alias' | 'tag' | 'directive';

interface Prop {
  readonly type: PropType;
  readonly offset: number;
  readonly source: string;
}

const PROP_RULES: Readonly<Record<PropType, string>> = { anchor: 'yaml-anchor', alias: 'yaml-anchor', tag: 'yaml-tag', directive: 'yaml-directive' };

function propMessage(t: Prop): string {
  const source = t.source.replace(/\s+#.*$/s, '').trim();
  switch (t.type) {
    case 'anchor':
      return `anchor '${source}': write out every value (anchors and aliases let an edit of one entry change another)`;
    case 'alias':
      return `alias '${source}': write out the value it stands for (anchors and aliases let an edit of one entry change another)`;
    case 'tag':
      return `tag '${source}': flag files use plain values, without tags`;
    case 'directive':
      return `directive '${source}': flag files are YAML 1.2 without directives (under %YAML 1.1, 031 reads as 25 and yes as true)`;
  }
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * Reads the concrete syntax tree without recursion: the first place nested deeper than
 * {@link MAX_DEPTH}, and every anchor, alias, tag and directive, in source order.
 */
function scanTokens(tokens: readonly unknown[]): { tooDeep?: number; props: Prop[] } {
  const props: Prop[] = [];
  let tooDeep: number | undefined;
  const stack: unknown[] = [...tokens];
  const depths: number[] = tokens.map(() => 0);
  while (stack.length > 0) {
    const token = stack.pop();
    const depth = depths.pop()!;
    if (typeof token !== 'object' || token === null) continue;
    if (Array.isArray(token)) {
      for (const t of token) {
        if (typeof t === 'object' && t !== null) {
          stack.push(t);
          depths.push(depth);
        }
      }
      continue;
    }
    const t = token as { type?: string; offset?: number; source?: string };
    let inner = depth;
    if (t.type === 'anchor' || t.type === 'alias' || t.type === 'tag' || t.type === 'directive') {
      props.push({ type: t.type, offset: t.offset ?? 0, source: t.source ?? '' });
    } else if (t.type !== undefined && COLLECTIONS.has(t.type)) {
      inner = depth + 1;
      if (inner > MAX_DEPTH) {
        tooDeep = Math.min(tooDeep ?? Infinity, t.offset ?? 0);
        continue;
      }
    }
    for (const key in t) {
      const v = (t as Record<string, unknown>)[key];
      if (typeof v === 'object' && v !== null) {
        stack.push(v);
        depths.push(inner);
      }
    }
  }
  return { tooDeep, props: props.sort((a, b) => a.offset - b.offset) };
}

function numberProblem(written: string, value: number | bigint): string {
  const reads = `(YAML reads it as ${String(value)})`;
  if (/^[-+]?\.inf$/i.test(written)) return `'${written}' is not a finite number`;
  if (/^\.nan$/i.test(written)) return `'${written}' is not a number`;
  if (/^[-+]?0x/i.test(written)) return `'${written}' is a hexadecimal number ${reads}`;
  if (/^[-+]?0o/i.test(written)) return `'${written}' is an octal number ${reads}`;
  if (/e/i.test(written)) return `'${written}' has an exponent ${reads}`;
  if (written.includes('.')) return `'${written}' has a decimal point ${reads}`;
  if (written.startsWith('+')) return `'${written}' has a sign ${reads}`;
  if (/^-?0\d/.test(written)) return `'${written}' has a leading zero ${reads}; YAML 1.1 tools read it as octal`;
  return `'${written}' is not a plain decimal integer ${reads}`;
}

function integerHint(value: number | bigint): string {
  return typeof value === 'number' && Number.isSafeInteger(value) ? `, e.g. ${value}` : '';
}

function characterName(c: string): string {
  if (c === '\t') return 'a tab';
  if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') return 'a line break';
  if (c === '\x1b') return 'an escape character';
  if (/[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/.test(c)) return 'a bidirectional-text control';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(c)) return 'a control character';
  return 'an invisible character';
}

const where = (path: readonly string[]): string => {
  const d = describePath(path);
  return d ? ` in ${d}` : '';
};

function isNodeWithRange(n: unknown): n is Node & { range: [number, number, number] } {
  return typeof n === 'object' && n !== null && Array.isArray((n as { range?: unknown }).range);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * A source whose text was read before (lib/workspace/parse-store.ts): parsed only when something
 * asks where a value is or for the document (a finding's position, an edit).
 */
export class DeferredYamlSource implements FlagFileSource {
  private parsed: YamlSource | undefined;

  constructor(
    readonly file: string,
    readonly text: string,
    private readonly options: YamlSourceOptions = {},
  ) {}

  get doc(): Document.Parsed {
    return this.source().doc;
  }

  locate(path: readonly (string | number)[], at?: 'key' | 'value'): Location {
    return this.source().locate(path, at);
  }

  private source(): YamlSource {
    return (this.parsed ??= new YamlSource(this.file, this.text, this.options));
  }
}

/**
 * The exact text of one entry of a mapping (`['flags', 'x_enabled']`): from its key to the end of
 * its value, byte for byte. Undefined when the file is not trusted YAML or has no such entry. Used
 * to tell whether an entry is the same in two versions of a file (an approval given on an earlier
 * commit covers an entry only while its text is unchanged).
 */
export function entryText(file: string, text: string, path: readonly string[]): string | undefined {
  const source = new YamlSource(file, text, { flagFile: true });
  if (!source.ok) return undefined;
  const parent = source.doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = (parent.items as Pair[]).find((p) => isScalar(p.key) && String(p.key.value) === path.at(-1));
  const start = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
  const end = (pair?.value as { range?: [number, number, number] } | null | undefined)?.range?.[1];
  return start === undefined ? undefined : text.slice(start, end ?? start);
}
