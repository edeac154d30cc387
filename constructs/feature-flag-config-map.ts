import { createHash } from 'node:crypto';
import { ConfigMap } from 'cdk8s-plus-27';
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
   * @default 'feature-flags-config'
   */
  readonly name?: string;
  /**
   * Extra labels.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
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
 */
export class FeatureFlagConfigMap extends Construct {
  /** The sha256 of the ConfigMap data (`sha256:<hex>`); not written into the manifest. */
  public readonly checksum: string;
  public readonly configMap: ConfigMap;

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
    const name = props.name ?? 'feature-flags-config';

    const data = flagConfigMapData(props.environment, props.flags);
    this.checksum = flagDataChecksum(data);

    this.configMap = new ConfigMap(this, 'Resource', {
      metadata: {
        name,
        namespace: props.namespace,
        labels: {
          'app.kubernetes.io/name': 'feature-flags',
          'app.kubernetes.io/component': 'feature-flags',
          ...props.labels,
        },
      },
      data,
    });
  }
}

/** The ConfigMap's data: both keys, as text. A pure function of the environment and the flags. */
export function flagConfigMapData(environment: string, flags: readonly FeatureFlag[]): Record<string, string> {
  return {
    [LEGACY_KEY]: spacedJson(legacyFlags(environment, flags)),
    [FLAGD_KEY]: stableJson(flagdFlagSet(environment, flags)),
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
 * The checksum of a flag ConfigMap's data (`sha256:<hex>` over both keys): what the deploy step
 * stamps as {@link CHECKSUM_ANNOTATION}. Undefined keys count as empty.
 */
export function flagDataChecksum(data: Readonly<Record<string, string | undefined>>): string {
  return `sha256:${sha256(`${data[LEGACY_KEY] ?? ''}\n${data[FLAGD_KEY] ?? ''}`)}`;
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
  const entries = sortByName(flags).map((f): [string, FlagdFlag] => {
    const share = f.enabled ? f.rollout : 0;
    const metadata: Record<string, string | number | boolean> = {
      description: f.description,
      owner: f.owner,
      type: f.type,
      enabled: f.enabled,
      rollout: f.rollout,
      reason: f.reason,
      changedBy: f.changedBy,
      changedAt: f.changedAt,
    };
    if (f.ticket) metadata.ticket = f.ticket;
    if (f.approvedBy) metadata.approvedBy = f.approvedBy;
    if (f.expires) metadata.expires = f.expires;
    const flag: FlagdFlag =
      share > 0 && share < 100
        ? { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { fractional: [['on', share], ['off', 100 - share]] }, metadata: sortKeys(metadata) }
        : { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: share === 100 ? 'on' : 'off', metadata: sortKeys(metadata) };
    return [f.name, flag];
  });
  const flagsObject = Object.fromEntries(entries);
  return {
    $schema: FLAGD_SCHEMA,
    metadata: { flagSetId: `pms-${environment}` },
    flags: flagsObject,
  };
}

/** Pretty JSON with a trailing newline: readable in a pull-request diff. */
function stableJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
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

function sortKeys<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
