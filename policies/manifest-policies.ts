/**
 * Manifest policies: pure functions over the synthesized objects of one environment. Each
 * returns findings located in the dist/ file the object is written to.
 */
import type { EnvironmentSettings } from '../model/environments.ts';
import type { EnvironmentManifests, ManifestFile } from '../model/manifests.ts';
import { YamlSource } from '../common/yaml/yaml-source.ts';
import { configMapDataBytes, isFlagConfigMapName } from '../constructs/feature-flag-config-map.ts';
import { FLAG_CONFIG_MAP } from '../constructs/names.ts';
import { error, warning, type Finding, type Location, type Locator } from '../model/findings.ts';
import { kubernetesSchemaPolicy } from './kubernetes-schema.ts';
import { labelsPolicy } from './label-policies.ts';
import { flagWritersPolicy } from './access-policies.ts';
import { flagdFlagSetPolicy, networkPolicyPolicy } from './flag-serving-policies.ts';
import { backupCronJobPolicy, podSecurityPolicy, rbacPolicy } from './manifest-schemas.ts';
import { MONITORING_POLICIES } from './monitoring-policies.ts';
import type { ManifestContext, ManifestPolicy } from './manifest-policy.ts';

/** The API server rejects a ConfigMap whose data exceeds 1 MiB. */
export const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;
/** Client-side `kubectl apply` stores the whole object in an annotation limited to 256 KiB. */
export const CONFIGMAP_WARN_BYTES = 256 * 1024;

/** ConfigMap data under 1 MiB (error) and under 256 KiB (warning). */
export const configMapSizePolicy: ManifestPolicy = ({ files }, context) => {
  const findings: Finding[] = [];
  for (const file of files) {
    if (file.object.kind !== 'ConfigMap') continue;
    const data = (file.object.data ?? {}) as Record<string, unknown>;
    const bytes = configMapDataBytes(data);
    const at = context.locator(file).locate(['data']);
    const kib = (bytes / 1024).toFixed(1);
    const name = file.object.metadata.name;
    const flags = isFlagConfigMapName(name);
    const keys = flags ? ` (${Object.keys(data).join(' and ')})` : '';
    if (bytes > CONFIGMAP_LIMIT_BYTES) {
      // The flag set is split into shards by itself; what can still be too large is the legacy key alone, or one flag.
      const fix = name === FLAG_CONFIG_MAP ? 'remove stale flags (the backend reads feature_flags.json as one key, so it cannot be split)' : flags ? 'shorten the flag\'s texts' : 'split the data';
      findings.push(error(at, 'configmap-size', `ConfigMap ${name} data is ${kib} KiB${keys}; the API server rejects more than 1024 KiB: ${fix}`));
    } else if (bytes > CONFIGMAP_WARN_BYTES) {
      findings.push(warning(at, 'configmap-size', `ConfigMap ${name} data is ${kib} KiB${keys}; above 256 KiB only server-side apply works (kubectl apply --server-side)`));
    }
  }
  return findings;
};

/** Every manifest policy, in the order they run. Later features register theirs here. */
export const MANIFEST_POLICIES: readonly ManifestPolicy[] = [
  kubernetesSchemaPolicy,
  labelsPolicy,
  configMapSizePolicy,
  podSecurityPolicy,
  rbacPolicy,
  backupCronJobPolicy,
  flagWritersPolicy,
  flagdFlagSetPolicy,
  networkPolicyPolicy,
  ...MONITORING_POLICIES,
];

/** Runs every manifest policy over every environment's synthesized files. */
export async function checkManifests(
  manifests: readonly EnvironmentManifests[],
  settings: readonly EnvironmentSettings[],
  policies: readonly ManifestPolicy[] = MANIFEST_POLICIES,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const sources = new Map<string, YamlSource>();
  const sourceOf = (file: ManifestFile): YamlSource => {
    let source = sources.get(file.path);
    if (!source) sources.set(file.path, (source = new YamlSource(file.path, file.text)));
    return source;
  };
  // Policies locate paths before they know whether there is a problem; the file is parsed (which
  // costs more than every policy together on large outputs) only when a finding reads a position.
  const locator = (file: ManifestFile): Locator => ({
    file: file.path,
    locate: (path, at) => {
      let resolved: Location | undefined;
      const position = () => (resolved ??= sourceOf(file).locate(path, at));
      return {
        file: file.path,
        get line() {
          return position().line;
        },
        get col() {
          return position().col;
        },
      };
    },
  });
  for (const env of manifests) {
    const envSettings = settings.find((s) => s.name === env.environment);
    if (!envSettings) continue;
    for (const policy of policies) findings.push(...(await policy(env, { settings: envSettings, locator })));
  }
  return findings;
}
