/**
 * Parse step: the flag files and environment settings of a project, read into a typed model.
 *
 * Reading (disk or a git ref) is behind {@link FileReader}; parsing returns the model plus the
 * YAML-level and schema findings. Policies run on the model afterwards (policies/*.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { catalogSchema, flagStatesSchema, type FlagDefinition, type FlagState } from '../../model/flag-schemas.ts';
import { error, FindingList, type Finding, type Keep } from '../../model/findings.ts';
import { validateEntries } from '../../policies/schema-validation.ts';
import '../../policies/precompiled.ts';
import {
  resolveEnvironmentSettings,
  resolveProjectSettings,
  type EnvironmentConfig,
  type EnvironmentSettings,
  type ProjectConfig,
  type ProjectSettings,
} from '../../model/environments.ts';
import { UsageError } from '../../common/text/errors.ts';
import { isLink, linkIn } from './links.ts';
import { describeKind, entryKind, mib, readRegularFile } from './regular-files.ts';
import { printable } from '../../common/text/printable.ts';
import { DeferredYamlSource, YamlSource } from '../../common/yaml/yaml-source.ts';
import type { CatalogModel, EnvironmentModel, FlagFileSource, Parsed, ProjectModel } from '../../model/flags.ts';
import { parseStoreIn, type ParseStore } from './parse-store.ts';

export const CATALOG_FILE = 'environments/catalog.yaml';
export const statesFile = (env: string): string => `environments/${env}/flags.yaml`;

/**
 * Where flag files come from: the working tree, or a git ref. `undefined` = the file does not exist.
 * A path that exists but cannot be read as text throws {@link UnreadableFile}.
 */
export interface FileReader {
  read(path: string): string | undefined;
  /** The files this reader shows as an edit changes them (lib/workspace/workspace.ts' overlay), if any. */
  readonly changed?: ReadonlySet<string>;
}

/** Largest flag file read: far above any real one (the ConfigMap built from them stays under 1 MiB). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * A flag file that exists but is not readable text: a directory, a special file, a file without
 * permission, one too large, or bytes that are not UTF-8. Reported as an `unreadable-file`
 * finding (a usage error, exit 2, where no finding can be reported).
 */
export class UnreadableFile extends UsageError {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** Line and column of the problem in the file, when it is about its content. */
    readonly at?: { readonly line: number; readonly col: number },
  ) {
    super(at ? `${path}:${at.line}:${at.col}: ${reason}` : `${path} ${reason}`);
  }
}

export function diskReader(root: string): FileReader {
  return {
    read: (path) => {
      // Links are never followed in the project (lib/workspace/links.ts): a flag file under one is unreadable.
      const link = linkIn(root, path);
      if (link !== undefined) {
        throw new UnreadableFile(path, link === path ? 'is a symbolic link; flagops never reads through links in the project: replace it with the plain file' : `is under ${link}, a symbolic link; flagops never reads through links in the project`);
      }
      return readTextFile(join(root, path), path);
    },
  };
}

/**
 * Reads a file as UTF-8 text (a leading byte-order mark is kept: YAML allows it). Only a regular
 * file is opened (lib/workspace/regular-files.ts): a directory, FIFO, socket or device in its place
 * is reported without being opened, so it can neither fail the read nor block it.
 */
