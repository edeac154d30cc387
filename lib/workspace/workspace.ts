/**
 * The pipeline the CLI drives: parse → state and change rules → synthesize → manifest policies
 * (→ drift). Each step is a separate module with plain data between them; this module only wires
 * them together and writes nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PROJECT_DEFAULTS, type EnvironmentSettings, type ProjectSettings } from '../../model/environments.ts';
import type { EnvironmentManifests, ProjectFile } from '../../model/manifests.ts';
import { checkChangeRules, soakNeeds } from '../../policies/change-rules.ts';
import { capFindings, hasErrors, type Finding, type Keep } from '../../model/findings.ts';
import { checkStateRules, CLOCK_SKEW_MS } from '../../policies/state-rules.ts';
import { judgedModel } from '../../policies/judged-by-base.ts';
import { distEntryFindings, type ProjectFiles } from './dist.ts';
import { linkFindings } from './links.ts';
import { landings } from '../review/landings.ts';
import { noteJournal, prepareToWrite } from './journal.ts';
import { UsageError } from '../../common/text/errors.ts';
import { formatDuration } from '../../common/text/duration.ts';
import { CATALOG_FILE, diskReader, loadEnvironmentSettings, loadProjectSettings, parseProject, type FileReader, type ParseCache, type UnloadedEnvironment } from './project.ts';
import type { Parsed } from '../../model/flags.ts';

export interface Workspace {
  readonly root: string;
  /** In promotion order. */
  readonly settings: readonly EnvironmentSettings[];
  /** environments/project.ts (default: {@link PROJECT_DEFAULTS}; see {@link projectSettings}). */
  readonly project?: ProjectSettings;
  /** With {@link OpenOptions.eachEnvironment}: the environments whose settings could not be loaded, left out of {@link settings}. */
  readonly unloaded?: readonly UnloadedEnvironment[];
}

/** The project-wide settings of a workspace. */
export const projectSettings = (ws: Workspace): ProjectSettings => ws.project ?? PROJECT_DEFAULTS;

export { UsageError };

/** Finds the project root (the folder holding environments/catalog.yaml) from `cwd` upwards. */
export function findRoot(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, CATALOG_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new UsageError(`no ${CATALOG_FILE} found in ${cwd} or any parent folder; run flagops inside a flagops project`);
    dir = up;
  }
}

export interface OpenOptions {
  /**
   * The command writes flag files or dist/ (synth, the edits, not their dry runs): before anything
   * is read, an interrupted write it may trust is completed (or discarded), under the edit lock, and
   * anything else in its journal is refused (lib/workspace/journal.ts). Every other command changes
   * nothing, ever, and only notes what it finds.
   */
  readonly writes?: boolean;
  /** A command that only reads: say nothing about the journal (`check` reports it as findings). */
  readonly quiet?: boolean;
  /**
   * The command is the kill switch: a journal in git (never replayed) is left alone with a note
   * instead of refusing it, since only a problem in its own entry may block the kill switch.
   */
  readonly killSwitch?: boolean;
  /**
   * The command goes ahead in every environment it can (`access`, `drill`, `alerts`): an
   * environment whose `environment.ts` cannot be loaded is left out, in {@link Workspace.unloaded},
   * instead of stopping the command. Never with `writes`.
   */
  readonly eachEnvironment?: boolean;
}

/**
 * Opens the project around `cwd`. A command that writes first completes an interrupted write (see
 * {@link OpenOptions.writes}), so it never reads a half-written project; `onNote` is told what was
 * done, or, for a command that only reads, what is pending.
 */
export async function openWorkspace(cwd: string, onNote: (note: string) => void = () => {}, options: OpenOptions = {}): Promise<Workspace> {
  const root = findRoot(cwd);
  const unloaded: UnloadedEnvironment[] | undefined = options.eachEnvironment && !options.writes ? [] : undefined;
  const settings = await loadEnvironmentSettings(root, unloaded);
  const names = [...settings.map((s) => s.name), ...(unloaded ?? []).map((u) => u.environment)];
  const ws: Workspace = { root, settings, project: await loadProjectSettings(root, names), ...(unloaded?.length ? { unloaded } : {}) };
  if (options.writes) await prepareToWrite(ws, onNote, { killSwitch: options.killSwitch === true });
  else if (!options.quiet) noteJournal(ws, onNote);
  return ws;
}

