/**
 * Manifest policies written as JSON Schemas (policies/*.schema.json) and applied with ajv to every
 * synthesized object. Each constraint in a schema names its rule with `x-rule` and says what is
 * required in its `description`; a violation becomes one finding per rule and container (or per
 * RBAC rule entry), located at the offending value in the dist/ file.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { KubeObject } from '../model/manifests.ts';
import { error, type Finding, type Locator } from '../model/findings.ts';
import type { ManifestPolicy } from './manifest-policy.ts';
import { validatorFor } from './schema-validation.ts';

const load = (name: string): object => JSON.parse(readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')) as object;

/** Pod Security "restricted" + read-only root, requests/limits, pinned images, credentials from Secrets. */
export const POD_SECURITY_SCHEMA = load('pod-security.schema.json');
/** Least-privilege RBAC: namespaced, no wildcards, no escalation, no Secrets, no exec, no cluster-admin. */
export const RBAC_SCHEMA = load('rbac.schema.json');
/** The backup CronJobs' fields: Forbid, deadlines, retries, history, UTC, no token, PVC, schedule, retention. */
export const BACKUP_CRONJOB_SCHEMA = load('backup-cronjob.schema.json');

/** The findings of one schema over one object. */
export function schemaFindings(schema: object, object: KubeObject, at: Locator): Finding[] {
  return validatorFindings(validatorFor(withRules(schema)), object, at);
}

/**
 * The findings of a validator of a schema marked by {@link withRules} over one object: the same
 * whether the validator was compiled in this process or loaded from the validator cache.
 */
export function validatorFindings(validate: ValidateFunction, object: KubeObject, at: Locator): Finding[] {
  if (validate(object as unknown)) return [];
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'propertyNames') continue;
    const path = e.instancePath.split('/').slice(1).map(unescape);
    const yamlPath = path.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const declared = ruleOfError(e);
    const rule = declared?.['x-rule'] ?? 'manifest-policy';
    const container = containerOf(object, path);
    const key = `${rule}|${container ? container.prefix.join('/') : e.instancePath}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const who = `${object.kind} ${object.metadata.name}${container ? `, container '${container.name}'` : ''}`;
    const what = declared?.description ?? e.message ?? 'is invalid';
    findings.push(error(at.locate(yamlPath), rule, `${who}: ${what}${detail(e, object, path, container?.prefix.length ?? 0)}`));
  }
  return findings;
}

/** A ManifestPolicy applying one schema to every synthesized object. */
export function schemaPolicy(schema: object): ManifestPolicy {
  return ({ files }, context) => files.flatMap((file) => schemaFindings(schema, file.object, context.locator(file)));
}

export const podSecurityPolicy = schemaPolicy(POD_SECURITY_SCHEMA);
export const rbacPolicy = schemaPolicy(RBAC_SCHEMA);
export const backupCronJobPolicy = schemaPolicy(BACKUP_CRONJOB_SCHEMA);

interface RuleSchema {
  'x-rule'?: string;
  description?: string;
}

/** The keyword {@link withRules} marks each subschema with: the rule it belongs to. */
export const RULE_OF = 'x-rule-of';

/** Keywords whose value is a schema, a list of schemas, or a mapping of names to schemas (draft 2020-12). */
const SCHEMA_KEYWORDS = ['items', 'not', 'contains', 'propertyNames', 'additionalProperties', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties'];
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];

const marked = new WeakMap<object, object>();

/**
 * A copy of `root` in which every subschema inside one that names a rule (`x-rule`) carries that
 * rule and its description (`x-rule-of`, the innermost enclosing rule). ajv reports the failing
 * subschema itself (`parentSchema`, verbose mode), so the rule travels with it: also in a validator
 * loaded from the validator cache (policies/validator-cache.ts), whose subschemas are copies.
 */
export function withRules(root: object): object {
  let copy = marked.get(root);
  if (copy) return copy;
  const mark = (node: unknown, rule: RuleSchema | undefined): unknown => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
    const schema = node as Record<string, unknown> & RuleSchema;
    const own: RuleSchema | undefined = typeof schema['x-rule'] === 'string' ? { 'x-rule': schema['x-rule'], ...(schema.description === undefined ? {} : { description: schema.description }) } : rule;
    const out: Record<string, unknown> = { ...schema };
    for (const k of SCHEMA_KEYWORDS) if (k in schema) out[k] = mark(schema[k], own);
    for (const k of SCHEMA_LIST_KEYWORDS) if (Array.isArray(schema[k])) out[k] = (schema[k] as unknown[]).map((s) => mark(s, own));
    for (const k of SCHEMA_MAP_KEYWORDS) {
      const map = schema[k];
      if (map !== null && typeof map === 'object') out[k] = Object.fromEntries(Object.entries(map).map(([name, s]) => [name, mark(s, own)]));
    }
    if (own) out[RULE_OF] = own;
    return out;
  };
  marked.set(root, (copy = mark(root, undefined) as object));
  return copy;
}

/** The rule (and its description) of the subschema an error failed in, as {@link withRules} marked it. */
function ruleOfError(e: ErrorObject): RuleSchema | undefined {
  return (e.parentSchema as Record<string, RuleSchema | undefined> | undefined)?.[RULE_OF];
}

/** The container a path points into (`.../containers/0/...`), with its name. */
function containerOf(object: KubeObject, path: readonly string[]): { name: string; prefix: string[] } | undefined {
  const i = path.findIndex((p, n) => (p === 'containers' || p === 'initContainers') && /^\d+$/.test(path[n + 1] ?? ''));
  if (i < 0) return undefined;
  const prefix = path.slice(0, i + 2);
  const c = valueAt(object, prefix) as { name?: string } | undefined;
  return { name: c?.name ?? prefix.join('.'), prefix };
}

function detail(e: ErrorObject, object: KubeObject, path: readonly string[], skip: number): string {
  const params = e.params as Record<string, unknown>;
  const where = (extra: string[] = []): string => readablePath(object, [...path, ...extra], skip) || 'value';
  if (e.keyword === 'required') return ` (missing ${where([String(params.missingProperty)])})`;
  if (e.keyword === 'contains') return ` (${where()} has no such entry)`;
  if (e.propertyName !== undefined) return ` (${where([e.propertyName])})`;
  return ` (${where()}: ${JSON.stringify(valueAt(object, path))})`;
}

/** `env[PGPASSWORD].value` instead of `env.4.value`: list items with a name are shown by name. */
function readablePath(object: KubeObject, path: readonly string[], skip: number): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const item = /^\d+$/.test(segment) ? (valueAt(object, path.slice(0, i + 1)) as { name?: unknown } | undefined) : undefined;
    if (i < skip) continue;
    if (item && typeof item.name === 'string') out += `[${item.name}]`;
    else out += out ? `.${segment}` : segment;
  }
  return out;
}

function valueAt(data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function unescape(segment: string): string {
  return decodeURIComponent(segment).replace(/~1/g, '/').replace(/~0/g, '~');
}
