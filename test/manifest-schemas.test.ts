/**
 * The JSON-Schema manifest policies (policies/pod-security, rbac, backup-cronjob .schema.json) and
 * the rbac-flag-writers policy: for every rule, the synthesized object passes and one broken copy
 * of it fails with that rule.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import standalone from 'ajv/dist/standalone/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentSettings } from '../model/environments.ts';
import { renderFiles, synthesizeAll } from '../synth/synth.ts';
import type { EnvironmentManifests, KubeObject } from '../model/manifests.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { fileLocator } from '../model/findings.ts';
import { checkManifests } from '../policies/manifest-policies.ts';
import { BACKUP_CRONJOB_SCHEMA, POD_SECURITY_SCHEMA, RBAC_SCHEMA, schemaFindings, validatorFindings, withRules } from '../policies/manifest-schemas.ts';
import { newAjv } from '../policies/schema-validation.ts';
import { REPO_ROOT } from './helpers.ts';

let settings: EnvironmentSettings[];
let manifests: EnvironmentManifests[];

beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
  manifests = synthesizeAll(parseProject(settings, diskReader(REPO_ROOT)).model);
});

/** A deep copy of a synthesized production object. */
function production(kind: string, name: string): KubeObject & Record<string, any> {
  const o = manifests.find((m) => m.environment === 'production')!.files.map((f) => f.object).find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not synthesized`);
  return structuredClone(o) as KubeObject & Record<string, any>;
}

const podSpec = (cronJob: Record<string, any>) => cronJob.spec.jobTemplate.spec.template.spec;
const container = (cronJob: Record<string, any>) => podSpec(cronJob).containers[0];
const backupJob = () => production('CronJob', 'pms-db-backup');
const rulesOf = (schema: object, o: KubeObject) => schemaFindings(schema, o, fileLocator('dist/production/x.yaml')).map((f) => f.rule);

type Case = readonly [rule: string, why: string, make: () => KubeObject & Record<string, any>, breakIt: (o: Record<string, any>) => void];

const POD_CASES: readonly Case[] = [
  ['pod-run-as-non-root', 'the pod does not set runAsNonRoot', backupJob, (o) => delete podSpec(o).securityContext.runAsNonRoot],
  ['pod-run-as-non-root', 'a container runs as uid 0', backupJob, (o) => (container(o).securityContext.runAsUser = 0)],
  ['pod-seccomp', 'the pod has no seccomp profile', backupJob, (o) => delete podSpec(o).securityContext.seccompProfile],
  ['pod-seccomp', 'a container is Unconfined', backupJob, (o) => (container(o).securityContext.seccompProfile = { type: 'Unconfined' })],
  ['pod-host-namespaces', 'the pod uses the host network', backupJob, (o) => (podSpec(o).hostNetwork = true)],
  ['pod-volume-types', 'the pod mounts a hostPath', backupJob, (o) => podSpec(o).volumes.push({ name: 'host', hostPath: { path: '/var/lib' } })],
  ['pod-privilege-escalation', 'a container allows privilege escalation', backupJob, (o) => (container(o).securityContext.allowPrivilegeEscalation = true)],
  ['pod-privilege-escalation', 'a container is privileged', backupJob, (o) => (container(o).securityContext.privileged = true)],
  ['pod-capabilities', 'a container drops no capabilities', backupJob, (o) => delete container(o).securityContext.capabilities],
  ['pod-capabilities', 'a container adds SYS_ADMIN', backupJob, (o) => (container(o).securityContext.capabilities.add = ['SYS_ADMIN'])],
  ['pod-read-only-root', 'a container has a writable root filesystem', backupJob, (o) => (container(o).securityContext.readOnlyRootFilesystem = false)],
  ['pod-resources', 'a container has no limits', backupJob, (o) => delete container(o).resources.limits],
  ['pod-resources', 'a container has no memory request', backupJob, (o) => delete container(o).resources.requests.memory],
  ['pod-image-pinned', 'the image is latest', backupJob, (o) => (container(o).image = 'docker.io/library/postgres:latest')],
  ['pod-image-pinned', 'the image has no tag', backupJob, (o) => (container(o).image = 'registry.example.com:5000/postgres')],
  ['pod-secret-env', 'DATABASE_URL is plain text', backupJob, (o) => container(o).env.push({ name: 'DATABASE_URL', value: 'postgres://pms:hunter2@pms-postgres/pms' })],
  ['pod-secret-env', 'PGPASSWORD is a value', backupJob, (o) => (container(o).env.find((e: { name: string }) => e.name === 'PGPASSWORD').value = 'hunter2') && delete container(o).env.find((e: { name: string }) => e.name === 'PGPASSWORD').valueFrom],
  ['pod-secret-env', 'a connection string embeds a password', backupJob, (o) => container(o).env.push({ name: 'UPSTREAM', value: 'https://user:pass@example.com/' })],
];

const role = (name: string) => () => production('Role', name);
const binding = (name: string) => () => production('RoleBinding', name);

const RBAC_CASES: readonly Case[] = [
  ['rbac-cluster-scope', 'it is a ClusterRole', role('pms-read-only'), (o) => (o.kind = 'ClusterRole')],
  ['rbac-cluster-scope', 'it is a ClusterRoleBinding', binding('pms-read-only'), (o) => (o.kind = 'ClusterRoleBinding')],
  ['rbac-wildcard', 'a rule allows every verb', role('pms-read-only'), (o) => (o.rules[0].verbs = ['*'])],
  ['rbac-wildcard', 'a rule covers every resource', role('pms-read-only'), (o) => (o.rules[0].resources = ['*'])],
  ['rbac-wildcard', 'a rule covers every API group', role('pms-read-only'), (o) => (o.rules[0].apiGroups = ['*'])],
  ['rbac-escalation-verbs', 'a rule allows escalate', role('flagops-deployer'), (o) => o.rules[0].verbs.push('escalate')],
  ['rbac-escalation-verbs', 'a rule allows bind', role('flagops-deployer'), (o) => o.rules[0].verbs.push('bind')],
  ['rbac-escalation-verbs', 'a rule allows impersonate', role('pms-read-only'), (o) => o.rules.push({ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] })],
  ['rbac-secrets', 'a rule reads Secrets', role('pms-read-only'), (o) => o.rules[0].resources.push('secrets')],
  ['rbac-pods-exec', 'a rule allows exec into pods', role('pms-read-only'), (o) => o.rules.push({ apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] })],
  ['rbac-cluster-admin', 'it binds cluster-admin', binding('pms-read-only'), (o) => (o.roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' })],
  ['rbac-role-ref', 'it binds the built-in edit ClusterRole', binding('pms-read-only'), (o) => (o.roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' })],
  ['rbac-broad-subject', 'it binds every authenticated user', binding('pms-read-only'), (o) => o.subjects.push({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' })],
];

const verifyJob = () => production('CronJob', 'pms-db-restore-verify');
const BACKUP_CASES: readonly Case[] = [
  ['backup-label', 'pms-db-backup lost its component label', backupJob, (o) => delete o.metadata.labels['app.kubernetes.io/component']],
  ['backup-concurrency', 'runs may overlap', backupJob, (o) => (o.spec.concurrencyPolicy = 'Allow')],
  ['backup-concurrency', 'verification runs may be replaced', verifyJob, (o) => (o.spec.concurrencyPolicy = 'Replace')],
  ['backup-deadlines', 'there is no starting deadline', backupJob, (o) => delete o.spec.startingDeadlineSeconds],
  ['backup-deadlines', 'a run may hang forever', verifyJob, (o) => delete o.spec.jobTemplate.spec.activeDeadlineSeconds],
  ['backup-retries', 'there is no backoffLimit', backupJob, (o) => delete o.spec.jobTemplate.spec.backoffLimit],
  ['backup-retries', 'it retries ten times', backupJob, (o) => (o.spec.jobTemplate.spec.backoffLimit = 10)],
  ['backup-history', 'failed Jobs are not kept', backupJob, (o) => (o.spec.failedJobsHistoryLimit = 0)],
  ['backup-history', 'there is no successful history limit', verifyJob, (o) => delete o.spec.successfulJobsHistoryLimit],
  ['backup-schedule', 'there is no time zone', backupJob, (o) => delete o.spec.timeZone],
  ['backup-schedule', 'pms-db-backup runs at 03:00', backupJob, (o) => (o.spec.schedule = '0 3 * * *')],
  ['backup-retention', 'RETENTION_DAYS is missing', backupJob, (o) => (container(o).env = container(o).env.filter((e: { name: string }) => e.name !== 'RETENTION_DAYS'))],
  ['backup-retention', 'RETENTION_DAYS is 0', backupJob, (o) => (container(o).env.find((e: { name: string }) => e.name === 'RETENTION_DAYS').value = '0')],
  ['backup-token', 'the pod mounts an API token', backupJob, (o) => (podSpec(o).automountServiceAccountToken = true)],
  ['backup-storage', 'dumps go to an emptyDir', backupJob, (o) => (podSpec(o).volumes = podSpec(o).volumes.map((v: { name: string; persistentVolumeClaim?: unknown }) => (v.persistentVolumeClaim ? { name: v.name, emptyDir: {} } : v)))],
];

describe.each([
  ['pod security', POD_SECURITY_SCHEMA, POD_CASES],
  ['RBAC', RBAC_SCHEMA, RBAC_CASES],
  ['backup CronJobs', BACKUP_CRONJOB_SCHEMA, BACKUP_CASES],
] as const)('the %s schema', (_name, schema, cases) => {
  it.each(cases)('%s: passes the synthesized object (the case "%s" is not present)', (rule, _why, make) => {
    // GIVEN the object as synthesized WHEN checked THEN the rule reports nothing
    expect(rulesOf(schema, make())).not.toContain(rule);
  });

  it.each(cases)('%s: fails when %s', (rule, _why, make, breakIt) => {
    // GIVEN the synthesized object, broken in one way
    const o = make();
    breakIt(o);
    // WHEN checked THEN exactly that rule fires
    expect(rulesOf(schema, o)).toContain(rule);
  });
});

describe('a validator loaded from the validator cache finds the same rules as one compiled now', () => {
  // policies/validator-cache.ts keeps ajv's standalone code of each schema, so a process loads the
  // manifest schemas' validators instead of compiling them (about 0.2 s of a synth). In that code
  // every subschema is a copy: the rule of a failing subschema must travel with it.
  const fromStandalone = (schema: object): ValidateFunction => {
    const ajv = newAjv({ code: { source: true } });
    const code = standalone.default(ajv, ajv.compile(withRules(schema)));
    const file = join(mkdtempSync(join(tmpdir(), 'flagops-standalone-')), 'validate.cjs');
    writeFileSync(file, code);
    const loaded = createRequire(import.meta.url)(file) as ValidateFunction & { default?: ValidateFunction };
    return loaded.default ?? loaded;
  };
  const at = fileLocator('dist/production/x.yaml');

  it.each([
    ['pod security', POD_SECURITY_SCHEMA, POD_CASES],
    ['RBAC', RBAC_SCHEMA, RBAC_CASES],
    ['backup CronJobs', BACKUP_CRONJOB_SCHEMA, BACKUP_CASES],
  ] as const)('the %s schema: every broken case, the same findings word for word', (_name, schema, cases) => {
    const fromCache = fromStandalone(schema);
    for (const [rule, why, make, breakIt] of cases) {
      const o = make();
      breakIt(o);
      const found = validatorFindings(fromCache, o, at);
      expect(found.map((f) => f.rule), why).toContain(rule);
      expect(found, why).toEqual(schemaFindings(schema, o, at));
    }
  });
});

describe('the pod security schema on other workload kinds', () => {
  it('checks the pod template of a Deployment', () => {
    // GIVEN a Deployment whose container keeps all capabilities and runs :latest
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'pms-backend' },
      spec: { template: { spec: { ...podSpec(backupJob()), containers: [{ ...container(backupJob()), image: 'pms/backend:latest', securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true } }] } } },
    } as unknown as KubeObject;
    // WHEN checked THEN both problems are reported, naming the container
    const findings = schemaFindings(POD_SECURITY_SCHEMA, deployment, fileLocator('x.yaml'));
    expect(findings.map((f) => f.rule).sort()).toEqual(['pod-capabilities', 'pod-image-pinned']);
    expect(findings[0]!.message).toContain("Deployment pms-backend, container 'pg-dump'");
  });

  it('leaves objects without pods alone', () => {
    expect(rulesOf(POD_SECURITY_SCHEMA, production('ConfigMap', 'feature-flags-config'))).toEqual([]);
  });
});

describe('manifest policies over the synthesized environments', () => {
  it('find nothing in any environment', async () => {
    // GIVEN every environment as synthesized WHEN all manifest policies run THEN there are no findings
    expect(await checkManifests(manifests, settings)).toEqual([]);
  });

  it('report a plain-text DATABASE_URL at its line in the dist file, like a compiler', async () => {
    // GIVEN production with a plain DATABASE_URL added to the backup container
    const env = manifests.find((m) => m.environment === 'production')!;
    const objects = env.files.map((f) => structuredClone(f.object) as KubeObject & Record<string, any>);
    const job = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'pms-db-backup')!;
    container(job).env.push({ name: 'DATABASE_URL', value: 'postgres://pms:hunter2@pms-postgres/pms' });
    const files = renderFiles('production', objects);
    // WHEN the policies run
    const findings = await checkManifests([{ environment: 'production', files }], settings);
    // THEN one error points at the env entry in dist/production/cronjob-pms-db-backup.yaml
    const secret = findings.filter((f) => f.rule === 'pod-secret-env');
    expect(secret).toHaveLength(1);
    expect(secret[0]!.file).toBe('dist/production/cronjob-pms-db-backup.yaml');
    const text = files.find((f) => f.path === secret[0]!.file)!.text.split('\n');
    expect(text[secret[0]!.line - 1]).toContain('DATABASE_URL');
    expect(secret[0]!.message).toContain('env[DATABASE_URL]');
  });
});

describe('the rbac-flag-writers policy', () => {
  async function flagWriterFindings(change: (objects: (KubeObject & Record<string, any>)[]) => void) {
    const env = manifests.find((m) => m.environment === 'production')!;
    const objects = env.files.map((f) => structuredClone(f.object) as KubeObject & Record<string, any>);
    change(objects);
    const findings = await checkManifests([{ environment: 'production', files: renderFiles('production', objects) }], settings);
    return findings.filter((f) => f.rule === 'rbac-flag-writers');
  }

  it('accepts the deployer and the break-glass Role scoped to feature-flags-config', async () => {
    expect(await flagWriterFindings(() => {})).toEqual([]);
  });

  it('rejects on-call changing any ConfigMap', async () => {
    // GIVEN the read-only Role also allows patching ConfigMaps
    const findings = await flagWriterFindings((objects) => {
      objects.find((o) => o.kind === 'Role' && o.metadata.name === 'pms-read-only')!.rules[0].verbs.push('patch');
    });
    // THEN each bound group is reported at its subject in the RoleBinding
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringContaining('Group pms-developers may change feature-flags-config through Role pms-read-only'),
      expect.stringContaining('Group pms-oncall may change feature-flags-config through Role pms-read-only'),
    ]);
    expect(findings[0]!.file).toBe('dist/production/rolebinding-pms-read-only.yaml');
  });

  it('rejects the app writing the flag ConfigMap even through a Role scoped to that one object', async () => {
    // GIVEN the backend's Role, limited by resourceNames to feature-flags-config, also allows update
    const findings = await flagWriterFindings((objects) => {
      objects.find((o) => o.kind === 'Role' && o.metadata.name === 'pms-backend-flags-reader')!.rules[0].verbs.push('update', 'patch');
    });
    // THEN only break-glass groups may write through such a Role: the ServiceAccount is reported
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('ServiceAccount pms-backend may change feature-flags-config through Role pms-backend-flags-reader');
  });

  it('rejects binding the break-glass Role to a group that is not a break-glass group', async () => {
    const findings = await flagWriterFindings((objects) => {
      const binding = objects.find((o) => o.kind === 'RoleBinding' && o.roleRef.name === 'feature-flags-break-glass')!;
      binding.subjects.push({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'pms-developers' });
    });
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('Group pms-developers may change feature-flags-config through Role feature-flags-break-glass')]);
  });

  it('rejects a break-glass Role that is not scoped by resourceNames', async () => {
    const findings = await flagWriterFindings((objects) => {
      delete objects.find((o) => o.kind === 'Role' && o.metadata.name === 'feature-flags-break-glass')!.rules[0].resourceNames;
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toContain('Group pms-production-break-glass may change feature-flags-config through Role feature-flags-break-glass');
  });
});