export interface ValidateOptions {
  /** Where the flag files come from (default: the working tree). */
  readonly reader?: FileReader;
  /** The project as it was at the base of the change: enables the change rules. */
  readonly base?: Parsed;
  /** How messages name the base (`origin/main (merge base 1a2b3c4d5e6f)`). */
  readonly baseLabel?: string;
  /** Parses already done in this run (the base's): a file with the same text is not parsed again. */
  readonly parseCache?: ParseCache;
  /**
   * The base's commit, when the base is one: the soak-time rule reads from its first-parent history
   * when each raised flag's previous step landed on main. Without it, the soak time is not judged.
   */
  readonly baseCommit?: string;
  /** "Now" for time-based rules. */
  readonly now: Date;
  /** Compare committed dist/ with the fresh synth. */
  readonly drift?: boolean;
  /** Only these environments' manifests (default: all). Flag rules always cover all. */
  readonly environments?: readonly string[];
  /**
   * Which errors stop synthesis (default: every error). The kill switch tolerates errors that
   * were there before it and lie outside the files it edits.
   */
  readonly blocking?: (finding: Finding) => boolean;
  /**
   * Go ahead in every environment (of {@link environments}) that an error does not stop, for
   * commands that report on each environment (`access`, `drill`): an error in an environment's own
   * files (`environments/<env>/`, and `dist/<env>/` when `drift` is asked for) stops that
   * environment only; any other error (the catalog, a link above the folders) stops them all. The
   * environments stopped, with their errors, are {@link Validation.skipped}; the manifests are those
   * of the others.
   */
  readonly eachEnvironment?: boolean;
}

/** An environment {@link ValidateOptions.eachEnvironment} left out, and the errors that stopped it. */
export interface SkippedEnvironment {
  readonly environment: string;
  readonly errors: readonly Finding[];
}

export interface Validation {
  readonly parsed: Parsed;
  /** Synthesized manifests; undefined when the flag files have errors (nothing to synthesize from). */
  readonly manifests?: readonly EnvironmentManifests[];
  /** The project-wide files (the OpenFeature flag manifest), synthesized with the manifests. */
  readonly projectFiles?: readonly ProjectFile[];
  readonly findings: readonly Finding[];
  /** With {@link ValidateOptions.eachEnvironment}: the environments left out, in promotion order. */
  readonly skipped?: readonly SkippedEnvironment[];
}

