import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { AlertRules, alertCatalog, priorityOf, runbookSlug, severityOf, TIERS, tierOf, type Tier } from '../constructs/alert-rules.ts';
import { buildDashboards, dashboardUid, DASHBOARD_SLUGS, GrafanaDashboards } from '../constructs/grafana-dashboards.ts';
import { errorRatio, latencyQuantile } from '../constructs/signals.ts';
import { ENVIRONMENT_DEFAULTS, resolveEnvironmentSettings, type EnvironmentSettings } from '../model/environments.ts';
import dev from '../environments/dev/environment.ts';
import production from '../environments/production/environment.ts';
import staging from '../environments/staging/environment.ts';
import { flagops, read, REPO_ROOT, tempProject } from './helpers.ts';

const SETTINGS: Record<string, EnvironmentSettings> = {
  dev: resolveEnvironmentSettings('dev', dev),
  staging: resolveEnvironmentSettings('staging', staging),
  production: resolveEnvironmentSettings('production', production),
};

function synth(env: string, overrides: Partial<EnvironmentSettings['monitoring']> = {}): any[] {
  const s = SETTINGS[env]!;
  const chart = new Chart(Testing.app(), 'test', { namespace: s.namespace });
  const props = { environment: s.name, namespace: s.namespace, monitoring: { ...s.monitoring, ...overrides } };
  new AlertRules(chart, 'Alerts', props);
  new GrafanaDashboards(chart, 'Dashboards', props);
  return Testing.synth(chart);
}

const ruleOf = (objects: any[]): any => objects.find((o) => o.kind === 'PrometheusRule');
const alertsOf = (rule: any): any[] => rule.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert);

