/**
 * What makes a suite lie or flake, kept out of test/ by reading its sources (TypeScript's parser,
 * so comments and strings are told apart from code). docs/testing.md#what-ci-requires.
 *
 * - A test is skipped only through a requirement (test/support/requirements.ts): skipped locally
 *   when a tool is missing, failing under CI. No `.skip`, `.todo`, `.only` or `.runIf`, no
 *   `skipIf` on anything else, and only that module reads `process.env.CI`.
 * - No wall-clock assertion: no `expect` on the difference of two clock readings (a slow runner
 *   breaks any bound on it), and no `performance.now` or `process.hrtime` (timing is for `npm run bench`).
 * - No fixed "free" port: no loopback address with a port number written in, no server told a
 *   port number. A test's server listens on port 0 and says its port; a port nothing may listen on
 *   is held closed by the test (`closedPort`); a program that cannot listen on port 0 (Prometheus,
 *   PostgreSQL) starts through `onFreePort`, which tries again when the port was taken.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers.ts';

/** One place in a source: `test/x.test.ts:12: the line`. */
interface Hit {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** `file:line: text` of each hit, by file and line. */
const sorted = (hits: readonly Hit[]): string[] =>
  [...hits].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line).map((h) => `${h.file}:${h.line}: ${h.text}`);

/** Every TypeScript source of the suite (test/fixtures, which holds sample input, aside), parsed. */
export function suiteSources(root: string): ts.SourceFile[] {
  const dir = join(root, 'test');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.startsWith(`fixtures/`))
    .sort()
    .map((f) => ts.createSourceFile(relative(root, join(dir, f)), readFileSync(join(dir, f), 'utf8'), ts.ScriptTarget.Latest, true));
}

