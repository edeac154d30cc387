/**
 * Helpers for tests that build git histories of the flag files: set a flag's fields with the
 * comment-preserving editor, and commit with a fixed author and date.
 */
import { spawnSync } from 'node:child_process';
import { setFields, type ScalarValue } from '../common/yaml/yaml-edit.ts';
import { read, write } from './helpers.ts';

/** Sets (or with `undefined` removes) fields of one flag's entry in `environments/<env>/flags.yaml`. */
export function setFlag(dir: string, env: string, flag: string, fields: Readonly<Record<string, ScalarValue | undefined>>): void {
  const path = `environments/${env}/flags.yaml`;
  write(dir, path, setFields(read(dir, path), ['flags', flag], fields));
}

export interface CommitOptions {
  /** Author and committer date, RFC 3339. */
  readonly date: string;
  readonly author?: string;
  readonly email?: string;
}

/** Commits everything; returns the full SHA. */
export function commitAll(dir: string, message: string, { date, author = 'Tester', email = 'tester@pms.example.com' }: CommitOptions): string {
  const env = {
    ...process.env,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    GIT_AUTHOR_NAME: author,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: author,
    GIT_COMMITTER_EMAIL: email,
  };
  const run = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  run('add', '-A');
  run('commit', '-q', '--allow-empty', '-m', message);
  return run('rev-parse', 'HEAD');
}
