/**
 * Applies a JSON Schema (ajv, draft 2020-12) to parsed data and turns every ajv error into a
 * finding with a stable rule id and the source position of the offending key or value.
 */
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { closest } from '../common/text/suggest.ts';
import { error, type Finding, type FindingList, type Locator } from '../model/findings.ts';
import { compileCached, instanceKey, type CompilingAjv } from './validator-cache.ts';
import { describePath } from '../common/text/paths.ts';

// ajv's compiler is loaded on first use, synchronously (it is CommonJS): the flag files' schemas are
// precompiled (policies/precompiled.ts), so commands that only parse them never load it.
const require = createRequire(import.meta.url);
type AddFormats = (ajv: Ajv2020) => unknown;

let ajv: Ajv2020 | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/** An ajv instance as flagops uses it: all errors, verbose (to read `x-rule`), formats, strict schemas. */
export function newAjv(options: Partial<ConstructorParameters<typeof Ajv2020>[0]> = {}): Ajv2020 {
  const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 };
  const formats = require('ajv-formats') as AddFormats & { default?: AddFormats };
  const addFormats = formats.default ?? formats;
  const instance = new AjvClass({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true, ...options });
  addFormats(instance);
  instance.addKeyword({ keyword: 'x-rule', schemaType: 'string' });
  // The rule a subschema belongs to, marked by policies/manifest-schemas.ts' withRules.
  instance.addKeyword({ keyword: 'x-rule-of', schemaType: 'object' });
  return instance;
}

/** The shared ajv instance (it keeps the generated code, for the validator cache). */
export function schemaValidator(): Ajv2020 {
  ajv ??= newAjv({ code: { source: true } });
  return ajv;
}

/** Names the shared instance's options in the validator cache. */
/** Named on first use (a hash: node:crypto loads then). */
const sharedKey = (): string => instanceKey('flagops-2020', { allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true, formats: 'ajv-formats', keywords: ['x-rule', 'x-rule-of'] });

/**
 * Validators compiled ahead of time (policies/generated/, by `npm run schemas`) for the schemas
 * every command applies: the flag files'. Registered by object identity; others compile on use.
 */
export function registerPrecompiled(validators: ReadonlyMap<object, ValidateFunction>): void {
  for (const [schema, validate] of validators) compiled.set(schema, validate);
}

/** The validator of `schema` (kept by object identity): precompiled, from the validator cache, or compiled now. */
export function validatorFor(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = compileCached(schemaValidator() as unknown as CompilingAjv, schema, sharedKey());
    compiled.set(schema, validate);
  }
  return validate;
}

/** Keywords whose rule id does not depend on which field they sit on. */
const KEYWORD_RULES: Record<string, string> = {
  type: 'wrong-type',
  additionalProperties: 'unknown-field',
};

/**
 * Validates `data` against `schema`; returns one finding per problem, located through `at`.
 * The schema may name a rule with `x-rule` on the failing subschema; otherwise the keyword decides.
 */
export function validateAgainstSchema(schema: object, data: unknown, at: Locator): Finding[] {
  const findings: Finding[] = [];
  report(validatorFor(schema), data, data, at, { push: (f) => findings.push(f), wants: () => true, count: () => {} });
  return findings;
}

/** Where findings go: model/findings.ts' FindingList, which may only count those it would not keep. */
type FindingSink = Pick<FindingList, 'push' | 'wants' | 'count'>;

/**
 * Validates `data` against `schema`, whose property `key` is a mapping of entries (checked by its
 * `propertyNames` and `additionalProperties`), one entry at a time: the same findings as
 * {@link validateAgainstSchema}, handed to `add` as they are found (or only counted, once it keeps
 * no more of their rule), but with the validator's errors
 * of one entry in memory at a time (a whole file's, for a file of 800,000 broken entries, would be
 * millions of objects), and each entry validated once. Returns the names whose name and entry pass.
 */
export function validateEntries(schema: object, data: unknown, at: Locator, key: string, add: FindingSink): Set<string> {
  const valid = new Set<string>();
  const record = isRecord(data) ? data : undefined;
  const entries = record && isRecord(record[key]) ? record[key] : undefined;
  const holder = (schema as { properties?: Record<string, { propertyNames?: object; additionalProperties?: object }> }).properties?.[key];
  if (!entries || !holder?.propertyNames || !holder.additionalProperties) {
    report(validatorFor(schema), data, data, at, add);
    return valid;
  }
  // The file without its entries, then each name and entry on its own.
  report(validatorFor(schema), { ...record, [key]: {} }, data, at, add);
  const names = validatorFor(holder.propertyNames);
  const entry = validatorFor(holder.additionalProperties);
  const pointer = `/${escapePointer(key)}`;
  for (const name of Object.keys(entries)) {
    const nameOk = report(names, name, data, at, add, { pointer, propertyName: name });
    const entryOk = report(entry, entries[name], data, at, add, { pointer: `${pointer}/${escapePointer(name)}` });
    if (nameOk && entryOk) valid.add(name);
  }
  return valid;
}

