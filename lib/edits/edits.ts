/**
 * The edit commands' core (enable, rollout, disable, add), without any CLI concerns:
 * under a lock, read the files, change only the affected entries' text, validate the result with
 * every rule (including the change rules against the files as they were), and only then write the
 * flag files and dist/ atomically. A refused edit writes nothing.
 */
import { describeExposure, exposure } from '../../policies/state-rules.ts';
import type { Finding } from '../../model/findings.ts';
import { FLAG_NAME_PATTERN, type FlagState, type FlagType } from '../../model/flag-schemas.ts';
import { describeBase, findBase } from '../review/base.ts';
import { baseProject } from '../review/base-project.ts';
import { distTransaction, planDist, type DistPlan } from '../workspace/dist.ts';
import { gitReader, resolveRef } from '../review/git.ts';
import { withLock } from '../workspace/lock.ts';
import { commitTransaction } from '../workspace/transaction.ts';
import { CATALOG_FILE, diskReader, parseProject, statesFile, type FileReader, type ParseCache } from '../workspace/project.ts';
import { addEntry, removeEntry, setFields } from '../../common/yaml/yaml-edit.ts';
import type { Parsed } from '../../model/flags.ts';
import type { EnvironmentSettings } from '../../model/environments.ts';
import { quote } from '../../common/text/errors.ts';
import { printable } from '../../common/text/printable.ts';
import { didYouMean, unknownEnvironment, unknownFlag } from '../../common/text/suggest.ts';
import { editEntry, entryState, inEntry, judgeEntry, locateEntry, parseEntry, readCatalogEntry, readFlag, readOwnFile, uncertainEntry, type FileEntry } from './entry-read.ts';
import { distProjectFiles, overlay, UsageError, validate, type Workspace } from '../workspace/workspace.ts';
import { shortSha } from '../../common/text/sha.ts';
import { scanSources } from '../code/code-refs.ts';
import { codeSource, NO_SOURCE, resolveSource, type SourceRequest } from '../code/code-source.ts';
import type { CodeReference } from '../../model/code-references.ts';

/** The audit fields every edit carries. */
export interface AuditFields {
  readonly reason: string;
  readonly ticket?: string;
  /** E-mail of who makes the change (`changed_by`). */
  readonly by: string;
  readonly approvedBy?: string;
  /** When (`changed_at`), truncated to seconds. */
  readonly at: Date;
}

export type StateEditKind = 'enable' | 'rollout' | 'disable';

export interface StateEdit extends AuditFields {
  readonly kind: StateEditKind;
  readonly flag: string;
  readonly environment: string;
  /** enable: the rollout (default: first step above 0); rollout: the target. */
  readonly rollout?: number;
}

export interface AddFlag extends Omit<AuditFields, 'approvedBy'> {
  readonly flag: string;
  readonly description: string;
  readonly owner: string;
  readonly type: FlagType;
  readonly expires?: string;
  readonly requires?: readonly string[];
}

export interface EditOutcome {
  /** Whether the files were written. */
  readonly applied: boolean;
  /** True when the request changes nothing (already in that state). */
  readonly noop?: boolean;
  /** One line describing the change, e.g. `production: x_enabled on 5% -> on 25%`. */
  readonly summary: string;
  /** One line per flag when the change touches several (restore). */
  readonly details?: readonly string[];
  /** Why the edit was refused before any rule ran (remove: the flag is still on somewhere); nothing was written. */
  readonly refused?: string;
  /** Every finding of the validation of the edited files (errors mean refused). */
  readonly findings: readonly Finding[];
  /** Flag files changed (written when applied). */
  readonly files: readonly string[];
  readonly dist?: DistPlan;
  /** What the change rules judged the edit against (`origin/main (merge base 1a2b3c4d5e6f)`). */
  readonly base: string;
  /**
   * What a kill switch tolerated and how it wrote dist/: the files with errors it does not depend
   * on (CI still fails on them), and a ConfigMap rewritten for its flag alone.
   */
  readonly notes?: readonly string[];
  /** Why the base is not the merge base with origin/main, when it is not. */
  readonly baseNote?: string;
}

