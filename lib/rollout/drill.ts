/**
 * The rollback drill (`flagops drill`): for every flag that is on in an environment, pull its kill
 * switch on a scratch copy of the project and prove that
 *
 * 1. the kill switch passes every rule (it is the real `flagops disable`, lib/edits/edits.ts),
 * 2. it synthesizes, and changes nothing in dist/ but that flag's entries in the flag ConfigMap
 *    (compared as parsed objects, not text),
 * 3. the resulting flagd flag set evaluates the flag to off for every targeting key tried,
 * 4. and, laid out as the kubelet mounts the ConfigMap (lib/rollout/flag-propagation.ts), the real
 *    OpenFeature flagd provider sees the kill switch and turns the flag off for every key; the
 *    drill reports how long the provider took.
 *
 * "Nothing else" is strict on purpose: a kill switch must be a change a reviewer can approve at
 * 3 a.m. at a glance. Another flag's entry changing (a construct that cascades `requires`), another
 * object changing (an alert or dashboard derived from flag states), another environment, or a
 * file appearing or disappearing all fail the drill. Dependants left on without their prerequisite
 * are reported as notes (the state rules' warning): a kill switch is never blocked.
 */
import { cpSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FlagdCore } from '@openfeature/flagd-core';
import { parse } from 'yaml';
import { isFlagConfigMapName, isFlagSetKey, LEGACY_KEY } from '../../constructs/feature-flag-config-map.ts';
import { FLAG_CONFIG_MAP as FLAG_CONFIG_MAP_NAME, flagConfigMapPath } from '../../constructs/names.ts';
import { measurePropagation } from './flag-propagation.ts';
import { flagSetFileOf } from '../edits/kill-switch.ts';
import { describeExposure } from '../../policies/state-rules.ts';
import type { Finding } from '../../model/findings.ts';
import { DIST, readDist } from '../workspace/dist.ts';
import { editFlagState } from '../edits/edits.ts';
import { statesFile } from '../workspace/project.ts';
import { openWorkspace, UsageError, validate, type Workspace } from '../workspace/workspace.ts';

/** The flag ConfigMap's name (the construct's default). */
export const FLAG_CONFIG_MAP = FLAG_CONFIG_MAP_NAME;

export interface DrillOptions {
  readonly environment: string;
  readonly now: Date;
  /** `changed_by` of the scratch kill switch. */
  readonly by: string;
  /** `reason` of the scratch kill switch. @default 'Rollback drill (flagops drill)' */
  readonly reason?: string;
  /** `ticket` of the scratch kill switch. @default the flag's own ticket, else DRILL-1 */
  readonly ticket?: string;
  /** How many targeting keys the flagd evaluation tries. @default 1000 */
  readonly targetingKeys?: number;
  /** Only these flags (default: every flag on in the environment). */
  readonly flags?: readonly string[];
  /** Told when a flag's drill starts (for progress). */
  readonly onFlag?: (flag: string, index: number, total: number) => void;
  /**
   * Measure, for every flag, how long the OpenFeature flagd provider takes to see the kill switch
   * in a kubelet-style volume (all flags at once; the provider polls the file every ~5 s).
   * @default true
   */
  readonly propagation?: boolean;
}

/** The kill switch as the backend's OpenFeature flagd provider sees it (lib/rollout/flag-propagation.ts). */
export interface ProviderPropagation {
  /** Milliseconds from the kubelet-style swap until the provider reported the new flag set; undefined when it never did. */
  readonly ms?: number;
  /** Keys the provider still evaluated to on (or to an error) after the change. */
  readonly onAfter: number;
  readonly errorsAfter: number;
  readonly keys: number;
  /** Why it could not be measured. */
  readonly problem?: string;
}

export interface FlagdEvaluation {
  readonly keys: number;
  /** Keys that resolved to `true`. */
  readonly on: number;
  /** Keys whose resolution reported an error. */
  readonly errors: number;
}

export interface DrillFlagResult {
  readonly flag: string;
  /** Exposure before the kill switch: `on 25%`. */
  readonly before: string;
  /** The kill switch passed every rule and synthesized. */
  readonly allowed: boolean;
  /** dist/ files whose parsed object changed. */
  readonly objectsChanged: readonly string[];
  /** Changes outside the flag's entries: `dist/x.yaml: data.flags.flagd.json: flags.other_enabled`. */
  readonly unexpected: readonly string[];
  readonly evaluationBefore?: FlagdEvaluation;
  readonly evaluationAfter?: FlagdEvaluation;
  /** The provider's view of the change, when measured. */
  readonly propagation?: ProviderPropagation;
  /** Rule findings of the kill switch: errors (refused) and new warnings (notes). */
  readonly findings: readonly Finding[];
  /** Why the drill failed for this flag; empty when it passed. */
  readonly problems: readonly string[];
  readonly ms: number;
}

