import { createHash } from 'node:crypto';
import { ConfigMap, type IConfigMap } from 'cdk8s-plus-27';
import { Construct } from 'constructs';

/** What a flag is for (the catalog's `type`). */
export type FeatureFlagType = 'release' | 'experiment' | 'ops' | 'permission';

/** One flag's definition and its state in the environment being synthesized. */
export interface FeatureFlag {
  /** Flag key, for example `telehealth_appointments_enabled`. */
  readonly name: string;
  readonly description: string;
  /** Owning team slug. */
  readonly owner: string;
  readonly type: FeatureFlagType;
  /** Whether the flag is on at all; `false` is the kill switch. */
  readonly enabled: boolean;
  /** Percent of users (0..100) the flag is on for while enabled. */
  readonly rollout: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly changedBy: string;
  /** RFC 3339 UTC timestamp of the last change. */
  readonly changedAt: string;
  readonly approvedBy?: string;
  /** YYYY-MM-DD after which the flag should be removed. */
  readonly expires?: string;
}

import { FLAG_CONFIG_MAP, FLAG_SHARD_PREFIX } from './names.ts';
/**
 * The flag set is split into shards once the single flag ConfigMap's data would exceed this:
 * 256 KiB, where client-side `kubectl apply` stops working (its last-applied annotation holds the
 * whole object) and the `configmap-size` policy warns. Below it the output is one ConfigMap.
 */
export const FLAG_SHARDING_THRESHOLD_BYTES = 256 * 1024;
/**
 * Every shard's data stays under this: half the 256 KiB client-side-apply limit, because that
 * annotation holds the data JSON-escaped (every `"` and newline of the flag set doubles) and a
 * shard must have room to grow between two doublings of the shard count.
 */
export const FLAG_SHARD_TARGET_BYTES = 128 * 1024;
/** The most shards a flag set is split into (a shard holding one flag cannot be split further anyway). */
export const MAX_FLAG_SHARDS = 4096;

export interface FeatureFlagConfigMapProps {
  /** Environment name; the top-level key of `feature_flags.json`. */
  readonly environment: string;
  /** The flags, in any order (output is sorted by name). */
  readonly flags: readonly FeatureFlag[];
  /**
   * Namespace of the ConfigMap.
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Name of the ConfigMap the backend mounts.
   * @default FLAG_CONFIG_MAP ('feature-flags-config')
   */
  readonly name?: string;
  /**
   * Extra labels.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Above this many bytes of data, the single ConfigMap is split: `feature_flags.json` stays in it
   * and the flagd flag set goes to shard ConfigMaps.
   * @default FLAG_SHARDING_THRESHOLD_BYTES (256 KiB)
   */
  readonly shardingThresholdBytes?: number;
  /**
   * Every shard's data stays under this (the shard count doubles until it does).
   * @default FLAG_SHARD_TARGET_BYTES (128 KiB)
   */
  readonly shardTargetBytes?: number;
}

/** One shard of a flag set split over several ConfigMaps. */
export interface FlagShard {
  /** 0-based position: the top bits of the sha256 of a flag's name (see {@link shardIndexOf}). */
  readonly index: number;
  /** How many shards the set is split into (a power of two). */
  readonly count: number;
  /** ConfigMap name, `feature-flags-shard-03-of-64`. */
  readonly name: string;
  /** Its one data key, `shard-03-of-64.flagd.json`: distinct across shards, so they share a directory. */
  readonly key: string;
}

/** A flag ConfigMap key holding a flagd flag set: one `--uri file:` source of flagd. */
export interface FlagSetSource {
  readonly configMap: IConfigMap;
  readonly key: string;
}

/** The data of every flag ConfigMap of an environment, as {@link flagConfigMapsData} plans it. */
export interface FlagConfigMapsData {
  /** `feature-flags-config`: both keys, or only `feature_flags.json` when the flag set is sharded. */
  readonly main: Record<string, string>;
  /** The shards, in index order; empty when the flag set fits in the main ConfigMap. */
  readonly shards: readonly (FlagShard & { readonly data: Record<string, string>; readonly flags: readonly string[] })[];
}

