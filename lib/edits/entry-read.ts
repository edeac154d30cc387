/**
 * What the kill switch reads, and nothing more: its flag's entry in the catalog and its own entry
 * in the environment's flag file, each found by its lines (common/yaml/yaml-entry.ts) and parsed on
 * its own. Whatever the rest of those files holds (a duplicate key, a git merge conflict, an anchor,
 * a tag, a schema error, bytes that are not UTF-8 in the catalog), it is not interpreted here, so it
 * cannot block the kill switch; `flagops check` still reports it.
 *
 * The entry is judged alone by the same rules as always (the flag-file schema, the state rules,
 * the change rules against the base's entry), on a copy of the file where every other line is
 * blank, so each finding keeps the file's line and column.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentSettings } from '../../model/environments.ts';
import type { FlagDefinition, FlagState } from '../../model/flag-schemas.ts';
import { error, type Finding } from '../../model/findings.ts';
import type { Parsed } from '../../model/flags.ts';
import { checkChangeRules } from '../../policies/change-rules.ts';
import { checkStateRules } from '../../policies/state-rules.ts';
import { UsageError } from '../../common/text/errors.ts';
import { printable } from '../../common/text/printable.ts';
import { CATALOG_FILE, parseProject, statesFile, UnreadableFile, type FileReader } from '../workspace/project.ts';
import { crossCheck, findEntry, projectEntry, spliceEntry, type EntryLines, type EntryLookup } from '../../common/yaml/yaml-entry.ts';
import { setFields, type ScalarValue } from '../../common/yaml/yaml-edit.ts';

/** The rule id of an entry whose lines cannot be told for sure (docs/rules.md). */
export const ENTRY_RULE = 'kill-switch-entry';

const PARENT = 'flags';

/** A flag file's text and where one flag's entry is in it. */
export interface FileEntry {
  readonly file: string;
  readonly text: string;
  readonly entry: EntryLines;
}

/** The entry `flag` of a flag file's text, by its lines, checked against YAML's reading when the file is valid YAML. */
export function locateEntry(file: string, text: string, flag: string): EntryLookup {
  const lookup = findEntry(text, PARENT, flag, file);
  if ('uncertain' in lookup) return lookup;
  const disagreement = crossCheck(text, PARENT, flag, file, 'found' in lookup ? lookup.found : undefined);
  return disagreement ? { uncertain: disagreement } : lookup;
}

/** What the kill switch knows of its flag from the catalog. */
export interface CatalogEntry {
  /** Whether the catalog names the flag; undefined when the catalog cannot be read at all. */
  readonly declared: boolean | undefined;
  /** The names the catalog's lines show (for "did you mean"). */
  readonly names: readonly string[];
  /** The flag's definition, when its entry reads and passes the schema. */
  readonly definition?: FlagDefinition;
  /** Why there is no definition, when there is none although the flag is declared (or the catalog unreadable). */
  readonly problem?: string;
}

/**
 * The flag's catalog entry, read from the working tree at `root` through `reader`. Bytes that are
 * not UTF-8 elsewhere in the catalog are read as replacement characters (the catalog is not
 * written, and its other entries do not matter here).
 */
export function readCatalogEntry(root: string, reader: FileReader, flag: string): CatalogEntry {
  let text: string | undefined;
  try {
    text = reader.read(CATALOG_FILE);
  } catch (e) {
    if (!(e instanceof UnreadableFile)) throw e;
    if (e.at === undefined) return { declared: undefined, names: [], problem: printable(e.message) };
    text = lossyText(root, CATALOG_FILE);
    if (text === undefined) return { declared: undefined, names: [], problem: printable(e.message) };
  }
  if (text === undefined) return { declared: undefined, names: [], problem: `${CATALOG_FILE} does not exist` };
  const lookup = locateEntry(CATALOG_FILE, text, flag);
  if ('absent' in lookup) return { declared: false, names: lookup.names };
  if ('uncertain' in lookup) {
    const u = lookup.uncertain;
    return { declared: true, names: [], problem: `${u.file}:${u.line}:${u.col}: ${u.message}` };
  }
  const { found } = lookup;
  const lines = text.split('\n').slice(found.keyLine - 1, found.lastLine);
  if (lines.some((l) => l.includes('\uFFFD'))) return { declared: true, names: [], problem: `${CATALOG_FILE}:${found.keyLine}: the entry of ${flag} holds bytes that are not UTF-8` };
  const parsed = parseProject([], { read: (path) => (path === CATALOG_FILE ? projectEntry(text, PARENT, found) : undefined) });
  // Only an entry without any error: a value the rules refuse (a control character, say) never reaches dist/.
  const first = parsed.findings.find((f) => f.severity === 'error' && f.line >= found.keyLine && f.line <= found.lastLine);
  const definition = parsed.model.catalog.flags[flag];
  if (definition && !first) return { declared: true, names: [], definition };
  return { declared: true, names: [], problem: first ? `${first.file}:${first.line}:${first.col}: ${first.message} [${first.rule}]` : `${CATALOG_FILE}:${found.keyLine}: the entry of ${flag} is not valid` };
}

