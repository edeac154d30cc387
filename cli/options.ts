/** Options shared by several commands, in a module light enough for every command to load. */
import { Option } from 'commander';
import { UsageError } from '../lib/text/errors.ts';
import type { Workspace } from '../lib/workspace/workspace.ts';
import { unknownEnvironment } from '../lib/text/suggest.ts';
import { SOURCE_VARIABLE } from '../model/code-references.ts';

/** `--env E`, checked against the workspace's environments. */
export const envOption = () => new Option('--env <env>', 'environment (dev, staging, production)');

export function checkEnv(ws: Workspace, env: string | undefined): string[] | undefined {
  if (env === undefined) return undefined;
  if (!ws.settings.some((s) => s.name === env)) throw new UsageError(unknownEnvironment(env, ws.settings.map((s) => s.name)));
  return [env];
}

/** `--src DIR...`: the backend's checkout for one run, for the commands that read the code (lib/code/code-source.ts). */
export const srcOption = (what: string): Option =>
  new Option('--src <dir...>', `${what} (default: ${SOURCE_VARIABLE}, else sourceFolders in environments/project.ts); .gitignore'd files are skipped`);