/** The data key read by the existing backend: `{"<env>": {"flag": bool}}`. */
export const LEGACY_KEY = 'feature_flags.json';
/** The data key holding the OpenFeature flagd flag set. */
export const FLAGD_KEY = 'flags.flagd.json';
/**
 * Annotation carrying the sha256 of the ConfigMap data ({@link flagDataChecksum}). It is not in the
 * committed manifest (a line every flag change rewrites would make any two flag pull requests
 * conflict): the deploy step computes it and stamps it on the deployed ConfigMap and, optionally,
 * the backend's pod template.
 */
export const CHECKSUM_ANNOTATION = 'flagops.io/checksum';
export const FLAGD_SCHEMA = 'https://flagd.dev/schema/v0/flags.json';

const FLAG_KEY = /^[a-z][a-z0-9_]*$/;

/**
 * The feature-flag ConfigMap of one environment: `feature_flags.json` for the backend's boolean
 * reader and `flags.flagd.json` for OpenFeature/flagd (with fractional rollouts). Output is a pure
 * function of the props, and laid out so that changes to different flags touch lines at least one
 * unchanged line apart: two pull requests changing different flags merge without a conflict.
 *
 * A flag set too large for one ConfigMap (above `shardingThresholdBytes`) is split: the flagd flag
 * set goes to shard ConfigMaps (`feature-flags-shard-03-of-64`, key `shard-03-of-64.flagd.json`,
 * each a complete flagd flag set), a flag's shard given by the top bits of the sha256 of its name
 * and the count being the smallest power of two that keeps every shard under `shardTargetBytes`.
 * Adding a flag changes one shard, unless the count has to double. `feature_flags.json` stays one
 * key of the main ConfigMap, because that is what the backend reads.
 */
export class FeatureFlagConfigMap extends Construct {
  /**
   * The sha256 of the flag set's data (`sha256:<hex>`, {@link flagDataChecksum} over every flag
   * ConfigMap, shards included); not written into the manifest.
   */
  public readonly checksum: string;
  /** `feature-flags-config`, the ConfigMap the backend mounts. */
  public readonly configMap: ConfigMap;
  /** The shard ConfigMaps, in index order; empty when the flag set is not split. */
  public readonly shards: readonly (FlagShard & { readonly configMap: ConfigMap })[];
  /** What flagd reads: `flags.flagd.json` of the ConfigMap, or every shard's key. */
  public readonly flagSetSources: readonly FlagSetSource[];

  constructor(scope: Construct, id: string, props: FeatureFlagConfigMapProps) {
    super(scope, id);
    const seen = new Set<string>();
    for (const flag of props.flags) {
      if (!FLAG_KEY.test(flag.name)) {
        throw new Error(`Flag names must be snake_case keys. The value passed is: ${JSON.stringify(flag.name)}`);
      }
      if (seen.has(flag.name)) throw new Error(`Each flag may appear once. The value passed twice is: ${flag.name}`);
      seen.add(flag.name);
      if (!Number.isInteger(flag.rollout) || flag.rollout < 0 || flag.rollout > 100) {
        throw new Error(`The 'rollout' of flag ${flag.name} must be an integer from 0 to 100. The value passed is: ${flag.rollout}`);
      }
    }
    for (const key of ['shardingThresholdBytes', 'shardTargetBytes'] as const) {
      const value = props[key];
      if (value !== undefined && (!Number.isInteger(value) || value < 1024)) {
        throw new Error(`The '${key}' property must be a whole number of bytes, at least 1024. The value passed is: ${value}`);
      }
    }
    const name = props.name ?? FLAG_CONFIG_MAP;
    const labels = {
      'app.kubernetes.io/name': 'feature-flags',
      'app.kubernetes.io/component': 'feature-flags',
      ...props.labels,
    };

    const planned = flagConfigMapsData(props.environment, props.flags, {
      thresholdBytes: props.shardingThresholdBytes,
      targetBytes: props.shardTargetBytes,
    });
    this.checksum = flagDataChecksum(Object.assign({}, planned.main, ...planned.shards.map((s) => s.data)));

    this.configMap = new ConfigMap(this, 'Resource', {
      metadata: { name, namespace: props.namespace, labels },
      data: planned.main,
    });
    this.shards = planned.shards.map((shard) => ({
      index: shard.index,
      count: shard.count,
      name: shard.name,
      key: shard.key,
      configMap: new ConfigMap(this, `Shard${shard.index}of${shard.count}`, {
        metadata: { name: shard.name, namespace: props.namespace, labels },
        data: shard.data,
      }),
    }));
    this.flagSetSources = this.shards.length === 0 ? [{ configMap: this.configMap, key: FLAGD_KEY }] : this.shards.map((s) => ({ configMap: s.configMap, key: s.key }));
  }
}

