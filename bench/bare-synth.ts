/**
 * The baselines: bare cdk8s synths of the same flags, with no validation at all (no schemas, no
 * rules, no policies, no drift check, plain `yaml.parse`, one YAML stream written).
 *
 *   node --import tsx bench/bare-synth.ts DIR chart      the same EnvironmentChart flagops synthesizes
 *   node --import tsx bench/bare-synth.ts DIR configmap  only a plain ConfigMap with the two flag keys
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { parse } from 'yaml';
import type { FeatureFlag } from '../constructs/feature-flag-config-map.ts';
import type { EnvironmentSettings } from '../model/environments.ts';

interface State {
  enabled: boolean;
  rollout: number;
  reason: string;
  ticket?: string;
  changed_by: string;
  changed_at: string;
  approved_by?: string;
}

const [dir, mode = 'chart'] = process.argv.slice(2) as [string, string?];
const catalog = parse(readFileSync(join(dir, 'environments/catalog.yaml'), 'utf8')).flags as Record<string, Record<string, string>>;
// Only the chart mode loads the constructs and environment.ts files, so the ConfigMap-only baseline stays bare.
const { EnvironmentChart } = mode === 'chart' ? await import('../constructs/environment-chart.ts') : { EnvironmentChart: undefined };
const environments = EnvironmentChart
  ? await (await import('../lib/workspace/project.ts')).loadEnvironmentSettings(dir)
  : ['dev', 'staging', 'production'].map((name) => ({ name, namespace: `pms-${name}` }));
const app = new App();
for (const settings of environments) {
  const env = settings.name;
  const states = parse(readFileSync(join(dir, 'environments', env, 'flags.yaml'), 'utf8')).flags as Record<string, State>;
  if (EnvironmentChart) {
    const flags = Object.entries(states).map(
      ([name, s]): FeatureFlag => ({
        name,
        description: catalog[name]!.description!,
        owner: catalog[name]!.owner!,
        type: catalog[name]!.type as FeatureFlag['type'],
        expires: catalog[name]!.expires,
        enabled: s.enabled,
        rollout: s.rollout,
        reason: s.reason,
        ticket: s.ticket,
        changedBy: s.changed_by,
        changedAt: s.changed_at,
        approvedBy: s.approved_by,
      }),
    );
    new EnvironmentChart(app, env, { settings: settings as EnvironmentSettings, flags });
    continue;
  }
  const chart = new Chart(app, env, { namespace: settings.namespace, disableResourceNameHashes: true });
  const legacy = Object.fromEntries(Object.entries(states).map(([k, s]) => [k, s.enabled && s.rollout === 100]));
  const flagd = Object.fromEntries(
    Object.entries(states).map(([k, s]) => [
      k,
      { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: s.enabled && s.rollout === 100 ? 'on' : 'off', metadata: { ...catalog[k], ...s } },
    ]),
  );
  new ApiObject(chart, 'flags', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'feature-flags-config' },
    data: { 'feature_flags.json': JSON.stringify({ [env]: legacy }, null, 2), 'flags.flagd.json': JSON.stringify({ flags: flagd }, null, 2) },
  });
}
mkdirSync(join(dir, 'bare-dist'), { recursive: true });
writeFileSync(join(dir, 'bare-dist', `${mode}.yaml`), app.synthYaml());
