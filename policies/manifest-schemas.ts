/**
 * Manifest policies written as JSON Schemas (policies/*.schema.json) and applied with ajv to every
 * synthesized object. Each constraint in a schema names its rule with `x-rule` and says what is
 * required in its `description`; a violation becomes one finding per rule and container (or per
 * RBAC rule entry), located at the offending value in the dist/ file.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { KubeObject } from '../model/manifests.ts';
import { error, type Finding, type Locator } from '../model/findings.ts';
import type { ManifestPolicy } from './manifest-policy.ts';
import { schemaValidator } from './schema-validation.ts';

const load = (name: string): object => JSON.parse(readFileSync(new URL(`./${name}`, import.meta.url), 'utf8')) as object;

/** Pod Security "restricted" + read-only root, requests/limits, pinned images, credentials from Secrets. */
export const POD_SECURITY_SCHEMA = load('pod-security.schema.json');
/** Least-privilege RBAC: namespaced, no wildcards, no escalation, no Secrets, no exec, no cluster-admin. */
export const RBAC_SCHEMA = load('rbac.schema.json');
/** The backup CronJobs' fields: Forbid, deadlines, retries, history, UTC, no token, PVC, schedule, retention. */
export const BACKUP_CRONJOB_SCHEMA = load('backup-cronjob.schema.json');

/** The findings of one schema over one object. */
export function schemaFindings(schema: object, object: KubeObject, at: Locator): Finding[] {
  const validate = schemaValidator().getSchema((schema as { $id: string }).$id) ?? schemaValidator().compile(schema);
  if (validate(object)) return [];
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'propertyNames') continue;
    const path = e.instancePath.split('/').slice(1).map(unescape);
    const yamlPath = path.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const declared = rulesOf(schema).get(e.parentSchema as object);
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

const ruleIndex = new WeakMap<object, WeakMap<object, RuleSchema>>();

/**
 * Every subschema of `root` mapped to the innermost enclosing schema that names a rule. ajv reports
 * the failing subschema itself (`parentSchema`, verbose mode); its schemaPath restarts at a $ref.
 */
function rulesOf(root: object): WeakMap<object, RuleSchema> {
  let index = ruleIndex.get(root);
  if (index) return index;
  const map = new WeakMap<object, RuleSchema>();
  const walk = (node: unknown, rule: RuleSchema | undefined): void => {
    if (node === null || typeof node !== 'object') return;
    const own = typeof (node as RuleSchema)['x-rule'] === 'string' ? (node as RuleSchema) : rule;
    if (own && !Array.isArray(node)) map.set(node, own);
    for (const child of Object.values(node)) walk(child, own);
  };
  walk(root, undefined);
  ruleIndex.set(root, (index = map));
  return index;
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
