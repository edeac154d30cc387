/**
 * A YAML file parsed with the `yaml` package's Document API: comments and ranges are kept, so
 * findings point at `file:line:col` and edits keep the user's formatting.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { error, type Finding, type Location, type Locator } from '../policies/findings.ts';

export class YamlSource implements Locator {
  readonly doc: Document.Parsed;
  readonly lineCounter = new LineCounter();
  /** Syntax and duplicate-key findings; when any exist, the data is not trusted. */
  readonly findings: Finding[];

  constructor(
    /** Path relative to the project root. */
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
    // One syntax error is reported per file: the parser's later errors are usually its consequences.
    const firstSyntax = this.doc.errors.find((e) => e.code !== 'DUPLICATE_KEY');
    const reported = this.doc.errors.filter((e) => e.code === 'DUPLICATE_KEY' || e === firstSyntax);
    this.findings = reported.map((e) => {
      const { line, col } = this.lineCounter.linePos(e.pos[0]);
      const duplicate = e.code === 'DUPLICATE_KEY';
      const message = duplicate ? duplicateKeyMessage(text, e.pos[0]) : firstLine(e.message);
      return error({ file, line, col }, duplicate ? 'duplicate-key' : 'yaml-syntax', message);
    });
  }

  get ok(): boolean {
    return this.findings.length === 0;
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
      const next = child(node, segment);
      if (!next) break;
      pair = next.pair;
      node = next.node;
    }
    const target = at === 'key' && pair && isNodeWithRange(pair.key) ? pair.key : node;
    const start = isNodeWithRange(target) ? target.range[0] : 0;
    return this.position(start);
  }
}

function child(node: unknown, segment: string | number): { node: unknown; pair?: Pair } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    return pair ? { node: pair.value ?? pair.key, pair } : undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { node: item };
  }
  return undefined;
}

function isNodeWithRange(n: unknown): n is Node & { range: [number, number, number] } {
  return typeof n === 'object' && n !== null && Array.isArray((n as { range?: unknown }).range);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function duplicateKeyMessage(text: string, offset: number): string {
  const key = /^[^\s:#]+/.exec(text.slice(offset))?.[0];
  return key ? `duplicate key '${key}': a later value would silently replace an earlier one` : 'duplicate key';
}
