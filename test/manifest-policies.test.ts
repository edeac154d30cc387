/**
 * policies/manifest-policies.ts in-process (docs/testing.md#mutation-testing): the `configmap-size`
 * policy on small hand-built objects, each case's whole list of findings compared exactly, and
 * `checkManifests`, which runs the policies per environment and places their findings in dist/.
 * test/check.test.ts covers the size limits on the sample's synthesized ConfigMap too.
 */
import { describe, expect, it } from 'vitest';
import { flagShard } from '../constructs/feature-flag-config-map.ts';
import { FLAG_CONFIG_MAP } from '../constructs/names.ts';
import { error, type Finding, type Location } from '../model/findings.ts';
import type { EnvironmentManifests, KubeObject, ManifestFile } from '../model/manifests.ts';
import { checkManifests, CONFIGMAP_LIMIT_BYTES, CONFIGMAP_WARN_BYTES, configMapSizePolicy } from '../policies/manifest-policies.ts';
import type { ManifestPolicy } from '../policies/manifest-policy.ts';
import { renderObject } from '../synth/synth.ts';
import { at, DEV, finding, PRODUCTION } from './support/flag-model.ts';

const MIB = 1024 * 1024;
const KIB = 1024;

/** The file `dist/<env>/` holds `object` in, as synth writes it. */
function fileOf(env: string, object: KubeObject): ManifestFile {
  return { path: `dist/${env}/${object.kind.toLowerCase()}-${object.metadata.name}.yaml`, object, text: renderObject(object) };
}

/** An object of `kind` whose data keys and values add up to exactly `bytes` (the last key takes what is left). */
function sized(kind: string, name: string, keys: readonly string[], bytes: number): KubeObject {
  const data: Record<string, string> = {};
  let left = bytes - keys.reduce((n, k) => n + k.length, 0);
  keys.forEach((k, i) => {
    const length = i === keys.length - 1 ? left : 1;
    data[k] = 'x'.repeat(length);
    left -= length;
  });
  return { apiVersion: 'v1', kind, metadata: { name, namespace: 'pms-dev' }, data };
}

const LEGACY_KEYS = ['feature_flags.json', 'flags.flagd.json'];
const SHARD = flagShard(3, 64);

/** The findings of `configMapSizePolicy` on `object` alone in dev, and where the data of its file starts. */
async function sizeFindings(object: KubeObject): Promise<{ findings: Finding[]; dataAt: Location }> {
  const file = fileOf('dev', object);
  const firstKey = Object.keys(object.data as object)[0]!;
  const findings = await checkManifests([{ environment: 'dev', files: [file] }], [DEV], [configMapSizePolicy]);
  return { findings, dataAt: at({ [file.path]: file.text }, file.path, `${firstKey}:`, '\ndata:') };
}