describe('AlertRules', () => {
  it('synthesizes a PrometheusRule that validates against the prometheus-operator CRD schema', () => {
    // GIVEN the production alert rules
    for (const env of Object.keys(SETTINGS)) {
      const rule = ruleOf(synth(env));
      // THEN the prometheus-operator model accepts it
      expect(() => new PrometheusRule(rule).validate()).not.toThrow();
      expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    }
  });

  it('carries the release label kube-prometheus-stack selects rules by, configurable per environment', () => {
    expect(ruleOf(synth('production')).metadata.labels.release).toBe('kube-prometheus-stack');
    expect(ruleOf(synth('production', { release: 'monitoring' })).metadata.labels.release).toBe('monitoring');
  });

  it('refuses a release label that is not a label value, saying which value it got', () => {
    expect(() => synth('production', { release: 'Kube Prometheus' })).toThrow(/'release' label .* The value passed is: "Kube Prometheus"/);
  });

  it('never pages in dev: no critical severity, no P1 or P2', () => {
    const alerts = alertsOf(ruleOf(synth('dev')));
    expect(alerts.length).toBe(23);
    for (const a of alerts) {
      expect(a.labels.severity, a.alert).not.toBe('critical');
      expect(['P3', 'P4'], a.alert).toContain(a.labels.priority);
    }
  });

  it('pages in production for an outage', () => {
    const byName = Object.fromEntries(alertsOf(ruleOf(synth('production'))).map((a: any) => [a.alert, a]));
    expect(byName.ServiceDown.labels).toEqual({ severity: 'critical', priority: 'P1', environment: 'production', namespace: 'pms' });
    expect(byName.ErrorBudgetBurnFast.labels.priority).toBe('P1');
    expect(byName.CertificateExpiringSoon.labels).toMatchObject({ severity: 'info', priority: 'P4' });
  });

  it('applies each environment’s thresholds to the shared PromQL of signals.ts', () => {
    const scope = (env: string) => ({ namespace: SETTINGS[env]!.namespace, job: 'pms-backend' });
    const expr = (env: string, alert: string): string => alertsOf(ruleOf(synth(env))).find((a: any) => a.alert === alert).expr;
    expect(expr('dev', 'HighErrorRate')).toBe(`${errorRatio(scope('dev'))} > 0.1`);
    expect(expr('production', 'HighErrorRate')).toBe(`${errorRatio(scope('production'))} > 0.05`);
    expect(expr('staging', 'SlowResponseTime')).toBe(`${latencyQuantile(scope('staging'), 0.95)} > 2.5`);
    expect(expr('production', 'SlowResponseTime')).toBe(`${latencyQuantile(scope('production'), 0.95)} > 0.5`);
    expect(expr('production', 'ElevatedErrorRate')).toBe(`${errorRatio(scope('production'))} > 0.01`);
  });

  it('maps the operations template’s four tiers onto priority and severity by their response times', () => {
    // Critical: immediately, page; High: 15 minutes, page; Medium: 1 hour, chat; Low: next business day
    expect(TIERS.map((t) => [t, priorityOf(t), severityOf(priorityOf(t))])).toEqual([
      ['Critical', 'P1', 'critical'],
      ['High', 'P2', 'critical'],
      ['Medium', 'P3', 'warning'],
      ['Low', 'P4', 'info'],
    ]);
    for (const t of TIERS) expect(tierOf(priorityOf(t))).toBe(t);
  });

  it('gives production the thresholds, durations and tiers of the operations template, alert by alert', () => {
    // GIVEN the template's Key Metrics (3.2) and Alerting (3.5) tables, as docs/monitoring.md traces them
    const guide: Record<string, [threshold: string, duration: string, tier: Tier]> = {
      ServiceDown: ['no pms-backend target up (or none scraped)', '1m', 'Critical'],
      DatabaseUnavailable: ['pg_up == 0', '1m', 'Critical'],
      HighErrorRate: ['> 5% of requests 5xx', '5m', 'High'],
      ElevatedErrorRate: ['> 1% of requests 5xx', '5m', 'Medium'],
      SlowResponseTime: ['p95 > 500ms', '5m', 'High'],
      HighP99Latency: ['p99 > 1s', '5m', 'Medium'],
      DatabaseConnectionPoolSaturation: ['> 90% of max_connections', '5m', 'High'],
      CacheHitRateLow: ['hit ratio < 60%', '10m', 'Medium'],
      HighCpuUsage: ['pod CPU > 85% of limit', '10m', 'Medium'],
      HighMemoryUsage: ['pod memory > 90% of limit', '5m', 'Medium'],
      DiskSpaceLow: ['volume > 85% full', '15m', 'Medium'],
      ElevatedDiskUsage: ['volume > 70% full', '15m', 'Low'],
      CertificateExpiringSoon: ['expires within 30 days', '1h', 'Low'],
    };
    // WHEN the production catalog is built
    const { alerts } = alertCatalog({ environment: 'production', namespace: 'pms', monitoring: SETTINGS.production!.monitoring });
    // THEN each of those alerts says what the template says, with the tier's priority and severity
    for (const [alert, [threshold, duration, tier]] of Object.entries(guide)) {
      const a = alerts.find((x) => x.alert === alert)!;
      expect([a.threshold, a.for, a.tier, a.priority, a.severity], alert).toEqual([threshold, duration, tier, priorityOf(tier), severityOf(priorityOf(tier))]);
    }
  });

  it('keeps staging and dev at or above production’s thresholds: relaxed, never stricter', () => {
    const prod = SETTINGS.production!.monitoring;
    const above = ['errorRatio', 'elevatedErrorRatio', 'p95LatencySeconds', 'p99LatencySeconds', 'flagEvaluationErrorRatio', 'databaseConnectionSaturation', 'cpuUtilization', 'memoryUtilization', 'diskUtilization', 'elevatedDiskUtilization'] as const;
    for (const env of ['staging', 'dev']) {
      const m = SETTINGS[env]!.monitoring;
      for (const key of above) expect(m[key], `${env} ${key}`).toBeGreaterThanOrEqual(prod[key]);
      expect(m.cacheHitRatio, `${env} cacheHitRatio`).toBeLessThanOrEqual(prod.cacheHitRatio);
      expect(m.availabilityObjective, `${env} availabilityObjective`).toBeLessThanOrEqual(prod.availabilityObjective);
    }
  });

  it('links every alert to its runbook page and to a dashboard of the same environment', () => {
    const objects = synth('staging');
    const uids = objects.filter((o) => o.kind === 'ConfigMap').map((o) => JSON.parse(Object.values(o.data)[0] as string).uid);
    for (const a of alertsOf(ruleOf(objects))) {
      expect(a.annotations.runbook_url).toBe(`https://github.com/pms-example/flagops/blob/main/docs/runbooks/${runbookSlug(a.alert)}.md`);
      const uid = a.annotations.dashboard_url.replace('https://grafana.pms.example.com/d/', '');
      expect(uids, a.alert).toContain(uid);
    }
  });

  it('records the SLO error ratio over every burn-rate window with the environment’s labels', () => {
    const { records } = alertCatalog({ environment: 'production', namespace: 'pms', monitoring: SETTINGS.production!.monitoring });
    expect(records.map((r) => r.record)).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d'].map((w) => `pms:http_requests_errors:ratio_rate${w}`));
    expect(records[0]!.labels).toEqual({ namespace: 'pms', job: 'pms-backend', slo: 'availability' });
    const fast = alertCatalog({ environment: 'production', namespace: 'pms', monitoring: SETTINGS.production!.monitoring }).alerts.find((a) => a.alert === 'ErrorBudgetBurnFast')!;
    expect(fast.expr).toContain('pms:http_requests_errors:ratio_rate1h{job="pms-backend", namespace="pms"} > (14.4 * (1 - 0.999))');
    expect(fast.expr).toContain('pms:http_requests_errors:ratio_rate30m{job="pms-backend", namespace="pms"} > (6 * (1 - 0.999))');
  });

  it('names runbook pages in kebab case', () => {
    expect(runbookSlug('HighErrorRate')).toBe('high-error-rate');
    expect(runbookSlug('HighP99Latency')).toBe('high-p99-latency');
    expect(runbookSlug('DatabaseConnectionPoolSaturation')).toBe('database-connection-pool-saturation');
  });
});

