/**
 * Labels (issue 17): every synthesized object, pod and job templates included, carries
 * app.kubernetes.io/{name,part-of,managed-by,component}, and no cdk8s-internal key (cdk8s-plus's
 * `cdk8s.io/metadata.addr`) appears anywhere in dist/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { ConfigMap, ServiceAccount } from 'cdk8s-plus-27';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DatabaseBackup } from '../constructs/database-backup.ts';
import { FlagdServer } from '../constructs/flag-serving.ts';
import type { EnvironmentSettings } from '../environments/settings.ts';
import { renderFiles, synthesizeAll } from '../synth/synth.ts';
import type { EnvironmentManifests, KubeObject } from '../model/manifests.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { labelFindings, labelsPolicy, RECOMMENDED_LABELS } from '../policies/label-policies.ts';
import { checkManifests, MANIFEST_POLICIES } from '../policies/manifest-policies.ts';
import { REPO_ROOT } from './helpers.ts';

let settings: EnvironmentSettings[];
let manifests: EnvironmentManifests[];

beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
  manifests = synthesizeAll(parseProject(settings, diskReader(REPO_ROOT)).model);
});

const here = { file: 'dist/production/x.yaml', line: 0, col: 0 };
const rules = (o: KubeObject) => labelFindings(o, () => here).map((f) => `${f.rule}: ${f.message}`);

/** A deep copy of a synthesized production object. */
function production(kind: string, name: string): KubeObject & { metadata: Record<string, any> } & Record<string, any> {
  const o = manifests.find((m) => m.environment === 'production')!.files.map((f) => f.object).find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not synthesized`);
  return structuredClone(o) as KubeObject & { metadata: Record<string, any> } & Record<string, any>;
}

/** Every object in the committed dist/<env>/ files. */
function committedObjects(): { path: string; object: KubeObject }[] {
  const out: { path: string; object: KubeObject }[] = [];
  for (const env of readdirSync(join(REPO_ROOT, 'dist'), { withFileTypes: true })) {
    if (!env.isDirectory()) continue;
    for (const name of readdirSync(join(REPO_ROOT, 'dist', env.name)).filter((n) => n.endsWith('.yaml')).sort()) {
      const path = `dist/${env.name}/${name}`;
      for (const doc of parseAllDocuments(readFileSync(join(REPO_ROOT, path), 'utf8'))) out.push({ path, object: doc.toJS() as KubeObject });
    }
  }
  return out;
}

describe('labels', () => {
  it('is a registered manifest policy', () => {
    expect(MANIFEST_POLICIES).toContain(labelsPolicy);
  });

  it('every committed object in dist/ carries the four labels, templates included, and no cdk8s.io/ key', () => {
    const objects = committedObjects();
    expect(objects.length).toBeGreaterThan(60);
    const findings = objects.flatMap(({ path, object }) => labelFindings(object, () => ({ file: path, line: 0, col: 0 })).map((f) => `${path}: ${f.message} [${f.rule}]`));
    expect(findings).toEqual([]);
    // and the raw text never mentions cdk8s' internal keys at all
    const texts = objects.map(({ path }) => path).filter((p, i, all) => all.indexOf(p) === i);
    expect(texts.filter((p) => readFileSync(join(REPO_ROOT, p), 'utf8').includes('cdk8s.io/'))).toEqual([]);
  });

  it('finds nothing in any freshly synthesized environment', async () => {
    expect(await checkManifests(manifests, settings, [labelsPolicy])).toEqual([]);
  });

  it('labels pod and job templates with the chart labels, and keeps the Deployment selector as it was', () => {
    const deployment = production('Deployment', 'flagd');
    expect(deployment.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'flagd' } });
    for (const labels of [deployment.spec.template.metadata.labels, production('CronJob', 'pms-db-backup').spec.jobTemplate.metadata.labels, production('CronJob', 'pms-db-backup').spec.jobTemplate.spec.template.metadata.labels]) {
      expect(labels).toMatchObject({ 'app.kubernetes.io/part-of': 'pms', 'app.kubernetes.io/managed-by': 'flagops', 'pms.example.com/environment': 'production' });
      for (const key of RECOMMENDED_LABELS) expect(labels[key]).toBeTruthy();
    }
    // The job template's labels are the pod template's (the Jobs and their pods carry the same).
    const cron = production('CronJob', 'pms-db-restore-verify');
    expect(cron.spec.jobTemplate.metadata.labels).toEqual(cron.spec.jobTemplate.spec.template.metadata.labels);
    expect(Object.keys(cron.spec.jobTemplate)).toEqual(['metadata', 'spec']);
  });

  it('names each RBAC object after the identity it is about', () => {
    const name = (kind: string, n: string) => production(kind, n).metadata.labels['app.kubernetes.io/name'];
    expect(name('ServiceAccount', 'pms-backend')).toBe('pms-backend');
    expect(name('Role', 'pms-backend-flags-reader')).toBe('pms-backend');
    expect(name('RoleBinding', 'pms-backend-flags-reader')).toBe('pms-backend');
    expect(name('ServiceAccount', 'pms-db-backup')).toBe('pms-db-backup');
    expect(name('Role', 'flagops-deployer')).toBe('flagops-deployer');
    expect(name('RoleBinding', 'feature-flags-break-glass')).toBe('feature-flags-break-glass');
    expect(name('Role', 'pms-read-only')).toBe('pms-read-only');
  });

  it('reports what the manifests had before issue 17: a CronJob pod template with cdk8s.io/metadata.addr and no part-of/managed-by, a Role without a name', () => {
    const cron = production('CronJob', 'pms-db-backup');
    delete cron.spec.jobTemplate.metadata;
    cron.spec.jobTemplate.spec.template.metadata.labels = {
      'app.kubernetes.io/component': 'database-backup',
      'app.kubernetes.io/name': 'pms-db-backup',
      'cdk8s.io/metadata.addr': 'production-DatabaseBackup-Backup-c820ef2e',
    };
    expect(rules(cron)).toEqual([
      'recommended-labels: CronJob pms-db-backup: spec.jobTemplate lacks the labels app.kubernetes.io/name, app.kubernetes.io/part-of, app.kubernetes.io/managed-by, app.kubernetes.io/component',
      'recommended-labels: CronJob pms-db-backup: spec.jobTemplate.spec.template lacks the labels app.kubernetes.io/part-of, app.kubernetes.io/managed-by',
      "cdk8s-label: CronJob pms-db-backup: spec.jobTemplate.spec.template.metadata.labels uses cdk8s' internal key cdk8s.io/metadata.addr; select and label by the app.kubernetes.io/ labels instead",
    ]);
    const role = production('Role', 'pms-read-only');
    delete role.metadata.labels['app.kubernetes.io/name'];
    expect(rules(role)).toEqual(['recommended-labels: Role pms-read-only lacks the label app.kubernetes.io/name']);
    const empty = production('Role', 'pms-read-only');
    empty.metadata.labels['app.kubernetes.io/component'] = '';
    expect(rules(empty)).toEqual(['recommended-labels: Role pms-read-only lacks the label app.kubernetes.io/component']);
    const bare = production('Role', 'pms-read-only');
    delete bare.metadata.labels;
    expect(rules(bare)).toEqual([`recommended-labels: Role pms-read-only lacks the labels ${RECOMMENDED_LABELS.join(', ')}`]);
  });

  it('reports a cdk8s.io/ key in a selector, an annotation or a matchExpressions key', () => {
    const deployment = production('Deployment', 'flagd');
    deployment.spec.selector.matchLabels['cdk8s.io/metadata.addr'] = 'production-FlagServing-Deployment-x';
    deployment.metadata.annotations = { 'cdk8s.io/something': 'x' };
    const policy = production('NetworkPolicy', 'flagd');
    policy.spec.podSelector = { matchExpressions: [{ key: 'cdk8s.io/metadata.addr', operator: 'Exists' }] };
    expect(rules(deployment).map((r) => r.split(':')[0])).toEqual(['cdk8s-label', 'cdk8s-label']);
    expect(rules(policy)).toEqual([
      "cdk8s-label: NetworkPolicy flagd: spec.podSelector.matchExpressions.0 uses cdk8s' internal key cdk8s.io/metadata.addr; select and label by the app.kubernetes.io/ labels instead",
    ]);
  });

  it('locates a finding at its line in the dist file, through flagops check', async () => {
    const env = manifests.find((m) => m.environment === 'production')!;
    const objects = env.files.map((f) => structuredClone(f.object) as KubeObject & { metadata: Record<string, any> });
    const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'pms-backend')!;
    delete sa.metadata.labels['app.kubernetes.io/component'];
    const findings = await checkManifests([{ environment: 'production', files: renderFiles('production', objects) }], settings, [labelsPolicy]);
    expect(findings).toEqual([
      { file: 'dist/production/serviceaccount-pms-backend.yaml', line: 6, col: 5, severity: 'error', rule: 'recommended-labels', message: 'ServiceAccount pms-backend lacks the label app.kubernetes.io/component' },
    ]);
  });

  it('the workload constructs drop cdk8s-plus\'s address label by themselves, outside the environment chart', () => {
    const app = new App();
    const chart = new Chart(app, 'bare', { disableResourceNameHashes: true });
    const serviceAccount = new ServiceAccount(chart, 'Sa', { metadata: { name: 'backup' }, automountToken: false });
    new DatabaseBackup(chart, 'Backup', { retentionDays: 7, image: 'postgres:16.4', host: 'db', database: 'pms', credentialsSecret: 's', serviceAccount, verifyTables: ['patients'] });
    const configMap = ConfigMap.fromConfigMapName(chart, 'Flags', 'feature-flags-config');
    new FlagdServer(chart, 'Flagd', { flagConfigMap: configMap, clientPodLabels: { 'app.kubernetes.io/name': 'pms-backend' }, release: 'kube-prometheus-stack', replicas: 2 });
    const text = JSON.stringify(chart.toJson());
    expect(text).not.toContain('cdk8s.io/');
  });
});