export async function validate(ws: Workspace, options: ValidateOptions): Promise<Validation> {
  const reader = options.reader ?? diskReader(ws.root);
  // The errors an edit decides by (in the files it changes: a kill switch's own entry) are never
  // dropped by the cap on the findings kept of one rule in one file (model/findings.ts' FindingList).
  const keep: Keep | undefined = options.blocking && reader.changed ? { files: reader.changed, test: options.blocking } : undefined;
  const parsed = parseProject(ws.settings, reader, options.parseCache, keep);
  const project = projectSettings(ws);
  const names = ws.settings.map((s) => s.name);
  const links = [...linkFindings(ws.root, names, [project.openFeatureManifest]), ...distEntryFindings(ws.root, names, [project.openFeatureManifest])];
  let findings: Finding[] = [...links, ...parsed.findings, ...checkStateRules(parsed.model, { now: options.now, keep })];
  if (options.base) {
    // Judged by main: the base's settings and prerequisites, whatever the change does to them.
    const judged = judgedModel(options.base.model, parsed.model);
    if (judged !== parsed.model) findings = withJudgedFindings(findings, checkStateRules(judged, { now: options.now, keep }), options.baseLabel);
    const soak = options.baseCommit ? { now: options.now, landings: landings(ws.root, options.baseCommit, soakNeeds(options.base.model, judged)) } : undefined;
    findings = mergeChangeFindings(findings, checkChangeRules(options.base.model, judged, options.baseLabel, soak));
  }
  findings = capFindings(findings, keep);
  if (options.eachEnvironment) return validateEach(ws, options, parsed, findings);
  const blocks = (fs: readonly Finding[]) => fs.some((f) => f.severity === 'error' && (options.blocking?.(f) ?? true));
  if (blocks(findings)) return { parsed, findings };
  // Synthesis and the manifest policies load cdk8s and every policy: only commands that get this
  // far pay for them (`flagops list` and `status` never do).
  const [{ synthesizeAll, synthesizeProjectFiles }, { checkManifests }, { driftFindings }] = await Promise.all([
    import('../../synth/synth.ts'),
    import('../../policies/manifest-policies.ts'),
    import('./dist.ts'),
  ]);
  const manifests = synthesizeAll(parsed.model, options.environments);
  const projectFiles = synthesizeProjectFiles(parsed.model, project);
  findings.push(...(await checkManifests(manifests, ws.settings)));
  // Drift only means something for manifests that could be written: synth refuses invalid ones.
  // The project-wide files count when the whole project is checked (not for one stack's deploy).
  if (options.drift && !blocks(findings)) {
    findings.push(...driftFindings(ws.root, manifests, options.environments ? undefined : distProjectFiles(ws, projectFiles)));
  }
  return { parsed, manifests, projectFiles, findings };
}

/**
 * {@link validate} for {@link ValidateOptions.eachEnvironment}, from the flag rules' `findings` on:
 * synthesizes, checks (and compares with dist/, for `drift`) only the environments no error stops.
 */
async function validateEach(ws: Workspace, options: ValidateOptions, parsed: Parsed, findings: Finding[]): Promise<Validation> {
  const names = ws.settings.map((s) => s.name);
  const wanted = options.environments ?? names;
  // Recomputed after each step: the manifest policies and the drift add errors of their own.
  const skippedNow = (): SkippedEnvironment[] =>
    wanted.map((environment) => ({ environment, errors: findings.filter((f) => f.severity === 'error' && stopsEnvironment(f, environment, names, options.drift === true)) })).filter((s) => s.errors.length > 0);
  const going = () => {
    const skipped = skippedNow();
    return wanted.filter((env) => !skipped.some((s) => s.environment === env));
  };
  if (going().length === 0) return { parsed, findings, skipped: skippedNow() };
  const [{ synthesizeAll }, { checkManifests }, { driftFindings }] = await Promise.all([import('../../synth/synth.ts'), import('../../policies/manifest-policies.ts'), import('./dist.ts')]);
  const manifests = synthesizeAll(parsed.model, going());
  findings.push(...(await checkManifests(manifests, ws.settings)));
  // Drift only for what could be written; the project-wide files belong to no one environment.
  if (options.drift) {
    const compared = going();
    findings.push(...driftFindings(ws.root, manifests.filter((m) => compared.includes(m.environment))));
  }
  const done = going();
  return { parsed, manifests: manifests.filter((m) => done.includes(m.environment)), findings, skipped: skippedNow() };
}

/**
 * Whether an error stops `environment` when each environment goes ahead on its own: one in another
 * environment's folder (`environments/<other>/`, `dist/<other>/`) does not; one in dist/ stops only
 * when dist/ matters (`dist`: the committed manifests are compared); anything else (the catalog, the
 * project's settings, a link above the folders) stops every environment.
 */
export function stopsEnvironment(finding: Finding, environment: string, environments: readonly string[], dist: boolean): boolean {
  const [top, folder] = finding.file.split('/');
  if (top === 'dist') {
    if (!dist) return false;
    // dist/ itself stops all; the project-wide files (dist/openfeature/) no environment.
    return folder === undefined || folder === environment;
  }
  if (top === 'environments' && folder !== undefined && environments.includes(folder)) return folder === environment;
  return true;
}