function hit(source: ts.SourceFile, node: ts.Node): Hit {
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return { file: source.fileName, line: line + 1, text: source.text.split('\n')[line]!.trim() };
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

const calledName = (call: ts.CallExpression): string | undefined =>
  ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : ts.isIdentifier(call.expression) ? call.expression.text : undefined;

/** `process.env.CI` or `process.env['CI']`. */
function readsCi(node: ts.Node): boolean {
  const env = (e: ts.Expression) => ts.isPropertyAccessExpression(e) && e.name.text === 'env' && ts.isIdentifier(e.expression) && e.expression.text === 'process';
  if (ts.isPropertyAccessExpression(node)) return node.name.text === 'CI' && env(node.expression);
  if (ts.isElementAccessExpression(node)) return ts.isStringLiteral(node.argumentExpression) && node.argumentExpression.text === 'CI' && env(node.expression);
  return false;
}

/** Every skip that does not go through a requirement, and every read of `process.env.CI` outside test/support/requirements.ts. */
export function unrequiredSkips(sources: readonly ts.SourceFile[]): string[] {
  const out: Hit[] = [];
  for (const source of sources) {
    const checked = new Set<string>();
    const skipsOn: { name: string; node: ts.Node }[] = [];
    walk(source, (n) => {
      if (readsCi(n) && source.fileName !== 'test/support/requirements.ts') out.push(hit(source, n));
      if (!ts.isCallExpression(n)) return;
      const name = calledName(n);
      if (ts.isPropertyAccessExpression(n.expression) && ['skip', 'todo', 'only', 'runIf'].includes(name ?? '')) out.push(hit(source, n));
      if (name === 'check' && ts.isPropertyAccessExpression(n.expression) && ts.isIdentifier(n.expression.expression)) checked.add(n.expression.expression.text);
      if (name !== 'skipIf') return;
      const [condition] = n.arguments;
      // skipIf(<requirement>.skip), and the requirement's check() in the same file
      if (condition && ts.isPropertyAccessExpression(condition) && condition.name.text === 'skip' && ts.isIdentifier(condition.expression)) skipsOn.push({ name: condition.expression.text, node: n });
      else out.push(hit(source, n));
    });
    for (const s of skipsOn) if (!checked.has(s.name)) out.push(hit(source, s.node));
  }
  return sorted(out);
}

/** `Date.now()`, `performance.now()`, `process.hrtime()` or `process.hrtime.bigint()`. */
function isClockCall(node: ts.Node): boolean {
  if (!ts.isCallExpression(node)) return false;
  const text = node.expression.getText();
  return text === 'Date.now' || text === 'performance.now' || text === 'process.hrtime' || text === 'process.hrtime.bigint';
}

const contains = (node: ts.Node, test: (n: ts.Node) => boolean): boolean => test(node) || (node.forEachChild((c) => (contains(c, test) ? true : undefined)) ?? false);

/**
 * Every `expect` on a duration measured by the wall clock: the difference of two clock readings
 * (`Date.now() - started`, where `started` holds a reading), directly or through a variable or
 * property that holds one (`ms: Date.now() - started` ... `expect(result.ms)`), anywhere in the suite;
 * and every use of `performance.now` or `process.hrtime`.
 */
export function wallClockAssertions(sources: readonly ts.SourceFile[]): string[] {
  const out: Hit[] = [];
  const isDuration = new Map<ts.SourceFile, (n: ts.Node) => boolean>();
  /** Variables of each file, and properties of any file (read elsewhere as `x.name`), that hold a duration. */
  const variables = new Map<ts.SourceFile, Set<string>>();
  const properties = new Set<string>();
  for (const source of sources) {
    const assigned: { name: string; value: ts.Expression; property: boolean }[] = [];
    walk(source, (n) => {
      if (ts.isVariableDeclaration(n) && n.initializer && ts.isIdentifier(n.name)) assigned.push({ name: n.name.text, value: n.initializer, property: false });
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left)) assigned.push({ name: n.left.text, value: n.right, property: false });
      if (ts.isPropertyAssignment(n) && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name))) assigned.push({ name: n.name.text, value: n.initializer, property: true });
      if (isClockCall(n) && n.getText(source) !== 'Date.now()') out.push(hit(source, n));
    });
    // names holding a clock reading (`started = Date.now()`), then those holding the difference of two
    const readings = new Set(assigned.filter((a) => !a.property && contains(a.value, isClockCall)).map((a) => a.name));
    const reading = (n: ts.Node) => contains(n, (m) => isClockCall(m) || (ts.isIdentifier(m) && readings.has(m.text)));
    const duration = (n: ts.Node) => ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.MinusToken && reading(n.left) && reading(n.right);
    isDuration.set(source, duration);
    const mine = new Set<string>();
    for (const a of assigned) if (contains(a.value, duration)) (a.property ? properties : mine).add(a.name);
    variables.set(source, mine);
  }
  for (const source of sources) {
    const duration = isDuration.get(source)!;
    const mine = variables.get(source)!;
    walk(source, (n) => {
      if (!ts.isCallExpression(n) || !ts.isIdentifier(n.expression) || n.expression.text !== 'expect' || n.arguments.length === 0) return;
      const named = (m: ts.Node) =>
        (ts.isIdentifier(m) && mine.has(m.text) && !(ts.isPropertyAccessExpression(m.parent) && m.parent.name === m)) || (ts.isPropertyAccessExpression(m) && properties.has(m.name.text));
      if (contains(n.arguments[0]!, (m) => duration(m) || named(m))) out.push(hit(source, n));
    });
  }
  return sorted(out);
}

const LOOPBACK_WITH_PORT = /(?:\b127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\blocalhost|\[::1\]):\d+/;

/** This file: its examples of fixed ports, below, are strings it feeds to {@link fixedPorts}. */
const SELF = 'test/suite-hygiene.test.ts';

/** Every loopback address written with a port number, and every `listen` given a port number other than 0 (this file's examples aside). */
export function fixedPorts(sources: readonly ts.SourceFile[]): string[] {
  const out: Hit[] = [];
  for (const source of sources) {
    if (source.fileName === SELF) continue;
    walk(source, (n) => {
      if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n) || ts.isTemplateMiddle(n) || ts.isTemplateTail(n)) && LOOPBACK_WITH_PORT.test(n.text)) out.push(hit(source, n));
      if (!ts.isCallExpression(n) || calledName(n) !== 'listen') return;
      const [first] = n.arguments;
      const port = first && ts.isObjectLiteralExpression(first) ? first.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(source) === 'port')?.initializer : first;
      if (port && ts.isNumericLiteral(port) && Number(port.text) !== 0) out.push(hit(source, n));
    });
  }
  return sorted(out);
}