export interface DrillResult {
  readonly environment: string;
  /** Errors that stop the drill of this environment before any flag (in its flag file or the catalog, drift of its committed dist/). */
  readonly blockers: readonly Finding[];
  /** Why the environment was not drilled at all: its `environment.ts` cannot be loaded. */
  readonly problem?: string;
  readonly flags: readonly DrillFlagResult[];
  readonly ok: boolean;
}

const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

/** Runs the drill for one environment of the project at `ws.root`. Writes nothing there. */
export async function drill(ws: Workspace, options: DrillOptions): Promise<DrillResult> {
  const env = options.environment;
  // Only what stops this environment: an error in another environment's files leaves its drill to run.
  const baseline = await validate(ws, { now: options.now, drift: true, environments: [env], eachEnvironment: true });
  const blockers = baseline.skipped?.find((s) => s.environment === env)?.errors ?? [];
  if (blockers.length > 0) return { environment: env, blockers, flags: [], ok: false };
  const model = baseline.parsed.model.environments.find((e) => e.settings.name === env)!;
  const on = model.names.filter((n) => model.states[n]?.enabled);
  for (const f of options.flags ?? []) {
    if (!on.includes(f)) throw new UsageError(`flag '${f}' is not on in ${env}; the drill pulls the kill switch of flags that are on (${on.join(', ') || 'none'})`);
  }
  const flags = options.flags ?? on;
  const known = new Set(baseline.findings.map(findingKey));

  const drilled: { result: DrillFlagResult; data?: ConfigMapData }[] = [];
  for (const [i, flag] of flags.entries()) {
    options.onFlag?.(flag, i, flags.length);
    drilled.push(await drillFlag(ws.root, flag, describeExposure(model.states[flag]), model.states[flag]?.ticket, known, options));
  }
  const results = options.propagation === false ? drilled.map((d) => d.result) : await withPropagation(drilled, options.targetingKeys ?? 1000);
  return { environment: env, blockers: [], flags: results, ok: results.every((r) => r.problems.length === 0) };
}

interface ConfigMapData {
  readonly before: Record<string, string>;
  readonly after: Record<string, string>;
}

