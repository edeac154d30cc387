/** Code references: what `flagops refs` finds in the backend's code (lib/code/code-refs.ts searches, policies/code-references.ts judges). */

/** How the code names the flag. */
/**
 * The environment variable naming the backend's checkout (folders separated by ':'): it overrides
 * `sourceFolders` of environments/project.ts, and `--src` overrides it (lib/code/code-source.ts).
 */
export const SOURCE_VARIABLE = 'FLAGOPS_SOURCE';

export type ReferenceForm =
  /** The key as a string literal. */
  | 'string'
  /** The generated `FlagKeys` constant. */
  | 'constant'
  /** A method of the generated client. */
  | 'accessor';

/** One use of a flag in the code. */
export interface CodeReference {
  readonly flag: string;
  /** Path relative to the project root, with forward slashes (`../pms-backend/app/x.py`). */
  readonly file: string;
  /** 1-based line and column (UTF-16 units, as every finding). */
  readonly line: number;
  readonly col: number;
  readonly form: ReferenceForm;
  /** What was written: the key, constant or method name. */
  readonly written: string;
  /** The line of code, trimmed, at most 200 characters (unescaped: print it through `printable`). */
  readonly code: string;
}

/** A use of a key that is not in the catalog. */
export interface UnknownReference extends Omit<CodeReference, 'flag'> {
  /** The key the code asks for, when it is known (a literal, or a key generated accessors define). */
  readonly key?: string;
  /** The catalog key it is most likely a typo of. */
  readonly suggestion?: string;
  /**
   * Why it is taken for a flag key: the key of an OpenFeature evaluation call; a flag-shaped literal
   * within two edits of a catalog key; a key generated accessors still define but the catalog no
   * longer has; a `FlagKeys.X_ENABLED` constant of no catalog flag.
   */
  readonly why: 'evaluation' | 'typo' | 'removed' | 'flag-keys';
}

/** A file `openfeature generate` wrote, and the keys it defines. */
export interface GeneratedAccessors {
  readonly file: string;
  readonly keys: readonly { readonly key: string; readonly line: number; readonly col: number }[];
}

/** What was not searched, by reason. */
export interface SkippedFiles {
  /** Files and folders ignored by .gitignore (a folder counts once). */
  ignored: number;
  binary: number;
  tooLarge: number;
  /** Files or folders that could not be read (permission, I/O error). */
  unreadable: number;
  /** Symbolic links, never followed. */
  links: number;
  /** Sockets, FIFOs, devices. */
  special: number;
  /** Prose: Markdown, reStructuredText, AsciiDoc and plain-text files (PROSE in lib/code/code-refs.ts). */
  prose: number;
}

export interface ReferenceScan {
  /** The folders searched, as given (relative to the project root when given so). */
  readonly folders: readonly string[];
  /** Files searched. */
  readonly files: number;
  /** Sorted by flag (catalog order), file, line, column. */
  readonly references: readonly CodeReference[];
  /** Sorted by file, line, column. */
  readonly unknown: readonly UnknownReference[];
  readonly generated: readonly GeneratedAccessors[];
  readonly skipped: Readonly<SkippedFiles>;
}