describe('the suite (test/)', () => {
  const sources = suiteSources(REPO_ROOT);

  it('is read whole: every test file and support module', () => {
    const names = sources.map((s) => s.fileName);
    expect(names).toContain('test/suite-hygiene.test.ts');
    expect(names).toContain('test/support/requirements.ts');
    expect(names.filter((n) => n.endsWith('.test.ts')).length).toBeGreaterThan(70);
  });

  it('skips a test only through a requirement: skipped locally when a tool is missing, failing under CI', () => {
    expect(unrequiredSkips(sources)).toEqual([]);
  });

  it('asserts no wall-clock duration', () => {
    expect(wallClockAssertions(sources)).toEqual([]);
  });

  it('uses no fixed port: servers listen on port 0, closed ports are held closed by the test', () => {
    expect(fixedPorts(sources)).toEqual([]);
  });
});

describe('the checks of the suite, on what they must find', () => {
  const parse = (text: string, file = 'test/x.test.ts') => [ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)];

  it('find every skip that is not a requirement, and a requirement never checked', () => {
    const text = [
      "const required = process.env.CI === 'true';", // 1
      "it.skip('a', () => {});", // 2
      "describe.skip('b', () => {});", // 3
      "it.todo('c');", // 4
      "it.runIf(required)('d', () => {});", // 5
      "it.skipIf(!script)('e', () => {});", // 6
      "it('f', (ctx) => ctx.skip());", // 7
      "describe.only('g', () => {});", // 8
      "const env = process.env['CI'];", // 9
      "it.skipIf(unchecked.skip)('h', () => {});", // 10
      "it.skipIf(promtool.skip)('i', () => { promtool.check(); });", // 11
      "describe.skipIf(postgres.skip)('j', () => { beforeAll(() => postgres.check()); });", // 12
      "// it.skip('in a comment') and process.env.CI", // 13
      "const text = \"it.skip('in a string')\";", // 14
    ].join('\n');
    expect(unrequiredSkips(parse(text)).map((h) => Number(h.split(':')[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(unrequiredSkips(parse('const ci = process.env.CI;', 'test/support/requirements.ts'))).toEqual([]);
  });

  it('find every expect on a wall-clock duration, directly or through a variable or property', () => {
    const text = [
      'const started = Date.now();', // 1
      'expect(Date.now() - started).toBeLessThan(5_000);', // 2
      'const took = Date.now() - started;', // 3
      'expect(took).toBeLessThan(8000);', // 4
      'const run = { ms: Date.now() - started };', // 5
      'expect(run.ms).toBeLessThan(25_000);', // 6
      'const t0 = performance.now();', // 7
      'expect(Date.parse(at)).toBeGreaterThanOrEqual(started);', // 8: a time, not a duration
      'const old = new Date(Date.now() - 60_000);', // 9: a time, not a duration
      'expect(old.getTime()).toBeLessThan(Date.now());', // 10
      'const spread = Date.now() - started; setTimeout(done, spread / 2);', // 11: not asserted
      'expect(r.code).toBe(0);', // 12
    ].join('\n');
    expect(wallClockAssertions(parse(text)).map((h) => Number(h.split(':')[1]))).toEqual([2, 4, 6, 7]);
  });

  it('find every loopback port written in, and every server told a port', () => {
    const text = [
      "const url = 'http://127.0.0.1:9';", // 1
      'const other = `http://localhost:8080/api`;', // 2
      'server.listen(9090, "127.0.0.1");', // 3
      "server.listen({ port: 3000, host: '127.0.0.1' });", // 4
      "server.listen(0, '127.0.0.1');", // 5
      'const mine = `http://127.0.0.1:${port}`;', // 6
      "const never = 'http://prometheus.invalid';", // 7
      "// 'http://127.0.0.1:1' in a comment", // 8
      "const v6 = 'http://[::1]:1';", // 9
    ].join('\n');
    expect(fixedPorts(parse(text)).map((h) => Number(h.split(':')[1]))).toEqual([1, 2, 3, 4, 9]);
  });
});
