/**
 * The flagops CLI: a thin layer over lib/ (parse, validate, synthesize, write). Each command lives
 * in cli/commands/<name>.ts and registers itself on the program.
 *
 * Exit codes: 0 clean (warnings allowed), 1 violations or a refused edit, 2 usage error.
 */
import { CommanderError, type Command } from 'commander';
import { UsageError } from '../common/text/errors.ts';
import { Redactor, runSecrets } from '../common/text/redact.ts';
import { addHelpCommand, FlagopsCommand, versionLine } from './program.ts';
import { consoleOutput, printable, type Output } from './report.ts';

import { EXIT, type CommandContext, type Register } from './context.ts';

/** A command module: the command names it registers, loaded only when one of them runs. */
export interface CommandModule {
  readonly names: readonly string[];
  load(): Promise<Register>;
}

/** Every command. Modules load lazily, so `flagops check` does not pay for `monitor`'s imports. */
export const COMMANDS: readonly CommandModule[] = [
  { names: ['synth'], load: async () => (await import('./commands/synth.ts')).registerSynth },
  { names: ['check'], load: async () => (await import('./commands/check.ts')).registerCheck },
  { names: ['list', 'status', 'stale'], load: async () => (await import('./commands/info.ts')).registerInfo },
  { names: ['enable', 'rollout', 'disable', 'add', 'restore', 'remove'], load: async () => (await import('./commands/edit.ts')).registerEdits },
  { names: ['advance'], load: async () => (await import('./commands/pipeline.ts')).registerPipeline },
  { names: ['diff'], load: async () => (await import('./commands/diff.ts')).registerDiff },
  { names: ['audit'], load: async () => (await import('./commands/audit.ts')).registerAudit },
  { names: ['access'], load: async () => (await import('./commands/access.ts')).registerAccess },
  { names: ['monitor'], load: async () => (await import('./commands/monitor.ts')).registerMonitor },
  { names: ['drill'], load: async () => (await import('./commands/drill.ts')).registerDrill },
  { names: ['alerts'], load: async () => (await import('./commands/alerts.ts')).registerAlerts },
  { names: ['refs'], load: async () => (await import('./commands/refs.ts')).registerRefs },
  { names: ['rehearse'], load: async () => (await import('./commands/rehearse.ts')).registerRehearse },
];

/** The edit commands: they write "now" into `changed_at` (unless `--dry-run`). */
const STAMPING = new Set(['enable', 'rollout', 'disable', 'add', 'restore', 'remove', 'advance']);

/** Whether the command about to run writes "now" into a flag file: an edit, and `monitor --rollback` (the kill switch on a branch). */
function writesChangedAt(command: Command): boolean {
  const opts = command.opts<{ dryRun?: boolean; rollback?: boolean }>();
  return command.name() === 'monitor' ? opts.rollback === true : STAMPING.has(command.name()) && opts.dryRun !== true;
}

/**
 * The program with the requested command registered (all of them for `--help`, no command or an
 * unknown one, so commander's help and errors list everything).
 */
export async function buildProgram(ctx: CommandContext, argv: readonly string[]): Promise<Command> {
  const program = new FlagopsCommand('flagops')
    .description('Feature flags, alerts, dashboards, backups and RBAC of the PMS as reviewed, deterministic Kubernetes manifests.')
    .version(versionLine(), '-V, --version', 'print the version of flagops')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.output.out(printableLines(s.trimEnd())), writeErr: (s) => ctx.output.err(printableLines(s.trimEnd())) });
  const requested = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = COMMANDS.filter((m) => requested !== undefined && m.names.includes(requested));
  // `flagops --version` needs no command at all; anything else without a known command (help, a
  // misspelt command) needs every command's name and description.
  const versionOnly = requested === undefined && argv.slice(2).some((a) => a === '--version' || a === '-V');
  const modules = wanted.length > 0 ? wanted : versionOnly ? [] : COMMANDS;
  for (const module of modules) (await module.load())(program, ctx);
  addHelpCommand(program);
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  // A FLAGOPS_NOW ahead of the clock never reaches a real flag file (flagops rehearse is the way to try later times).
  program.hook('preAction', async (_program, action) => {
    if (writesChangedAt(action)) (await import('../lib/workspace/workspace.ts')).refuseFutureNow(`flagops ${action.name()}`, ctx.env);
  });
  return program;
}

/** Commander's help and errors: several lines, each printable (they repeat what the user typed). */
const printableLines = (s: string): string => s.split('\n').map(printable).join('\n');

/** `output` with every line redacted: no credential of the run is ever printed, whatever its source. */
function redacting(output: Output, redactor: Redactor): Output {
  const status = output.status;
  return {
    out: (l) => output.out(redactor.redact(l)),
    err: (l) => output.err(redactor.redact(l)),
    color: output.color,
    status: status ? (l) => status(redactor.redact(l)) : undefined,
  };
}

export async function main(argv: readonly string[], output: Output = consoleOutput(), cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const redactor = runSecrets(argv.slice(2), env);
  const safe = redacting(output, redactor);
  const ctx: CommandContext = { output: safe, redactor, cwd, env, exitCode: EXIT.ok };
  try {
    const program = await buildProgram(ctx, argv);
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof UsageError) {
      safe.err(`flagops: error: ${printable(e.message)}`);
      return EXIT.usage;
    }
    if (missingPackage(e)) {
      // A command's lazily loaded dependency is missing (bin/flagops.cjs checks them before start-up too).
      safe.err('flagops: error: dependencies are not installed; run `npm ci` first');
      return EXIT.usage;
    }
    safe.err(`flagops: internal error: ${printable((e as Error).message)}`);
    if (process.env.FLAGOPS_DEBUG) safe.err(String((e as Error).stack));
    else safe.err('(set FLAGOPS_DEBUG=1 for the stack trace, and please report it)');
    return EXIT.internal;
  }
}

/** An import of a package that is not installed (not a module of flagops' own that is missing). */
const missingPackage = (e: unknown): boolean => (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package/.test((e as Error).message);
