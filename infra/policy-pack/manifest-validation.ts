/**
 * The validation functions of the CrossGuard pack: the stack's Kubernetes resources are turned
 * back into manifests, rendered exactly as `flagops synth` renders dist/ files, and run through
 * the same MANIFEST_POLICIES as `flagops check`. Errors are one mandatory policy, warnings one
 * advisory policy. Findings point at the dist/ file the object corresponds to.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from '@pulumi/policy';
import type { EnvironmentSettings } from '../../model/environments.ts';
import { formatFinding } from '../../common/text/format.ts';
import { EXTERNAL_CRD_PREFIX } from '../pulumi/manifests.ts';
import { renderFiles } from '../../synth/synth.ts';
import type { KubeObject } from '../../model/manifests.ts';
import { loadEnvironmentSettings } from '../../lib/workspace/project.ts';
import { findRoot } from '../../lib/workspace/workspace.ts';
import { sortFindings, type Finding, type Severity } from '../../model/findings.ts';
import { checkManifests, MANIFEST_POLICIES } from '../../policies/manifest-policies.ts';
import type { ManifestPolicy } from '../../policies/manifest-policy.ts';

/** What the validation reads of a resource (a subset of PolicyResource, so tests can build them). */
export type StackResource = Pick<PolicyResource, 'type' | 'urn' | 'name' | 'props'>;

/** What the validation reads of the stack (a subset of StackValidationArgs). */
export interface StackArgs {
  readonly resources: readonly StackResource[];
  notApplicable(reason?: string): never;
}

/** A finding and the URN of the resource whose object it is about. */
export interface LocatedFinding {
  readonly finding: Finding;
  readonly urn: string;
}

/** Metadata the API server or Pulumi adds: not part of what was reviewed, dropped before the policies run. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];
const ADDED_ANNOTATION = (key: string): boolean => key.startsWith('pulumi.com/') || key === 'kubectl.kubernetes.io/last-applied-configuration';

/** Whether a stack resource is an object of dist/ (not the provider, a patch, a component or a read CRD). */
export function isDeployedObject(r: StackResource): boolean {
  const props = r.props as Partial<KubeObject>;
  return (
    r.type.startsWith('kubernetes:') &&
    !r.type.endsWith('Patch') &&
    !r.type.startsWith('kubernetes:yaml') &&
    !r.type.startsWith('kubernetes:helm') &&
    !r.name.startsWith(EXTERNAL_CRD_PREFIX) &&
    typeof props.apiVersion === 'string' &&
    typeof props.kind === 'string' &&
    typeof props.metadata?.name === 'string'
  );
}

/** A plain deep copy (policy props are proxies, which structuredClone rejects). */
const copy = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(copy);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(record).map((k) => [k, copy(record[k])]));
};

/**
 * The manifest as reviewed: the resource's properties without server- and Pulumi-added fields.
 * Dropped fields are never read: at preview they may be unknown, and the policy pack's property
 * proxies throw on reading an unknown value.
 */
export function manifestOf(props: Record<string, unknown>): KubeObject {
  const object: Record<string, unknown> = {};
  for (const key of Object.keys(props)) {
    if (key.startsWith('__') || key === 'status') continue;
    if (key !== 'metadata') {
      object[key] = copy(props[key]);
      continue;
    }
    const source = props.metadata as Record<string, unknown>;
    const metadata: Record<string, unknown> = {};
    for (const mk of Object.keys(source)) {
      if (SERVER_METADATA.includes(mk)) continue;
      if (mk !== 'annotations') {
        metadata[mk] = copy(source[mk]);
        continue;
      }
      const annotations = source.annotations as Record<string, unknown>;
      const kept = Object.keys(annotations).filter((a) => !ADDED_ANNOTATION(a));
      if (kept.length > 0) metadata.annotations = Object.fromEntries(kept.map((a) => [a, annotations[a]]));
    }
    object.metadata = metadata;
  }
  return object as unknown as KubeObject;
}

/**
 * Runs `policies` (default: every manifest policy) over the stack's objects. The environment is
 * the one whose namespace the objects live in (a stack deploys one environment).
 *
 * @returns findings with the URN of the resource each is about; `undefined` when no object lives
 *   in a flagops environment's namespace (the policies do not apply).
 */
export async function manifestFindings(
  resources: readonly StackResource[],
  settings: readonly EnvironmentSettings[],
  policies: readonly ManifestPolicy[] = MANIFEST_POLICIES,
): Promise<LocatedFinding[] | undefined> {
  const deployed = resources.filter(isDeployedObject).map((r) => ({ urn: r.urn, object: manifestOf(r.props) }));
  const namespaces = new Set(deployed.map(({ object }) => (object.kind === 'Namespace' ? object.metadata.name : object.metadata.namespace)));
  const env = settings.find((s) => namespaces.has(s.namespace));
  if (!env) return undefined;
  const files = renderFiles(env.name, deployed.map((d) => d.object));
  const urnOf = new Map(files.map((f) => [f.path, deployed.find((d) => d.object === f.object)!.urn]));
  const findings = await checkManifests([{ environment: env.name, files }], [env], policies);
  return sortFindings(findings).map((finding) => ({ finding, urn: urnOf.get(finding.file) ?? '' }));
}

/** The project's environments, found from this file's folder (infra/policy-pack/ is inside the project). */
export async function projectSettings(): Promise<EnvironmentSettings[]> {
  return loadEnvironmentSettings(findRoot(dirname(fileURLToPath(import.meta.url))));
}

/**
 * A stack validation reporting the findings of one severity, each as
 * `dist/<env>/<file>:line:col: error: message [rule]` against the resource it is about.
 */
export function validateManifests(
  severity: Severity,
  settings: () => Promise<readonly EnvironmentSettings[]> = projectSettings,
  policies: readonly ManifestPolicy[] = MANIFEST_POLICIES,
): (args: StackArgs, reportViolation: ReportViolation) => Promise<void> {
  return async (args, reportViolation) => {
    const located = await manifestFindings(args.resources, await settings(), policies);
    if (!located) return args.notApplicable('no Kubernetes object of this stack is in a flagops environment namespace');
    for (const { finding, urn } of located) {
      if (finding.severity === severity) reportViolation(formatFinding(finding, false), urn || undefined);
    }
  };
}

/** The pack's policies: manifest-policy errors block the deployment, warnings are advisory. */
export function manifestPolicies(): StackValidationPolicy[] {
  const validate = (severity: Severity) => validateManifests(severity) as (args: StackValidationArgs, report: ReportViolation) => Promise<void>;
  return [
    {
      name: 'flagops-manifest-errors',
      description: 'Every object passes the flagops manifest policies (Kubernetes schemas, ConfigMap size, ...) with no error, as `flagops check` requires.',
      enforcementLevel: 'mandatory',
      validateStack: validate('error'),
    },
    {
      name: 'flagops-manifest-warnings',
      description: 'Warnings of the flagops manifest policies, reported without blocking.',
      enforcementLevel: 'advisory',
      validateStack: validate('warning'),
    },
  ];
}
