import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentSettings } from '../model/environments.ts';
import { renderObject } from '../synth/synth.ts';
import type { EnvironmentManifests, KubeObject } from '../model/manifests.ts';
import { openWorkspace, validate } from '../lib/workspace/workspace.ts';
import type { Finding } from '../model/findings.ts';
import { kubernetesSchemaPolicy } from '../policies/kubernetes-schema.ts';
import { checkManifests } from '../policies/manifest-policies.ts';
import type { ManifestPolicy } from '../policies/manifest-policy.ts';
import {
  alertRulesPolicy,
  dashboardPolicy,
  MONITORING_POLICIES,
  promqlError,
  promqlPolicy,
  runbookPolicy,
  withoutGrafanaVariables,
} from '../policies/monitoring-policies.ts';
import { flagops, NOW, REPO_ROOT, replaceIn, tempProject } from './helpers.ts';

let manifests: readonly EnvironmentManifests[];
let settings: readonly EnvironmentSettings[];

beforeAll(async () => {
  const ws = await openWorkspace(REPO_ROOT);
  settings = ws.settings;
  manifests = (await validate(ws, { now: new Date(NOW) })).manifests ?? [];
});

/** The synthesized manifests of `env` with the object in `file` changed by `edit` (text re-rendered). */
function edited(env: string, file: string, edit: (object: any) => void): EnvironmentManifests[] {
  const m = manifests.find((e) => e.environment === env)!;
  const files = m.files.map((f) => {
    if (!f.path.endsWith(file)) return f;
    const object = structuredClone(f.object) as KubeObject;
    edit(object);
    return { ...f, object, text: renderObject(object) };
  });
  return [{ environment: env, files }];
}

const run = (ms: readonly EnvironmentManifests[], policy: ManifestPolicy): Promise<Finding[]> => checkManifests(ms, settings, [policy]);
const RULES = 'prometheusrule-pms-alerts.yaml';
const DASHBOARD = 'configmap-grafana-dashboard-service-overview.yaml';
const firstAlert = (o: any): any => o.spec.groups[0].rules[0];
const dashboardOf = (o: any): any => JSON.parse(o.data['service-overview.json']);
const setDashboard = (o: any, d: unknown): void => {
  o.data['service-overview.json'] = JSON.stringify(d);
};

describe('the committed manifests', () => {
  it('pass every monitoring policy in every environment', async () => {
    // GIVEN the synthesized manifests of dev, staging and production
    // WHEN the monitoring policies run
    const findings = await checkManifests(manifests, settings, MONITORING_POLICIES);
    // THEN there is nothing to report
    expect(findings).toEqual([]);
  });
});

describe('alert-metadata', () => {
  it('rejects an alert without runbook_url, pointing at its annotations', async () => {
    // GIVEN ServiceDown in production without a runbook_url
    const ms = edited('production', RULES, (o) => delete firstAlert(o).annotations.runbook_url);
    // WHEN the alert policy runs
    const findings = await run(ms, alertRulesPolicy);
    // THEN one error names the alert and the missing annotation, located in the dist file
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'alert-metadata', severity: 'error', file: `dist/production/${RULES}` });
    expect(findings[0]!.message).toBe("alert ServiceDown: missing required field 'runbook_url' in field 'annotations'");
    expect(findings[0]!.line).toBeGreaterThan(1);
  });

  it('rejects an unknown priority and a description without a template', async () => {
    // GIVEN an alert with priority P5 and a description that shows no value or label
    const ms = edited('staging', RULES, (o) => {
      firstAlert(o).labels.priority = 'P5';
      firstAlert(o).annotations.description = 'Something is wrong.';
    });
    // WHEN the alert policy runs
    const messages = (await run(ms, alertRulesPolicy)).map((f) => `${f.rule}: ${f.message}`);
    // THEN both are reported
    expect(messages).toEqual([
      "alert-metadata: alert ServiceDown: field 'labels.priority' is \"P5\": must be one of P1, P2, P3, P4",
      "alert-metadata: alert ServiceDown: field 'annotations.description' is \"Something is wrong.\": must be: a text that uses {{ $value }} or {{ $labels.x }}",
    ]);
  });
});

