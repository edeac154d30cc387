/**
 * The propagation proof: a flag change, from `flagops rollout` to the evaluation in the backend,
 * with the real OpenFeature libraries. The synthesized ConfigMap is laid out as the kubelet mounts
 * it (a timestamped folder and an atomically swapped `..data` symlink), and
 * `@openfeature/flagd-provider` evaluates in-process on the mounted `flags.flagd.json` (offline
 * file mode: the evaluator flagd itself runs), through `@openfeature/server-sdk`. "Bounded time"
 * is a timeout on the wait for the provider's change event, never a benchmark.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagdCore } from '@openfeature/flagd-core';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FLAGD_KEY } from '../constructs/feature-flag-config-map.ts';
import { evaluateKeys, openFileFlagEvaluator, targetingKey, writeConfigMapVolume, type FileFlagEvaluator } from '../lib/rollout/flag-propagation.ts';
import { flagops, tempProject } from './helpers.ts';

const KEYS = 10_000;
const FLAG = 'e_prescribing_enabled';
/** How long the provider may take to see a swapped file (it polls every ~5 s). */
const PROVIDER_TIMEOUT_MS = 30_000;
const CONFIG_MAP = 'dist/production/configmap-feature-flags-config.yaml';

const configMapData = (project: string): Record<string, string> => parse(readFileSync(join(project, CONFIG_MAP), 'utf8')).data;
const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** What the flagd evaluator gives each of `keys` keys for FLAG in a flag set: the reference a swap must match. */
function reference(flagSet: string, keys: number): boolean[] {
  const core = new FlagdCore(undefined, silent);
  core.setConfigurations(flagSet);
  return Array.from({ length: keys }, (_, i) => core.resolveBooleanEvaluation(FLAG, false, { targetingKey: targetingKey(i) }, silent).value);
}

/**
 * Evaluates the first `keys` keys in a loop until stopped, as a busy backend would during the
 * swap, and records every answer that is an error or that neither flag set gives that key.
 */
function keepEvaluating(evaluator: FileFlagEvaluator, before: boolean[], after: boolean[]) {
  let stop = false;
  let evaluations = 0;
  let errors = 0;
  const mixed: string[] = [];
  const done = (async () => {
    while (!stop) {
      for (let i = 0; i < before.length && !stop; i++) {
        const d = await evaluator.client.getBooleanDetails(FLAG, false, { targetingKey: targetingKey(i) });
        evaluations++;
        if (d.errorCode) errors++;
        else if (d.value !== before[i] && d.value !== after[i]) mixed.push(targetingKey(i));
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { evaluations, errors, mixed };
    },
  };
}

const share = (on: ReadonlySet<string>) => (100 * on.size) / KEYS;

/**
 * The kubelet swaps `after` into the volume while the backend keeps evaluating; resolves once the
 * provider reported the change (or fails after the timeout) with what the busy evaluations saw.
 */
async function swapWhileEvaluating(evaluator: FileFlagEvaluator, volume: string, before: Record<string, string>, after: Record<string, string>) {
  const busy = keepEvaluating(evaluator, reference(before[FLAGD_KEY]!, 500), reference(after[FLAGD_KEY]!, 500));
  const seen = evaluator.nextChange(PROVIDER_TIMEOUT_MS);
  writeConfigMapVolume(volume, after);
  await seen;
  return busy.stop();
}

describe('a flag change reaches the backend through the mounted ConfigMap and the OpenFeature flagd provider', () => {
  const evaluators: FileFlagEvaluator[] = [];
  afterAll(async () => {
    for (const e of evaluators) await e.close();
  });

  it('lays the ConfigMap out as the kubelet does: a timestamped folder, ..data swapped atomically, one link per key', () => {
    // GIVEN an empty volume folder
    const dir = mkdtempSync(join(tmpdir(), 'flagops-volume-'));
    // WHEN two versions of the ConfigMap are written in turn
    const first = writeConfigMapVolume(dir, { 'a.json': '1', [FLAGD_KEY]: '{}' }, new Date('2026-11-23T12:00:00.123Z'));
    const second = writeConfigMapVolume(dir, { [FLAGD_KEY]: '{"flags":{}}' }, new Date('2026-11-23T12:01:00.456Z'));
    // THEN the keys are links into ..data, which points at the newest version only
    expect(first).toBe('..2026_11_23_12_00_00.123');
    expect(readlinkSync(join(dir, '..data'))).toBe(second);
    expect(readlinkSync(join(dir, FLAGD_KEY))).toBe(join('..data', FLAGD_KEY));
    expect(lstatSync(join(dir, FLAGD_KEY)).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, FLAGD_KEY), 'utf8')).toBe('{"flags":{}}');
    expect(readdirSync(dir).sort()).toEqual(['..2026_11_23_12_01_00.456', '..data', FLAGD_KEY]);
  });

  it(
    `rolls ${FLAG} from 5% to 25% and then off for 10,000 users, without an error or a half-written file, each step seen within ${PROVIDER_TIMEOUT_MS / 1000} s`,
    async () => {
      // GIVEN production's committed flag ConfigMap, mounted kubelet-style, and the provider on it
      const project = tempProject({ git: true });
      const volume = mkdtempSync(join(tmpdir(), 'flagops-volume-'));
      const data5 = configMapData(project);
      writeConfigMapVolume(volume, data5);
      const evaluator = await openFileFlagEvaluator(volume);
      evaluators.push(evaluator);
      const at5 = await evaluateKeys(evaluator.client, FLAG, KEYS);
      expect(at5.errors).toBe(0);
      expect(Math.abs(share(at5.on) - 5)).toBeLessThanOrEqual(1.5);

      // WHEN the rollout moves to 25%, dist/ is synthesized afresh, and the kubelet swaps the volume
      // while the backend keeps evaluating
      const rollout = await flagops(project, 'rollout', FLAG, '--env', 'production', '--to', '25', '--reason', 'Gradual rollout - Phase 2 (25% of prescribers)',
        '--ticket', 'TICKET-12502', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com');
      expect(rollout.code, rollout.stderr).toBe(0);
      expect((await flagops(project, 'synth')).code).toBe(0);
      const data25 = configMapData(project);
      const during25 = await swapWhileEvaluating(evaluator, volume, data5, data25);

      // THEN 25% of the keys are on, everyone who was on is still on, and nothing failed on the way
      const at25 = await evaluateKeys(evaluator.client, FLAG, KEYS);
      expect(at25.errors).toBe(0);
      expect(Math.abs(share(at25.on) - 25)).toBeLessThanOrEqual(2);
      expect([...at5.on].filter((k) => !at25.on.has(k))).toEqual([]);
      expect(during25.evaluations).toBeGreaterThan(0);
      expect(during25.errors).toBe(0);
      expect(during25.mixed).toEqual([]);

      // WHEN the kill switch is pulled, synthesized and swapped in the same way
      const disable = await flagops(project, 'disable', FLAG, '--env', 'production', '--reason', 'Kill switch: pharmacy network rejects EPCS (INC-2400)', '--ticket', 'INC-2400', '--by', 'oncall@pms.example.com');
      expect(disable.code, disable.stderr).toBe(0);
      expect((await flagops(project, 'synth')).code).toBe(0);
      const duringOff = await swapWhileEvaluating(evaluator, volume, data25, configMapData(project));

      // THEN every key is off, still without an error
      const off = await evaluateKeys(evaluator.client, FLAG, KEYS);
      expect(off.errors).toBe(0);
      expect(off.on.size).toBe(0);
      expect(duringOff.errors).toBe(0);
      expect(duringOff.mixed).toEqual([]);
    },
    180_000,
  );
});