function readTextFile(absolute: string, path: string): string | undefined {
  const file = readRegularFile(absolute, MAX_FILE_BYTES);
  switch (file.status) {
    case 'absent':
      return undefined;
    case 'not-a-file':
      throw new UnreadableFile(path, `is ${describeKind(file.kind)}, not a file; replace it with the plain flag file`);
    case 'too-large':
      throw new UnreadableFile(path, `is ${mib(file.size)}; flag files may be at most ${mib(MAX_FILE_BYTES, 0)}`);
    case 'unreadable':
      if (file.code === 'EACCES' || file.code === 'EPERM') throw new UnreadableFile(path, 'cannot be read (permission denied)');
      throw new UnreadableFile(path, `cannot be read (${file.code})`);
    case 'read':
      return decodeUtf8(file.bytes, path);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of `bytes`, or UnreadableFile at the first byte that is not UTF-8. */
function decodeUtf8(bytes: Buffer, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = bytes.subarray(0, offset).toString('utf8').split('\n');
    const at = { line: before.length, col: before.at(-1)!.length + 1 };
    throw new UnreadableFile(path, `byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} is not UTF-8: flag files are UTF-8 text`, at);
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= bytes.length || (bytes[i + k]! & 0xc0) !== 0x80) return i;
    const text = bytes.subarray(i, i + n + 1).toString('utf8');
    if (text.includes('\ufffd')) return i; // overlong, surrogate or beyond U+10FFFF
    i += n + 1;
  }
  return bytes.length;
}

/** An environment whose `environment.ts` could not be loaded, and why. */
export interface UnloadedEnvironment {
  readonly environment: string;
  readonly problem: string;
}

/**
 * Loads every `environments/<env>/environment.ts` under `root`, in promotion order.
 *
 * `unloaded`, when given, collects the environments whose `environment.ts` cannot be loaded (a
 * mistake in it, a setting out of range) instead of failing: for commands that go ahead in every
 * environment they can. A link or a special file in their place is refused all the same.
 *
 * @throws UsageError for a broken environment.ts (a programming mistake in the repo, not in flag data).
 */