/** Measures every flag's kill switch through the flagd provider, all at once (each in its own volume). */
async function withPropagation(drilled: readonly { result: DrillFlagResult; data?: ConfigMapData }[], keys: number): Promise<DrillFlagResult[]> {
  const root = mkdtempSync(join(tmpdir(), 'flagops-drill-volume-'));
  try {
    return await Promise.all(
      drilled.map(async ({ result, data }, i): Promise<DrillFlagResult> => {
        if (!data) return result;
        let propagation: ProviderPropagation;
        try {
          const r = await measurePropagation(join(root, String(i)), data.before, data.after, result.flag, keys);
          propagation = { ms: r.ms, onAfter: r.after.on.size, errorsAfter: r.after.errors, keys };
        } catch (e) {
          propagation = { onAfter: 0, errorsAfter: 0, keys, problem: (e as Error).message };
        }
        const problems = [...result.problems];
        if (propagation.problem) problems.push(`the OpenFeature flagd provider, reading the ConfigMap as the kubelet mounts it: ${propagation.problem}`);
        else if (propagation.onAfter > 0 || propagation.errorsAfter > 0) {
          problems.push(`after the kubelet-style swap the OpenFeature flagd provider still evaluates ${result.flag} to on for ${propagation.onAfter} and to an error for ${propagation.errorsAfter} of ${keys} targeting keys`);
        }
        return { ...result, propagation, problems };
      }),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function drillFlag(
  root: string,
  flag: string,
  before: string,
  flagTicket: string | undefined,
  known: ReadonlySet<string>,
  options: DrillOptions,
): Promise<{ result: DrillFlagResult; data?: ConfigMapData }> {
  const started = performance.now();
  const env = options.environment;
  const scratch = mkdtempSync(join(tmpdir(), 'flagops-drill-'));
  try {
    // A copy of the files' content (never a link: validate() refused the project if it had any, and
    // the filter drops any deeper one), so the scratch copy shares no file with the project.
    const plain = (src: string) => !lstatSync(src).isSymbolicLink();
    cpSync(join(root, 'environments'), join(scratch, 'environments'), { recursive: true, filter: plain });
    cpSync(join(root, DIST), join(scratch, DIST), { recursive: true, filter: plain });
    // The scratch copy leaves out the same environments as the project (those whose settings do not load).
    const scratchWs = await openWorkspace(scratch, () => {}, { eachEnvironment: true });
    const environments = scratchWs.settings.map((s) => s.name);
    const distBefore = readAllDist(scratch, environments);

    const outcome = await editFlagState(scratchWs, {
      kind: 'disable',
      flag,
      environment: env,
      reason: options.reason ?? 'Rollback drill (flagops drill)',
      ticket: options.ticket ?? flagTicket ?? 'DRILL-1',
      by: options.by,
      at: options.now,
    });
    const findings = outcome.findings.filter((f) => f.severity === 'error' || !known.has(findingKey(f)));
    const done = (rest: Partial<DrillFlagResult> & { problems: string[] }): DrillFlagResult => ({
      flag,
      before,
      allowed: outcome.applied,
      objectsChanged: [],
      unexpected: [],
      findings,
      ms: performance.now() - started,
      ...rest,
    });
    if (!outcome.applied) {
      const errors = findings.filter((f) => f.severity === 'error');
      return { result: done({ problems: [`the kill switch was refused: ${errors.map((f) => `${f.message} [${f.rule}]`).join('; ') || outcome.summary}`] }) };
    }

    const problems: string[] = [];
    // The kill switch is blocked only by its own entry; an error it brings elsewhere goes through,
    // but its pull request would fail `flagops check`: for a drill, that is a failed rollback.
    const newErrors = findings.filter((f) => f.severity === 'error' && !known.has(findingKey(f)));
    if (newErrors.length > 0) {
      problems.push(`the kill switch goes through but leaves errors its pull request would fail on: ${newErrors.map((f) => `${f.message} [${f.rule}]`).join('; ')}`);
    }
    const otherFiles = outcome.files.filter((f) => f !== statesFile(env));
    if (otherFiles.length > 0) problems.push(`the kill switch also edited ${otherFiles.join(', ')}`);
    const distAfter = readAllDist(scratch, environments);
    const configMapPath = flagConfigMapPath(env);
    const { changed, unexpected } = compareDist(distBefore, distAfter, configMapPath, env, flag);
    problems.push(...unexpected.map((u) => `changes something else: ${u}`));

    // The flag's flagd entry: in the flag ConfigMap, or in the shard its name hashes to.
    const flagSet = flagSetFileOf(env, distBefore.keys(), flag);
    const setBefore = distBefore.get(flagSet.path);
    const setAfter = distAfter.get(flagSet.path);
    const cmAfter = distAfter.get(configMapPath);
    let evaluationBefore: FlagdEvaluation | undefined;
    let evaluationAfter: FlagdEvaluation | undefined;
    if (!setBefore || !setAfter || !cmAfter) {
      problems.push(`${cmAfter ? flagSet.path : configMapPath} is missing`);
    } else {
      const keys = options.targetingKeys ?? 1000;
      evaluationBefore = evaluate(String(setBefore.data?.[flagSet.key]), flag, keys);
      evaluationAfter = evaluate(String(setAfter.data?.[flagSet.key]), flag, keys);
      if (evaluationAfter.on > 0 || evaluationAfter.errors > 0) {
        problems.push(`flagd still evaluates ${flag} to on for ${evaluationAfter.on} and to an error for ${evaluationAfter.errors} of ${keys} targeting keys`);
      }
      const legacy = parseJson(cmAfter.data?.[LEGACY_KEY]) as Record<string, Record<string, unknown>> | undefined;
      if (legacy?.[env]?.[flag] !== false) problems.push(`${LEGACY_KEY} does not say ${flag}: false`);
    }
    // The provider reads one file: lay out the ConfigMap (or shard) that holds the flag.
    const data = setBefore && setAfter ? { before: stringData(setBefore.data), after: stringData(setAfter.data) } : undefined;
    return { result: done({ objectsChanged: changed, unexpected, evaluationBefore, evaluationAfter, problems }), data };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const stringData = (data: Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, String(v)]));

const findingKey = (f: Finding): string => `${f.severity}|${f.rule}|${f.file}|${f.message}`;

interface KubeLike {
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  data?: Record<string, unknown>;
}

function readAllDist(root: string, environments: readonly string[]): Map<string, KubeLike> {
  const objects = new Map<string, KubeLike>();
  for (const env of environments) for (const [path, text] of readDist(root, env)) objects.set(path, parse(text) as KubeLike);
  return objects;
}

/** Paths (as key lists) where two JSON-like values differ, down to the leaves. */
export function differences(a: unknown, b: unknown, path: readonly string[] = []): string[][] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differences(a[k], b[k], [...path, k]));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [[...path]];
}

const startsWith = (path: readonly string[], prefix: readonly string[]) => prefix.every((p, i) => path[i] === p);

/**
 * Every dist/ object that changed, and every change outside what a kill switch of `flag` may
 * touch: in the flag ConfigMap of `env` (`configMapPath`), the flag's key in `feature_flags.json`
 * and its entry in `flags.flagd.json`; in a shard ConfigMap of `env` (sharded flag set), its entry
 * in the shard's flag set; in the environment's FeatureFlags (OpenFeature Operator), its entry in
 * `spec.flagSpec.flags`. Only the shard holding the flag has such an entry, so a change in any
 * other shard is reported.
 */
export function compareDist(
  before: ReadonlyMap<string, object>,
  after: ReadonlyMap<string, object>,
  configMapPath: string,
  env: string,
  flag: string,
): { changed: string[]; unexpected: string[] } {
  const changed: string[] = [];
  const unexpected: string[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path) as KubeLike | undefined;
    const b = after.get(path) as KubeLike | undefined;
    if (!a || !b) {
      changed.push(path);
      unexpected.push(`${path} was ${a ? 'removed' : 'added'}`);
      continue;
    }
    const diffs = differences(a, b);
    if (diffs.length === 0) continue;
    changed.push(path);
    for (const d of diffs) {
      // The OpenFeature Operator's FeatureFlag of the environment holds the same flag set.
      if (a.kind === 'FeatureFlag' && b.kind === 'FeatureFlag' && path.startsWith(`${DIST}/${env}/`) && startsWith(d, ['spec', 'flagSpec', 'flags', flag])) continue;
      const shard = path.startsWith(`${DIST}/${env}/`) && a.kind === 'ConfigMap' && b.kind === 'ConfigMap' && isFlagConfigMapName(a.metadata?.name ?? '') && a.metadata?.name === b.metadata?.name;
      if (path !== configMapPath && !shard) {
        unexpected.push(`${path}: ${d.join('.')}`);
        continue;
      }
      const inner = foreignDataChanges(d, a, b, env, flag);
      if (inner === undefined) unexpected.push(`${path}: ${d.join('.')}`);
      else if (inner.length > 0) unexpected.push(`${path}: ${d.join('.')} (${inner.join(', ')})`);
    }
  }
  return { changed, unexpected };
}

