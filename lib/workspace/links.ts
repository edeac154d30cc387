/**
 * Symbolic links inside the project are refused: a pull request can carry one (git stores links),
 * and a link under dist/ or environments/ would make flagops read, write or delete files outside
 * the project. Every path flagops reads or writes there is checked with lstat; each link is a
 * `symlink` finding naming it. Writes are also guarded on their own (lib/workspace/transaction.ts).
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { error, type Finding } from '../../model/findings.ts';

/** Whether `path` (relative to `root`) is a symbolic link; false when it does not exist. */
export function isLink(root: string, path: string): boolean {
  try {
    return lstatSync(join(root, path)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The first component of `path` (relative to `root`, `a/b/c`) that is a symbolic link, if any. */
export function linkIn(root: string, path: string): string | undefined {
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (isLink(root, prefix)) return prefix;
  }
  return undefined;
}

function linkFinding(root: string, path: string): Finding {
  let target = '';
  try {
    target = readlinkSync(join(root, path));
  } catch {
    // unreadable link: named without its target
  }
  const shown = target && /^[\w./ @+-]{1,200}$/.test(target) ? ` (to ${target})` : '';
  return error(
    { file: path, line: 0, col: 0 },
    'symlink',
    `${path} is a symbolic link${shown}; flagops never reads, writes or deletes through links in the project: replace it with the plain file or folder`,
  );
}

/**
 * `symlink` findings for the project's folders, dist/ of `environments`, and the project-wide files
 * under dist/ (`projectFiles`). (A flag file that is a link is reported by the reader as
 * `unreadable-file`, since it is not read.)
 */
export function linkFindings(root: string, environments: readonly string[], projectFiles: readonly string[] = []): Finding[] {
  const findings: Finding[] = [];
  const check = (path: string): boolean => {
    if (!isLink(root, path)) return false;
    findings.push(linkFinding(root, path));
    return true;
  };
  if (!check('environments')) {
    for (const env of environments) check(`environments/${env}`);
  }
  if (!check('dist')) {
    for (const env of environments) {
      const dir = `dist/${env}`;
      if (check(dir)) continue;
      let names: string[] = [];
      try {
        names = readdirSync(join(root, dir)).sort();
      } catch {
        continue;
      }
      for (const name of names) check(`${dir}/${name}`);
    }
    // The project-wide files under dist/ (the OpenFeature manifest): each folder on the way, and the file.
    const seen = new Set(findings.map((f) => f.file));
    for (const file of projectFiles) {
      const link = linkIn(root, file);
      if (link !== undefined && !seen.has(link)) {
        findings.push(linkFinding(root, link));
        seen.add(link);
      }
    }
  }
  return findings;
}