/** Bytes of a ConfigMap's data as the API server counts them: every key and value, UTF-8. */
export function configMapDataBytes(data: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(data)) bytes += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  return bytes;
}

/** The shard of `count` (a power of two) that flag `name` belongs to: the top bits of sha256(name). */
export function shardIndexOf(name: string, count: number): number {
  const bits = Math.log2(count);
  if (!Number.isInteger(bits) || bits < 0 || bits > 16) throw new Error(`A shard count must be a power of two from 1 to 65536. The value passed is: ${count}`);
  return bits === 0 ? 0 : hashTop32(name) >>> (32 - bits);
}

/** The first 32 bits of the sha256 of a flag's name, as an unsigned integer. */
const hashTop32 = (name: string): number => createHash('sha256').update(name).digest().readUInt32BE(0);

/** `03-of-64`: shard `index` of `count`, the index padded to the width of the last one. */
export const shardId = (index: number, count: number): string => `${String(index).padStart(String(count - 1).length, '0')}-of-${count}`;

/** Name and key of shard `index` of `count`: `feature-flags-shard-03-of-64`, `shard-03-of-64.flagd.json`. */
export function flagShard(index: number, count: number): FlagShard {
  const id = shardId(index, count);
  return { index, count, name: `${FLAG_SHARD_PREFIX}-${id}`, key: `shard-${id}.flagd.json` };
}

const SHARD_ID = /^(\d+)-of-(\d+)$/;

/** The shard a ConfigMap name (`feature-flags-shard-03-of-64`) or key (`shard-03-of-64.flagd.json`) stands for; undefined for anything else. */
export function parseFlagShard(nameOrKey: string): FlagShard | undefined {
  const id = nameOrKey.startsWith(`${FLAG_SHARD_PREFIX}-`)
    ? nameOrKey.slice(FLAG_SHARD_PREFIX.length + 1)
    : nameOrKey.startsWith('shard-') && nameOrKey.endsWith('.flagd.json')
      ? nameOrKey.slice('shard-'.length, -'.flagd.json'.length)
      : undefined;
  const m = id === undefined ? null : SHARD_ID.exec(id);
  if (!m) return undefined;
  const [index, count] = [Number(m[1]), Number(m[2])];
  if (!Number.isInteger(Math.log2(count)) || count > MAX_FLAG_SHARDS || index >= count) return undefined;
  const shard = flagShard(index, count);
  return shard.name === nameOrKey || shard.key === nameOrKey ? shard : undefined;
}

/** Whether a ConfigMap name is one of the flag ConfigMaps: `feature-flags-config` or a shard. */
export const isFlagConfigMapName = (name: string): boolean => name === FLAG_CONFIG_MAP || parseFlagShard(name)?.name === name;

/** Whether a data key holds a flagd flag set: `flags.flagd.json` or a shard's key. */
export const isFlagSetKey = (key: string): boolean => key === FLAGD_KEY || parseFlagShard(key)?.key === key;

/** The data of a shard ConfigMap holding `flags` (those of the shard, in any order). */
export function flagShardData(environment: string, shard: FlagShard, flags: readonly FeatureFlag[]): Record<string, string> {
  return { [shard.key]: flagSetFrame(environment).text(sortByName(flags).map(flagSetEntry)) };
}