describe('configMapSizePolicy [configmap-size]', () => {
  it("has the API server's limit of 1 MiB and client-side apply's 256 KiB", () => {
    expect([CONFIGMAP_LIMIT_BYTES, CONFIGMAP_WARN_BYTES]).toEqual([MIB, 256 * KIB]);
  });

  it('an error above 1 MiB, at the data of the file, with the fix for the flag ConfigMap', async () => {
    const { findings, dataAt } = await sizeFindings(sized('ConfigMap', FLAG_CONFIG_MAP, LEGACY_KEYS, MIB + 103));
    expect(findings).toEqual([
      finding(
        dataAt,
        'error',
        'configmap-size',
        'ConfigMap feature-flags-config data is 1024.1 KiB (feature_flags.json and flags.flagd.json); the API server rejects more than 1024 KiB: ' +
          'remove stale flags (the backend reads feature_flags.json as one key, so it cannot be split)',
      ),
    ]);
  });

  it('the fix for a shard of the flag set, and for any other ConfigMap', async () => {
    const shard = await sizeFindings(sized('ConfigMap', SHARD.name, [SHARD.key], 2 * MIB));
    expect(shard.findings).toEqual([
      finding(shard.dataAt, 'error', 'configmap-size', `ConfigMap ${SHARD.name} data is 2048.0 KiB (${SHARD.key}); the API server rejects more than 1024 KiB: shorten the flag's texts`),
    ]);
    const other = await sizeFindings(sized('ConfigMap', 'grafana-dashboards', ['a.json', 'b.json'], 1536 * KIB));
    expect(other.findings).toEqual([finding(other.dataAt, 'error', 'configmap-size', 'ConfigMap grafana-dashboards data is 1536.0 KiB; the API server rejects more than 1024 KiB: split the data')]);
  });

  it('a warning from just above 256 KiB up to exactly 1 MiB', async () => {
    const warning = (kib: string, keys: string) => `ConfigMap feature-flags-config data is ${kib} KiB${keys}; above 256 KiB only server-side apply works (kubectl apply --server-side)`;
    const atLimit = await sizeFindings(sized('ConfigMap', FLAG_CONFIG_MAP, LEGACY_KEYS, MIB));
    expect(atLimit.findings).toEqual([finding(atLimit.dataAt, 'warning', 'configmap-size', warning('1024.0', ' (feature_flags.json and flags.flagd.json)'))]);
    const aboveWarn = await sizeFindings(sized('ConfigMap', FLAG_CONFIG_MAP, ['feature_flags.json'], 256 * KIB + 1));
    expect(aboveWarn.findings).toEqual([finding(aboveWarn.dataAt, 'warning', 'configmap-size', warning('256.0', ' (feature_flags.json)'))]);
  });

  it('nothing up to exactly 256 KiB, for a ConfigMap without data, or for data of another kind (a Secret)', async () => {
    expect((await sizeFindings(sized('ConfigMap', FLAG_CONFIG_MAP, LEGACY_KEYS, 256 * KIB))).findings).toEqual([]);
    expect((await sizeFindings(sized('Secret', 'pms-db-backup-credentials', ['password'], 2 * MIB))).findings).toEqual([]);
    const empty = fileOf('dev', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty' } });
    expect(await checkManifests([{ environment: 'dev', files: [empty] }], [DEV], [configMapSizePolicy])).toEqual([]);
  });
});

describe('checkManifests', () => {
  it('runs every manifest policy by default (MANIFEST_POLICIES): the Kubernetes schemas and the ConfigMap size among them', async () => {
    const large = fileOf('dev', sized('ConfigMap', 'grafana-dashboards', ['a.json'], 2 * MIB));
    const broken = fileOf('dev', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'broken', namespace: 'pms-dev' }, data: { 'a.json': 42 } });
    const findings = await checkManifests([{ environment: 'dev', files: [large, broken] }], [DEV]);
    expect(findings.filter((f) => f.rule === 'configmap-size' || f.rule === 'k8s-schema').map((f) => `${f.file} [${f.rule}] ${f.message}`)).toEqual([
      'dist/dev/configmap-broken.yaml [k8s-schema] ConfigMap broken: data.a.json must be string',
      'dist/dev/configmap-grafana-dashboards.yaml [configmap-size] ConfigMap grafana-dashboards data is 2048.0 KiB; the API server rejects more than 1024 KiB: split the data',
    ]);
  });

  it("gives each policy an environment's files with that environment's settings, skips an environment without settings, and places findings in the file", async () => {
    const cm = (env: string): ManifestFile => fileOf(env, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${env}-settings`, namespace: env }, data: { a: 'b' } });
    const manifests: EnvironmentManifests[] = [
      { environment: 'dev', files: [cm('dev')] },
      { environment: 'qa', files: [cm('qa')] },
      { environment: 'production', files: [cm('production')] },
    ];
    const probe: ManifestPolicy = async ({ environment, files }, { settings, locator }) => [
      error(locator(files[0]!).locate(['metadata', 'namespace']), 'probe', `${environment}: ${settings.name} in ${settings.namespace}`),
      error(locator(files[0]!).locate(['metadata', 'name'], 'key'), 'probe', 'the name key'),
    ];
    const where = (env: string, needle: string) => at({ [cm(env).path]: cm(env).text }, cm(env).path, needle);
    expect(await checkManifests(manifests, [PRODUCTION, DEV], [probe])).toEqual([
      finding(where('dev', 'dev\n'), 'error', 'probe', 'dev: dev in pms-dev'),
      finding(where('dev', 'name:'), 'error', 'probe', 'the name key'),
      finding(where('production', 'production\n'), 'error', 'probe', 'production: production in pms'),
      finding(where('production', 'name:'), 'error', 'probe', 'the name key'),
    ]);
  });
});