export interface EditOptions {
  /** Validate and report, but write nothing. */
  readonly dryRun?: boolean;
  /** Told what flagops did on its own (a stale lock taken over). */
  readonly onNote?: (note: string) => void;
}

/**
 * Runs `fn` holding the project's edit lock (lib/workspace/lock.ts), so concurrent edits serialize instead of
 * losing one; a lock left by a killed edit is taken over at once, with a note.
 */
export async function withEditLock<T>(root: string, fn: () => Promise<T>, onNote?: (note: string) => void): Promise<T> {
  return withLock(root, fn, { onNote });
}

/** The parsed environment `name`, or a usage error listing the known ones. */
function environmentOf(ws: Workspace, parsed: Parsed, name: string): Parsed['model']['environments'][number] {
  const env = parsed.model.environments.find((e) => e.settings.name === name);
  if (!env) throw new UsageError(unknownEnvironment(name, ws.settings.map((s) => s.name)));
  return env;
}

/** An RFC 3339 UTC time to the second (`2026-11-23T12:00:00Z`), as the audit fields hold it. */
const timestamp = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`;

export async function editFlagState(ws: Workspace, edit: StateEdit, options: EditOptions = {}): Promise<EditOutcome> {
  return withEditLock(ws.root, async () => {
    const disk = diskReader(ws.root);
    const cache: ParseCache = new Map();
    const settings = ws.settings.find((s) => s.name === edit.environment);
    if (!settings) throw new UsageError(unknownEnvironment(edit.environment, ws.settings.map((s) => s.name)));
    // The kill switch, and any edit that lowers exposure, reads only the entries it needs (lib/edits/entry-read.ts).
    if (edit.kind === 'disable') return lowerExposure(ws, settings, edit, disk, cache, options);
    if (edit.kind === 'rollout' && lowers(ws.root, settings, edit, disk)) return lowerExposure(ws, settings, edit, disk, cache, options);
    const before = parseProject(ws.settings, disk, cache);
    const env = environmentOf(ws, before, edit.environment);
    if (!before.model.catalog.names.includes(edit.flag)) throw new UsageError(unknownFlag(edit.flag, before.model.catalog.names, CATALOG_FILE, true));
    const current = env.states[edit.flag];
    if (!current && !env.readable) {
      // The file itself cannot be trusted (syntax, a refused YAML construct): say why, change nothing.
      const findings = before.findings.filter((f) => f.file === env.file);
      const summary = `${edit.environment}: ${edit.flag} cannot be edited: ${env.file} has errors`;
      return { applied: false, summary, findings, files: [env.file], base: 'none' };
    }
    if (!current) {
      if (!env.names.includes(edit.flag)) throw new UsageError(`flag '${edit.flag}' has no entry in ${env.file}`);
      throw new UsageError(`flag '${edit.flag}' is invalid in ${env.file}; run flagops check, fix it, then raise it`);
    }
    const target = nextState(edit, current, env.settings.rolloutSteps);
    const summary = `${edit.environment}: ${edit.flag} ${describeExposure(current)} -> ${describeExposure({ ...current, ...target })}`;
    if (target.enabled === current.enabled && target.rollout === current.rollout) {
      return { applied: false, noop: true, summary: `${edit.environment}: ${edit.flag} is already ${describeExposure(current)}; nothing changed`, findings: [], files: [], base: 'none' };
    }
    const file = env.file;
    const edited = setFields(disk.read(file)!, ['flags', edit.flag], stateFields(edit, target), file);
    return finish(ws, before, new Map([[file, edited]]), summary, edit.at, { ...options, environments: [edit.environment], cache });
  }, options.onNote);
}

/** The fields a state edit writes. */
function stateFields(edit: StateEdit, target: { enabled: boolean; rollout: number }): Record<string, string | number | boolean | undefined> {
  return {
    enabled: target.enabled,
    rollout: target.rollout,
    reason: edit.reason,
    ticket: edit.ticket,
    changed_by: edit.by,
    changed_at: timestamp(edit.at),
    approved_by: edit.approvedBy,
  };
}

/**
 * Whether a rollout edit lowers the exposure of a valid entry, as the kill switch reads it (then it
 * is judged like the kill switch). An entry it cannot read, or a rollout without a target, is no
 * lowering: the edit's own path says what is wrong.
 */
function lowers(root: string, settings: EnvironmentSettings, edit: StateEdit, disk: FileReader): boolean {
  const { state } = readFlag(root, disk, settings, edit.flag);
  return state !== undefined && edit.rollout !== undefined && exposure({ ...state, ...nextState(edit, state, settings.rolloutSteps) }) < exposure(state);
}

/**
 * The kill switch (and a rollout that lowers exposure): reads only its flag's catalog entry and its
 * own entry (lib/edits/entry-read.ts), edits the entry alone, and is blocked only by an error in
 * that entry as written. Every other problem, in any file, is reported, named in a note, and
 * tolerated: dist/ is synthesized when the environment's files are whole, else only the flag's
 * data in the committed ConfigMap is rewritten (lib/edits/kill-switch.ts).
 */
async function lowerExposure(ws: Workspace, settings: EnvironmentSettings, edit: StateEdit, disk: FileReader, cache: ParseCache, options: EditOptions): Promise<EditOutcome> {
  const file = statesFile(edit.environment);
  const catalog = readCatalogEntry(ws.root, disk, edit.flag);
  // A name that is no flag name has no entry the kill switch could write (and is never printed raw).
  if (catalog.declared === false || !isFlagName(edit.flag)) throw new UsageError(unknownFlag(edit.flag, catalog.names, CATALOG_FILE, true));
  const text = readOwnFile(disk, file);
  const lookup = locateEntry(file, text, edit.flag);
  if ('absent' in lookup) throw new UsageError(`flag ${quote(edit.flag)} has no entry in ${file}${didYouMean(edit.flag, lookup.names)}`);
  const refuse = (summary: string, findings: readonly Finding[], base = 'none'): EditOutcome => ({ applied: false, summary, findings, files: [file], base });
  const cannot = `${edit.environment}: ${edit.flag} cannot be edited`;
  if ('uncertain' in lookup) return refuse(`${cannot}: where its entry ends in ${file} is uncertain`, [uncertainEntry(lookup)]);
  const own = { file, text, entry: lookup.found };
  const pre = parseEntry(settings, own);
  if (!pre.model.environments[0]!.readable) {
    // The entry itself cannot be trusted (a refused YAML construct, a syntax error in it): say why, change nothing.
    return refuse(`${cannot}: its entry in ${file} has errors`, pre.findings.filter((f) => inEntry(own, f)));
  }
  const { state, raw } = entryState(pre, edit.flag);
  const current: FlagState = state ?? ({ ...raw, enabled: raw.enabled === true, rollout: typeof raw.rollout === 'number' ? raw.rollout : 0 } as FlagState);
  const target = nextState(edit, current, settings.rolloutSteps);
  const summary = `${edit.environment}: ${edit.flag} ${describeExposure(current)} -> ${describeExposure({ ...current, ...target })}`;
  // Already off: nothing to do (a lowering never is: only an entry that is on can be lowered). An
  // entry that fails the schema is off only when it says `enabled: false`; the kill switch writes it anyway.
  const off = state ? !state.enabled : raw.enabled === false;
  if (off) return { applied: false, noop: true, summary: `${edit.environment}: ${edit.flag} is already ${describeExposure(current)}; nothing changed`, findings: [], files: [], base: 'none' };
  const fields = stateFields(edit, target);
  // The kill switch of an invalid entry keeps a rollout it cannot read, for the findings to show.
  if (!state && typeof raw.rollout !== 'number') delete fields.rollout;
  const edited = editEntry(own, edit.flag, fields);

  const before = parseProject(ws.settings, disk, cache);
  const base = editBase(ws, before, cache);
  const baseEntry = base.commit === undefined ? own : entryAt(gitReader(ws.root, base.commit), file, edit.flag);
  // Judged by main: the environment's settings on the base (a ticket it requires there is required here).
  const onBase = base.parsed.model.environments.find((e) => e.settings.name === edit.environment)?.settings ?? settings;
  const judged = judgeEntry(onBase, edited, edit.flag, baseEntry, base.label, edit.at);
  if (judged.findings.some((f) => f.severity === 'error') || !judged.state) return { ...refuse(summary, judged.findings, base.label), baseNote: base.note };

  // The whole project, for what to report and whether the environment can be synthesized as a whole.
  const changes = new Map([[file, edited.text]]);
  const whole = (f: Finding): boolean => f.severity === 'error' && (f.file === file || f.file === CATALOG_FILE);
  const result = await validate(ws, {
    reader: overlay(disk, changes),
    base: base.parsed,
    baseLabel: base.label,
    baseCommit: base.commit,
    now: edit.at,
    environments: [edit.environment],
    blocking: whole,
    parseCache: cache,
  });
  const findings = [...judged.findings, ...result.findings.filter((f) => !inEntry(edited, f))];
  const notes = toleratedNotes(findings, edited.file, edit.flag);
  let dist: DistPlan;
  if (result.manifests) {
    // The project-wide files are synthesized with the manifests (lib/workspace/workspace.ts validate).
    dist = planDist(ws.root, result.manifests, distProjectFiles(ws, result.projectFiles!));
  } else {
    // The environment's flag file or the catalog has errors: a synthesis would leave their broken
    // entries' flags out, so only this flag's data in the committed ConfigMap is rewritten.
    const [{ patchFlagConfigMap }, { definitionFields, stateFields: constructFields }] = await Promise.all([import('./kill-switch.ts'), import('../../synth/synth.ts')]);
    const definition = catalog.definition;
    const patched = patchFlagConfigMap(ws.root, edit.environment, edit.flag, (old) => ({ ...old, ...(definition ? definitionFields(definition) : {}), ...constructFields(judged.state!) }));
    dist = { write: patched.map((f) => ({ path: f.path, text: f.text, added: false })), remove: [], unchanged: 0 };
    const broken = [CATALOG_FILE, file].filter((path) => findings.some((f) => whole(f) && f.file === path));
    notes.push(`dist/${edit.environment}: only ${edit.flag}'s data in the flag ConfigMap was rewritten; the full synthesis waits until ${broken.join(' and ')} ${broken.length === 1 ? 'has' : 'have'} no errors (flagops synth)`);
    // A declared flag without a definition always has a problem (entry-read.ts readCatalogEntry).
    if (!definition) notes.push(`the catalog entry of ${edit.flag} cannot be read (${catalog.problem!}), so dist/ keeps the flag's committed description, owner, type and expiry`);
  }
  if (!options.dryRun) {
    const txn = distTransaction(dist);
    commitTransaction(ws.root, { writes: new Map([...changes, ...txn.writes]), removes: txn.removes });
  }
  return { applied: !options.dryRun, summary, findings, files: [file], dist, base: base.label, baseNote: base.note, notes };
}

