/**
 * What every command module shares with the program: the exit codes, the context a command runs in,
 * and how it registers itself. Its own module, so that cli/main.ts (which loads the commands) and the
 * commands (which use these) never import each other.
 */
import type { Command } from 'commander';
import type { Redactor } from '../common/text/redact.ts';
import type { Output } from './report.ts';

export const EXIT = { ok: 0, violations: 1, usage: 2, internal: 70 } as const;

/** What every command gets: where to print and where it runs. */
export interface CommandContext {
  /** Where to print: every line passes through {@link redactor}. */
  readonly output: Output;
  /** The secrets of this run; a command adds those it reads (from files) before using them. */
  readonly redactor: Redactor;
  readonly cwd: string;
  /** The environment variables the command sees (CI detection, FLAGOPS_*). */
  readonly env: NodeJS.ProcessEnv;
  /** Set by a command's action. */
  exitCode: number;
}

export type Register = (program: Command, ctx: CommandContext) => void;

/** Prints a note on stderr (`flagops: note: ...`): things flagops did or assumed that the user should know. */
export const note =
  (ctx: CommandContext) =>
  (text: string): void =>
    ctx.output.err(`flagops: note: ${text}`);