describe('GrafanaDashboards', () => {
  it('ships each dashboard as a ConfigMap the Grafana sidecar loads, in the environment’s folder', () => {
    const maps = synth('production').filter((o) => o.kind === 'ConfigMap');
    expect(maps.map((m) => m.metadata.name)).toEqual(DASHBOARD_SLUGS.map((s) => `grafana-dashboard-${s}`));
    for (const m of maps) {
      expect(m.metadata.labels.grafana_dashboard).toBe('1');
      expect(m.metadata.annotations.grafana_folder).toBe('PMS production');
    }
  });

  it('gives every dashboard a stable uid per environment and the $datasource variable', () => {
    const dashboards = buildDashboards({ environment: 'staging', namespace: 'pms-staging', monitoring: SETTINGS.staging!.monitoring });
    for (const slug of DASHBOARD_SLUGS) {
      const d = dashboards[slug] as any;
      expect(d.uid).toBe(dashboardUid('staging', slug));
      expect(d.templating.list[0]).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' });
      for (const p of d.panels.filter((x: any) => x.type !== 'row')) expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('uses $__rate_interval for the rates of the service overview, with the shared PromQL', () => {
    const d = buildDashboards({ environment: 'dev', namespace: 'pms-dev', monitoring: SETTINGS.dev!.monitoring })['service-overview'] as any;
    const exprs: string[] = d.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
    expect(exprs).toContain(errorRatio({ namespace: 'pms-dev', job: 'pms-backend' }, '$__rate_interval'));
    for (const e of exprs.filter((x) => x.includes('rate('))) expect(e).toContain('[$__rate_interval]');
  });

  it('draws the environment’s alert threshold on the panel that shows the signal', () => {
    const panelOf = (env: string) =>
      (buildDashboards({ environment: env, namespace: SETTINGS[env]!.namespace, monitoring: SETTINGS[env]!.monitoring })['service-overview'] as any).panels.find((p: any) =>
        p.title.startsWith('Error ratio ('),
      );
    expect(panelOf('production').fieldConfig.defaults.thresholds.steps).toEqual([
      { value: null, color: 'green' },
      { value: 0.01, color: 'orange' },
      { value: 0.05, color: 'red' },
    ]);
    expect(panelOf('dev').fieldConfig.defaults.thresholds.steps[2]).toEqual({ value: 0.1, color: 'red' });
    expect(panelOf('dev').title).toBe('Error ratio (alerts above 5% and 10%)');
  });
});

describe('monitoring settings', () => {
  it('rejects a ratio above 1 naming the environment, the setting and the value', () => {
    expect(() => resolveEnvironmentSettings('staging', { namespace: 'pms-staging', monitoring: { errorRatio: 1.5 } })).toThrow(
      "environments/staging/environment.ts: 'monitoring.errorRatio' must be a ratio above 0 and at most 1. The value passed is: 1.5",
    );
  });

  it('rejects a lower-tier threshold at or above the higher one, naming both settings', () => {
    expect(() => resolveEnvironmentSettings('staging', { namespace: 'pms-staging', monitoring: { elevatedErrorRatio: 0.05 } })).toThrow(
      "environments/staging/environment.ts: 'monitoring.elevatedErrorRatio' (ElevatedErrorRate) must be below 'monitoring.errorRatio' (HighErrorRate, 0.05). The value passed is: 0.05",
    );
    expect(() => resolveEnvironmentSettings('dev', { namespace: 'pms-dev', monitoring: { diskUtilization: 0.6 } })).toThrow(
      /'monitoring.elevatedDiskUtilization' \(ElevatedDiskUsage\) must be below 'monitoring.diskUtilization' \(DiskSpaceLow, 0.6\)/,
    );
  });

  it('rejects a runbook base URL that is not https', () => {
    expect(() => resolveEnvironmentSettings('dev', { namespace: 'pms-dev', monitoring: { runbookBaseUrl: 'http://wiki' } })).toThrow(/runbookBaseUrl' must be an https URL/);
  });

  it('keeps the defaults where an environment says nothing', () => {
    expect(SETTINGS.production!.monitoring.release).toBe(ENVIRONMENT_DEFAULTS.monitoring.release);
    expect(SETTINGS.dev!.monitoring.pages).toBe(false);
  });
});

describe('docs/monitoring.md', () => {
  it('traces every alert of the production catalog to its source, quoting each seed line it cites', () => {
    // GIVEN the trace table and the quoted lines of docs/monitoring.md
    const doc = read(REPO_ROOT, 'docs/monitoring.md');
    const section = doc.slice(doc.indexOf('## Production thresholds and where each comes from'));
    const end = section.indexOf('\n## ', 1);
    const trace = section.slice(0, end);
    const rows = trace.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Alert'));
    const quoted = new Set([...trace.matchAll(/^(00\d)_[0-9a-f]+\.txt:(\d+): /gm)].map((m) => `${m[1]}:${m[2]}`));
    // THEN every alert has a row with a source, and every cited line is quoted
    for (const a of alertCatalog({ environment: 'production', namespace: 'pms', monitoring: SETTINGS.production!.monitoring }).alerts) {
      const row = rows.find((r) => r.split('|')[1]!.split(/[,/]/).map((x) => x.trim()).includes(a.alert));
      expect(row, a.alert).toBeDefined();
      expect(row!.split('|')[4]!.trim(), a.alert).not.toBe('');
    }
    const cited = rows.flatMap((r) => [...r.matchAll(/\b(00\d):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`));
    expect(cited.length).toBeGreaterThan(20);
    for (const c of cited) expect(quoted, c).toContain(c);
  });
});

describe('flagops check', () => {
  it('passes on the committed tree with the alert rules and dashboards', async () => {
    const result = await flagops(tempProject(), 'check');
    expect(result.stdout).not.toContain('error:');
    expect(result.code).toBe(0);
  });
});