/** The flag's entry in a flag file at the base, when it can be told for sure (else the change rules have nothing to compare with). */
function entryAt(reader: FileReader, file: string, flag: string): FileEntry | undefined {
  let text: string | undefined;
  try {
    text = reader.read(file);
  } catch {
    // unreadable at the base: nothing to compare with, as when it is missing there
  }
  if (text === undefined) return undefined;
  const lookup = locateEntry(file, text, flag);
  return 'found' in lookup ? { file, text, entry: lookup.found } : undefined;
}

/** One note per file with errors outside the entry written: where they are, and that CI still fails on them. */
function toleratedNotes(findings: readonly Finding[], file: string, flag: string): string[] {
  const byFile = new Map<string, Set<number>>();
  for (const f of findings) {
    if (f.severity !== 'error') continue;
    let lines = byFile.get(f.file);
    if (!lines) byFile.set(f.file, (lines = new Set()));
    if (f.line > 0) lines.add(f.line);
  }
  return [...byFile.keys()].sort().map((path) => {
    const lines = [...byFile.get(path)!].sort((a, b) => a - b);
    const where = lines.length === 0 ? '' : ` (line${lines.length === 1 ? '' : 's'} ${lines.slice(0, 8).join(', ')}${lines.length > 8 ? ', ...' : ''})`;
    const what = path === file ? ` outside the entry of ${flag}` : '';
    return `tolerated: ${printable(path)} has errors${what}${where}; the kill switch does not depend on them, but flagops check and CI fail until they are fixed`;
  });
}