describe('alert-pages', () => {
  it('rejects a dev alert that pages', async () => {
    // GIVEN ServiceDown in dev raised to critical / P1
    const ms = edited('dev', RULES, (o) => Object.assign(firstAlert(o).labels, { severity: 'critical', priority: 'P1' }));
    // WHEN the alert policy runs
    const findings = await run(ms, alertRulesPolicy);
    // THEN both labels are errors that say dev never pages
    expect(findings.map((f) => f.rule)).toEqual(['alert-pages', 'alert-pages']);
    expect(findings[0]!.message).toContain('monitoring.pages is false in dev: it never pages');
  });

  it('rejects a paging alert in the first environment of the promotion order even when its settings say pages: true', async () => {
    // GIVEN dev (no promotesFrom) configured with pages: true, and ServiceDown there as critical / P1
    const paging = settings.map((s) => (s.name === 'dev' ? { ...s, monitoring: { ...s.monitoring, pages: true } } : s));
    const ms = edited('dev', RULES, (o) => Object.assign(firstAlert(o).labels, { severity: 'critical', priority: 'P1' }));
    // WHEN the alert policy runs
    const findings = await checkManifests(ms, paging, [alertRulesPolicy]);
    // THEN the setting itself and both labels are errors that say dev never pages
    expect(findings.map((f) => [f.file, f.rule])).toEqual([
      ['environments/dev/environment.ts', 'alert-pages'],
      [`dist/dev/${RULES}`, 'alert-pages'],
      [`dist/dev/${RULES}`, 'alert-pages'],
    ]);
    expect(findings[0]!.message).toContain('monitoring.pages is true in dev, the first environment of the promotion order');
    expect(findings[1]!.message).toContain('dev is the first environment of the promotion order (no promotesFrom): it never pages');
  });

  it('makes flagops check fail when dev sets pages: true', async () => {
    // GIVEN a project whose dev environment.ts says pages: true
    const dir = tempProject();
    replaceIn(dir, 'environments/dev/environment.ts', 'pages: false,', 'pages: true,');
    // WHEN flagops check runs
    const result = await flagops(dir, 'check');
    // THEN it fails with alert-pages findings for the setting and for dev's paging alerts
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('environments/dev/environment.ts: error: monitoring.pages is true in dev');
    expect(result.stdout).toMatch(/dist\/dev\/prometheusrule-pms-alerts\.yaml:\d+:\d+: error: alert ServiceDown: .*"P1".*it never pages\) \[alert-pages\]/);
  });

  it('accepts the same paging alert in production', async () => {
    // GIVEN ServiceDown in production as critical / P1 (as synthesized)
    const ms = edited('production', RULES, (o) => expect(firstAlert(o).labels).toMatchObject({ severity: 'critical', priority: 'P1' }));
    // WHEN the alert policy runs / THEN nothing is reported
    expect(await run(ms, alertRulesPolicy)).toEqual([]);
  });
});

describe('runbook-url', () => {
  it('rejects a runbook URL that is not https', async () => {
    const ms = edited('production', RULES, (o) => {
      firstAlert(o).annotations.runbook_url = 'http://wiki.example.com/service-down';
    });
    const findings = [...(await run(ms, alertRulesPolicy)), ...(await run(ms, runbookPolicy()))];
    expect(findings.map((f) => f.rule)).toEqual(['runbook-url', 'runbook-url']);
    expect(findings[0]!.message).toContain('must be: an https URL');
    expect(findings[1]!.message).toContain('expected https://github.com/pms-example/flagops/blob/main/docs/runbooks/service-down.md');
  });

  it('rejects a runbook URL whose page does not exist under docs/runbooks/', async () => {
    // GIVEN a runbook folder holding only the ServiceDown page
    const dir = mkdtempSync(join(tmpdir(), 'flagops-runbooks-'));
    writeFileSync(join(dir, 'service-down.md'), '# ServiceDown\n');
    // WHEN the runbook policy checks production against it
    const findings = await run(manifests.filter((m) => m.environment === 'production'), runbookPolicy(dir));
    // THEN every other alert is reported, ServiceDown is not
    expect(findings).toHaveLength(24);
    expect(findings.map((f) => f.message).join('\n')).not.toContain('ServiceDown');
    expect(findings[0]!.message).toBe('alert HighErrorRate: runbook_url points to docs/runbooks/high-error-rate.md, which does not exist: write the runbook page');
  });
});

