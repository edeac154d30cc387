/**
 * Real git for the review-gate tests: a bare repository as the server (what GitHub is to a team),
 * the sample project pushed to its main, and clones the way CI and engineers make them (full,
 * shallow, single-branch).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, tempProject } from '../helpers.ts';

export interface GitServer {
  /** Path of the bare repository. */
  readonly bare: string;
  /** `file://` URL of it: only such URLs honour `--depth` in local clones. */
  readonly url: string;
  /** The working clone that pushed main (its `origin` is the server). */
  readonly seed: string;
}

/** GIVEN a bare server holding the sample project (with dist/) on main. */
export function gitServer(): GitServer {
  const seed = tempProject({ git: true });
  const bare = pushToNewOrigin(seed);
  return { bare, url: `file://${bare}`, seed };
}

/** Makes a new bare repository the `origin` of the repository at `dir`, pushes its main there and fetches it; returns the bare repository's path. */
export function pushToNewOrigin(dir: string): string {
  const bare = mkdtempSync(join(tmpdir(), 'flagops-server-'));
  git(bare, 'init', '-q', '--bare', '-b', 'main');
  git(dir, 'remote', 'add', 'origin', bare);
  git(dir, 'push', '-q', 'origin', 'main');
  git(dir, 'fetch', '-q', 'origin');
  return bare;
}

/** `git clone [...args] <server> <new dir>` with an identity set; returns the clone's path. */
export function cloneOf(server: GitServer, ...args: string[]): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'flagops-clone-')), 'repo');
  git(tmpdir(), 'clone', '-q', ...args, server.url, dir);
  git(dir, 'config', 'user.email', 'tester@pms.example.com');
  git(dir, 'config', 'user.name', 'Tester');
  git(dir, 'config', 'commit.gpgsign', 'false');
  return dir;
}