function nextState(edit: StateEdit, current: FlagState, steps: readonly number[]): { enabled: boolean; rollout: number } {
  switch (edit.kind) {
    case 'disable':
      return { enabled: false, rollout: current.rollout };
    case 'enable': {
      const rollout = edit.rollout ?? steps.find((s) => s > 0)!;
      if (rollout <= 0) throw new UsageError(`enable needs a rollout above 0 (got ${rollout}); to turn a flag off use flagops disable`);
      if (current.enabled) throw new UsageError(`flag '${edit.flag}' is already on (${current.rollout}%) in ${edit.environment}; use flagops rollout to change the percentage`);
      return { enabled: true, rollout };
    }
    case 'rollout': {
      if (edit.rollout === undefined) throw new UsageError('rollout needs --to N');
      return { enabled: edit.rollout > 0, rollout: edit.rollout };
    }
  }
}

const isFlagName = (name: string): boolean => name.length <= 63 && new RegExp(FLAG_NAME_PATTERN).test(name);

/** A flag name as the naming rule wants it; anything else never reaches a file. */
function checkFlagName(name: string, what: string): void {
  if (!isFlagName(name)) {
    throw new UsageError(`${what} ${JSON.stringify(name)} is not a flag name: snake_case, ending in _enabled, at most 63 characters (for example referral_tracking_enabled)`);
  }
}

