/**
 * Parse step: the flag files and environment settings of a project, read into a typed model.
 *
 * Reading (disk or a git ref) is behind {@link FileReader}; parsing returns the model plus the
 * YAML-level and schema findings. Policies run on the model afterwards (policies/*.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { catalogSchema, flagStatesSchema, type FlagDefinition, type FlagState } from '../policies/flag-schemas.ts';
import { error, type Finding } from '../policies/findings.ts';
import { conformsTo, validateAgainstSchema } from '../policies/schema-validation.ts';
import { resolveEnvironmentSettings, type EnvironmentConfig, type EnvironmentSettings } from '../environments/settings.ts';
import { UsageError } from './errors.ts';
import { YamlSource } from './yaml-source.ts';

export const CATALOG_FILE = 'environments/catalog.yaml';
export const statesFile = (env: string): string => `environments/${env}/flags.yaml`;

/** Where flag files come from: the working tree, or a git ref. `undefined` = the file does not exist. */
export interface FileReader {
  read(path: string): string | undefined;
}

export function diskReader(root: string): FileReader {
  return {
    read: (path) => {
      try {
        return readFileSync(join(root, path), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
  };
}

export interface CatalogModel {
  readonly file: string;
  readonly source: YamlSource | undefined;
  /** Whether the file exists and parses (its list of names can be trusted). */
  readonly readable: boolean;
  /** Every flag name in the file, valid or not, in file order. */
  readonly names: readonly string[];
  /** The definitions that passed the schema. */
  readonly flags: Readonly<Record<string, FlagDefinition>>;
}

export interface EnvironmentModel {
  readonly settings: EnvironmentSettings;
  readonly file: string;
  readonly source: YamlSource | undefined;
  /** Whether the file exists and parses (its list of names can be trusted). */
  readonly readable: boolean;
  /** The `environment:` field as written. */
  readonly declaredName: unknown;
  readonly names: readonly string[];
  /** The states that passed the schema. */
  readonly states: Readonly<Record<string, FlagState>>;
}

export interface ProjectModel {
  readonly catalog: CatalogModel;
  /** In promotion order: every environment after the one it promotes from. */
  readonly environments: readonly EnvironmentModel[];
}

export interface Parsed {
  readonly model: ProjectModel;
  /** Syntax, duplicate-key and schema findings. */
  readonly findings: readonly Finding[];
}

/**
 * Loads every `environments/<env>/environment.ts` under `root`, in promotion order.
 *
 * @throws Error for a broken environment.ts (a programming mistake in the repo, not in flag data).
 */
export async function loadEnvironmentSettings(root: string): Promise<EnvironmentSettings[]> {
  const dir = join(root, 'environments');
  if (!existsSync(dir)) throw new UsageError(`no environments/ folder under ${root}`);
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'environment.ts')))
    .map((d) => d.name)
    .sort();
  const settings: EnvironmentSettings[] = [];
  for (const name of names) {
    // tsImport loads the file as an ES module whatever package.json (if any) sits above it.
    const file = join(dir, name, 'environment.ts');
    let config: unknown;
    try {
      const mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown };
      // Without "type": "module" above it, the file arrives CommonJS-wrapped: { default: { default } }.
      config = (mod.default as { default?: unknown } | undefined)?.default ?? mod.default;
    } catch (e) {
      throw new UsageError(`environments/${name}/environment.ts cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
    try {
      settings.push(resolveEnvironmentSettings(name, config as EnvironmentConfig));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return promotionOrder(settings);
}

/** Sorts environments so each comes after the one it promotes from; rejects unknown names and cycles. */
export function promotionOrder(settings: readonly EnvironmentSettings[]): EnvironmentSettings[] {
  const byName = new Map(settings.map((s) => [s.name, s]));
  const depth = (s: EnvironmentSettings, seen: Set<string>): number => {
    if (!s.promotesFrom) return 0;
    const from = byName.get(s.promotesFrom);
    if (!from) throw new UsageError(`environments/${s.name}/environment.ts: promotesFrom names an unknown environment '${s.promotesFrom}'`);
    if (seen.has(from.name)) throw new UsageError(`environments/${s.name}/environment.ts: promotesFrom forms a cycle`);
    return 1 + depth(from, new Set([...seen, from.name]));
  };
  return [...settings].sort((a, b) => depth(a, new Set([a.name])) - depth(b, new Set([b.name])) || a.name.localeCompare(b.name));
}

/** Parses the catalog and every environment's flag file. Never throws on bad flag data. */
export function parseProject(settings: readonly EnvironmentSettings[], reader: FileReader): Parsed {
  const findings: Finding[] = [];
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
  return { model: { catalog, environments }, findings };
}

interface FileRead {
  source: YamlSource | undefined;
  readable: boolean;
  data: Record<string, unknown> | undefined;
  names: string[];
  valid: Record<string, unknown>;
}

function parseFile(file: string, reader: FileReader, schema: object, findings: Finding[]): FileRead {
  const text = reader.read(file);
  if (text === undefined) {
    findings.push(error({ file, line: 0, col: 0 }, 'missing-file', `${file} does not exist`));
    return { source: undefined, readable: false, data: undefined, names: [], valid: {} };
  }
  const source = new YamlSource(file, text);
  findings.push(...source.findings);
  if (!source.ok) return { source, readable: false, data: undefined, names: [], valid: {} };
  const data = source.data();
  const schemaFindings = validateAgainstSchema(schema, data, source);
  findings.push(...schemaFindings);
  const record = isRecord(data) ? data : undefined;
  const flags = record && isRecord(record.flags) ? record.flags : {};
  const names = Object.keys(flags);
  // An entry is trusted by later rules only when it passes the schema on its own.
  const entrySchema = (schema as EntrySchemaHolder).properties.flags;
  const valid = Object.fromEntries(
    names
      .filter((n) => conformsTo(entrySchema.propertyNames, n) && conformsTo(entrySchema.additionalProperties, flags[n]))
      .map((n) => [n, flags[n]]),
  );
  return { source, readable: record !== undefined && isRecord(record.flags), data: record, names, valid };
}

interface EntrySchemaHolder {
  properties: { flags: { propertyNames: object; additionalProperties: object } };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
