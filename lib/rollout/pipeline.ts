/**
 * The release pipeline of a flag: dev, then staging, then production step by step (each
 * environment's `pipelineSteps`), each step merged to main and held there for the environment's
 * soak time before the next.
 *
 * - {@link landings}: when each flag's current state landed on main, from git (the first-parent
 *   history of the base, as `flagops audit` reads it), as plain data for the soak-time rule.
 * - {@link nextStep}: where a flag stands and which step comes next (`flagops advance`, `flagops
 *   status FLAG`).
 */
import type { EnvironmentSettings } from '../../model/environments.ts';
import { checkChangeRules, landingKey, soakNeeds, soakSteps, type Landing, type SoakStep } from '../../policies/change-rules.ts';
import { landings } from '../review/landings.ts';
import type { FlagState } from '../../model/flag-schemas.ts';
import type { Finding } from '../../model/findings.ts';
import { exposure } from '../../policies/state-rules.ts';
import { describeBase, findBase, type ChangeBase } from '../review/base.ts';
import { gitReader } from '../review/git.ts';
import { parseProject } from '../workspace/project.ts';
import { baseProject } from '../review/base-project.ts';
import { judgedModel } from '../../policies/judged-by-base.ts';
import type { ProjectModel } from '../../model/flags.ts';
import type { Workspace } from '../workspace/workspace.ts';

/** Where a flag stands in one environment of the pipeline. */
export interface PipelineStage {
  readonly environment: string;
  readonly state: FlagState | undefined;
  /** The rollouts `flagops advance` takes here (`pipelineSteps`). */
  readonly steps: readonly number[];
  readonly soakMinutes: number;
}

/** The next step of a flag, or that it is done (on 100% everywhere). */
export type NextStep =
  | { readonly done: false; readonly environment: string; readonly from: FlagState; readonly to: number; readonly settings: EnvironmentSettings }
  | { readonly done: true };

/**
 * The flag's next step in the pipeline: the first environment (promotion order) where it is not on
 * 100%, raised to the first of its `pipelineSteps` above the current exposure. Undefined when the
 * flag has no valid entry in that environment.
 */
export function nextStep(model: ProjectModel, flag: string): NextStep | undefined {
  for (const env of model.environments) {
    const state = env.states[flag];
    if (!state) return undefined;
    const level = exposure(state);
    if (level >= 100) continue;
    const to = env.settings.pipelineSteps.find((s) => s > level) ?? 100;
    return { done: false, environment: env.settings.name, from: state, to, settings: env.settings };
  }
  return { done: true };
}

/** The flag in every environment, in promotion order. */
export function stages(model: ProjectModel, flag: string): PipelineStage[] {
  return model.environments.map((env) => ({
    environment: env.settings.name,
    state: env.states[flag],
    steps: env.settings.pipelineSteps,
    soakMinutes: env.settings.soakMinutes,
  }));
}

/** The environments where the flag's state (enabled, rollout) differs between two models. */
export function stateDifferences(a: ProjectModel, b: ProjectModel, flag: string): StateDifference[] {
  const out: StateDifference[] = [];
  for (const env of a.environments) {
    const x = env.states[flag];
    const y = b.environments.find((e) => e.settings.name === env.settings.name)?.states[flag];
    if (x?.enabled !== y?.enabled || x?.rollout !== y?.rollout) out.push({ environment: env.settings.name, a: x, b: y });
  }
  return out;
}

/** A difference of a flag's state between two versions of the project, in one environment. */
export interface StateDifference {
  readonly environment: string;
  readonly a: FlagState | undefined;
  readonly b: FlagState | undefined;
}

/** One environment of {@link PipelinePosition}. */
export interface StagePosition extends PipelineStage {
  /** The state on the base (main), when there is a base. */
  readonly onMain: FlagState | undefined;
  /** When the state on main landed there. */
  readonly landed?: Landing;
}

