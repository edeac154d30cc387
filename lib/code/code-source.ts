/**
 * Where the backend's code is checked out, for the commands that read it (`refs`, `stale`, `status`,
 * `diff`, `remove --keep-code-path`). The first of these that is set wins:
 *
 * 1. `--src DIR...`, for one run (relative to the current folder);
 * 2. the `FLAGOPS_SOURCE` environment variable, a machine's or CI's checkout (folders separated by
 *    `:`, relative to the project root);
 * 3. `sourceFolders` in environments/project.ts, the project's setting (relative to the project root).
 *
 * A folder that is missing is a usage error that says how to fix the setting it came from.
 */
import { delimiter } from 'node:path';
import { sourceFolders, type SourceFolder } from './code-refs.ts';
import { SOURCE_VARIABLE } from '../../model/code-references.ts';
import { PROJECT_FILE } from '../workspace/project.ts';
import { projectSettings, UsageError, type Workspace } from '../workspace/workspace.ts';
import { printable } from '../../common/text/printable.ts';

/** What a command knows about where the user wants the code read from. */
export interface SourceRequest {
  /** `--src`, when given. */
  readonly src?: readonly string[];
  /** The folder the command runs in: `--src` is relative to it. */
  readonly cwd: string;
  /** The command's environment variables ({@link SOURCE_VARIABLE}). */
  readonly env: NodeJS.ProcessEnv;
}

/** The folders to read, as given, and the setting they came from. */
export interface CodeSource {
  readonly folders: readonly string[];
  /** What relative folders start from. */
  readonly base: string;
  readonly from: 'option' | 'environment' | 'project';
}

/** The source of the code references for `request`; undefined when none is set anywhere. */
export function codeSource(ws: Workspace, request: SourceRequest): CodeSource | undefined {
  if (request.src !== undefined) return { folders: request.src, base: request.cwd, from: 'option' };
  const variable = (request.env[SOURCE_VARIABLE] ?? '').split(delimiter).filter((f) => f.trim() !== '');
  if (variable.length > 0) return { folders: variable, base: ws.root, from: 'environment' };
  const configured = projectSettings(ws).sourceFolders;
  return configured.length > 0 ? { folders: configured, base: ws.root, from: 'project' } : undefined;
}

/** How a source is named in messages: `--src`, `FLAGOPS_SOURCE`, `sourceFolders (environments/project.ts)`. */
const NAMES: Record<CodeSource['from'], string> = { option: '--src', environment: SOURCE_VARIABLE, project: `sourceFolders (${PROJECT_FILE})` };

/** What to do about a missing folder, by where it was named. */
const FIXES: Record<CodeSource['from'], string> = {
  option: '',
  environment: `: set ${SOURCE_VARIABLE} to the backend's checkout, or unset it to use sourceFolders in ${PROJECT_FILE}`,
  project: `: clone the backend's repository there, or set ${SOURCE_VARIABLE} to where it is checked out (or pass --src DIR)`,
};

/** When no folder is set anywhere: what to set. */
export const NO_SOURCE = `set sourceFolders in ${PROJECT_FILE} to the backend's checkout (for example ['../pms-backend']), or set ${SOURCE_VARIABLE}, or pass --src DIR`;

/**
 * The folders of `source`, checked.
 *
 * @throws UsageError naming a folder that does not exist or is not a folder, and how to fix it.
 */
export function resolveSource(ws: Workspace, source: CodeSource): SourceFolder[] {
  return sourceFolders(source.folders, source.base, ws.root, NAMES[source.from], FIXES[source.from]);
}

/** The backend's checkout for a command that works without it: its folders, or why there are none. */
export type FoundSource =
  | { readonly found: true; readonly folders: SourceFolder[] }
  /** `none`: no folder is set anywhere; otherwise a set folder is missing. */
  | { readonly found: false; readonly none: boolean; readonly why: string };

/**
 * The folders of the backend's checkout for a command that works without them: a `--src` folder that
 * is missing is a usage error (the user asked for it in this run); none set, or a setting's folder
 * that is missing, is said in `why` (escaped for the terminal).
 *
 * @throws UsageError for a `--src` folder that does not exist.
 */
export function findSource(ws: Workspace, request: SourceRequest): FoundSource {
  const source = codeSource(ws, request);
  if (!source) return { found: false, none: true, why: `no source folders: ${NO_SOURCE}` };
  try {
    return { found: true, folders: resolveSource(ws, source) };
  } catch (e) {
    if (!(e instanceof UsageError) || source.from === 'option') throw e;
    return { found: false, none: false, why: printable(e.message) };
  }
}
