/**
 * The kill switch's own path to dist/, for when the project cannot be synthesized as a whole (an
 * error in another entry of the same flag file, or in the catalog): a full synthesis would then
 * leave out the flags whose entries are broken, which is a change nobody asked for. Instead the
 * committed flag ConfigMap is rewritten with exactly one flag changed: for a sharded flag set,
 * `feature-flags-config` (its `feature_flags.json`) and the one shard holding the flag.
 *
 * The committed flag sets (`flags.flagd.json`, or every shard's) carry every field of every flag in
 * their metadata, so the flags are read back from them, the one flag is replaced, and the data and
 * files are rendered by the same functions synth uses, with the committed shard count. Before
 * anything is changed, the round trip is proved: rendering the flags read back must give every
 * committed file byte for byte; if it does not (a hand edit, an older flagops), the kill switch
 * says so instead of guessing.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FLAGD_KEY, flagConfigMapData, flagShardData, flagsFromFlagSet, legacyConfigMapData, parseFlagShard, shardIndexOf, type FeatureFlag, type FlagShard } from '../../constructs/feature-flag-config-map.ts';
import { flagConfigMapPath } from '../../constructs/names.ts';
import { renderObject } from '../../synth/synth.ts';
import type { KubeObject, ManifestFile } from '../../model/manifests.ts';
import { DIST, MAX_MANIFEST_BYTES } from '../workspace/dist.ts';
import { isLink } from '../workspace/links.ts';
import { describeKind, readRegularFile } from '../workspace/regular-files.ts';
import { UsageError } from '../../common/text/errors.ts';
import { printable } from '../../common/text/printable.ts';

/** The flag ConfigMap's file in dist/ (the construct's default name). */

/** The file of a flag shard ConfigMap in dist/. */
export const flagShardPath = (environment: string, shard: FlagShard): string => `${DIST}/${environment}/configmap-${shard.name}.yaml`;

/** The shard ConfigMap files among an environment's dist/ paths, by file name. */
export function shardFilesOf(environment: string, paths: Iterable<string>): { path: string; shard: FlagShard }[] {
  const prefix = `${DIST}/${environment}/configmap-`;
  const out: { path: string; shard: FlagShard }[] = [];
  for (const path of paths) {
    if (!path.startsWith(prefix) || !path.endsWith('.yaml')) continue;
    const shard = parseFlagShard(path.slice(prefix.length, -'.yaml'.length));
    if (shard) out.push({ path, shard });
  }
  return out.sort((a, b) => a.shard.index - b.shard.index);
}

/**
 * Where a flag's flagd entry sits among an environment's dist/ files: `flags.flagd.json` of the
 * flag ConfigMap, or the key of the shard its name hashes to (the count read from the shard files).
 */
export function flagSetFileOf(environment: string, paths: Iterable<string>, flag: string): { path: string; key: string } {
  const shards = shardFilesOf(environment, paths);
  if (shards.length === 0) return { path: flagConfigMapPath(environment), key: FLAGD_KEY };
  const shard = shards.find((s) => s.shard.index === shardIndexOf(flag, s.shard.count)) ?? shards[0]!;
  return { path: shard.path, key: shard.shard.key };
}

type ConfigMapObject = KubeObject & { data?: Record<string, unknown> };

/**
 * The committed flag ConfigMap(s) of `environment` with flag `name` replaced by `update` of its
 * committed fields, everything else byte-identical: one file, or for a sharded flag set
 * `feature-flags-config` and the flag's shard.
 *
 * @throws UsageError when the committed files cannot be read back exactly.
 */
