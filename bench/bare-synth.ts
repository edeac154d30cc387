/**
 * The baseline: a bare cdk8s synth of the same flags, with no validation at all. Reads the flag
 * files with yaml.parse, builds one plain ConfigMap per environment holding the same two JSON keys,
 * and writes each chart's YAML. `node --import tsx bench/bare-synth.ts DIR`
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { parse } from 'yaml';

const dir = process.argv[2]!;
const catalog = parse(readFileSync(join(dir, 'environments/catalog.yaml'), 'utf8')).flags as Record<string, Record<string, unknown>>;
const app = new App();
for (const env of ['dev', 'staging', 'production']) {
  const states = parse(readFileSync(join(dir, 'environments', env, 'flags.yaml'), 'utf8')).flags as Record<string, { enabled: boolean; rollout: number } & Record<string, unknown>>;
  const chart = new Chart(app, env, { namespace: `pms-${env}`, disableResourceNameHashes: true });
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
writeFileSync(join(dir, 'bare-dist', 'all.yaml'), app.synthYaml());
