/**
 * Every synthesized object validates against the Kubernetes OpenAPI schema of its kind, using
 * kubernetes-models (and @kubernetes-models/* for CRDs such as the prometheus-operator's), or,
 * for the OpenFeature Operator's kinds, the `openAPIV3Schema` of its CRD vendored in policies/crds/.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { error, type Finding } from '../model/findings.ts';
import type { ManifestPolicy } from './manifest-policy.ts';
import { compileCached, instanceKey, type CompilingAjv } from './validator-cache.ts';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

interface AjvLikeError {
  instancePath?: string;
  message?: string;
}

/** Packages holding models for API groups that are not in core Kubernetes. */
const CRD_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/**
 * CRDs vendored in policies/crds/ (no kubernetes-models package has them): the OpenFeature
 * Operator's, from open-feature/open-feature-operator v0.9.2 (config/crd/bases/, commit 90d373fd16).
 */
const VENDORED_CRDS: Record<string, string> = {
  'core.openfeature.dev/FeatureFlag': 'core.openfeature.dev_featureflags.yaml',
  'core.openfeature.dev/FeatureFlagSource': 'core.openfeature.dev_featureflagsources.yaml',
};

interface CrdDocument {
  spec?: { group?: string; versions?: { name: string; schema?: { openAPIV3Schema?: object } }[] };
}

let crdAjv: Ajv | undefined;
const CRD_KEY = instanceKey('crd-07', { allErrors: true, strict: false });

/** A validator for the `openAPIV3Schema` of a vendored CRD version, in the kubernetes-models shape. */
function crdModel(file: string, version: string): ModelClass | undefined {
  const crd = parse(readFileSync(new URL(`./crds/${file}`, import.meta.url), 'utf8')) as CrdDocument;
  const schema = crd.spec?.versions?.find((v) => v.name === version)?.schema?.openAPIV3Schema;
  if (!schema) return undefined;
  // Kubernetes' structural schemas are OpenAPI v3 (draft-04-like) with x-kubernetes-* extensions.
  crdAjv ??= new Ajv({ allErrors: true, strict: false, code: { source: true } });
  const validate = compileCached(crdAjv as unknown as CompilingAjv, schema, CRD_KEY);
  return class {
    constructor(private readonly data: unknown) {}
    validate(): void {
      const errors: AjvLikeError[] = validate(this.data) ? [] : [...(validate.errors ?? [])];
      // The API server silently drops ("prunes") fields a structural schema does not declare.
      for (const path of prunedFields(schema as StructuralSchema, this.data, '')) {
        errors.push({ instancePath: path, message: 'is not in the CRD schema: the API server would drop it without an error' });
      }
      if (errors.length > 0) throw Object.assign(new Error('invalid'), { errors });
    }
  };
}

interface StructuralSchema {
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** JSON pointers of the fields of `data` that the structural `schema` would prune. */
function prunedFields(schema: StructuralSchema | undefined, data: unknown, at: string): string[] {
  if (!schema || data === null || typeof data !== 'object') return [];
  if (Array.isArray(data)) return data.flatMap((item, i) => prunedFields(schema.items, item, `${at}/${i}`));
  const out: string[] = [];
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const here = `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    // metadata of the object itself is the API server's ObjectMeta, not the CRD's.
    if (at === '' && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    const declared = schema.properties?.[key];
    if (declared) out.push(...prunedFields(declared, value, here));
    else if (typeof schema.additionalProperties === 'object') out.push(...prunedFields(schema.additionalProperties, value, here));
    else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true) out.push(here);
  }
  return out;
}

const cache = new Map<string, Promise<ModelClass | undefined>>();

const requireModel = createRequire(import.meta.url);

/** The kubernetes-models class for an apiVersion and kind, or undefined when no package has it. */
export function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  let found = cache.get(key);
  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
  const vendored = VENDORED_CRDS[`${group}/${kind}`];
  if (!found && vendored) {
    found = Promise.resolve(crdModel(vendored, version));
    cache.set(key, found);
  }
  if (!found) {
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
    const pkg = CRD_PACKAGES[group] ?? 'kubernetes-models';
    // require, not import(): the compiled CLI is a script run from V8's code cache, where Node 20
    // cannot run a dynamic import (bin/compiled.cjs). The model packages are CommonJS.
    found = Promise.resolve()
      .then(() => {
        // The names come from the manifest: only a name a model could have becomes a module path.
        if (!/^(?:[a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
        const mod = requireModel(`${pkg}/${apiVersion}/${kind}`) as Record<string, unknown>;
        return (mod[kind] ?? mod.default) as ModelClass | undefined;
      })
      .catch(() => undefined);
    cache.set(key, found);
  }
  return found;
}

export const kubernetesSchemaPolicy: ManifestPolicy = async ({ files }, context) => {
  const findings: Finding[] = [];
  for (const file of files) {
    const { apiVersion, kind } = file.object;
    const Model = await modelFor(apiVersion, kind);
    const at = context.locator(file);
    if (!Model) {
      findings.push(error(at.locate(['kind']), 'k8s-schema', `no Kubernetes schema is known for ${apiVersion} ${kind}`));
      continue;
    }
    try {
      new Model(file.object).validate();
    } catch (e) {
      const errors = ((e as { errors?: AjvLikeError[] }).errors ?? [{ message: (e as Error).message }]) as AjvLikeError[];
      for (const err of errors) {
        const path = (err.instancePath ?? '').split('/').filter(Boolean);
        findings.push(error(at.locate(path), 'k8s-schema', `${kind} ${file.object.metadata.name}: ${path.join('.') || 'object'} ${err.message ?? 'is invalid'}`));
      }
    }
  }
  return findings;
};