export function patchFlagConfigMap(root: string, environment: string, name: string, update: (committed: FeatureFlag) => FeatureFlag): ManifestFile[] {
  const path = flagConfigMapPath(environment);
  const fix = 'fix the errors reported above, then run the kill switch again (or flagops synth)';
  const files = readFlagConfigMaps(root, environment, fix);
  const text = files.get(path);
  if (text === undefined) throw new UsageError(`${path} does not exist, so the kill switch cannot be written without a full synth; ${fix}`);
  const object = parseConfigMap(path, text, fix);
  const notOurs = (p: string) => new UsageError(`${p} is not what flagops synthesizes (edited by hand, or written by another version), so the kill switch cannot change just one flag in it; ${fix}`);
  const replace = (flags: readonly FeatureFlag[]) => flags.map((f) => (f.name === name ? { ...update(f), name } : f));

  const shards = shardFilesOf(environment, files.keys());
  if (shards.length === 0) {
    const flagSet = object?.data?.[FLAGD_KEY];
    const flags = typeof flagSet === 'string' ? flagsFromFlagSet(flagSet) : undefined;
    if (!flags || renderObject({ ...object, data: flagConfigMapData(environment, flags) }) !== text) throw notOurs(path);
    if (!flags.some((f) => f.name === name)) throw new UsageError(`${path} has no flag '${name}'; ${fix}`);
    return [render(path, object, flagConfigMapData(environment, replace(flags)))];
  }

  // A sharded flag set: every shard of one count, each holding exactly the flags that hash to it.
  // (As many shard files as the count, all of that count, are shards 0 to count - 1: each index has one file name.)
  const count = shards[0]!.shard.count;
  if (shards.length !== count || shards.some((s) => s.shard.count !== count)) {
    throw new UsageError(`the flag shards in ${DIST}/${environment}/ are not one complete set (${shards.map((s) => s.shard.name).join(', ')}); ${fix}`);
  }
  const all: FeatureFlag[] = [];
  const read = shards.map(({ path: shardPath, shard }) => {
    const shardText = files.get(shardPath)!;
    const shardObject = parseConfigMap(shardPath, shardText, fix);
    const flagSet = shardObject?.data?.[shard.key];
    const flags = typeof flagSet === 'string' ? flagsFromFlagSet(flagSet) : undefined;
    if (!flags || flags.some((f) => shardIndexOf(f.name, count) !== shard.index) || renderObject({ ...shardObject, data: flagShardData(environment, shard, flags) }) !== shardText) {
      throw notOurs(shardPath);
    }
    all.push(...flags);
    return { path: shardPath, shard, object: shardObject, flags };
  });
  if (renderObject({ ...object, data: legacyConfigMapData(environment, all) }) !== text) throw notOurs(path);
  const own = read.find((s) => s.shard.index === shardIndexOf(name, count))!;
  if (!own.flags.some((f) => f.name === name)) throw new UsageError(`${own.path} has no flag '${name}'; ${fix}`);
  return [render(path, object, legacyConfigMapData(environment, replace(all))), render(own.path, own.object, flagShardData(environment, own.shard, replace(own.flags)))];
}

/**
 * The committed flag ConfigMap and flag shard files of an environment, and nothing else of its
 * dist/ folder: whatever else lies there (another broken manifest, a folder or a pipe named like
 * one) is not opened. Each of them must be a plain file.
 */
function readFlagConfigMaps(root: string, environment: string, fix: string): Map<string, string> {
  const dir = `${DIST}/${environment}`;
  const files = new Map<string, string>();
  if (isLink(root, DIST) || isLink(root, dir)) throw new UsageError(`${dir} is or is under a symbolic link; flagops never reads or writes through links: replace it with the plain folder`);
  let names: string[];
  try {
    names = readdirSync(join(root, dir));
  } catch {
    return files;
  }
  const own = flagConfigMapPath(environment);
  for (const name of names.sort()) {
    const path = `${dir}/${name}`;
    if (path !== own && !(name.startsWith('configmap-') && name.endsWith('.yaml') && parseFlagShard(name.slice('configmap-'.length, -'.yaml'.length)))) continue;
    // A folder, FIFO, socket or device in place of a file the kill switch reads is never opened: named.
    const read = readRegularFile(join(root, path), MAX_MANIFEST_BYTES);
    if (read.status === 'absent') continue;
    if (read.status === 'not-a-file') throw new UsageError(`${printable(path)} is not a plain file (${describeKind(read.kind)}), so the kill switch cannot rewrite it; ${fix}`);
    if (read.status === 'too-large') throw new UsageError(`${printable(path)} is larger than any flag ConfigMap flagops writes; ${fix}`);
    if (read.status === 'unreadable') throw new UsageError(`${printable(path)} cannot be read (${read.code}); ${fix}`);
    files.set(path, read.bytes.toString('utf8'));
  }
  return files;
}

function parseConfigMap(path: string, text: string, fix: string): ConfigMapObject {
  try {
    return parse(text) as ConfigMapObject;
  } catch {
    throw new UsageError(`${path} is not valid YAML; ${fix}`);
  }
}

function render(path: string, object: ConfigMapObject, data: Record<string, string>): ManifestFile {
  const patched = { ...object, data };
  return { path, object: patched, text: renderObject(patched) };
}
