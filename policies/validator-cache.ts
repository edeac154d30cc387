/**
 * Compiled JSON Schema validators, kept across runs: ajv compiles a schema into JavaScript, which
 * takes longer than validating thousands of objects with it. The first run writes ajv's standalone
 * code for each schema into node_modules/.cache/flagops/ajv/ (named by a hash of the schema, the
 * ajv instance's options and ajv's version); later runs load that code instead of compiling. A
 * cache that cannot be written only costs the compile.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnySchema, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);
const CACHE_DIR = fileURLToPath(new URL('../node_modules/.cache/flagops/ajv/', import.meta.url));

/** The part of an ajv instance a compiled validator depends on. */
export interface CompilingAjv {
  compile(schema: AnySchema): ValidateFunction;
  getSchema(ref: string): ValidateFunction | undefined;
  readonly opts: { readonly code: { source?: boolean } };
}

type Standalone = (ajv: CompilingAjv, fn: ValidateFunction) => string;
let standaloneCode: Standalone | undefined;
let ajvVersion: string | undefined;

/**
 * The validator of `schema` (an object, or the `$ref` of a schema added to `ajv`). `instanceKey`
 * names the instance's options and added schemas (a hash of them): together with the schema and
 * ajv's version it names the cached code. `ajv` must be created with `code: { source: true }`; it
 * may be a function that creates it, called only when the schema is compiled (adding schemas to an
 * instance validates them against their meta-schema, which ajv compiles first: about 45 ms).
 */
export function compileCached(instance: CompilingAjv | (() => CompilingAjv), schema: object | string, instanceKey: string): ValidateFunction {
  ajvVersion ??= (require('ajv/package.json') as { version: string }).version;
  const key = sha256(`${ajvVersion}\0${instanceKey}\0${typeof schema === 'string' ? schema : JSON.stringify(schema)}`).slice(0, 32);
  const file = join(CACHE_DIR, `${key}.cjs`);
  try {
    const cached = require(file) as ValidateFunction & { default?: ValidateFunction };
    return cached.default ?? cached;
  } catch {
    // not cached yet (or unreadable): compile
  }
  const ajv = typeof instance === 'function' ? instance() : instance;
  const validate = typeof schema === 'string' ? ajv.getSchema(schema) : ajv.compile(schema);
  if (!validate) throw new Error(`no schema ${String(schema)} in this ajv instance`);
  if (ajv.opts.code.source) {
    try {
      standaloneCode ??= ((m: { default?: Standalone } & Standalone) => m.default ?? m)(require('ajv/dist/standalone/index.js') as { default?: Standalone } & Standalone);
      const code = standaloneCode(ajv, validate);
      mkdirSync(CACHE_DIR, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, code);
      renameSync(temp, file);
    } catch {
      // a read-only cache: compiled again next time
    }
  }
  return validate;
}

/** A short hash naming an ajv instance's options and the schemas added to it. */
export function instanceKey(...parts: readonly unknown[]): string {
  return sha256(JSON.stringify(parts)).slice(0, 16);
}

/** node:crypto is required on first use, not imported: loading it costs a command that validates nothing about 5 ms. */
const sha256 = (text: string): string => (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(text).digest('hex');