/** Where a flag stands in the pipeline, and what blocks its next step. */
export interface PipelinePosition {
  readonly flag: string;
  /** The base the next step is judged against; undefined when none was found. */
  readonly base?: ChangeBase;
  /** How messages name the base. */
  readonly baseLabel: string;
  /** Why there is no base (or only HEAD): one line with the fix. */
  readonly baseProblem?: string;
  readonly stages: readonly StagePosition[];
  /** Undefined when the flag has no valid entry somewhere before its next step. */
  readonly next: NextStep | undefined;
  /** Where the working tree differs from the base for this flag (a step not merged yet). */
  readonly pending: readonly StateDifference[];
  /** Where the tip of the upstream (origin/main) differs from the base for this flag (update first). */
  readonly behind: readonly StateDifference[];
  /** The change-rule errors the next step would meet against the base (soak time included). */
  readonly blockers: readonly Finding[];
  /** The steps on main the next step waits for (soak time), whether or not their time is over: it may land from the latest `ready`. */
  readonly soak: readonly SoakStep[];
}

/**
 * Where `flag` stands: its state per environment in `current` (the working tree) and on the base,
 * when each state landed on main, the next step, and the change-rule errors that step would meet
 * now (judged like the edit: against the merge base with origin/main, soak time included).
 */
export function pipelinePosition(ws: Workspace, current: ProjectModel, flag: string, now: Date): PipelinePosition {
  const found = findBase(ws.root);
  const base = found.ok ? found.base : found.fallback;
  const baseProblem = found.ok ? undefined : found.problem;
  // Judged by main: the base's flag files with the base's settings (a step is what main's pipeline allows).
  const baseModel = base ? baseProject(ws, base.commit).parsed.model : undefined;
  const names = ws.settings.map((s) => s.name);
  const landed = base && baseModel ? landings(ws.root, base.commit, names.map((environment) => ({ environment, flag }))) : new Map<string, Landing>();
  const stagesNow = stages(current, flag).map((s) => ({
    ...s,
    onMain: baseModel?.environments.find((e) => e.settings.name === s.environment)?.states[flag],
    ...(landed.get(landingKey(s.environment, flag)) ? { landed: landed.get(landingKey(s.environment, flag))! } : {}),
  }));
  const pending = baseModel ? stateDifferences(baseModel, current, flag) : [];
  let behind: StateDifference[] = [];
  const tip = found.ok ? found.base.tip : undefined;
  if (found.ok && tip && tip !== found.base.commit && baseModel) {
    behind = stateDifferences(baseModel, parseProject(ws.settings, gitReader(ws.root, tip)).model, flag);
  }
  const judged = baseModel ? judgedModel(baseModel, current) : current;
  const next = nextStep(judged, flag);
  let blockers: Finding[] = [];
  let soakWait: SoakStep[] = [];
  if (next && !next.done && baseModel && base) {
    const simulated = withState(judged, next.environment, flag, {
      ...next.from,
      enabled: true,
      rollout: next.to,
      changed_at: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      changed_by: 'flagops-status@flagops.invalid',
      reason: 'the next step (flagops status)',
    });
    const soak = { now, landings: landings(ws.root, base.commit, soakNeeds(baseModel, simulated)) };
    blockers = checkChangeRules(baseModel, simulated, describeBase(base), soak).filter((f) => f.severity === 'error' && f.rule !== 'audit-not-updated');
    soakWait = soakSteps(simulated, next.environment, flag, exposure(next.from), soak.landings);
  }
  return { flag, base, baseLabel: base ? describeBase(base) : 'none', baseProblem, stages: stagesNow, next, pending, behind, blockers, soak: soakWait };
}

/** `model` with one flag's state replaced in one environment. */
function withState(model: ProjectModel, environment: string, flag: string, state: FlagState): ProjectModel {
  return {
    ...model,
    environments: model.environments.map((e) => (e.settings.name === environment ? { ...e, states: { ...e.states, [flag]: state } } : e)),
  };
}