/** The main ConfigMap's data once the flag set is sharded: the legacy key only. */
export function legacyConfigMapData(environment: string, flags: readonly FeatureFlag[]): Record<string, string> {
  return { [LEGACY_KEY]: spacedJson(legacyFlags(environment, flags)) };
}

/** The flags of each of `count` shards (index order), each sorted by name. */
export function groupByShard(flags: readonly FeatureFlag[], count: number): FeatureFlag[][] {
  const groups: FeatureFlag[][] = Array.from({ length: count }, () => []);
  for (const f of sortByName(flags)) groups[shardIndexOf(f.name, count)]!.push(f);
  return groups;
}

export interface ShardingOptions {
  /** @default FLAG_SHARDING_THRESHOLD_BYTES */
  readonly thresholdBytes?: number;
  /** @default FLAG_SHARD_TARGET_BYTES */
  readonly targetBytes?: number;
}

/**
 * The data of every flag ConfigMap: one ConfigMap with both keys while its data stays at most
 * `thresholdBytes`; above that, the legacy key alone in the main ConfigMap and the flagd flag set
 * split over the smallest power of two of shards that keeps each shard's data at most
 * `targetBytes` (or until no shard above it holds more than one flag). A pure function.
 */
export function flagConfigMapsData(environment: string, flags: readonly FeatureFlag[], options: ShardingOptions = {}): FlagConfigMapsData {
  const threshold = options.thresholdBytes ?? FLAG_SHARDING_THRESHOLD_BYTES;
  const target = options.targetBytes ?? FLAG_SHARD_TARGET_BYTES;
  // Each flag's JSON is rendered once; sizes are summed from it, and only the chosen layout's
  // texts are assembled.
  const sorted = sortByName(flags);
  const frame = flagSetFrame(environment);
  const entries = sorted.map(flagSetEntry);
  const entryBytes = entries.map((e) => Buffer.byteLength(e));
  const legacy = spacedJson(legacyFlags(environment, sorted));
  const wholeSet = frame.bytes(entries.length, entryBytes.reduce((a, b) => a + b, 0));
  if (Buffer.byteLength(LEGACY_KEY) + Buffer.byteLength(legacy) + Buffer.byteLength(FLAGD_KEY) + wholeSet <= threshold) {
    return { main: { [LEGACY_KEY]: legacy, [FLAGD_KEY]: frame.text(entries) }, shards: [] };
  }

  // Every shard repeats the set's frame, so the shards together are at least the whole set:
  // no count below whole/target can keep each under the target.
  let count = 1;
  while (count < MAX_FLAG_SHARDS && count * target < wholeSet) count *= 2;
  const top = sorted.map((f) => hashTop32(f.name));
  let index: number[];
  for (;;) {
    const bits = Math.log2(count);
    index = top.map((h) => (bits === 0 ? 0 : h >>> (32 - bits)));
    const n = new Array<number>(count).fill(0);
    const sum = new Array<number>(count).fill(0);
    index.forEach((i, k) => {
      n[i]! += 1;
      sum[i]! += entryBytes[k]!;
    });
    const splittable = n.some((ni, i) => ni > 1 && Buffer.byteLength(flagShard(i, count).key) + frame.bytes(ni, sum[i]!) > target);
    if (!splittable || count >= MAX_FLAG_SHARDS) break;
    count *= 2;
  }
  const groups: number[][] = Array.from({ length: count }, () => []);
  index.forEach((i, k) => groups[i]!.push(k));
  const shards = groups.map((members, i) => {
    const shard = flagShard(i, count);
    return { ...shard, data: { [shard.key]: frame.text(members.map((k) => entries[k]!)) }, flags: members.map((k) => sorted[k]!.name) };
  });
  return { main: { [LEGACY_KEY]: legacy }, shards };
}

