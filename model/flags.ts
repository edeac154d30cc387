/**
 * The typed model of a project's flags: the catalog and each environment's states, as parsed from
 * the flag files (lib/workspace/project.ts) and read by the policies, synthesis and the CLI.
 */
import type { Document } from 'yaml';
import type { EnvironmentSettings } from './environments.ts';
import type { FlagDefinition, FlagState } from './flag-schemas.ts';
import type { Finding, Locator } from './findings.ts';

/** The parsed text of a flag file (a YamlSource of common/yaml/yaml-source.ts): where things are, and the document an edit changes. */
export interface FlagFileSource extends Locator {
  readonly text: string;
  /** The document, with comments and source ranges. */
  readonly doc: Document.Parsed;
}

export interface CatalogModel {
  readonly file: string;
  readonly source: FlagFileSource | undefined;
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
  readonly source: FlagFileSource | undefined;
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

