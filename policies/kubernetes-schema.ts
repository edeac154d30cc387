/**
 * Every synthesized object validates against the Kubernetes OpenAPI schema of its kind, using
 * kubernetes-models (and @kubernetes-models/* for CRDs such as the prometheus-operator's).
 */
import { error, type Finding } from './findings.ts';
import type { ManifestPolicy } from './manifest-policies.ts';

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

const cache = new Map<string, Promise<ModelClass | undefined>>();

/** The kubernetes-models class for an apiVersion and kind, or undefined when no package has it. */
export function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  let found = cache.get(key);
  if (!found) {
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
    const pkg = CRD_PACKAGES[group] ?? 'kubernetes-models';
    found = import(`${pkg}/${apiVersion}/${kind}`).then(
      (mod: Record<string, unknown>) => (mod[kind] ?? mod.default) as ModelClass | undefined,
      () => undefined,
    );
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