/** The ConfigMap's data: both keys, as text. A pure function of the environment and the flags. */
export function flagConfigMapData(environment: string, flags: readonly FeatureFlag[]): Record<string, string> {
  return {
    [LEGACY_KEY]: spacedJson(legacyFlags(environment, flags)),
    [FLAGD_KEY]: flagSetFrame(environment).text(sortByName(flags).map(flagSetEntry)),
  };
}

/**
 * The flags a `flags.flagd.json` written by {@link flagdFlagSet} holds, read back from its metadata
 * (which carries every field of {@link FeatureFlag}). Undefined when it is not such a file.
 */
export function flagsFromFlagSet(text: string): FeatureFlag[] | undefined {
  let set: unknown;
  try {
    set = JSON.parse(text);
  } catch {
    return undefined;
  }
  const flags = (set as { flags?: unknown } | null)?.flags;
  if (typeof flags !== 'object' || flags === null || Array.isArray(flags)) return undefined;
  const out: FeatureFlag[] = [];
  for (const [name, flag] of Object.entries(flags as Record<string, unknown>)) {
    const m = (flag as { metadata?: Record<string, unknown> } | null)?.metadata;
    const str = (k: string) => (typeof m?.[k] === 'string' ? (m[k] as string) : undefined);
    const type = str('type');
    if (!m || !str('description') || !str('owner') || !type || !str('reason') || !str('changedBy') || !str('changedAt')) return undefined;
    if (typeof m.enabled !== 'boolean' || typeof m.rollout !== 'number' || !['release', 'experiment', 'ops', 'permission'].includes(type)) return undefined;
    out.push({
      name,
      description: str('description')!,
      owner: str('owner')!,
      type: type as FeatureFlagType,
      enabled: m.enabled,
      rollout: m.rollout,
      reason: str('reason')!,
      ticket: str('ticket'),
      changedBy: str('changedBy')!,
      changedAt: str('changedAt')!,
      approvedBy: str('approvedBy'),
      expires: str('expires'),
    });
  }
  return out;
}

/**
 * The checksum of flag ConfigMap data (`sha256:<hex>` over both keys, then every other key in
 * order, each after its name): what the deploy step stamps as {@link CHECKSUM_ANNOTATION}. Given
 * the data of every flag ConfigMap together (their keys are distinct), it is the checksum of the
 * whole flag set. Undefined keys count as empty.
 */
export function flagDataChecksum(data: Readonly<Record<string, string | undefined>>): string {
  const hash = createHash('sha256').update(`${data[LEGACY_KEY] ?? ''}\n${data[FLAGD_KEY] ?? ''}`);
  const others = Object.keys(data).filter((k) => k !== LEGACY_KEY && k !== FLAGD_KEY).sort();
  for (const key of others) hash.update(`\n${key}\n${data[key] ?? ''}`);
  return `sha256:${hash.digest('hex')}`;
}

/** `{"<env>": {"flag": true}}`: true only for a flag enabled at rollout 100. */
export function legacyFlags(environment: string, flags: readonly FeatureFlag[]): Record<string, Record<string, boolean>> {
  const byName = sortByName(flags);
  return { [environment]: Object.fromEntries(byName.map((f) => [f.name, f.enabled && f.rollout === 100])) };
}

/** A flagd flag as written to `flags.flagd.json`. */
export interface FlagdFlag {
  readonly state: 'ENABLED';
  readonly variants: { readonly on: true; readonly off: false };
  readonly defaultVariant: 'on' | 'off';
  readonly targeting?: { readonly fractional: readonly (readonly [string, number])[] };
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
}

export interface FlagdFlagSet {
  readonly $schema: string;
  /** No version: a hash of the whole set would sit on one line that every flag change rewrites. */
  readonly metadata: { readonly flagSetId: string };
  readonly flags: Readonly<Record<string, FlagdFlag>>;
}

/**
 * The OpenFeature flagd flag set. A partial rollout is `fractional` targeting with integer
 * weights summing to 100 (`on` first, so raising the rollout only turns more users on); a disabled
 * or 0% flag is a static `off` (never state DISABLED, which makes flagd return an error).
 */
