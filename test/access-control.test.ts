import { App, Chart } from 'cdk8s';
import { ConfigMap } from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import { AccessControl, type AccessControlProps } from '../constructs/access-control.ts';
import type { KubeObject } from '../model/manifests.ts';
import { accessMatrix, describeVerbs } from '../policies/access-matrix.ts';
import { flagConfigMapTarget } from '../policies/access-policies.ts';
import { flagops, replaceIn, tempProject } from './helpers.ts';

type Obj = Record<string, any>;

function synth(props: Partial<AccessControlProps> = {}): Obj[] {
  const app = new App();
  const chart = new Chart(app, 'test', { namespace: 'pms', disableResourceNameHashes: true });
  new ConfigMap(chart, 'Flags', { metadata: { name: 'feature-flags-config' } });
  new AccessControl(chart, 'Access', { flagConfigMap: 'feature-flags-config', onCallGroups: ['pms-oncall'], developerGroups: ['pms-developers'], ...props });
  return chart.toJson() as Obj[];
}

const find = (objects: Obj[], kind: string, name: string): Obj | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('AccessControl', () => {
  it('lets the app only read feature-flags-config', () => {
    const role = find(synth(), 'Role', 'pms-backend-flags-reader')!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['feature-flags-config'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('gives the backup ServiceAccount no token and no binding', () => {
    const objects = synth();
    expect(find(objects, 'ServiceAccount', 'pms-db-backup')!.automountServiceAccountToken).toBe(false);
    const bound = objects.filter((o) => o.kind === 'RoleBinding').flatMap((b) => b.subjects.map((s: Obj) => s.name));
    expect(bound).not.toContain('pms-db-backup');
  });

  it('computes the deployer Role from the kinds in the chart, without wildcards or Secrets', () => {
    // GIVEN a chart with a ConfigMap, ServiceAccounts, Roles and RoleBindings
    const rules = find(synth(), 'Role', 'flagops-deployer')!.rules as Obj[];
    // THEN the deployer manages exactly those kinds and holds what the other Roles grant
    const manage = rules.filter((r) => r.verbs.includes('create'));
    expect(manage).toEqual([
      { apiGroups: [''], resources: ['configmaps', 'serviceaccounts'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
    ]);
    expect(rules.some((r) => r.resources.includes('pods/log') && r.verbs.join() === 'get,list,watch')).toBe(true);
    expect(JSON.stringify(rules)).not.toMatch(/\*|secrets|exec/);
  });

  it('binds on-call and developers read-only, without Secrets', () => {
    const objects = synth();
    const binding = find(objects, 'RoleBinding', 'pms-read-only')!;
    expect(binding.subjects.map((s: Obj) => s.name)).toEqual(['pms-developers', 'pms-oncall']);
    const verbs = new Set(find(objects, 'Role', 'pms-read-only')!.rules.flatMap((r: Obj) => r.verbs));
    expect([...verbs].sort()).toEqual(['get', 'list', 'watch']);
  });

  it('creates a break-glass Role scoped to the flag ConfigMap only when groups are given', () => {
    expect(find(synth(), 'Role', 'feature-flags-break-glass')).toBeUndefined();
    const role = find(synth({ breakGlassGroups: ['pms-production-break-glass'] }), 'Role', 'feature-flags-break-glass')!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['feature-flags-config'], verbs: ['get', 'patch', 'update'] }]);
  });

  it('rejects system groups', () => {
    expect(() => synth({ onCallGroups: ['system:authenticated'] })).toThrow(/Group names must be identity-provider groups.*system:authenticated/);
  });

  it('lets only the deployer and break-glass change the flag ConfigMap (access matrix)', () => {
    const objects = synth({ breakGlassGroups: ['pms-production-break-glass'] }) as KubeObject[];
    const matrix = accessMatrix(objects, 'pms', [flagConfigMapTarget]);
    const words = Object.fromEntries(matrix.map((s) => [`${s.subject.kind} ${s.subject.name}`, describeVerbs(s.access['feature-flags-config']!.verbs)]));
    expect(words).toEqual({
      'Group pms-developers': 'read',
      'Group pms-oncall': 'read',
      'Group pms-production-break-glass': 'read, change',
      'ServiceAccount flagops-deployer': 'read, change, delete',
      'ServiceAccount pms-backend': 'read',
      'ServiceAccount pms-db-backup': 'no access',
    });
  });
});

describe('flagops access', () => {
  it('prints per subject what it may do to the flag ConfigMap and the backups, in plain words', async () => {
    // GIVEN the sample project WHEN asking about production
    const result = await flagops(tempProject(), 'access', '--env', 'production');
    // THEN every subject has a row and the flag writers are named
    expect(result.code).toBe(0);
    const row = (subject: string) => result.stdout.split('\n').find((l) => l.startsWith(subject))!.split(/\s{2,}/);
    expect(row('Group pms-production-break-glass')).toEqual(['Group pms-production-break-glass', 'read, change', 'no access', 'no access', 'no access']);
    expect(row('ServiceAccount pms-db-backup (no token)').slice(1)).toEqual(['no access', 'no access', 'no access', 'no access']);
    expect(row('ServiceAccount pms-backend').slice(1, 3)).toEqual(['read', 'no access']);
    expect(result.stdout).toContain('Who can change flags in production: Group pms-production-break-glass (via Role feature-flags-break-glass); ServiceAccount flagops-deployer (via Role flagops-deployer)');
  });

  it('shows the effect of an RBAC change in environment.ts', async () => {
    // GIVEN staging gets a break-glass group
    const dir = tempProject();
    replaceIn(dir, 'environments/staging/environment.ts', "requireTicket: true,", "requireTicket: true,\n  access: { breakGlassGroups: ['pms-staging-break-glass'] },");
    // WHEN asking about staging THEN that group may now change flags there
    const result = await flagops(dir, 'access', '--env', 'staging', '--json');
    expect(result.code).toBe(0);
    const [report] = JSON.parse(result.stdout);
    const group = report.subjects.find((s: Obj) => s.subject.name === 'pms-staging-break-glass');
    expect(group.access['feature-flags-config'].verbs).toEqual(['get', 'update', 'patch']);
  });

  it('refuses an unknown environment with a usage error', async () => {
    const result = await flagops(tempProject(), 'access', '--env', 'qa');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown environment 'qa'");
  });
});
