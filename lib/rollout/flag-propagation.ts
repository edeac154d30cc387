/**
 * The last hop of a flag change, reproduced on a local folder: the kubelet's ConfigMap volume
 * (a timestamped folder per version, an atomically swapped `..data` symlink, and one symlink per
 * key into it; a projected volume of every shard of a sharded flag set is laid out the same way,
 * with every shard's key) and the real OpenFeature flagd provider (`@openfeature/flagd-provider`)
 * evaluating in-process on the mounted `flags.flagd.json` (or the shard file holding the flag), in
 * its offline file mode: the same evaluator (`@openfeature/flagd-core`) flagd runs, and no network.
 *
 * Used by the propagation proof in `npm test` and by `flagops drill` to measure how long the
 * provider takes to see a change.
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { OpenFeature, ProviderEvents, type Client, type Logger } from '@openfeature/server-sdk';
import { FLAGD_KEY, parseFlagShard, shardIndexOf } from '../../constructs/feature-flag-config-map.ts';

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/**
 * Writes `data` into `dir` the way the kubelet's AtomicWriter updates a ConfigMap volume
 * (kubernetes pkg/volume/util/atomic_writer.go): the files go into a new hidden timestamped folder,
 * a `..data_tmp` symlink to it is renamed over `..data` (the atomic step), each key is a symlink
 * `key -> ..data/key` (created once), then the previous folder and the links of removed keys go.
 * A reader of `dir/<key>` sees the old file or the new one, never a mix or a partial write.
 */
export function writeConfigMapVolume(dir: string, data: Readonly<Record<string, string>>, now: Date = new Date()): string {
  mkdirSync(dir, { recursive: true });
  const previous = existsSync(join(dir, DATA)) ? readlinkSync(join(dir, DATA)) : undefined;
  const stamp = now.toISOString().replace(/[-:]/g, '_').replace('T', '_').replace(/\.(\d+)Z$/, '.$1');
  let version = `..${stamp}`;
  for (let n = 1; existsSync(join(dir, version)); n++) version = `..${stamp}${n}`;
  mkdirSync(join(dir, version));
  for (const [key, text] of Object.entries(data)) writeFileSync(join(dir, version, key), text);
  rmSync(join(dir, DATA_TMP), { force: true });
  symlinkSync(version, join(dir, DATA_TMP));
  renameSync(join(dir, DATA_TMP), join(dir, DATA));
  for (const key of Object.keys(data)) if (!existsSync(join(dir, key))) symlinkSync(join(DATA, key), join(dir, key));
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith('..') && !(entry in data)) rmSync(join(dir, entry), { force: true });
  }
  return version;
}

const silent: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/**
 * The key of a flag ConfigMap's data (or of the shards' data laid out together) whose flag set holds
 * `flag`: `flags.flagd.json`, or the shard key its name hashes to. Undefined when there is none.
 */
export function flagSetKeyOf(data: Readonly<Record<string, string>>, flag: string): string | undefined {
  if (FLAGD_KEY in data) return FLAGD_KEY;
  return Object.keys(data).find((key) => {
    const shard = parseFlagShard(key);
    return shard?.key === key && shard.index === shardIndexOf(flag, shard.count);
  });
}

/** A flagd provider evaluating in-process on a kubelet-style volume's `flags.flagd.json` (or another flag set file). */
export interface FileFlagEvaluator {
  readonly client: Client;
  /** Resolves with the milliseconds from the call until the provider reports a changed flag set; rejects after `timeoutMs`. */
  nextChange(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

let domains = 0;

/**
 * Starts `@openfeature/flagd-provider` in-process on `dir/<key>` (offline file mode:
 * `resolverType: 'in-process'` with `offlineFlagSourcePath`; it reads the file and watches it with
 * `fs.watchFile`, polling every ~5 s), registered for a domain of its own. The provider reads one
 * file: for a sharded flag set, the shard holding the flags evaluated.
 */
export async function openFileFlagEvaluator(dir: string, key: string = FLAGD_KEY): Promise<FileFlagEvaluator> {
  const domain = `flagops-propagation-${process.pid}-${++domains}`;
  const provider = new FlagdProvider({ resolverType: 'in-process', offlineFlagSourcePath: join(dir, key) }, silent);
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  client.setLogger(silent);
  return {
    client,
    nextChange(timeoutMs) {
      const started = performance.now();
      return new Promise<number>((resolve, reject) => {
        const handler = () => {
          clearTimeout(timer);
          client.removeHandler(ProviderEvents.ConfigurationChanged, handler);
          resolve(performance.now() - started);
        };
        const timer = setTimeout(() => {
          client.removeHandler(ProviderEvents.ConfigurationChanged, handler);
          reject(new Error(`the flagd provider did not see the new ${key} within ${timeoutMs} ms`));
        }, timeoutMs);
        client.addHandler(ProviderEvents.ConfigurationChanged, handler);
      });
    },
    async close() {
      await provider.onClose();
    },
  };
}

/** What `keys` targeting keys get for `flag`: the keys that are on, and how many evaluations failed. */
export interface KeyEvaluation {
  readonly on: ReadonlySet<string>;
  readonly errors: number;
}

/** The targeting key of user `i`: what the backend passes (docs/backend.md: the user's stable id). */
export const targetingKey = (i: number): string => `user-${i}`;

/** Evaluates `flag` for `keys` targeting keys through the OpenFeature client (default: off). */
export async function evaluateKeys(client: Client, flag: string, keys: number): Promise<KeyEvaluation> {
  const on = new Set<string>();
  let errors = 0;
  for (let i = 0; i < keys; i++) {
    const key = targetingKey(i);
    const d = await client.getBooleanDetails(flag, false, { targetingKey: key });
    if (d.errorCode) errors++;
    else if (d.value) on.add(key);
  }
  return { on, errors };
}

export interface PropagationResult {
  /** Milliseconds from the swap until the provider reported the new flag set. */
  readonly ms: number;
  readonly before: KeyEvaluation;
  readonly after: KeyEvaluation;
}

/**
 * Lays out `before` (a flag ConfigMap's data, or the data of every shard together as flagd's
 * projected volume holds them) kubelet-style in `dir`, starts the provider on the file holding
 * `flag`, evaluates it for `keys` keys, swaps in `after` and measures how long the provider takes
 * to see it (at most `timeoutMs`), then evaluates again.
 */
export async function measurePropagation(
  dir: string,
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  flag: string,
  keys: number,
  timeoutMs = 30_000,
): Promise<PropagationResult> {
  const key = flagSetKeyOf(before, flag);
  if (key === undefined) throw new Error(`no flag set in the data holds ${flag} (keys: ${Object.keys(before).join(', ') || 'none'})`);
  writeConfigMapVolume(dir, before);
  const evaluator = await openFileFlagEvaluator(dir, key);
  try {
    const first = await evaluateKeys(evaluator.client, flag, keys);
    const change = evaluator.nextChange(timeoutMs);
    writeConfigMapVolume(dir, after);
    const ms = await change;
    return { ms, before: first, after: await evaluateKeys(evaluator.client, flag, keys) };
  } finally {
    await evaluator.close();
  }
}