export function flagdFlagSet(environment: string, flags: readonly FeatureFlag[]): FlagdFlagSet {
  return {
    $schema: FLAGD_SCHEMA,
    metadata: { flagSetId: `pms-${environment}` },
    flags: Object.fromEntries(sortByName(flags).map((f) => [f.name, flagdFlag(f)])),
  };
}

/** One flag of the flagd flag set (see {@link flagdFlagSet}). */
export function flagdFlag(f: FeatureFlag): FlagdFlag {
  const share = f.enabled ? f.rollout : 0;
  // Keys in sorted order, written so (sorting them per flag costs more than the rest of the flag).
  const metadata: Record<string, string | number | boolean> = {};
  if (f.approvedBy) metadata.approvedBy = f.approvedBy;
  metadata.changedAt = f.changedAt;
  metadata.changedBy = f.changedBy;
  metadata.description = f.description;
  metadata.enabled = f.enabled;
  if (f.expires) metadata.expires = f.expires;
  metadata.owner = f.owner;
  metadata.reason = f.reason;
  metadata.rollout = f.rollout;
  if (f.ticket) metadata.ticket = f.ticket;
  metadata.type = f.type;
  return share > 0 && share < 100
    ? { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { fractional: [['on', share], ['off', 100 - share]] }, metadata }
    : { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: share === 100 ? 'on' : 'off', metadata };
}

/**
 * A flag's entry in the text of a flag set, as `JSON.stringify(set, null, 2)` writes it inside
 * `"flags"` (flag names are snake_case, so never integer-like keys that objects would reorder).
 */
function flagSetEntry(f: FeatureFlag): string {
  // Rendered at its depth and cut out of `{"flags": {...}}`: no re-indenting copy.
  const text = JSON.stringify({ flags: { [f.name]: flagdFlag(f) } }, null, 2);
  return text.slice(ENTRY_START.length, text.length - ENTRY_END.length);
}
const ENTRY_START = '{\n  "flags": {\n';
const ENTRY_END = '\n  }\n}';

/**
 * The text around a flag set's entries: `frame.text(entries)` is byte for byte
 * `JSON.stringify(flagdFlagSet(environment, flags), null, 2)` and a newline, and `frame.bytes(n, sum)`
 * its UTF-8 size for `n` entries of `sum` bytes, without assembling it.
 */
function flagSetFrame(environment: string) {
  const metadata = JSON.stringify({ flagSetId: `pms-${environment}` }, null, 2).replace(/\n/g, '\n  ');
  const head = `{\n  "$schema": ${JSON.stringify(FLAGD_SCHEMA)},\n  "metadata": ${metadata},\n  "flags": `;
  const open = `${head}{\n`;
  const close = '\n  }\n}\n';
  const empty = `${head}{}\n}\n`;
  const [openBytes, closeBytes, emptyBytes] = [open, close, empty].map((t) => Buffer.byteLength(t)) as [number, number, number];
  return {
    text: (entries: readonly string[]): string => (entries.length === 0 ? empty : `${open}${entries.join(',\n')}${close}`),
    bytes: (n: number, sum: number): number => (n === 0 ? emptyBytes : openBytes + sum + 2 * (n - 1) + closeBytes),
  };
}

/**
 * `feature_flags.json` as pretty JSON with a blank line between flags. Each flag is one line, so
 * without the blank line two pull requests flipping neighbouring flags would touch adjacent lines,
 * which git reports as a conflict; JSON readers ignore the whitespace.
 */
function spacedJson(legacy: Record<string, Record<string, boolean>>): string {
  const envs = Object.entries(legacy).map(([env, flags]) => {
    const lines = Object.entries(flags).map(([name, on]) => `    ${JSON.stringify(name)}: ${on}`);
    return lines.length === 0 ? `  ${JSON.stringify(env)}: {}` : `  ${JSON.stringify(env)}: {\n${lines.join(',\n\n')}\n  }`;
  });
  return `{\n${envs.join(',\n')}\n}\n`;
}

function sortByName(flags: readonly FeatureFlag[]): FeatureFlag[] {
  return [...flags].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