/** A file's text with bytes that are not UTF-8 as U+FFFD (only after the reader found it a readable file). */
function lossyText(root: string, path: string): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: false }).decode(readFileSync(join(root, path)));
  } catch {
    return undefined;
  }
}

/** The refusal of an entry whose lines cannot be told for sure, as a finding. */
export function uncertainEntry(lookup: Extract<EntryLookup, { uncertain: unknown }>): Finding {
  const u = lookup.uncertain;
  return error({ file: u.file, line: u.line, col: u.col }, ENTRY_RULE, `${u.message}; the kill switch writes only lines it can tell belong to its entry, so it waits for that fix`);
}

/** One entry, parsed alone, in the model of the one environment `settings` (the catalog is absent from it). */
export function parseEntry(settings: EnvironmentSettings, own: FileEntry | undefined): Parsed {
  const projected = own ? projectEntry(own.text, PARENT, own.entry) : undefined;
  return parseProject([settings], { read: (path) => (own && path === own.file ? projected : undefined) });
}

/** Findings of `own`'s file within its entry's lines. */
export const inEntry = (own: FileEntry, f: Finding): boolean => f.file === own.file && f.line >= own.entry.keyLine && f.line <= own.entry.lastLine;

/** The entry as the model reads it: its state when it passes the schema, else its plain fields. */
export function entryState(parsed: Parsed, flag: string): { readonly state?: FlagState; readonly raw: Readonly<Record<string, unknown>> } {
  const env = parsed.model.environments[0];
  const state = env?.states[flag];
  if (state) return { state, raw: state as unknown as Record<string, unknown> };
  try {
    const value = env?.source?.doc.getIn([PARENT, flag]) as { toJSON?: () => unknown } | undefined;
    const raw = value && typeof value.toJSON === 'function' ? value.toJSON() : undefined;
    return { raw: typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {} };
  } catch {
    return { raw: {} };
  }
}

/**
 * Sets (or with `undefined` removes) fields of the entry, keeping every other line of the file:
 * the edit is made on the entry alone and put back between the file's own lines.
 *
 * @throws UsageError when the entry is not a block mapping of plain values (naming file:line:col).
 */
export function editEntry(own: FileEntry, flag: string, fields: Readonly<Record<string, ScalarValue | undefined>>): FileEntry {
  const projected = projectEntry(own.text, PARENT, own.entry);
  const edited = setFields(projected, [PARENT, flag], fields, own.file);
  const spliced = spliceEntry(own.text, own.entry, projected, edited);
  return { file: own.file, ...spliced };
}

/**
 * The rules on the edited entry alone: the schema and YAML subset, the state rules of its
 * environment, and the change rules against its entry on the base (`base`, when the base has one
 * that can be found). Returns the findings within the entry's lines, and its state when it passes.
 */
export function judgeEntry(
  settings: EnvironmentSettings,
  own: FileEntry,
  flag: string,
  base: FileEntry | undefined,
  baseLabel: string,
  now: Date,
): { readonly findings: Finding[]; readonly state?: FlagState } {
  const parsed = parseEntry(settings, own);
  const onBase = parseEntry(settings, base);
  const findings = [...parsed.findings, ...checkStateRules(parsed.model, { now }), ...checkChangeRules(onBase.model, parsed.model, baseLabel)].filter((f) => inEntry(own, f));
  return { findings, state: entryState(parsed, flag).state };
}

/**
 * The text of the flag file the kill switch rewrites, read whole: it keeps every byte outside its
 * entry, so the file must be text (a byte that is not UTF-8 could not be written back as it is).
 *
 * @throws UsageError when the file cannot be read or does not exist.
 */
export function readOwnFile(reader: FileReader, file: string): string {
  let text: string | undefined;
  try {
    text = reader.read(file);
  } catch (e) {
    if (e instanceof UnreadableFile) {
      throw new UsageError(`${printable(e.message)}; the kill switch rewrites ${file} and keeps every byte outside its entry as it is, so the file must be readable text: fix that first`);
    }
    throw e;
  }
  if (text === undefined) throw new UsageError(`${file} does not exist`);
  return text;
}

/**
 * The flag as the kill switch reads it before an edit (for `flagops monitor --rollback`, which checks
 * before monitoring what its kill switch will need): whether the catalog declares it, and its state
 * in the environment of `settings` when its own entry reads and passes the schema.
 */
export function readFlag(root: string, reader: FileReader, settings: EnvironmentSettings, flag: string): { readonly catalog: CatalogEntry; readonly state?: FlagState } {
  const catalog = readCatalogEntry(root, reader, flag);
  const file = statesFile(settings.name);
  let text: string | undefined;
  try {
    text = reader.read(file);
  } catch {
    return { catalog };
  }
  const lookup = text === undefined ? undefined : locateEntry(file, text, flag);
  if (text === undefined || !lookup || !('found' in lookup)) return { catalog };
  return { catalog, state: entryState(parseEntry(settings, { file, text, entry: lookup.found }), flag).state };
}
