/**
 * Flag-serving policies. flagd loads a flag set that breaks its schema with only a warning in its
 * log (flagd v0.16.1, core/pkg/evaluator/json.go), so flagops is the gate: every flag set it
 * writes (the ConfigMap's `flags.flagd.json`, a FeatureFlag's `spec.flagSpec`) must pass flagd's
 * own JSON schema (vendored in policies/flagd-schemas/) and the checks flagd makes when it loads
 * or evaluates a set. Also: every synthesized Deployment sits behind a NetworkPolicy, and an
 * environment that serves no flag set warns about its partial rollouts.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isFlagSetKey } from '../constructs/feature-flag-config-map.ts';
import type { ProjectModel } from '../model/flags.ts';
import { error, warning, type Finding, type Location } from '../model/findings.ts';
import type { ManifestPolicy } from './manifest-policy.ts';
import { compileCached, instanceKey, type CompilingAjv } from './validator-cache.ts';

/** flagd-schemas `json/json-schema-v0.2.13` (commit 58d7327243), the version flagd v0.16.1 builds in. */
const FLAGD_SCHEMA_FILES = ['targeting.json', 'flags.json', 'flagd.json'] as const;

let flagdAjv: Ajv | undefined;
let flagdKey: string | undefined;
let flagdTexts: string[] | undefined;
const flagdValidators = new Map<string, ValidateFunction>();

/**
 * flagd's own validators (draft-07): of a whole flag set (`https://flagd.dev/schema/v0/flagd.json`),
 * or of one flag of a variant type (`flags.json#/definitions/booleanFlag`, ...).
 */
function flagdValidator(definition?: string): ValidateFunction {
  flagdTexts ??= FLAGD_SCHEMA_FILES.map((file) => readFileSync(new URL(`./flagd-schemas/${file}`, import.meta.url), 'utf8'));
  flagdKey ??= instanceKey('flagd-07', { allErrors: true, strict: false }, flagdTexts);
  const ref = definition ? `https://flagd.dev/schema/v0/flags.json#/definitions/${definition}` : 'https://flagd.dev/schema/v0/flagd.json';
  let validate = flagdValidators.get(ref);
  if (!validate) flagdValidators.set(ref, (validate = compileCached(flagdInstance, ref, flagdKey)));
  return validate;
}

/** The ajv instance holding flagd's schemas: made only when a validator is compiled, not loaded from the cache. */
function flagdInstance(): CompilingAjv {
  if (!flagdAjv) {
    flagdAjv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
    for (const text of flagdTexts!) flagdAjv.addSchema(JSON.parse(text) as object);
  }
  return flagdAjv as unknown as CompilingAjv;
}

/** The typed flag definition of flags.json that a flag's variants call for (its first variant's type). */
function flagDefinition(flag: FlagLike): string {
  const first = flag.variants && typeof flag.variants === 'object' ? Object.values(flag.variants)[0] : undefined;
  return typeof first === 'boolean' ? 'booleanFlag' : typeof first === 'string' ? 'stringFlag' : typeof first === 'number' ? 'numberFlag' : 'objectFlag';
}

interface FlagLike {
  state?: unknown;
  variants?: Record<string, unknown>;
  defaultVariant?: unknown;
  targeting?: unknown;
}

/**
 * What flagd would refuse or only warn about in a flag set (JSON text or parsed): schema errors
 * (flagd: a warning), a `defaultVariant` that is not a variant (flagd: refuses the whole set and
 * keeps the previous one), a targeting rule naming a variant that does not exist (flagd: an
 * evaluation error), and a DISABLED flag (flagd: FLAG_NOT_FOUND instead of a value). Empty when
 * flagd loads and serves it cleanly.
 */
export function flagdFlagSetProblems(flagSet: string | object): string[] {
  let data: unknown = flagSet;
  if (typeof flagSet === 'string') {
    try {
      data = JSON.parse(flagSet);
    } catch (e) {
      return [`is not JSON (${(e as Error).message}): flagd would load no flags at all`];
    }
  }
  const problems: string[] = [];
  const warned = (messages: string[]) => problems.push(...messages.map((m) => `${m} (flagd loads it with only a warning)`));
  const flags = (data as { flags?: unknown } | null)?.flags;
  if (flags && typeof flags === 'object' && !Array.isArray(flags)) {
    // One flag at a time against its typed definition: precise messages instead of every anyOf branch.
    for (const [name, raw] of Object.entries(flags as Record<string, FlagLike>)) {
      const validateFlag = flagdValidator(flagDefinition(raw ?? {}));
      if (!validateFlag(raw)) warned(schemaMessages(validateFlag.errors ?? [], `flags.${name}`));
    }
  }
  const validate = flagdValidator();
  if (problems.length === 0 && !validate(data)) warned(schemaMessages(validate.errors ?? [], ''));
  if (flags && typeof flags === 'object' && !Array.isArray(flags)) {
    for (const [name, raw] of Object.entries(flags as Record<string, FlagLike>)) {
      const variants = raw?.variants && typeof raw.variants === 'object' ? Object.keys(raw.variants) : [];
      if (typeof raw?.defaultVariant === 'string' && !variants.includes(raw.defaultVariant)) {
        problems.push(`flag '${name}': defaultVariant '${raw.defaultVariant}' is not one of its variants (${variants.join(', ')}); flagd refuses the whole flag set`);
      }
      if (typeof raw?.defaultVariant !== 'string') {
        problems.push(`flag '${name}': defaultVariant must be a variant name (the OpenFeature Operator's CRD requires a string, and a null default serves the code default)`);
      }
      if (raw?.state === 'DISABLED') problems.push(`flag '${name}': state DISABLED makes flagd answer FLAG_NOT_FOUND instead of a value; a switched-off flag is ENABLED with defaultVariant 'off'`);
      for (const v of targetedVariants(raw?.targeting)) {
        if (!variants.includes(v)) problems.push(`flag '${name}': targeting returns variant '${v}', which the flag does not have; flagd answers an error for those users`);
      }
    }
  }
  return [...new Set(problems)];
}