export async function addFlag(ws: Workspace, add: AddFlag, options: EditOptions = {}): Promise<EditOutcome> {
  checkFlagName(add.flag, 'flag');
  for (const req of add.requires ?? []) checkFlagName(req, '--requires');
  return withEditLock(ws.root, async () => {
    const disk = diskReader(ws.root);
    const cache: ParseCache = new Map();
    const before = parseProject(ws.settings, disk, cache);
    if (before.model.catalog.names.includes(add.flag)) throw new UsageError(`flag '${add.flag}' is already in ${CATALOG_FILE}`);
    const changes = new Map<string, string>();
    const catalogText = disk.read(CATALOG_FILE);
    if (catalogText === undefined) throw new UsageError(`${CATALOG_FILE} does not exist`);
    changes.set(
      CATALOG_FILE,
      addEntry(catalogText, ['flags'], add.flag, {
        description: add.description,
        owner: add.owner,
        type: add.type,
        created: timestamp(add.at).slice(0, 10),
        expires: add.expires,
        requires: add.requires && add.requires.length > 0 ? add.requires : undefined,
      }, CATALOG_FILE),
    );
    for (const env of before.model.environments) {
      const text = disk.read(env.file);
      if (text === undefined) throw new UsageError(`${env.file} does not exist`);
      changes.set(
        env.file,
        addEntry(text, ['flags'], add.flag, {
          enabled: false,
          rollout: 0,
          reason: add.reason,
          ticket: add.ticket,
          changed_by: add.by,
          changed_at: timestamp(add.at),
        }, env.file),
      );
    }
    return finish(ws, before, changes, `added ${add.flag}: off in ${before.model.environments.map((e) => e.settings.name).join(', ')}`, add.at, { ...options, cache });
  }, options.onNote);
}

export interface RestoreFlags extends AuditFields {
  readonly environment: string;
  /** A git ref (branch, tag, SHA): the flags go back to their state there. */
  readonly to: string;
  /** Only these flags (default: every flag of the catalog). */
  readonly flags?: readonly string[];
}

