/**
 * Label policies: every synthesized object, and every pod and job template inside one, carries
 * the Kubernetes recommended labels (`app.kubernetes.io/name`, `part-of`, `managed-by`,
 * `component`), so `kubectl get -l` and dashboards find everything flagops ships; and no label,
 * annotation or selector anywhere uses cdk8s' own `cdk8s.io/` keys (cdk8s-plus's
 * `cdk8s.io/metadata.addr` is a construct address: it changes when code moves, and a selector on
 * it is immutable on a live Deployment).
 */
import type { KubeObject } from '../model/manifests.ts';
import { error, type Finding, type Location } from '../model/findings.ts';
import type { ManifestPolicy } from './manifest-policy.ts';

/** https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/ */
export const RECOMMENDED_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/component'] as const;

/** The prefix of the labels and annotations cdk8s and cdk8s-plus add for their own use. */
export const CDK8S_KEY_PREFIX = 'cdk8s.io/';

type Path = readonly (string | number)[];

/** The metadata paths of the templates inside an object of each workload kind (its own metadata aside). */
const TEMPLATES: Readonly<Record<string, readonly Path[]>> = {
  Deployment: [['spec', 'template', 'metadata']],
  StatefulSet: [['spec', 'template', 'metadata']],
  DaemonSet: [['spec', 'template', 'metadata']],
  ReplicaSet: [['spec', 'template', 'metadata']],
  Job: [['spec', 'template', 'metadata']],
  CronJob: [
    ['spec', 'jobTemplate', 'metadata'],
    ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
  ],
};

function valueAt(data: unknown, path: Path): unknown {
  let here = data;
  for (const key of path) here = here !== null && typeof here === 'object' ? (here as Record<string | number, unknown>)[key] : undefined;
  return here;
}

/** Where in `object` a key (of any map) or a `key:` value (of a selector's matchExpressions) starts with `cdk8s.io/`. */
function cdk8sKeys(value: unknown, path: Path, out: { path: Path; key: string }[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => cdk8sKeys(item, [...path, i], out));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key.startsWith(CDK8S_KEY_PREFIX)) out.push({ path: [...path, key], key });
    else if (key === 'key' && typeof child === 'string' && child.startsWith(CDK8S_KEY_PREFIX)) out.push({ path: [...path, key], key: child });
    else cdk8sKeys(child, [...path, key], out);
  }
}

/** What label findings one object has (`at` locates a path in its file). */
export function labelFindings(object: KubeObject, at: (path: Path) => Location): Finding[] {
  const findings: Finding[] = [];
  const name = `${object.kind} ${object.metadata.name}`;
  for (const metadata of [['metadata'] as Path, ...(TEMPLATES[object.kind] ?? [])]) {
    const labels = valueAt(object, [...metadata, 'labels']);
    const where = metadata.length === 1 ? name : `${name}: ${metadata.slice(0, -1).join('.')}`;
    const missing = RECOMMENDED_LABELS.filter((key) => {
      const v = labels !== null && typeof labels === 'object' ? (labels as Record<string, unknown>)[key] : undefined;
      return typeof v !== 'string' || v === '';
    });
    if (missing.length > 0) {
      const place = labels === undefined ? metadata : [...metadata, 'labels'];
      findings.push(error(at(place), 'recommended-labels', `${where} lacks the label${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`));
    }
  }
  const found: { path: Path; key: string }[] = [];
  cdk8sKeys(object, [], found);
  for (const { path, key } of found) {
    findings.push(error(at(path), 'cdk8s-label', `${name}: ${path.slice(0, -1).join('.')} uses cdk8s' internal key ${key}; select and label by the app.kubernetes.io/ labels instead`));
  }
  return findings;
}

/** Every object and template carries the four recommended labels; no `cdk8s.io/` key anywhere. */
export const labelsPolicy: ManifestPolicy = ({ files }, context) =>
  files.flatMap((file) => {
    const locator = context.locator(file);
    return labelFindings(file.object, (path) => locator.locate(path));
  });