/**
 * Validates `value` (which sits at `place` in `data`) and hands each problem to `add` as a finding;
 * returns whether it passed. The validator's errors are let go of afterwards.
 */
function report(validate: ValidateFunction, value: unknown, data: unknown, at: Locator, add: FindingSink, place?: { pointer: string; propertyName?: string }): boolean {
  if (validate(value)) return true;
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // Wrappers of errors reported on their own: the inner pattern error of a property name, the `if` of if/then.
    if (e.keyword === 'propertyNames' || e.keyword === 'if') continue;
    const rule = ruleOf(e);
    if (!add.wants(at.file, rule, 'error')) {
      add.count(at.file, rule, 'error', 1);
      continue;
    }
    const placed = place ? { ...e, instancePath: place.pointer + e.instancePath, propertyName: place.propertyName ?? e.propertyName } : e;
    const f = toFinding(placed, data, at);
    const key = `${f.line}:${f.col}:${f.rule}:${f.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      add.push(f);
    }
  }
  validate.errors = null;
  return false;
}

const escapePointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The rule id of an ajv error: the failing subschema's `x-rule`, else the keyword's. */
function ruleOf(e: ErrorObject): string {
  const declared = (e.parentSchema as { 'x-rule'?: string } | undefined)?.['x-rule'];
  return KEYWORD_RULES[e.keyword] ?? declared ?? (e.keyword === 'required' ? 'missing-field' : 'invalid-value');
}

function toFinding(e: ErrorObject, data: unknown, at: Locator): Finding {
  const path = pointerToPath(e.instancePath);
  const declared = (e.parentSchema as { 'x-rule'?: string } | undefined)?.['x-rule'];
  const rule = ruleOf(e);
  const where = describePath(path);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const hint = closest(field, allowed);
      return error(
        at.locate([...path, field], 'key'),
        rule,
        `unknown field '${field}'${where ? ` in ${where}` : ''}${hint ? ` (did you mean '${hint}'?)` : ''}; allowed: ${allowed.join(', ')}`,
      );
    }
    case 'required': {
      const field = String(params.missingProperty);
      const because = declared === 'expires-required' ? ` (required for ${String(valueAt(data, [...path, 'type']))} flags)` : '';
      return error(at.locate(path, 'key'), rule, `missing required field '${field}'${where ? ` in ${where}` : ''}${because}`);
    }
    case 'type':
      return error(at.locate(path), rule, `${where || 'document'} must be ${article(String(params.type))}, got ${typeName(valueAt(data, path))}`);
  }
  const value = valueAt(data, path);
  // A failing property name: ajv reports the name in `propertyName` and points at the parent object.
  if (typeof params.propertyName === 'string' || e.propertyName !== undefined) {
    const name = String(e.propertyName ?? params.propertyName);
    return error(at.locate([...path, name], 'key'), rule, `invalid flag name '${name}': ${describeSchema(e)}`);
  }
  return error(at.locate(path), rule, `${where} is ${JSON.stringify(value)}: ${describeSchema(e)}`);
}

function describeSchema(e: ErrorObject): string {
  const schema = e.parentSchema as { description?: string } | undefined;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'format':
      return `must be ${article(FORMAT_NAMES[String(params.format)] ?? String(params.format))}`;
    case 'pattern':
    case 'minLength':
    case 'maxLength':
      return schema?.description ? `must be: ${schema.description}` : `must match ${String(params.pattern ?? e.message)}`;
    default:
      return e.message ?? 'invalid';
  }
}

const FORMAT_NAMES: Record<string, string> = {
  email: 'e-mail address',
  'date-time': 'RFC 3339 timestamp in UTC (2024-01-15T10:30:00Z)',
  date: 'date (YYYY-MM-DD)',
};

function pointerToPath(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}


function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function article(word: string): string {
  if (word === 'object') return 'a mapping';
  if (word === 'array') return 'a list';
  return /^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`;
}