/**
 * `flagops restore`: sets the flags of one environment back to their state (enabled, rollout) at a
 * git ref, with fresh audit fields, as one change judged by every rule like any other: lowering
 * always passes, a raise meets the promotion order, the prerequisites, one step at a time and the
 * soak time. Flags added since the ref are left as they are (and said so).
 */
export async function restoreFlags(ws: Workspace, restore: RestoreFlags, options: EditOptions = {}): Promise<EditOutcome> {
  return withEditLock(ws.root, async () => {
    const disk = diskReader(ws.root);
    const before = parseProject(ws.settings, disk);
    const env = environmentOf(ws, before, restore.environment);
    if (!resolveRef(ws.root, 'HEAD')) throw new UsageError('flagops restore reads the flags at a git ref, and this project is not in a git repository with a commit');
    const commit = resolveRef(ws.root, restore.to, '--to');
    if (!commit) throw new UsageError(`--to ${quote(restore.to)} is not a commit in this repository: name a branch, a tag or a commit SHA (\`git log --oneline -- ${env.file}\` lists the changes; fetch it first if it is on the server)`);
    const then = parseProject(ws.settings, gitReader(ws.root, commit)).model.environments.find((e) => e.settings.name === restore.environment)!;
    if (!then.readable) throw new UsageError(`${env.file} cannot be read at ${restore.to} (${shortSha(commit)}): it is missing there or has errors, so there is nothing to restore from`);
    for (const flag of restore.flags ?? []) {
      if (!before.model.catalog.names.includes(flag)) throw new UsageError(unknownFlag(flag, before.model.catalog.names, CATALOG_FILE));
      if (!then.states[flag]) throw new UsageError(`flag ${quote(flag)} has no valid entry in ${env.file} at ${restore.to} (${shortSha(commit)}), so it cannot be restored from there`);
    }
    const scope = restore.flags ?? before.model.catalog.names;
    if (!env.readable) throw new UsageError(`${env.file} has errors; run flagops check and fix them before restoring`);
    let text = disk.read(env.file)!; // read as YAML just now
    const details: string[] = [];
    const skipped: string[] = [];
    for (const flag of scope) {
      const now = env.states[flag];
      const old = then.states[flag];
      if (!old) {
        skipped.push(flag);
        continue;
      }
      if (!now) throw new UsageError(`flag ${quote(flag)} is invalid in ${env.file}; run flagops check and fix it before restoring`);
      if (now.enabled === old.enabled && now.rollout === old.rollout) continue;
      details.push(`${flag}: ${describeExposure(now)} -> ${describeExposure(old)}`);
      text = setFields(text, ['flags', flag], {
        enabled: old.enabled,
        rollout: old.rollout,
        reason: restore.reason,
        ticket: restore.ticket,
        changed_by: restore.by,
        changed_at: timestamp(restore.at),
        approved_by: restore.approvedBy,
      }, env.file);
    }
    if (skipped.length > 0) options.onNote?.(`left as they are (no entry in ${env.file} at ${restore.to}): ${skipped.join(', ')}`);
    const at = `${restore.to} (${shortSha(commit)})`;
    if (details.length === 0) {
      return { applied: false, noop: true, summary: `${restore.environment}: every flag restored is already in its state at ${at}; nothing changed`, findings: [], files: [], base: 'none' };
    }
    const summary = `${restore.environment}: ${details.length === 1 ? '1 flag back to its' : `${details.length} flags back to their`} state at ${at}`;
    const outcome = await finish(ws, before, new Map([[env.file, text]]), summary, restore.at, { ...options, environments: [restore.environment] });
    return { ...outcome, details };
  }, options.onNote);
}

export interface RemoveFlag extends Omit<AuditFields, 'approvedBy'> {
  readonly flag: string;
  /**
   * The flag is on 100% everywhere and the code no longer reads it (it always takes the on path):
   * removing it changes nothing for users.
   */
  readonly keepCodePath?: boolean;
  /** Where the backend's checkout is, for `keepCodePath` (default: FLAGOPS_SOURCE aside, sourceFolders of environments/project.ts). */
  readonly code?: SourceRequest;
}

