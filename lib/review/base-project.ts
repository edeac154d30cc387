/**
 * The project as it is on the base of a change, with the base's own judges: its flag files, and
 * the settings (`environments/<env>/environment.ts`) and `.github/flagops-identities` that were on
 * main. A pull request is judged by these, never by the versions it brings (BRIEF §5, "Judged by
 * main"): a branch that sets `soakMinutes: 0` or maps a new login to the lead's e-mail changes
 * nothing about how it is judged itself.
 *
 * The base's environment.ts files are read from git, never from the working tree. When they are
 * byte-identical to the working tree's (the usual case: one `git ls-tree` tells, by blob SHA), the
 * settings already loaded are used; otherwise each is compiled from its text (esbuild strips the
 * types) and evaluated in memory: nothing is written anywhere.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runInThisContext } from 'node:vm';
import * as environmentModel from '../../model/environments.ts';
import { resolveEnvironmentSettings, type EnvironmentConfig, type EnvironmentSettings } from '../../model/environments.ts';
import { warning, type Finding } from '../../model/findings.ts';
import type { Parsed } from '../../model/flags.ts';
import { printable } from '../../common/text/printable.ts';
import { shortSha } from '../../common/text/sha.ts';
import { parseProject, promotionOrder, statesFile, type ParseCache } from '../workspace/project.ts';
import { flagChanges } from '../../policies/change-rules.ts';
import { checkPullRequestIdentities } from '../../policies/identity-rules.ts';
import { checkRulesChanges, judgedModel, rulesChanges, type Judges } from '../../policies/judged-by-base.ts';
import { entryScopeKey, fileScopeKey, IDENTITIES_FILE, type PullRequestFacts } from '../../model/pull-request.ts';
import { entryText } from '../../common/yaml/yaml-source.ts';
import { gitReader, listTree, readBlobs } from './git.ts';
import { approvalScopes, parseIdentities, readIdentities, type ScopeTarget } from './pull-request.ts';

/** What a change is judged by: the base's flag files, settings and identities. */
export interface BaseProject {
  /** The flag files at the base, parsed with the base's settings (`environments[].settings`). */
  readonly parsed: Parsed;
  /** The base's environment settings, in promotion order. */
  readonly settings: readonly EnvironmentSettings[];
  /** The project's root and the base commit (the identities are read from there when asked: {@link baseIdentities}). */
  readonly root: string;
  readonly commit: string;
  /** The text of each `environments/<env>/environment.ts` at the base, by path. */
  readonly settingsFiles: ReadonlyMap<string, string>;
  /** Problems reading the base's settings (the working tree's are used instead, and said so). */
  readonly findings: readonly Finding[];
}

/** The working tree the base is compared with: its root and its loaded settings. */
export interface WorkingSettings {
  readonly root: string;
  readonly settings: readonly EnvironmentSettings[];
}

const SETTINGS_FILE = /^environments\/([^/]+)\/environment\.ts$/;

const require = createRequire(import.meta.url);

/** The git blob SHA-1 of `bytes`, as `git hash-object` computes it (node:crypto loads on first use: status pays nothing for it). */
const blobSha = (bytes: Buffer): string =>
  (require('node:crypto') as typeof import('node:crypto')).createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

function readWorking(root: string, path: string): Buffer | undefined {
  try {
    return readFileSync(join(root, path));
  } catch {
    return undefined;
  }
}

/**
 * The base project at `commit`: its flag files parsed with its own settings, and its identities.
 * Never throws for what the base holds: a base whose settings cannot be evaluated is judged with the
 * working tree's settings, with a warning that says so.
 */
export function baseProject(ws: WorkingSettings, commit: string, cache?: ParseCache): BaseProject {
  // In path order, as git lists them.
  const tree = [...listTree(ws.root, commit, 'environments')].filter(([path]) => SETTINGS_FILE.test(path));
  const sameAsWorking =
    tree.length === ws.settings.length &&
    tree.every(([path, sha]) => {
      const name = SETTINGS_FILE.exec(path)![1];
      const bytes = ws.settings.some((s) => s.name === name) ? readWorking(ws.root, path) : undefined;
      return bytes !== undefined && blobSha(bytes) === sha;
    });
  let settings: readonly EnvironmentSettings[] = ws.settings;
  let settingsFiles = new Map<string, string>();
  const findings: Finding[] = [];
  if (tree.length > 0) {
    const blobs = readBlobs(ws.root, tree.map(([, sha]) => sha));
    settingsFiles = new Map(tree.map(([path, sha]) => [path, blobs.get(sha) ?? '']));
    if (!sameAsWorking) {
      try {
        settings = promotionOrder([...settingsFiles].map(([path, text]) => evaluateSettings(SETTINGS_FILE.exec(path)![1]!, path, text)));
      } catch (e) {
        // What the base's code threw, Error or not: its first line.
        const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
        const at = { file: '', line: 0, col: 0 };
        findings.push(warning(at, 'base-settings', `the settings on the base (${shortSha(commit)}) cannot be read (${printable(why)}), so the change is judged with the working tree's settings`));
        settings = ws.settings;
      }
    }
  }
  const parsed = parseProject(settings, gitReader(ws.root, commit), cache);
  return { parsed, settings, root: ws.root, commit, settingsFiles, findings };
}