/** Variant names a `fractional` rule can return (the first item of each bucket). */
function targetedVariants(targeting: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [op, args] of Object.entries(node as Record<string, unknown>)) {
        if (op === 'fractional' && Array.isArray(args)) {
          for (const bucket of args) if (Array.isArray(bucket) && typeof bucket[0] === 'string') out.push(bucket[0]);
        }
        walk(args);
      }
    }
  };
  walk(targeting);
  return out;
}

function schemaMessages(errors: readonly ErrorObject[], prefix: string): string[] {
  // anyOf/oneOf report every branch; the innermost errors say what is wrong.
  const leaves = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && e.keyword !== 'allOf' && e.keyword !== 'if');
  const chosen = leaves.length > 0 ? leaves : errors;
  const where = (e: ErrorObject) => [prefix, ...e.instancePath.split('/').slice(1)].filter(Boolean).join('.') || 'flag set';
  const extra = (e: ErrorObject) => (e.keyword === 'additionalProperties' ? ` ('${String((e.params as { additionalProperty?: string }).additionalProperty)}')` : '');
  return [...new Set(chosen.map((e) => `${where(e)} ${e.message ?? 'is invalid'}${extra(e)}`))].slice(0, 10);
}

/**
 * `flagd-flag-set`: every flag set in a ConfigMap (`flags.flagd.json`, or a shard's
 * `shard-03-of-64.flagd.json`) and every FeatureFlag's `spec.flagSpec` is a flag set flagd loads
 * and serves without a warning ({@link flagdFlagSetProblems}).
 */
export const flagdFlagSetPolicy: ManifestPolicy = ({ files }, context) => {
  const findings: Finding[] = [];
  for (const file of files) {
    const { object } = file;
    const sets: { set: string | object; path: string[] }[] = [];
    if (object.kind === 'ConfigMap') {
      for (const [key, value] of Object.entries((object.data ?? {}) as Record<string, unknown>)) {
        if (isFlagSetKey(key) && typeof value === 'string') sets.push({ set: value, path: ['data', key] });
      }
    } else if (object.kind === 'FeatureFlag' && object.apiVersion.startsWith('core.openfeature.dev/')) {
      sets.push({ set: ((object.spec as { flagSpec?: object } | undefined)?.flagSpec ?? {}) as object, path: ['spec', 'flagSpec'] });
    }
    for (const { set, path } of sets) {
      const at: Location = context.locator(file).locate(path);
      for (const p of flagdFlagSetProblems(set)) findings.push(error(at, 'flagd-flag-set', `${object.kind} ${object.metadata.name} ${path.join('.')}: ${p}`));
    }
  }
  return findings;
};

interface NetworkPolicySpec {
  podSelector?: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: { from?: unknown[]; ports?: unknown[] }[];
}

/**
 * `network-policy`: every Deployment flagops synthesizes is selected by a NetworkPolicy of its
 * namespace that restricts both Ingress and Egress, and whose every ingress rule names its peers
 * (`from`) and its ports: nothing reaches a served workload that the policy does not name.
 */
export const networkPolicyPolicy: ManifestPolicy = ({ files }, context) => {
  const policies = files.filter((f) => f.object.kind === 'NetworkPolicy');
  const findings: Finding[] = [];
  for (const file of files) {
    if (file.object.kind !== 'Deployment') continue;
    const labels = ((file.object.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template?.metadata?.labels ?? {}) as Record<string, string>;
    const selecting = policies.filter((p) => {
      const match = (p.object.spec as NetworkPolicySpec | undefined)?.podSelector?.matchLabels ?? {};
      return Object.entries(match).every(([k, v]) => labels[k] === v);
    });
    const name = `Deployment ${file.object.metadata.name}`;
    if (selecting.length === 0) {
      findings.push(error(context.locator(file).locate(['spec', 'template', 'metadata', 'labels']), 'network-policy', `${name} is selected by no NetworkPolicy: every pod in the cluster could reach it; add one that names who may connect`));
      continue;
    }
    for (const p of selecting) {
      const spec = (p.object.spec ?? {}) as NetworkPolicySpec;
      const types = spec.policyTypes ?? [];
      if (!types.includes('Ingress') || !types.includes('Egress')) {
        findings.push(error(context.locator(p).locate(['spec', 'policyTypes']), 'network-policy', `NetworkPolicy ${p.object.metadata.name} (selecting ${name}) must restrict both Ingress and Egress (policyTypes: [Ingress, Egress])`));
      }
      (spec.ingress ?? []).forEach((rule, i) => {
        if (!rule.from?.length || !rule.ports?.length) {
          findings.push(error(context.locator(p).locate(['spec', 'ingress', i]), 'network-policy', `NetworkPolicy ${p.object.metadata.name} ingress rule ${i + 1} must name its peers (from) and its ports: without them it admits every pod or every port`));
        }
      });
    }
  }
  return findings;
};

/** The `flag-serving-off` state rule lives with the other state rules (it needs no manifest code). */
export { flagServingRule } from './state-rules.ts';
