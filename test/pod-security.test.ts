import { App, Chart, Cron } from 'cdk8s';
import { CronJob, Deployment } from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import { restrictPodSecurity } from '../constructs/pod-security.ts';
import type { KubeObject } from '../model/manifests.ts';
import { fileLocator } from '../model/findings.ts';
import { POD_SECURITY_SCHEMA, schemaFindings } from '../policies/manifest-schemas.ts';

function cronJob(restrict: boolean): KubeObject {
  const chart = new Chart(new App(), 'test', { namespace: 'pms' });
  const job = new CronJob(chart, 'Job', {
    schedule: Cron.daily(),
    containers: [{ name: 'main', image: 'busybox:1.36', securityContext: { user: 1000 } }, { name: 'side', image: 'busybox:1.36', securityContext: { user: 1000 } }],
  });
  if (restrict) restrictPodSecurity(job, 'CronJob');
  return chart.toJson()[0] as KubeObject;
}

const rules = (o: KubeObject) => schemaFindings(POD_SECURITY_SCHEMA, o, fileLocator('x.yaml')).map((f) => f.rule);

describe('restrictPodSecurity', () => {
  it('is needed: cdk8s-plus-27 alone sets neither seccomp nor dropped capabilities', () => {
    // GIVEN a plain cdk8s-plus CronJob WHEN checked THEN seccomp and capabilities are reported
    expect(rules(cronJob(false))).toEqual(expect.arrayContaining(['pod-seccomp', 'pod-capabilities']));
  });

  it('adds RuntimeDefault seccomp to the pod and every container, and drops ALL capabilities', () => {
    // GIVEN the same CronJob with restrictPodSecurity WHEN synthesized
    const o = cronJob(true) as KubeObject & Record<string, any>;
    const spec = o.spec.jobTemplate.spec.template.spec;
    // THEN both containers and the pod are restricted, and the policy finds no seccomp/capability problem
    expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    for (const c of spec.containers) expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'] });
    expect(rules(o)).not.toContain('pod-seccomp');
    expect(rules(o)).not.toContain('pod-capabilities');
  });

  it('works on a Deployment too', () => {
    const chart = new Chart(new App(), 'test', { namespace: 'pms' });
    const d = new Deployment(chart, 'D', { containers: [{ name: 'main', image: 'busybox:1.36', securityContext: { user: 1000 } }] });
    restrictPodSecurity(d, 'Deployment');
    const o = chart.toJson()[0] as Record<string, any>;
    expect(o.spec.template.spec.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'] });
  });
});