/**
 * For a change of one of the ConfigMap's JSON data keys: the keys inside it that changed and do
 * not belong to `flag` (its entry). `undefined` for any other path of the ConfigMap.
 */
function foreignDataChanges(d: readonly string[], a: KubeLike, b: KubeLike, env: string, flag: string): string[] | undefined {
  const key = d[1];
  if (d.length !== 2 || d[0] !== 'data' || key === undefined || (key !== LEGACY_KEY && !isFlagSetKey(key))) return undefined;
  const own = key === LEGACY_KEY ? [[env, flag]] : [['flags', flag]];
  const inner = differences(parseJson(a.data?.[key]), parseJson(b.data?.[key]));
  return [...new Set(inner.filter((p) => !own.some((prefix) => startsWith(p, prefix))).map((p) => p.slice(0, 2).join('.')))];
}

function parseJson(text: unknown): unknown {
  try {
    return typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Evaluates `flag` in a flagd flag set for `keys` targeting keys with the real flagd evaluator. */
export function evaluate(flagSet: string, flag: string, keys: number): FlagdEvaluation {
  const core = new FlagdCore(undefined, silent);
  try {
    core.setConfigurations(flagSet);
  } catch {
    return { keys, on: 0, errors: keys };
  }
  let on = 0;
  let errors = 0;
  for (let i = 0; i < keys; i++) {
    try {
      // Default `true`: a fallback to the default value would count as "still on".
      const r = core.resolveBooleanEvaluation(flag, true, { targetingKey: `drill-user-${i}` }, silent);
      if (r.errorCode) errors++;
      else if (r.value) on++;
    } catch {
      errors++;
    }
  }
  return { keys, on, errors };
}
