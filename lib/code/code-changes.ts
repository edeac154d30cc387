/**
 * What a change does to the code references of the flags (`flagops diff`): the flags whose last
 * reference it removes, which can then be removed themselves (`flagops remove`).
 *
 * For each source folder in a git repository, the files the change touches there (`git diff
 * --name-only BASE`: committed and uncommitted changes against the base) are read at the base and
 * searched like the working tree (lib/code/code-refs.ts). A flag referenced in them at the base is then
 * looked up in a search of the working tree; where nothing references it any more, the change
 * removed its last reference. The base is the change's own base when the folder is in the project's
 * repository, otherwise the merge base of that repository's HEAD and its origin/main.
 */
import { join } from 'node:path';
import { describeBase, findBase } from '../review/base.ts';
import { referencesInTexts, scanSources, shownPath, type SourceFolder } from './code-refs.ts';
import type { CodeReference } from '../../model/code-references.ts';
import { readBlobs, tryGit } from '../review/git.ts';
import type { ProjectModel } from '../../model/flags.ts';

/** A flag the change leaves without any code reference. */
export interface RemovableFlag {
  readonly flag: string;
  readonly owner: string;
  /** Its references at the base, in the files the change touches. */
  readonly before: readonly CodeReference[];
}

export interface CodeReview {
  /** The folders compared. */
  readonly folders: readonly string[];
  readonly removable: readonly RemovableFlag[];
  /** Folders that could not be compared, and why. */
  readonly notes: readonly string[];
}

/** The base commit of the project's own change, when known: used for folders in the project's repository. */
export interface ProjectBase {
  readonly commit: string;
}

export function reviewCodeReferences(root: string, folders: readonly SourceFolder[], model: ProjectModel, projectBase?: ProjectBase): CodeReview {
  const notes: string[] = [];
  const catalog = model.catalog.names;
  const projectTop = topOf(root);
  const before: CodeReference[] = [];
  for (const folder of folders) {
    const top = topOf(folder.path);
    if (!top) {
      notes.push(`${folder.shown} is not in a git repository: its code references are not compared with a base`);
      continue;
    }
    let base: string;
    if (projectBase && top === projectTop) base = projectBase.commit;
    else {
      const found = findBase(top);
      if (found.ok) base = found.base.commit;
      else if (found.fallback) {
        base = found.fallback.commit;
        notes.push(`${folder.shown}: ${found.problem}; its code references are compared with ${describeBase(found.fallback)} (uncommitted changes only)`);
      } else {
        notes.push(`${folder.shown}: ${found.problem}`);
        continue;
      }
    }
    const prefix = tryGit(folder.path, ['rev-parse', '--show-prefix'])?.trim() ?? '';
    const changed = (tryGit(top, ['diff', '--name-only', '--no-renames', '-z', base, '--', prefix === '' ? '.' : prefix]) ?? '').split('\0').filter(Boolean);
    const blobs = readBlobs(top, changed.map((p) => `${base}:${p}`));
    const files = changed.filter((p) => blobs.has(`${base}:${p}`)).map((p) => ({ file: shownPath(root, join(top, p)), text: blobs.get(`${base}:${p}`)! }));
    before.push(...referencesInTexts(files, catalog));
  }
  const candidates = new Set(before.map((r) => r.flag));
  if (candidates.size === 0) return { folders: folders.map((f) => f.shown), removable: [], notes };
  const now = scanSources(root, folders, catalog);
  const stillUsed = new Set(now.references.map((r) => r.flag));
  const removable = catalog
    .filter((flag) => candidates.has(flag) && !stillUsed.has(flag))
    .map((flag) => ({ flag, owner: model.catalog.flags[flag]?.owner ?? '?', before: before.filter((r) => r.flag === flag) }));
  return { folders: folders.map((f) => f.shown), removable, notes };
}

/** The top of the git work tree holding `path`, or undefined. */
function topOf(path: string): string | undefined {
  return tryGit(path, ['rev-parse', '--show-toplevel'])?.trim() || undefined;
}
