import { ApiObject, JsonPatch } from 'cdk8s';
import { AbstractPod, Pod } from 'cdk8s-plus-27';
import type { IConstruct } from 'constructs';
import { POD_SPEC_PATHS } from './pod-security.ts';

/** Where the pod template's metadata sits inside each workload kind. */
const podTemplateMetadata = (kind: keyof typeof POD_SPEC_PATHS): string => POD_SPEC_PATHS[kind].replace(/\/spec$/, '') + '/metadata';

/**
 * Makes a cdk8s-plus workload's pod template carry only the labels flagops gives it: the four
 * recommended `app.kubernetes.io/` labels and the chart's, never cdk8s' own (`cdk8s.io/`), which
 * the `recommended-labels` and `cdk8s-label` policies check (policies/label-policies.ts).
 *
 * cdk8s-plus-27 adds `cdk8s.io/metadata.addr` to every pod template and offers no option against
 * it: `select: false` only keeps it out of the selector (`Workload.podMetadata` adds it whenever
 * the template is rendered). So the synthesized template drops it here. The workload must select
 * its pods by labels of its own (`select: false` and `select(LabelSelector.of(...))`, as flagd's
 * Deployment does) or not at all (CronJob, Job), and must not be used as a cdk8s-plus network
 * peer (`connections`, `isolate`), whose selectors use that label: the `cdk8s-label`
 * policy reports any `cdk8s.io/` label left in a selector.
 *
 * A CronJob's job template gets the pod template's labels too, so the Jobs it creates carry them.
 * Call it once per workload; the labels themselves are whatever the template has at synthesis
 * (`podMetadata`, plus the chart's from {@link labelPodTemplates}).
 */
export function ownPodTemplateLabels(workload: AbstractPod, kind: keyof typeof POD_SPEC_PATHS): void {
  const template = podTemplateMetadata(kind);
  const patches = [JsonPatch.remove(`${template}/labels/${Pod.ADDRESS_LABEL.replace(/~/g, '~0').replace(/\//g, '~1')}`)];
  if (kind === 'CronJob') {
    patches.push(
      JsonPatch.copy(template, '/spec/jobTemplate/metadata'),
      // Re-append the job spec after the metadata just added, so `metadata` reads before `spec`.
      JsonPatch.move('/spec/jobTemplate/spec', '/spec/jobTemplate/spec'),
    );
  }
  ApiObject.of(workload).addJsonPatch(...patches);
}

/**
 * Gives the pod template of every cdk8s-plus workload under `scope` each of `labels` it does not
 * set itself: cdk8s applies a chart's labels to the objects' own metadata only, not to the pod
 * templates inside them. Only adds labels, so no selector changes.
 */
export function labelPodTemplates(scope: IConstruct, labels: Readonly<Record<string, string>>): void {
  for (const construct of scope.node.findAll()) {
    if (!(construct instanceof AbstractPod)) continue;
    for (const [key, value] of Object.entries(labels)) {
      if (construct.podMetadata.getLabel(key) === undefined) construct.podMetadata.addLabel(key, value);
    }
  }
}
