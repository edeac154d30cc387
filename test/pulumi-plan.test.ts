/**
 * The deployment plan of the Pulumi program as plain data: phases, dependency order, protection
 * rules, counts. No Pulumi runtime involved.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../model/manifests.ts';
import {
  countByKind,
  isBuiltInGroup,
  isProtected,
  logicalName,
  parseProtectRules,
  Phase,
  phaseOf,
  planDeployment,
  type CommittedObject,
} from '../infra/pulumi/manifests.ts';

const object = (apiVersion: string, kind: string, name: string, extra: Record<string, unknown> = {}): CommittedObject => ({
  path: `dist/production/${kind.toLowerCase()}-${name}.yaml`,
  object: { apiVersion, kind, metadata: { name, ...(kind === 'Namespace' ? {} : { namespace: 'pms' }) }, ...extra } as KubeObject,
});

const NAMESPACE = object('v1', 'Namespace', 'pms');
const FLAGS = object('v1', 'ConfigMap', 'feature-flags-config');
const DASHBOARD = object('v1', 'ConfigMap', 'grafana-dashboard-pms');
const ACCOUNT = object('v1', 'ServiceAccount', 'pms-backend');
const ROLE = object('rbac.authorization.k8s.io/v1', 'Role', 'read-flags');
const BINDING = object('rbac.authorization.k8s.io/v1', 'RoleBinding', 'read-flags');
const PVC = object('v1', 'PersistentVolumeClaim', 'pms-db-backups');
const BACKUP = object('batch/v1', 'CronJob', 'pms-db-backup');
const ALERTS = object('monitoring.coreos.com/v1', 'PrometheusRule', 'pms-alerts');
const CRD = object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com', { spec: { group: 'example.com' } });
const WIDGET = object('example.com/v1', 'Widget', 'w');

/** The rules Pulumi.production.yaml declares. */
const PRODUCTION_RULES = parseProtectRules(['Namespace', 'ConfigMap/feature-flags-config', 'ServiceAccount', 'Role', 'RoleBinding', 'PersistentVolumeClaim']);

describe('phases', () => {
  it('tells built-in API groups from CRD-served ones', () => {
    expect(['', 'apps', 'batch', 'policy', 'rbac.authorization.k8s.io', 'networking.k8s.io'].every(isBuiltInGroup)).toBe(true);
    expect(['monitoring.coreos.com', 'example.com'].some(isBuiltInGroup)).toBe(false);
  });

  it('puts namespaces and CRDs first, access and config next, workloads after, custom resources last', () => {
    expect(phaseOf(NAMESPACE.object)).toBe(Phase.FOUNDATION);
    expect(phaseOf(CRD.object)).toBe(Phase.FOUNDATION);
    expect([FLAGS, ACCOUNT, ROLE, BINDING, PVC].map((o) => phaseOf(o.object))).toEqual(Array(5).fill(Phase.ACCESS_AND_CONFIG));
    expect(phaseOf(BACKUP.object)).toBe(Phase.WORKLOAD);
    expect(phaseOf(ALERTS.object)).toBe(Phase.CUSTOM);
  });
});

describe('planDeployment', () => {
  const plan = planDeployment([ALERTS, BACKUP, WIDGET, PVC, ROLE, FLAGS, CRD, NAMESPACE], {
    stack: 'production',
    protect: PRODUCTION_RULES,
    externalCrds: ['prometheusrules.monitoring.coreos.com'],
  });
  const planned = (o: CommittedObject) => plan.find((p) => p.path === o.path)!;

  it('registers objects phase by phase', () => {
    expect(plan.map((p) => p.object.kind)).toEqual(['CustomResourceDefinition', 'Namespace', 'ConfigMap', 'PersistentVolumeClaim', 'Role', 'CronJob', 'PrometheusRule', 'Widget']);
  });

  it('makes RBAC and config wait for the namespace', () => {
    expect(planned(ROLE).dependsOn).toEqual([NAMESPACE.path]);
    expect(planned(FLAGS).dependsOn).toEqual([NAMESPACE.path]);
    expect(planned(NAMESPACE).dependsOn).toEqual([]);
  });

  it('makes workloads wait for the namespace, RBAC, ConfigMaps and PVCs', () => {
    expect(planned(BACKUP).dependsOn).toEqual([NAMESPACE.path, FLAGS.path, PVC.path, ROLE.path]);
  });

  it('makes a custom resource wait for the namespace and the CRD of its group, in dist/ or read from the cluster', () => {
    expect(planned(WIDGET).dependsOn).toEqual([NAMESPACE.path, CRD.path]);
    expect(planned(ALERTS).dependsOn).toEqual([NAMESPACE.path, 'crd:prometheusrules.monitoring.coreos.com']);
  });

  it('refuses a custom resource no CRD serves, naming the file and the config key', () => {
    expect(() => planDeployment([NAMESPACE, ALERTS], { stack: 'dev', protect: [], externalCrds: [] })).toThrow(
      `${ALERTS.path}: PrometheusRule (API group monitoring.coreos.com) needs a CustomResourceDefinition, but none in dist/dev/ serves that group and Pulumi.dev.yaml lists none under flagops-pms:externalCrds; add the CRD's name (for example 'prometheusrules.monitoring.coreos.com')`,
    );
  });

  it('marks the protected objects', () => {
    expect(plan.filter((p) => p.protect).map((p) => p.object.kind)).toEqual(['Namespace', 'ConfigMap', 'PersistentVolumeClaim', 'Role']);
  });
});

describe('protection rules', () => {
  it('protects the production flag ConfigMap, RBAC objects and PVCs by kind and name', () => {
    for (const o of [NAMESPACE, FLAGS, ACCOUNT, ROLE, BINDING, PVC]) expect({ path: o.path, protect: isProtected(PRODUCTION_RULES, o.object) }).toEqual({ path: o.path, protect: true });
  });

  it('leaves other ConfigMaps, workloads and alerts unprotected', () => {
    for (const o of [DASHBOARD, BACKUP, ALERTS]) expect({ path: o.path, protect: isProtected(PRODUCTION_RULES, o.object) }).toEqual({ path: o.path, protect: false });
  });

  it('rejects a rule that is neither Kind nor Kind/name', () => {
    expect(() => parseProtectRules(['configmap'])).toThrow("protect rule 'configmap' must be 'Kind' or 'Kind/name'");
    expect(() => parseProtectRules(['ConfigMap/'])).toThrow("protect rule 'ConfigMap/' must be");
    expect(parseProtectRules(['ConfigMap/feature-flags-config', 'Role'])).toEqual([{ kind: 'ConfigMap', name: 'feature-flags-config' }, { kind: 'Role' }]);
  });
});

describe('outputs and names', () => {
  it('counts objects by kind with sorted keys', () => {
    expect(countByKind([ROLE, FLAGS, DASHBOARD, NAMESPACE])).toEqual({ ConfigMap: 2, Namespace: 1, Role: 1 });
    expect(Object.keys(countByKind([ROLE, FLAGS, NAMESPACE]))).toEqual(['ConfigMap', 'Namespace', 'Role']);
  });

  it('names each resource after its dist/ file', () => {
    expect(logicalName(FLAGS)).toBe('configmap-feature-flags-config');
  });
});
