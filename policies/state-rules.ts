/**
 * State rules: what must hold for the flag files as they are, across files. Pure functions from
 * the parsed model to findings. Schema-level rules (names, types, formats) are in
 * flag-schemas.ts; rules about a change against a base are in change-rules.ts.
 */
import type { EnvironmentModel, ProjectModel } from '../model/flags.ts';
import type { FlagState } from '../model/flag-schemas.ts';
import { didYouMean } from '../common/text/suggest.ts';
import { checkSimilarFlagNames } from './flag-names.ts';
import { error, fileLocator, FindingList, warning, type Finding, type Keep, type Locator } from '../model/findings.ts';

/** "Did you mean" costs a pass over the names: given for the first few typos, among a bounded list. */
const MAX_HINTS = 20;
const MAX_HINT_CANDIDATES = 1000;

/** Tolerated clock skew for `changed_at` in the future (and for FLAGOPS_NOW ahead of the clock, lib/workspace/workspace.ts). */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The share of users a flag state turns on: 0 when disabled. */
export const exposure = (s: FlagState | undefined): number => (s?.enabled ? s.rollout : 0);

export interface StateRuleOptions {
  /** "Now", for future timestamps and expiry. */
  readonly now: Date;
  /** Findings a command decides by, capped apart from the others (model/findings.ts' FindingList). */
  readonly keep?: Keep;
}

/**
 * Every state rule's findings; at most MAX_KEPT_PER_RULE of one rule in one file, then one finding
 * that counts the rest (a catalog of 800,000 flags no environment has is millions of findings).
 */
export function checkStateRules(model: ProjectModel, options: StateRuleOptions): Finding[] {
  const findings = new FindingList(options.keep);
  checkCatalog(model, options, findings);
  checkSimilarFlagNames(model.catalog, findings);
  for (const env of model.environments) checkEnvironment(model, env, options, findings);
  findings.addAll(flagServingRule(model));
  return findings.toArray();
}

function checkCatalog(model: ProjectModel, { now }: StateRuleOptions, findings: FindingList): void {
  const { catalog } = model;
  const at = catalog.source ?? fileLocator(catalog.file);
  const today = now.toISOString().slice(0, 10);
  const declared = new Set(catalog.names);
  let hints = 0;
  for (const [name, def] of Object.entries(catalog.flags)) {
    (def.requires ?? []).forEach((req, i) => {
      if (req === name) findings.push(error(at.locate(['flags', name, 'requires', i]), 'unknown-prerequisite', `flag '${name}' cannot require itself`));
      else if (!declared.has(req)) {
        // A suggestion costs a pass over the catalog: only for the first few (a typo, not a generated file).
        const hint = hints++ < MAX_HINTS ? didYouMean(req, catalog.names) : '';
        findings.push(error(at.locate(['flags', name, 'requires', i]), 'unknown-prerequisite', `flag '${name}' requires '${req}', which is not in the catalog${hint}`));
      }
    });
    if (def.expires && def.expires < today) {
      findings.push(
        warning(
          at.locate(['flags', name, 'expires']),
          'flag-expired',
          `flag '${name}' expired on ${def.expires}: remove it from the code and the catalog, or extend 'expires' (see \`flagops stale\`)`,
        ),
      );
    }
    if (def.expires && def.created && def.expires < def.created) {
      findings.push(error(at.locate(['flags', name, 'expires']), 'date-format', `flag '${name}' expires (${def.expires}) before it was created (${def.created})`));
    }
  }
}

