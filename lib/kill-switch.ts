/**
 * The kill switch's own path to dist/, for when the project cannot be synthesized as a whole (an
 * error in another entry of the same flag file, or in the catalog): a full synthesis would then
 * leave out the flags whose entries are broken, which is a change nobody asked for. Instead the
 * committed flag ConfigMap is rewritten with exactly one flag changed.
 *
 * The committed `flags.flagd.json` carries every field of every flag in its metadata, so the flags
 * are read back from it, the one flag is replaced, and the data and file are rendered by the same
 * functions synth uses. Before anything is changed, the round trip is proved: rendering the flags
 * read back must give the committed file byte for byte; if it does not (a hand edit, an older
 * flagops), the kill switch says so instead of guessing.
 */
import { parse } from 'yaml';
import { FLAGD_KEY, flagConfigMapData, flagsFromFlagSet, type FeatureFlag } from '../constructs/feature-flag-config-map.ts';
import { renderObject, type KubeObject, type ManifestFile } from '../infra/synth.ts';
import { readDist } from './dist.ts';
import { UsageError } from './errors.ts';

/** The flag ConfigMap's file in dist/ (the construct's default name). */
export const flagConfigMapPath = (environment: string): string => `dist/${environment}/configmap-feature-flags-config.yaml`;

/**
 * The committed flag ConfigMap of `environment` with flag `name` replaced by `update` of its
 * committed fields, everything else byte-identical.
 *
 * @throws UsageError when the committed file cannot be read back exactly.
 */
export function patchFlagConfigMap(root: string, environment: string, name: string, update: (committed: FeatureFlag) => FeatureFlag): ManifestFile {
  const path = flagConfigMapPath(environment);
  const fix = 'fix the errors reported above, then run the kill switch again (or flagops synth)';
  const text = readDist(root, environment).get(path);
  if (text === undefined) throw new UsageError(`${path} does not exist, so the kill switch cannot be written without a full synth; ${fix}`);
  let object: KubeObject & { data?: Record<string, unknown> };
  try {
    object = parse(text) as KubeObject & { data?: Record<string, unknown> };
  } catch {
    throw new UsageError(`${path} is not valid YAML; ${fix}`);
  }
  const flagSet = object?.data?.[FLAGD_KEY];
  const flags = typeof flagSet === 'string' ? flagsFromFlagSet(flagSet) : undefined;
  if (!flags || renderObject({ ...object, data: flagConfigMapData(environment, flags) }) !== text) {
    throw new UsageError(`${path} is not what flagops synthesizes (edited by hand, or written by another version), so the kill switch cannot change just one flag in it; ${fix}`);
  }
  if (!flags.some((f) => f.name === name)) throw new UsageError(`${path} has no flag '${name}'; ${fix}`);
  const patched = { ...object, data: flagConfigMapData(environment, flags.map((f) => (f.name === name ? { ...update(f), name } : f))) };
  return { path, object: patched, text: renderObject(patched) };
}
