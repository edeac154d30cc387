/** Options shared by several commands, in a module light enough for every command to load. */
import { Option } from 'commander';
import { UsageError } from '../common/text/errors.ts';
import type { Workspace } from '../lib/workspace/workspace.ts';
import { unknownEnvironment } from '../common/text/suggest.ts';
import { SOURCE_VARIABLE } from '../model/code-references.ts';

/** `--env E`, checked against the workspace's environments. */
export const envOption = () => new Option('--env <env>', 'environment (dev, staging, production)');

export function checkEnv(ws: Workspace, env: string | undefined): string[] | undefined {
  if (env === undefined) return undefined;
  if (!ws.settings.some((s) => s.name === env)) throw new UsageError(unknownEnvironment(env, ws.settings.map((s) => s.name)));
  return [env];
}

/**
 * `--env E` of a command that goes ahead in every environment it can (the workspace opened with
 * `eachEnvironment`): the environments asked for (all by default) whose settings loaded, and those
 * whose `environment.ts` could not be loaded, with why. An unknown name is a usage error.
 */
export function eachEnv(ws: Workspace, env: string | undefined): { environments: string[]; unloaded: { environment: string; problem: string }[] } {
  const unloaded = ws.unloaded ?? [];
  const known = [...ws.settings.map((s) => s.name), ...unloaded.map((u) => u.environment)];
  if (env !== undefined && !known.includes(env)) throw new UsageError(unknownEnvironment(env, known));
  const wanted = (name: string) => env === undefined || name === env;
  return { environments: ws.settings.map((s) => s.name).filter(wanted), unloaded: unloaded.filter((u) => wanted(u.environment)) };
}

/** `--src DIR...`: the backend's checkout for one run, for the commands that read the code (lib/code/code-source.ts). */
export const srcOption = (what: string): Option =>
  new Option('--src <dir...>', `${what} (default: ${SOURCE_VARIABLE}, else sourceFolders in environments/project.ts); .gitignore'd files are skipped`);