function checkEnvironment(model: ProjectModel, env: EnvironmentModel, { now }: StateRuleOptions, findings: FindingList): void {
  if (!env.source || !env.readable) return; // the parser reported why the file cannot be read
  const { settings } = env;
  const at = env.source;
  if (env.declaredName !== undefined && env.declaredName !== settings.name) {
    findings.push(
      error(at.locate(['environment']), 'environment-name', `this file declares environment '${String(env.declaredName)}' but lives in environments/${settings.name}/`),
    );
  }
  // Presence rules compare names across files: only when the catalog could be read too.
  const present = new Set(env.names);
  const declared = new Set(model.catalog.names);
  for (const name of model.catalog.readable ? model.catalog.names : []) {
    if (present.has(name)) continue;
    // Past the findings kept of one rule, only counted (a catalog can add 800,000 flags).
    if (!findings.wants(env.file, 'missing-flag-state', 'error')) findings.count(env.file, 'missing-flag-state', 'error', 1);
    else findings.push(error(at.locate(['flags'], 'key'), 'missing-flag-state', `catalog flag '${name}' has no entry in ${settings.name}; add one (flagops add creates it off everywhere)`));
  }
  // A misspelt entry is most likely meant for a catalog flag this file lacks.
  const missing = model.catalog.names.filter((name) => !present.has(name));
  let hints = 0;
  for (const name of model.catalog.readable ? env.names : []) {
    if (declared.has(name)) continue;
    if (!findings.wants(env.file, 'unknown-flag', 'error')) findings.count(env.file, 'unknown-flag', 'error', 1);
    else {
      const hint = missing.length <= MAX_HINT_CANDIDATES && hints++ < MAX_HINTS ? didYouMean(name, missing) : '';
      findings.push(error(at.locate(['flags', name], 'key'), 'unknown-flag', `flag '${name}' is not declared in environments/catalog.yaml${hint}`));
    }
  }
  for (const [name, state] of Object.entries(env.states)) {
    const here = (field?: string): ReturnType<Locator['locate']> =>
      field ? at.locate(['flags', name, field]) : at.locate(['flags', name], 'key');
    if (!settings.rolloutSteps.includes(state.rollout)) {
      findings.push(
        error(here('rollout'), 'rollout-step', `flag '${name}' rollout ${state.rollout} is not an allowed step in ${settings.name} (${settings.rolloutSteps.join(', ')})`),
      );
    }
    if (settings.requireTicket && !state.ticket) {
      findings.push(error(here(), 'ticket-required', `flag '${name}' needs a 'ticket' in ${settings.name}`));
    }
    if (settings.requireApproval && state.enabled && !state.approved_by) {
      findings.push(error(here(), 'approval-required', `flag '${name}' is enabled in ${settings.name} and needs 'approved_by' (a second person)`));
    }
    if (state.approved_by && state.approved_by.toLowerCase() === state.changed_by.toLowerCase()) {
      findings.push(error(here('approved_by'), 'four-eyes', `flag '${name}' is approved by the person who changed it (${state.changed_by}); the approver must be someone else`));
    }
    if (Date.parse(state.changed_at) > now.getTime() + CLOCK_SKEW_MS) {
      findings.push(error(here('changed_at'), 'future-timestamp', `flag '${name}' changed_at ${state.changed_at} is in the future`));
    }
    findings.addAll(checkInvariants(model, env, name, state, 'warning'));
  }
}

/**
 * The two invariants of a raised flag: the promotion order (the environment it promotes from has
 * it at 100%) and its prerequisites (each at 100% here). As state rules they are warnings, so a
 * kill switch upstream never blocks anything; change-rules.ts reports them as errors for changes
 * that raise exposure.
 */
export function checkInvariants(
  model: ProjectModel,
  env: EnvironmentModel,
  name: string,
  state: FlagState,
  severity: 'error' | 'warning',
): Finding[] {
  const findings: Finding[] = [];
  const make = severity === 'error' ? error : warning;
  const here = env.source ?? fileLocator(env.file);
  const level = exposure(state);
  if (level === 0) return findings;
  // The first environment promotes from none, and no environment is named undefined.
  const from = env.settings.promotesFrom;
  const upstreamState = model.environments.find((e) => e.settings.name === from)?.states[name];
  if (upstreamState && exposure(upstreamState) < 100) {
    findings.push(
      make(
        here.locate(['flags', name, 'rollout']),
        'promotion-order',
        `flag '${name}' is on ${level}% in ${env.settings.name} while ${from} has it ${describeExposure(upstreamState)}; it must be on 100% in ${from} first`,
      ),
    );
  }
  for (const req of model.catalog.flags[name]?.requires ?? []) {
    const reqState = env.states[req];
    if (reqState && exposure(reqState) < 100) {
      findings.push(
        make(
          here.locate(['flags', name, 'enabled']),
          'prerequisite',
          `flag '${name}' requires '${req}', which is ${describeExposure(reqState)} in ${env.settings.name}; it must be on 100% there first`,
        ),
      );
    }
  }
  return findings;
}

/** `off`, `on 25%`, `on 100%`; a kill-switched flag keeps its rollout but reads `off`. */
export function describeExposure(state: FlagState | undefined): string {
  if (!state) return 'absent';
  return state.enabled ? `on ${state.rollout}%` : 'off';
}

/**
 * `flag-serving-off` (warning): in an environment whose `flagServing.mode` is `none`, nothing
 * evaluates `flags.flagd.json`, so a flag at a partial rollout is off for every user (the legacy
 * `feature_flags.json` says `true` only at 100%). Reported at each such flag entry.
 */
export function flagServingRule(model: ProjectModel): Finding[] {
  const findings: Finding[] = [];
  for (const env of model.environments) {
    if (env.settings.flagServing.mode !== 'none' || !env.source) continue;
    for (const name of env.names) {
      const s = env.states[name];
      if (!s?.enabled || s.rollout <= 0 || s.rollout >= 100) continue;
      findings.push(
        warning(
          env.source.locate(['flags', name, 'rollout']),
          'flag-serving-off',
          `flag '${name}' is at ${s.rollout}% in ${env.settings.name}, but flag serving is off there (flagServing.mode: 'none' in environments/${env.settings.name}/environment.ts): ` +
            `nothing evaluates flags.flagd.json, and feature_flags.json says true only at 100%, so this rollout does not reach users (it is off for everyone)`,
        ),
      );
    }
  }
  return findings;
}