/**
 * `flagops remove`: deletes a flag from the catalog and every environment's flag file, as one
 * change, once removing it changes nothing for users: off everywhere (the code keeps its off path),
 * or on 100% everywhere with `keepCodePath` (the code always takes the on path). Refused while
 * another flag requires it, or while it is on for some users somewhere.
 */
export async function removeFlag(ws: Workspace, remove: RemoveFlag, options: EditOptions = {}): Promise<EditOutcome> {
  return withEditLock(ws.root, async () => {
    const disk = diskReader(ws.root);
    const before = parseProject(ws.settings, disk);
    const { catalog, environments } = before.model;
    if (!catalog.names.includes(remove.flag)) throw new UsageError(unknownFlag(remove.flag, catalog.names, CATALOG_FILE));
    const refuse = (why: string): EditOutcome => ({ applied: false, refused: why, summary: `${remove.flag} was not removed`, findings: [], files: [], base: 'none' });
    const invalid = environments.find((e) => e.names.includes(remove.flag) && !e.states[remove.flag]);
    if (invalid) throw new UsageError(`flag ${quote(remove.flag)} is invalid in ${invalid.file}; run flagops check and fix it first`);
    const dependants = catalog.names.filter((n) => n !== remove.flag && catalog.flags[n]?.requires?.includes(remove.flag));
    if (dependants.length > 0) return refuse(`${dependants.join(', ')} require${dependants.length === 1 ? 's' : ''} ${remove.flag}: take it out of their \`requires\` in ${CATALOG_FILE} first`);
    const states = environments.map((e) => ({ env: e.settings.name, level: exposure(e.states[remove.flag]), state: e.states[remove.flag] }));
    const where = states.map((s) => `${s.env}: ${describeExposure(s.state)}`).join(', ');
    const off = states.every((s) => s.level === 0);
    const full = states.every((s) => s.level === 100);
    if (off && remove.keepCodePath) {
      return refuse(`${remove.flag} is off everywhere (${where}): without the flag the code keeps its off path; --keep-code-path is for a flag on 100% everywhere whose code always takes the on path`);
    }
    if (full && !remove.keepCodePath) {
      return refuse(`${remove.flag} is on 100% everywhere: without it in the ConfigMap the backend falls back to its default (off) for everyone. Remove the flag from the code first so it always takes the on path, then pass --keep-code-path`);
    }
    if (full && remove.keepCodePath) {
      const reads = codeReading(ws, remove.flag, catalog.names, remove.code ?? { cwd: ws.root, env: {} }, options.onNote);
      if (reads && reads.places.length > 0) {
        const n = reads.places.length;
        return {
          ...refuse(
            `--keep-code-path says the code no longer reads ${remove.flag}, but flagops refs finds it in ${n} place${n === 1 ? '' : 's'} in ${reads.folders.join(', ')}: ` +
              `without the flag that code falls back to its default (off) for everyone. Remove it from the code first (always take the on path), then run flagops remove ${remove.flag} --keep-code-path again`,
          ),
          details: reads.places.map((r) => `${r.file}:${r.line}:${r.col}: ${r.code}`),
        };
      }
    }
    if (!off && !full) {
      return refuse(`${remove.flag} is on for some users (${where}): removing it would switch them. Turn it off everywhere (flagops disable), or take it to 100% everywhere (flagops advance) and remove it from the code, first`);
    }
    // The catalog names the flag, and each file changed has an entry of it: every one was read just now.
    const changes = new Map([[CATALOG_FILE, removeEntry(disk.read(CATALOG_FILE)!, ['flags'], remove.flag, CATALOG_FILE)]]);
    for (const env of environments) {
      if (env.names.includes(remove.flag)) changes.set(env.file, removeEntry(disk.read(env.file)!, ['flags'], remove.flag, env.file));
    }
    const how = off ? 'it was off everywhere' : 'it was on 100% everywhere; the code keeps the on path';
    return finish(ws, before, changes, `removed ${remove.flag} from the catalog and ${environments.map((e) => e.settings.name).join(', ')} (${how})`, remove.at, options);
  }, options.onNote);
}