describe('dashboard policies', () => {
  it('rejects a dashboard without a uid', async () => {
    const ms = edited('production', DASHBOARD, (o) => {
      const d = dashboardOf(o);
      delete d.uid;
      setDashboard(o, d);
    });
    const findings = await run(ms, dashboardPolicy);
    expect(findings.map((f) => f.rule)).toEqual(['dashboard-uid']);
    expect(findings[0]!.message).toContain("dashboard service-overview.json in ConfigMap grafana-dashboard-service-overview: missing required field 'uid'");
  });

  it('rejects a hard-coded data-source uid and a missing $datasource variable', async () => {
    const ms = edited('production', DASHBOARD, (o) => {
      const d = dashboardOf(o);
      d.panels[1].datasource = { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' };
      d.templating.list = [];
      setDashboard(o, d);
    });
    const findings = await run(ms, dashboardPolicy);
    expect(findings.map((f) => f.rule)).toEqual(['dashboard-datasource', 'dashboard-datasource']);
    expect(findings.map((f) => f.message).join('\n')).toContain('panels[1].datasource names data source "P1809F7CD0C75ACF3"');
    expect(findings.map((f) => f.message).join('\n')).toContain('no data-source variable named "datasource"');
  });
});

describe('dashboard-json', () => {
  it('rejects a dashboard ConfigMap whose value is not JSON', async () => {
    const ms = edited('dev', DASHBOARD, (o) => {
      o.data['service-overview.json'] = '{"uid": "x",';
    });
    const findings = await run(ms, dashboardPolicy);
    expect(findings.map((f) => f.rule)).toEqual(['dashboard-json']);
    expect(findings[0]!.message).toMatch(/^dashboard service-overview.json in ConfigMap grafana-dashboard-service-overview is not valid JSON: /);
  });
});

describe('promql-syntax', () => {
  it('rejects a dashboard with a broken query', async () => {
    // GIVEN a panel query with a missing closing parenthesis
    const ms = edited('staging', DASHBOARD, (o) => {
      const d = dashboardOf(o);
      d.panels[1].targets[0].expr = 'sum(rate(http_requests_total{job="pms-backend"}[$__rate_interval])';
      setDashboard(o, d);
    });
    // WHEN the PromQL policy runs
    const findings = await run(ms, promqlPolicy);
    // THEN the query is reported with the panel it is in
    expect(findings).toHaveLength(1);
    expect(findings[0]!.rule).toBe('promql-syntax');
    expect(findings[0]!.message).toMatch(/^dashboard service-overview.json panels\[1\]\.targets\[0\]\.expr: PromQL does not parse at column \d+/);
  });

  it('rejects an alert rule whose expression does not parse', async () => {
    const ms = edited('production', RULES, (o) => {
      firstAlert(o).expr = 'up{job="pms-backend"} ==';
    });
    const findings = await run(ms, promqlPolicy);
    expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/^alert ServiceDown: PromQL does not parse at column \d+/)]);
  });

  it("parses Grafana's variables as the values Grafana puts in", () => {
    expect(withoutGrafanaVariables('sum(rate(x{ns="$namespace"}[$__rate_interval])) by ($group)')).toBe('sum(rate(x{ns="grafana_variable"}[5m])) by (grafana_variable)');
    expect(promqlError('sum(rate(x[5m]))')).toBeUndefined();
    expect(promqlError('sum(rate(x[5m])')).toBeDefined();
    expect(promqlError('')).toBeDefined();
  });
});

describe('k8s-schema on the PrometheusRule', () => {
  it('validates the alert rules against the prometheus-operator CRD schema', async () => {
    // GIVEN a PrometheusRule whose `for` is not a Prometheus duration
    const ms = edited('production', RULES, (o) => {
      firstAlert(o).for = '5 minutes';
    });
    // WHEN the Kubernetes schema policy runs
    const findings = await run(ms, kubernetesSchemaPolicy);
    // THEN the CRD schema rejects it at the field
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'k8s-schema', file: `dist/production/${RULES}` });
    expect(findings[0]!.message).toMatch(/^PrometheusRule pms-alerts: spec\.groups\.0\.rules\.0\.for must match pattern/);
    // AND the committed rule passes
    expect(await run(manifests.filter((m) => m.environment === 'production'), kubernetesSchemaPolicy)).toEqual([]);
  });
});
