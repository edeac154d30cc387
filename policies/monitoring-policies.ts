/**
 * Manifest policies for the observability objects: PrometheusRule alerts carry the labels and
 * annotations on-call relies on (JSON Schema), environments that must not page do not, runbook
 * URLs resolve to a page under docs/runbooks/, Grafana dashboards use the `$datasource` variable
 * and a stable uid, and every PromQL expression parses (@prometheus-io/lezer-promql).
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { Memo } from '../common/text/memo.ts';
import { runbookSlug } from '../constructs/alert-rules.ts';
import { DASHBOARD_LABEL } from '../constructs/grafana-dashboards.ts';
import type { ManifestFile } from '../model/manifests.ts';
import { error, fileLocator, type Finding, type Location, type Locator } from '../model/findings.ts';
import type { ManifestContext, ManifestPolicy } from './manifest-policy.ts';
import { validateAgainstSchema } from './schema-validation.ts';

/** Where the runbook pages live, next to the code that defines the alerts. */
export const RUNBOOK_DIR = fileURLToPath(new URL('../docs/runbooks/', import.meta.url));

const https = { type: 'string', pattern: '^https://[^\\s]+$', 'x-rule': 'runbook-url', description: 'an https URL' } as const;
const text = { type: 'string', minLength: 1, 'x-rule': 'alert-metadata', description: 'a non-empty text' } as const;

/** Every alerting rule: severity and priority labels; summary, description (with a template) and runbook_url annotations. */
export const alertRuleSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'flagops alerting rule',
  type: 'object',
  required: ['alert', 'expr', 'labels', 'annotations'],
  properties: {
    alert: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$', 'x-rule': 'alert-metadata', description: 'an UpperCamelCase alert name' },
    expr: text,
    labels: {
      type: 'object',
      required: ['severity', 'priority'],
      properties: {
        severity: { enum: ['critical', 'warning', 'info'], 'x-rule': 'alert-metadata' },
        priority: { enum: ['P1', 'P2', 'P3', 'P4'], 'x-rule': 'alert-metadata' },
      },
    },
    annotations: {
      type: 'object',
      required: ['summary', 'description', 'runbook_url'],
      properties: {
        summary: text,
        description: { type: 'string', pattern: '\\{\\{ *\\$(value|labels)', 'x-rule': 'alert-metadata', description: 'a text that uses {{ $value }} or {{ $labels.x }}' },
        runbook_url: https,
        dashboard_url: https,
      },
    },
  },
} as const;

/** Where an environment never pages (dev: first of the promotion order, or `monitoring.pages` false): no critical severity, no P1/P2. */
export const nonPagingAlertSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'flagops alerting rule in an environment that never pages',
  type: 'object',
  properties: {
    labels: {
      type: 'object',
      properties: {
        severity: { enum: ['warning', 'info'], 'x-rule': 'alert-pages' },
        priority: { enum: ['P3', 'P4'], 'x-rule': 'alert-pages' },
      },
    },
  },
} as const;

/** Every dashboard: a uid, and a data-source variable its queries refer to. */
export const dashboardSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'flagops Grafana dashboard',
  type: 'object',
  required: ['uid', 'title', 'templating'],
  properties: {
    uid: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,40}$', 'x-rule': 'dashboard-uid', description: 'at most 40 letters, digits, - or _' },
    title: { type: 'string', minLength: 1 },
    templating: {
      type: 'object',
      required: ['list'],
      properties: {
        list: {
          type: 'array',
          contains: { type: 'object', required: ['type', 'name'], properties: { type: { const: 'datasource' }, name: { const: 'datasource' } } },
          'x-rule': 'dashboard-datasource',
        },
      },
    },
  },
} as const;

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr?: unknown;
  readonly annotations?: Record<string, unknown>;
}

interface RuleAt {
  readonly rule: Rule;
  readonly path: (string | number)[];
}

function rulesOf(file: ManifestFile): RuleAt[] {
  if (file.object.kind !== 'PrometheusRule') return [];
  const groups = ((file.object.spec as { groups?: { rules?: Rule[] }[] } | undefined)?.groups ?? []) as { rules?: Rule[] }[];
  return groups.flatMap((g, gi) => (g.rules ?? []).map((rule, ri) => ({ rule, path: ['spec', 'groups', gi, 'rules', ri] })));
}

/** A locator that places paths relative to `prefix` and prefixes messages with the alert's name. */
function within(at: Locator, prefix: readonly (string | number)[]): Locator {
  return { file: at.file, locate: (path, where) => at.locate([...prefix, ...path], where) };
}