/**
 * Where the backend's checkout (--src, FLAGOPS_SOURCE or `sourceFolders` in environments/project.ts)
 * still reads `flag`, as `flagops refs` finds it: `remove --keep-code-path` is a claim about the
 * code, checked here. Undefined, with a note, when no folder is set anywhere; a folder that is
 * missing is a usage error (the claim cannot be checked).
 */
function codeReading(ws: Workspace, flag: string, catalog: readonly string[], request: SourceRequest, onNote?: (note: string) => void): { folders: string[]; places: CodeReference[] } | undefined {
  const source = codeSource(ws, request);
  if (!source) {
    onNote?.(`the code was not checked for ${flag}, as no source folders are set: make sure no code reads it (to have it checked, ${NO_SOURCE})`);
    return undefined;
  }
  let folders;
  try {
    folders = resolveSource(ws, source);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`--keep-code-path needs the code to check that it no longer reads ${flag}: ${e.message}`);
    throw e;
  }
  const scan = scanSources(ws.root, folders, catalog);
  return { folders: folders.map((f) => f.shown), places: scan.references.filter((r) => r.flag === flag) };
}

interface FinishOptions extends EditOptions {
  /** The environments whose dist/ the edit changes (default: all). */
  readonly environments?: readonly string[];
  /** The parses of this run: unchanged files are not parsed again. */
  readonly cache?: ParseCache;
}

async function finish(
  ws: Workspace,
  before: Parsed,
  changes: Map<string, string>,
  summary: string,
  at: Date,
  options: FinishOptions,
): Promise<EditOutcome> {
  const base = editBase(ws, before, options.cache);
  const result = await validate(ws, {
    reader: overlay(diskReader(ws.root), changes),
    base: base.parsed,
    baseLabel: base.label,
    baseCommit: base.commit,
    now: at,
    environments: options.environments,
    parseCache: options.cache,
  });
  const files = [...changes.keys()];
  const outcome = { summary, findings: result.findings, files, base: base.label, baseNote: base.note };
  if (!result.manifests || result.findings.some((f) => f.severity === 'error')) return { applied: false, ...outcome };
  const dist = planDist(ws.root, result.manifests, distProjectFiles(ws, result.projectFiles!));
  if (!options.dryRun) {
    // One transaction for the flag files and dist/: a kill at any point leaves the old or the new
    // state of every file, or a journal the next flagops command completes (lib/workspace/transaction.ts).
    const txn = distTransaction(dist);
    commitTransaction(ws.root, { writes: new Map([...changes, ...txn.writes]), removes: txn.removes });
  }
  return { applied: !options.dryRun, ...outcome, dist };
}

interface EditBase {
  readonly parsed: Parsed;
  readonly label: string;
  /** The base's commit (for the soak time); undefined outside git. */
  readonly commit?: string;
  readonly note?: string;
}

/**
 * The base an edit is judged against: the same as `flagops check` (the merge base of HEAD and
 * origin/main), so a local edit is refused exactly when CI would refuse the pull request. Without
 * origin/main: HEAD; outside git: the files as they were before this edit. Both say so.
 */
function editBase(ws: Workspace, before: Parsed, cache?: ParseCache): EditBase {
  const found = findBase(ws.root);
  // Judged by main: the base's flag files with the base's settings, as check judges the pull request.
  if (found.ok) return { parsed: baseProject(ws, found.base.commit, cache).parsed, label: describeBase(found.base), commit: found.base.commit };
  if (found.fallback) {
    return {
      parsed: baseProject(ws, found.fallback.commit, cache).parsed,
      label: describeBase(found.fallback),
      commit: found.fallback.commit,
      note: `${found.problem}; this edit is judged against ${describeBase(found.fallback)}, and CI will judge the pull request against origin/main`,
    };
  }
  return { parsed: before, label: 'the files before this edit', note: `${found.problem}; this edit is judged against the files before it` };
}