/** The project-wide files as lib/workspace/dist.ts plans them: they stay out of every environment's dist/ folder. */
export function distProjectFiles(ws: Workspace, files: readonly ProjectFile[]): ProjectFiles {
  return { files, environments: ws.settings.map((s) => s.name) };
}

/**
 * The state rules as the base's settings judge them, added where they find more than the working
 * tree's settings do (a change that sets `requireApproval: false` still needs `approved_by`), each
 * saying why.
 */
function withJudgedFindings(findings: readonly Finding[], judged: readonly Finding[], baseLabel = 'the base'): Finding[] {
  const key = (f: Finding) => `${f.file}:${f.line}:${f.col}:${f.rule}`;
  const seen = new Set(findings.map(key));
  const more = judged.filter((f) => !seen.has(key(f))).map((f) => ({ ...f, message: `${f.message} (by the settings on the base, ${baseLabel}: a change to them applies once it has landed)` }));
  return [...findings, ...more];
}

/**
 * Change-rule errors replace the state-rule warning they repeat (same rule, same place): a raised
 * flag that breaks the promotion order is one problem, reported once, as an error.
 */
function mergeChangeFindings(findings: readonly Finding[], changeErrors: readonly Finding[]): Finding[] {
  const key = (f: Finding) => `${f.file}:${f.line}:${f.col}:${f.rule}`;
  const shadowed = new Set(changeErrors.map(key));
  return [...findings.filter((f) => f.severity === 'error' || !shadowed.has(key(f))), ...changeErrors];
}

/** A reader that sees `overrides` (path → text) on top of another reader. */
export function overlay(reader: FileReader, overrides: ReadonlyMap<string, string>): FileReader {
  return { read: (path) => overrides.get(path) ?? reader.read(path), changed: new Set(overrides.keys()) };
}

/** "Now": the FLAGOPS_NOW environment variable (RFC 3339, for reproducible scripts and tests) or the clock. */
export function now(): Date {
  const fixed = process.env.FLAGOPS_NOW;
  if (fixed) {
    const t = Date.parse(fixed);
    if (Number.isNaN(t)) throw new UsageError(`FLAGOPS_NOW is not an RFC 3339 timestamp: ${fixed}`);
    return new Date(t);
  }
  return new Date();
}

/** The environment variable that lets a command write a FLAGOPS_NOW ahead of the clock (`1`): for tests and scripts that mean it. */
export const ALLOW_FUTURE_NOW = 'FLAGOPS_ALLOW_FUTURE_NOW';

/**
 * Refuses {@link now} for a command that writes it into `changed_at` (`command`: how messages name
 * it) when FLAGOPS_NOW is ahead of the real clock by more than the skew the future-timestamp rule
 * allows: the file would carry a time that `check`, `drill` and `access` then reject against the
 * real clock. {@link ALLOW_FUTURE_NOW}=1 in `env` (the command's environment) allows it, as `flagops
 * rehearse` does in its scratch copy.
 *
 * @throws UsageError naming the rehearsal, the way to run the pipeline at later times.
 */
export function refuseFutureNow(command: string, env: NodeJS.ProcessEnv, clock: Date = new Date()): void {
  if (env[ALLOW_FUTURE_NOW] === '1') return;
  const at = now();
  const ahead = at.getTime() - clock.getTime();
  if (ahead <= CLOCK_SKEW_MS) return;
  const utc = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  throw new UsageError(
    `FLAGOPS_NOW is ${utc(at)}, ${formatDuration(Math.round(ahead / 60_000) * 60_000)} ahead of this machine's clock (${utc(clock)}): ${command} would write it into changed_at, ` +
      'and check, drill and access would then fail on it [future-timestamp]. To walk a flag through the pipeline at later times, ' +
      'run `flagops rehearse FLAG` (a scratch copy with a bare origin and its own clock; docs/rollouts.md, "Rehearse it locally"); ' +
      `a test or script that means it sets ${ALLOW_FUTURE_NOW}=1`,
  );
}