const named = (findings: Finding[], name: string): Finding[] => findings.map((f) => ({ ...f, message: `alert ${name}: ${f.message}` }));
/** Rule ids of the generic schema keywords, folded into this policy's id. */
const asRule = (findings: Finding[], rule: string): Finding[] =>
  findings.map((f) => (['missing-field', 'wrong-type', 'unknown-field', 'invalid-value'].includes(f.rule) ? { ...f, rule } : f));

/**
 * Why an environment must never page, or `undefined` when it may: the first environment of the
 * promotion order (no `promotesFrom`: dev) never pages whatever its settings say, and neither does
 * one with `monitoring.pages: false`.
 */
function neverPagesBecause(settings: ManifestContext['settings']): string | undefined {
  if (!settings.monitoring.pages) return `monitoring.pages is false in ${settings.name}`;
  if (settings.promotesFrom === undefined) return `${settings.name} is the first environment of the promotion order (no promotesFrom)`;
  return undefined;
}

/**
 * Alerts carry severity, priority, summary, description and an https runbook_url. Dev never pages:
 * the first environment of the promotion order may not set `monitoring.pages: true`, and its alerts
 * may not be critical / P1 / P2 even when it does.
 */
export const alertRulesPolicy: ManifestPolicy = ({ files }, context) => {
  const findings: Finding[] = [];
  const { settings } = context;
  const neverPages = neverPagesBecause(settings);
  if (settings.promotesFrom === undefined && settings.monitoring.pages) {
    const at = fileLocator(`environments/${settings.name}/environment.ts`).locate([]);
    findings.push(error(at, 'alert-pages', `monitoring.pages is true in ${settings.name}, the first environment of the promotion order (no promotesFrom): dev never pages, set pages: false`));
  }
  for (const file of files) {
    const at = context.locator(file);
    for (const { rule, path } of rulesOf(file)) {
      if (rule.alert === undefined) continue;
      const name = String(rule.alert);
      findings.push(...named(asRule(validateAgainstSchema(alertRuleSchema, rule, within(at, path)), 'alert-metadata'), name));
      if (neverPages) {
        const paging = validateAgainstSchema(nonPagingAlertSchema, rule, within(at, path));
        findings.push(...paging.map((f) => ({ ...f, message: `alert ${name}: ${f.message} (${neverPages}: it never pages)` })));
      }
    }
  }
  return findings;
};

/** Runbook URLs are `<runbookBaseUrl>/<alert-in-kebab-case>.md` and that page exists under docs/runbooks/. */
export function runbookPolicy(runbookDir: string = RUNBOOK_DIR): ManifestPolicy {
  let pages: Set<string> | undefined;
  return ({ files }, context) => {
    pages ??= new Set(existsSync(runbookDir) ? readdirSync(runbookDir) : []);
    const base = context.settings.monitoring.runbookBaseUrl;
    const findings: Finding[] = [];
    for (const file of files) {
      for (const { rule, path } of rulesOf(file)) {
        const url = rule.annotations?.runbook_url;
        if (rule.alert === undefined || typeof url !== 'string') continue;
        const at = context.locator(file).locate([...path, 'annotations', 'runbook_url']);
        const page = `${runbookSlug(String(rule.alert))}.md`;
        if (url !== `${base}/${page}`) {
          findings.push(error(at, 'runbook-url', `alert ${rule.alert}: runbook_url is ${url}; expected ${base}/${page} (monitoring.runbookBaseUrl + the alert's page)`));
        } else if (!pages.has(page)) {
          findings.push(error(at, 'runbook-url', `alert ${rule.alert}: runbook_url points to docs/runbooks/${page}, which does not exist: write the runbook page`));
        }
      }
    }
    return findings;
  };
}

interface DashboardAt {
  readonly file: ManifestFile;
  readonly key: string;
  readonly json: string;
}

function dashboardsOf(files: readonly ManifestFile[]): DashboardAt[] {
  return files
    .filter((f) => f.object.kind === 'ConfigMap' && (f.object.metadata.labels as Record<string, string> | undefined)?.[DASHBOARD_LABEL] === '1')
    .flatMap((file) => Object.entries((file.object.data ?? {}) as Record<string, string>).map(([key, json]) => ({ file, key, json })));
}

/** Every value under a `datasource` key, with a readable path. */
function datasources(value: unknown, path: string, out: { path: string; ref: unknown }[] = []): { path: string; ref: unknown }[] {
  if (Array.isArray(value)) value.forEach((v, i) => datasources(v, `${path}[${i}]`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'datasource') out.push({ path: `${path}.${k}`, ref: v });
      datasources(v, `${path}.${k}`, out);
    }
  }
  return out;
}

const VARIABLE_REF = /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/;

