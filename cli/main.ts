/**
 * The flagops CLI: a thin layer over lib/ (parse, validate, synthesize, write). Each command lives
 * in cli/commands/<name>.ts and registers itself on the program.
 *
 * Exit codes: 0 clean (warnings allowed), 1 violations or a refused edit, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { UsageError } from '../lib/workspace.ts';
import { consoleOutput, type Output } from './report.ts';
import { registerAlerts } from './commands/alerts.ts';
import { registerCheck } from './commands/check.ts';
import { registerEdits } from './commands/edit.ts';
import { registerInfo } from './commands/info.ts';
import { registerSynth } from './commands/synth.ts';

export const EXIT = { ok: 0, violations: 1, usage: 2, internal: 70 } as const;

/** What every command gets: where to print and where it runs. */
export interface CommandContext {
  readonly output: Output;
  readonly cwd: string;
  /** Set by a command's action. */
  exitCode: number;
}

export type Register = (program: Command, ctx: CommandContext) => void;

export const COMMANDS: readonly Register[] = [registerSynth, registerCheck, registerInfo, registerEdits, registerAlerts];

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('flagops')
    .description('Feature flags, alerts, dashboards, backups and RBAC of the PMS as reviewed, deterministic Kubernetes manifests.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.output.out(s.trimEnd()), writeErr: (s) => ctx.output.err(s.trimEnd()) });
  for (const register of COMMANDS) register(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

export async function main(argv: readonly string[], output: Output = consoleOutput(), cwd = process.cwd()): Promise<number> {
  const ctx: CommandContext = { output, cwd, exitCode: EXIT.ok };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof UsageError) {
      output.err(`flagops: error: ${e.message}`);
      return EXIT.usage;
    }
    output.err(`flagops: internal error: ${(e as Error).message}`);
    if (process.env.FLAGOPS_DEBUG) output.err(String((e as Error).stack));
    else output.err('(set FLAGOPS_DEBUG=1 for the stack trace, and please report it)');
    return EXIT.internal;
  }
}