/**
 * `text` with its types stripped. A syntax error is thrown as its place and esbuild's message
 * (`environments/dev/environment.ts:2:1: Expected identifier but found end of file`), not as esbuild's
 * summary line ("Transform failed with 1 error:").
 */
function transform(esbuild: typeof import('esbuild'), path: string, text: string): { code: string } {
  try {
    return esbuild.transformSync(text, { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: path, logLevel: 'silent' });
  } catch (e) {
    const first = (e as { errors?: { text: string; location: { line: number; column: number } | null }[] }).errors?.[0];
    if (!first) throw e;
    throw new Error(`${path}${first.location ? `:${first.location.line}:${first.location.column + 1}` : ''}: ${first.text}`);
  }
}

/** What an environment.ts may import at run time: the settings module (types are erased). */
const SETTINGS_MODULES = /^(\.\.\/|\.\/)(settings|\.\.\/model\/environments)(\.ts|\.js)?$/;

/**
 * Evaluates the text of an environment.ts from git: types stripped by esbuild, run as a CommonJS
 * module whose only import is the settings module. The base is main's own code, so running it is
 * as trusted as running main; it is never written to disk.
 */
export function evaluateSettings(name: string, path: string, text: string): EnvironmentSettings {
  const esbuild = require('esbuild') as typeof import('esbuild');
  const { code } = transform(esbuild, path, text);
  const module = { exports: {} as Record<string, unknown> };
  const load = (spec: string): unknown => {
    if (SETTINGS_MODULES.test(spec)) return environmentModel;
    throw new Error(`${path} imports ${JSON.stringify(spec)}; an environment.ts may import only from ../settings.ts`);
  };
  const wrap = (require('node:module') as { wrap(code: string): string }).wrap;
  const fn = runInThisContext(wrap(code), path) as (...args: unknown[]) => void;
  fn.call(module.exports, module.exports, load, module, path, dirname(path));
  const config = (module.exports.default ?? module.exports) as EnvironmentConfig;
  return resolveEnvironmentSettings(name, config);
}

/** `.github/flagops-identities` at the base; undefined when it did not exist there. */
export const baseIdentities = (base: BaseProject): string | undefined => gitReader(base.root, base.commit).read(IDENTITIES_FILE);

/** The judges on the base, as policies/judged-by-base.ts compares them. */
export function baseJudges(base: BaseProject): Judges {
  const text = baseIdentities(base);
  return {
    settings: base.settings,
    settingsFiles: base.settingsFiles,
    catalog: base.parsed.model.catalog,
    identities: text === undefined ? new Map() : parseIdentities(text).identities,
    ...(text !== undefined ? { identitiesText: text } : {}),
  };
}

/** The judges in the working tree: its settings, their files, the catalog as parsed, the identities file. */
export function workingJudges(ws: WorkingSettings, current: Parsed): Judges {
  const settingsFiles = new Map<string, string>();
  for (const s of ws.settings) {
    const path = `environments/${s.name}/environment.ts`;
    const bytes = readWorking(ws.root, path);
    if (bytes !== undefined) settingsFiles.set(path, bytes.toString('utf8'));
  }
  const identities = readIdentities(ws.root);
  return {
    settings: ws.settings,
    settingsFiles,
    catalog: current.model.catalog,
    identities: identities.identities,
    ...(identities.text !== undefined ? { identitiesText: identities.text } : {}),
  };
}

/**
 * What only the base may decide, for `flagops check`: changes to the judges themselves (settings,
 * prerequisites, identities) and, with the pull request's facts, who changed and approved each
 * entry in an environment that requires approval. `label` names the base in messages.
 */
export function judgeChange(ws: WorkingSettings, onBase: BaseProject, current: Parsed, label: string, pr: PullRequestFacts | undefined): Finding[] {
  const before = baseJudges(onBase);
  const changes = rulesChanges(before, workingJudges(ws, current));
  if (!pr) return checkRulesChanges(changes, label);
  const judged = judgedModel(onBase.parsed.model, current.model);
  // What each approval covers: the entries the pull request changes, and the judges' files it changes.
  const targets: ScopeTarget[] = flagChanges(onBase.parsed.model, judged).map((c) => {
    const env = current.model.environments.find((e) => e.settings.name === c.environment);
    const text = env?.source?.text;
    return { key: entryScopeKey(c.environment, c.flag), file: statesFile(c.environment), flag: c.flag, head: text === undefined ? undefined : entryText(statesFile(c.environment), text, ['flags', c.flag]) };
  });
  for (const file of new Set(changes.map((c) => c.file))) targets.push({ key: fileScopeKey(file), file, head: readWorking(ws.root, file)?.toString('utf8') });
  const scopes = approvalScopes(ws.root, pr, targets);
  return [...checkRulesChanges(changes, label, { pr, baseIdentities: before.identities, scopes }), ...checkPullRequestIdentities(onBase.parsed.model, judged, pr, scopes)];
}
