/** Options shared by several commands, in a module light enough for every command to load. */
import { Option } from 'commander';
import { UsageError } from '../lib/text/errors.ts';
import type { Workspace } from '../lib/workspace/workspace.ts';
import { unknownEnvironment } from '../lib/text/suggest.ts';

/** `--env E`, checked against the workspace's environments. */
export const envOption = () => new Option('--env <env>', 'environment (dev, staging, production)');

export function checkEnv(ws: Workspace, env: string | undefined): string[] | undefined {
  if (env === undefined) return undefined;
  if (!ws.settings.some((s) => s.name === env)) throw new UsageError(unknownEnvironment(env, ws.settings.map((s) => s.name)));
  return [env];
}