/** Dashboards: valid JSON, a uid, the `$datasource` variable, no data-source uid written into a panel. */
export const dashboardPolicy: ManifestPolicy = ({ files }, context) => {
  const findings: Finding[] = [];
  for (const { file, key, json } of dashboardsOf(files)) {
    const at = context.locator(file).locate(['data', key]);
    const where = `dashboard ${key} in ConfigMap ${file.object.metadata.name}`;
    let model: unknown;
    try {
      model = JSON.parse(json);
    } catch (e) {
      findings.push(error(at, 'dashboard-json', `${where} is not valid JSON: ${(e as Error).message}`));
      continue;
    }
    const schemaFindings = validateAgainstSchema(dashboardSchema, model, { file: at.file, locate: () => at });
    for (const f of asRule(schemaFindings, 'dashboard-metadata')) {
      const rule = f.message.includes("'uid'") ? 'dashboard-uid' : f.message.includes("'templating'") || f.message.includes("'list'") ? 'dashboard-datasource' : f.rule;
      const message = rule === 'dashboard-datasource' ? 'no data-source variable named "datasource" in templating.list' : f.message;
      findings.push({ ...f, rule, message: `${where}: ${message}` });
    }
    for (const { path, ref } of datasources(model, '')) {
      const uid = typeof ref === 'string' ? ref : (ref as { uid?: unknown } | null)?.uid;
      if (uid === undefined || uid === null || (typeof uid === 'string' && VARIABLE_REF.test(uid))) continue;
      findings.push(error(at, 'dashboard-datasource', `${where}: ${path.slice(1)} names data source ${JSON.stringify(uid)}; use the variable \${datasource} so the dashboard works in every Grafana`));
    }
  }
  return findings;
};

/** Grafana's macros and variables, replaced by valid PromQL before parsing. */
export function withoutGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*/g, 'grafana_variable');
}

/** Parsed expressions: the alerts and dashboards of every environment repeat most of them, and a test synthesizes them again and again. */
const promqlErrors = new Memo<{ readonly column: number; readonly near: string } | undefined>(10_000);

/** The first syntax error of a PromQL expression (`undefined` when it parses). */
export function promqlError(expr: string): { readonly column: number; readonly near: string } | undefined {
  return promqlErrors.get(expr, parseError);
}

function parseError(expr: string): { column: number; near: string } | undefined {
  const tree = parser.parse(expr);
  let found: { column: number; near: string } | undefined;
  tree.iterate({
    enter(node) {
      if (found) return false;
      if (node.type.isError) {
        found = { column: node.from + 1, near: expr.slice(Math.max(0, node.from - 10), node.from + 10) };
        return false;
      }
      return undefined;
    },
  });
  if (!found && expr.trim() === '') found = { column: 1, near: '' };
  return found;
}

function exprsOf(model: unknown, path: string, out: { path: string; expr: string }[] = []): { path: string; expr: string }[] {
  if (Array.isArray(model)) model.forEach((v, i) => exprsOf(v, `${path}[${i}]`, out));
  else if (model !== null && typeof model === 'object') {
    for (const [k, v] of Object.entries(model)) {
      if (k === 'expr' && typeof v === 'string') out.push({ path: `${path}.${k}`, expr: v });
      else exprsOf(v, `${path}.${k}`, out);
    }
  }
  return out;
}

/** Every PromQL expression of the alert rules and the dashboards parses. */
export const promqlPolicy: ManifestPolicy = ({ files }, context: ManifestContext) => {
  const findings: Finding[] = [];
  const report = (at: Location, what: string, expr: string, parsed: string): void => {
    const problem = promqlError(parsed);
    if (problem) findings.push(error(at, 'promql-syntax', `${what}: PromQL does not parse at column ${problem.column} (near '${problem.near}'): ${expr}`));
  };
  for (const file of files) {
    for (const { rule, path } of rulesOf(file)) {
      if (typeof rule.expr !== 'string') continue;
      report(context.locator(file).locate([...path, 'expr']), `${rule.alert ? 'alert' : 'recording rule'} ${rule.alert ?? rule.record}`, rule.expr, rule.expr);
    }
  }
  for (const { file, key, json } of dashboardsOf(files)) {
    let model: unknown;
    try {
      model = JSON.parse(json);
    } catch {
      continue; // reported by dashboardPolicy
    }
    const at = context.locator(file).locate(['data', key]);
    for (const { path, expr } of exprsOf(model, '')) report(at, `dashboard ${key} ${path.slice(1)}`, expr, withoutGrafanaVariables(expr));
  }
  return findings;
};

/** The observability policies, in the order they run. */
export const MONITORING_POLICIES: readonly ManifestPolicy[] = [alertRulesPolicy, runbookPolicy(), dashboardPolicy, promqlPolicy];
