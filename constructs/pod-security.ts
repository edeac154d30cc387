import { ApiObject, JsonPatch } from 'cdk8s';
import type { AbstractPod } from 'cdk8s-plus-27';

/** Where the pod spec sits inside each workload kind. */
export const POD_SPEC_PATHS = {
  Pod: '/spec',
  Job: '/spec/template/spec',
  Deployment: '/spec/template/spec',
  StatefulSet: '/spec/template/spec',
  DaemonSet: '/spec/template/spec',
  CronJob: '/spec/jobTemplate/spec/template/spec',
} as const;

/**
 * Completes Pod Security "restricted" on a cdk8s-plus workload. cdk8s-plus-27 already sets
 * runAsNonRoot, allowPrivilegeEscalation false and a read-only root filesystem, but neither a
 * seccomp profile nor dropped capabilities: this adds `seccompProfile: RuntimeDefault` to the pod
 * and to every container, and `capabilities.drop: [ALL]` to every container.
 *
 * Call it after every container has been added.
 */
export function restrictPodSecurity(workload: AbstractPod, kind: keyof typeof POD_SPEC_PATHS): void {
  const spec = POD_SPEC_PATHS[kind];
  const seccomp = { type: 'RuntimeDefault' };
  const patches = [JsonPatch.add(`${spec}/securityContext/seccompProfile`, seccomp)];
  workload.containers.forEach((_, i) => {
    patches.push(JsonPatch.add(`${spec}/containers/${i}/securityContext/capabilities`, { drop: ['ALL'] }));
    patches.push(JsonPatch.add(`${spec}/containers/${i}/securityContext/seccompProfile`, seccomp));
  });
  workload.initContainers.forEach((_, i) => {
    patches.push(JsonPatch.add(`${spec}/initContainers/${i}/securityContext/capabilities`, { drop: ['ALL'] }));
    patches.push(JsonPatch.add(`${spec}/initContainers/${i}/securityContext/seccompProfile`, seccomp));
  });
  ApiObject.of(workload).addJsonPatch(...patches);
}