export async function loadEnvironmentSettings(root: string, unloaded?: UnloadedEnvironment[]): Promise<EnvironmentSettings[]> {
  const dir = join(root, 'environments');
  if (!existsSync(dir)) throw new UsageError(`no environments/ folder under ${root}`);
  if (isLink(root, 'environments')) throw new UsageError('environments is a symbolic link; flagops never reads, writes or deletes through links in the project: replace it with the plain folder');
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new UsageError(`environments/ cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  // An environment folder (or its environment.ts, which is code) that is a link would be read from
  // outside the project, or silently skipped: both are refused, naming the link.
  const linked = entries.find((d) => d.isSymbolicLink() || (d.isDirectory() && isLink(root, `environments/${d.name}/environment.ts`)));
  if (linked) {
    const path = linked.isSymbolicLink() ? `environments/${linked.name}` : `environments/${linked.name}/environment.ts`;
    throw new UsageError(`${printable(path)} is a symbolic link; flagops never reads, writes or deletes through links in the project: replace it with the plain folder or file`);
  }
  // An environment.ts that is not a regular file (a folder, a FIFO, which loading would wait on
  // forever) is refused by name, never opened.
  const names = entries
    .filter((d) => d.isDirectory() && settingsFileKind(join(dir, d.name, 'environment.ts'), `environments/${d.name}/environment.ts`))
    .map((d) => d.name)
    .sort();
  const settings: EnvironmentSettings[] = [];
  for (const name of names) {
    try {
      const config = await importDefault(join(dir, name, 'environment.ts'), `environments/${name}/environment.ts`);
      settings.push(resolveEnvironmentSettings(name, config as EnvironmentConfig));
    } catch (e) {
      if (!unloaded) throw e instanceof UsageError ? e : new UsageError((e as Error).message);
      unloaded.push({ environment: name, problem: (e as Error).message });
    }
  }
  return promotionOrder(settings, unloaded?.map((u) => u.environment));
}

/**
 * Whether a settings file (code flagops loads) exists; a path that is not a regular file is a usage
 * error naming what it is, never opened (a FIFO would block the load).
 */
function settingsFileKind(absolute: string, shown: string): boolean {
  const kind = entryKind(absolute);
  if (kind === undefined) return false;
  if (kind === 'file') return true;
  throw new UsageError(`${printable(shown)} is ${describeKind(kind)}, not a file; flagops loads settings only from a plain file: remove it or replace it with the file`);
}

/** The default export of a settings file (TypeScript). */
async function importDefault(file: string, shown: string): Promise<unknown> {
  try {
    const mod = (await importTypeScript(file)) as { default?: unknown };
    // Without "type": "module" above it, the file arrives CommonJS-wrapped: { default: { default } }.
    return (mod.default as { default?: unknown } | undefined)?.default ?? mod.default;
  } catch (e) {
    throw new UsageError(`${shown} cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** What the compiled CLI (bin/compiled.cjs) provides: it compiles and loads the project's TypeScript modules, and keeps parses. */
interface CompiledModules {
  /** Loads a TypeScript module of the project: compiled and cached (through tsx when the cache cannot be written). */
  importModule(file: string): Promise<unknown>;
  /** The folder of the parses kept across runs (lib/workspace/parse-store.ts), in the build's own folder. */
  readonly parses?: string;
  debug?(message: string): void;
}

const compiledModules = (): CompiledModules | undefined => (globalThis as { __flagopsModules?: CompiledModules }).__flagopsModules;

let parseStore: ParseStore | null | undefined;
/** The parses kept across runs: only when the CLI runs compiled (tests and scripts parse every time). */
function persistentParses(): ParseStore | undefined {
  if (parseStore === undefined) {
    const modules = compiledModules();
    parseStore = modules?.parses ? parseStoreIn(modules.parses, modules.debug) : null;
  }
  return parseStore ?? undefined;
}

/**
 * Imports a TypeScript module of the project: compiled and cached when the CLI runs compiled
 * (bin/compiled.cjs provides the compiler), else through tsx (tests, scripts).
 */
async function importTypeScript(file: string): Promise<unknown> {
  const modules = compiledModules();
  // Not import() here: the compiled CLI runs from V8's code cache, where Node 20 cannot import().
  if (modules) return modules.importModule(file);
  return loadSource(file);
}

const require = createRequire(import.meta.url);
let loads = 0;

/**
 * Loads a settings file from its source through tsx's CommonJS loader, afresh each time (a settings
 * file or one it imports may have changed since): in a namespace of its own, whose modules are
 * let go of afterwards. tsx's ES module loader (`tsImport`) registered a loader thread for every
 * file, about 30 ms of CPU and 55 ms of waiting each: a test or script opening a project (four
 * files) dozens of times paid seconds for it.
 */
function loadSource(file: string): unknown {
  // require, not import(): nothing in the compiled CLI may import() (bin/compiled.cjs), though it never comes here.
  const { register } = require('tsx/cjs/api') as typeof import('tsx/cjs/api');
  const namespace = `flagops-settings-${++loads}`;
  const scoped = register({ namespace });
  try {
    return scoped.require(file, import.meta.url);
  } finally {
    scoped.unregister();
    for (const key of Object.keys(require.cache)) if (key.endsWith(`?namespace=${namespace}`)) delete require.cache[key];
  }
}

/** The project-wide settings file (optional; the defaults of environments/settings.ts apply without it). */
export const PROJECT_FILE = 'environments/project.ts';

/**
 * Loads `environments/project.ts` under `root` (defaults when it does not exist). `environments`
 * are the project's environment names.
 */
export async function loadProjectSettings(root: string, environments: readonly string[]): Promise<ProjectSettings> {
  if (isLink(root, PROJECT_FILE)) throw new UsageError(`${PROJECT_FILE} is a symbolic link; flagops never reads, writes or deletes through links in the project: replace it with the plain file`);
  const file = join(root, PROJECT_FILE);
  const config = settingsFileKind(file, PROJECT_FILE) ? await importDefault(file, PROJECT_FILE) : {};
  try {
    return resolveProjectSettings(config as ProjectConfig, environments);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * Sorts environments so each comes after the one it promotes from; rejects unknown names and cycles.
 * An environment promoted from one that could not be loaded (`unloaded`) comes after the others.
 */
export function promotionOrder(settings: readonly EnvironmentSettings[], unloaded: readonly string[] = []): EnvironmentSettings[] {
  const byName = new Map(settings.map((s) => [s.name, s]));
  const depth = (s: EnvironmentSettings, seen: Set<string>): number => {
    if (!s.promotesFrom) return 0;
    const from = byName.get(s.promotesFrom);
    if (!from && unloaded.includes(s.promotesFrom)) return 1;
    if (!from) throw new UsageError(`environments/${s.name}/environment.ts: promotesFrom names an unknown environment '${s.promotesFrom}'`);
    if (seen.has(from.name)) throw new UsageError(`environments/${s.name}/environment.ts: promotesFrom forms a cycle`);
    return 1 + depth(from, new Set([...seen, from.name]));
  };
  return [...settings].sort((a, b) => depth(a, new Set([a.name])) - depth(b, new Set([b.name])) || a.name.localeCompare(b.name));
}

/** Parses the catalog and every environment's flag file. Never throws on bad flag data. */
/**
 * Parses already done in this run, by file and text: the base of a change and the working tree
 * share every file they have in common (each flag file is parsed once per run), and a parse is
 * plain data nobody changes.
 */
export type ParseCache = Map<string, { readonly read: FileRead; readonly findings: readonly Finding[] }>;

/**
 * `keep`: findings a command decides by, which the cap on the number of findings kept of one rule
 * in one file must not drop (a parse kept from earlier, which counted some it did not keep, is
 * done again then).
 */
export function parseProject(settings: readonly EnvironmentSettings[], reader: FileReader, cache?: ParseCache, keep?: Keep): Parsed {
  const findings: Finding[] = [];
  const parseFile = cache ? cachedParse(cache, keep) : (file: string, r: FileReader, schema: object, out: Finding[]) => parseFileUncached(file, r, schema, out, keep);
  const catalogRead = parseFile(CATALOG_FILE, reader, catalogSchema, findings);
  const catalog: CatalogModel = {
    file: CATALOG_FILE,
    source: catalogRead.source,
    readable: catalogRead.readable,
    names: catalogRead.names,
    flags: catalogRead.valid as Record<string, FlagDefinition>,
  };
  const environments = settings.map((s): EnvironmentModel => {
    const file = statesFile(s.name);
    const read = parseFile(file, reader, flagStatesSchema, findings);
    return {
      settings: s,
      file,
      source: read.source,
      readable: read.readable,
      declaredName: read.data?.environment,
      names: read.names,
      states: read.valid as Record<string, FlagState>,
    };
  });
  return { model: { catalog, environments }, findings: withoutRepeatedNameFindings(findings, catalogRead.names) };
}

/**
 * A flag name breaking the naming rule is one problem, reported once: in the catalog, which declares
 * the name. The same key in each environment's file is not reported again (it goes away with the
 * rename); a bad name only an environment file has is still reported there.
 */
function withoutRepeatedNameFindings(findings: readonly Finding[], catalogNames: readonly string[]): Finding[] {
  const inCatalog = new Set(catalogNames);
  const reportedInCatalog = new Set(findings.filter((f) => f.file === CATALOG_FILE && f.rule === 'flag-name').map((f) => f.message));
  return findings.filter((f) => {
    if (f.file === CATALOG_FILE || f.rule !== 'flag-name' || !reportedInCatalog.has(f.message)) return true;
    const name = /^invalid flag name '(.*)':/.exec(f.message)?.[1];
    return name === undefined || !inCatalog.has(name);
  });
}

export interface FileRead {
  source: FlagFileSource | undefined;
  readable: boolean;
  data: Record<string, unknown> | undefined;
  names: string[];
  valid: Record<string, unknown>;
}

type ParseFile = (file: string, reader: FileReader, schema: object, findings: Finding[]) => FileRead;

/** {@link parseFileUncached} through a cache of earlier parses of the same file and text. */
function cachedParse(cache: ParseCache, keep?: Keep): ParseFile {
  return (file, reader, schema, findings) => {
    let text: string | undefined;
    try {
      text = reader.read(file);
    } catch {
      return parseFileUncached(file, reader, schema, findings, keep); // reports the unreadable file
    }
    if (text === undefined) return parseFileUncached(file, { read: () => undefined }, schema, findings, keep);
    const key = `${file}\0${text}`;
    let hit = cache.get(key);
    if (hit && keep?.files.has(file) && hit.findings.some(countedOnly)) hit = undefined; // parsed again, keeping what `keep` marks
    if (!hit) {
      const own: Finding[] = [];
      hit = { read: parseFileUncached(file, { read: () => text }, schema, own, keep), findings: own };
      if (!keep?.files.has(file)) cache.set(key, hit);
    }
    for (const f of hit.findings) findings.push(f);
    return hit.read;
  };
}

/** A finding that stands for findings counted but not kept. */
const countedOnly = (f: Finding): boolean => f.omitted !== undefined;

function parseFileUncached(file: string, reader: FileReader, schema: object, findings: Finding[], keep?: Keep): FileRead {
  const unread = { source: undefined, readable: false, data: undefined, names: [], valid: {} };
  let text: string | undefined;
  try {
    text = reader.read(file);
  } catch (e) {
    if (!(e instanceof UnreadableFile)) throw e;
    findings.push(error({ file, line: e.at?.line ?? 0, col: e.at?.col ?? 0 }, 'unreadable-file', e.at ? e.reason : `${file} ${e.reason}`));
    return unread;
  }
  if (text === undefined) {
    findings.push(error({ file, line: 0, col: 0 }, 'missing-file', `${file} does not exist`));
    return unread;
  }
  if (text.length > MAX_FILE_BYTES) {
    findings.push(error({ file, line: 0, col: 0 }, 'unreadable-file', `${file} is ${mib(Buffer.byteLength(text))}; flag files may be at most ${mib(MAX_FILE_BYTES, 0)}`));
    return unread;
  }
  const store = persistentParses();
  const stored = store?.get(file, text);
  if (stored && !(keep?.files.has(file) && stored.findings.some(countedOnly))) {
    for (const f of stored.findings) findings.push(f);
    return { source: new DeferredYamlSource(file, text, { flagFile: true }), readable: stored.readable, data: stored.data, names: stored.names, valid: stored.valid };
  }
  const first = findings.length;
  const read = parseText(file, text, schema, findings, keep);
  if (!keep?.files.has(file)) store?.put(file, text, { readable: read.readable, data: read.data, names: read.names, valid: read.valid, findings: findings.slice(first) });
  return read;
}

function parseText(file: string, text: string, schema: object, findings: Finding[], keep?: Keep): FileRead {
  const source = new YamlSource(file, text, { flagFile: true, keep });
  // At most MAX_KEPT_PER_RULE findings of a rule are kept (model/findings.ts): a 10 MB file can hold millions.
  const found = new FindingList(keep).addAll(source.findings);
  if (!source.ok) {
    source.release();
    for (const f of found.toArray()) findings.push(f);
    return { source, readable: false, data: undefined, names: [], valid: {} };
  }
  const data = source.data();
  // Entry by entry: an entry is trusted by later rules only when it passes the schema on its own.
  const passed = validateEntries(schema, data, source, 'flags', found);
  const own = found.toArray();
  for (const f of own) findings.push(f);
  const record = isRecord(data) ? data : undefined;
  const flags = record && isRecord(record.flags) ? record.flags : {};
  const names = Object.keys(flags);
  const valid = Object.fromEntries(names.filter((n) => passed.has(n)).map((n) => [n, flags[n]]));
  // A sound file lets go of its document: positions are looked up again only for findings, which it
  // is unlikely to have. One with findings keeps it for the rules' findings (composing it again costs
  // as much memory as the first time).
  if (own.length === 0) source.release();
  return { source, readable: record !== undefined && isRecord(record.flags), data: record, names, valid };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
