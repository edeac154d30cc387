/**
 * The commander program of flagops, with the usage errors people should get in one run:
 *
 * - every missing required option (and a missing argument) in one message, not one per run;
 * - `flagops help UNKNOWN` is an unknown command (exit 2, with a suggestion), not the general help;
 * - `--version` / `-V` prints `flagops <version of package.json>`.
 *
 * Light on purpose: `cli/main.ts` loads it at every start.
 */
import { readFileSync } from 'node:fs';
import { Command, type Option } from 'commander';
import { suggest } from '../lib/text/suggest.ts';

/** `flagops 0.1.0`, from the package's package.json (one small read at start). */
export function versionLine(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return `flagops ${typeof pkg.version === 'string' ? pkg.version : 'unknown'}`;
  } catch {
    return 'flagops (version unknown: package.json cannot be read)';
  }
}

/** Commander's internals this class reads; they exist in every commander 14 release (see lib/command.js). */
interface CommanderInternals {
  unknownOption(flag: string): void;
}

/** A commander command whose subcommands are flagops commands too. */
export class FlagopsCommand extends Command {
  override createCommand(name?: string): FlagopsCommand {
    return new FlagopsCommand(name);
  }

  /**
   * Commander calls this for the first missing required option. It reports an unknown option first
   * (`--evn`: did you mean `--env`?), else every missing required option and argument at once.
   */
  missingMandatoryOptionValue(_first: Option): void {
    const unknown = this.args.find((a) => a.startsWith('-') && a !== '-' && a !== '--' && !this.options.some((o) => [o.long, o.short].includes(a.split('=')[0])));
    if (unknown !== undefined) (this as unknown as CommanderInternals).unknownOption(unknown);
    const options = this.options.filter((o) => o.mandatory && this.getOptionValue(o.attributeName()) === undefined).map((o) => `'${o.flags}'`);
    const operands = this.args.filter((a) => !a.startsWith('-'));
    const args = this.registeredArguments.filter((a, i) => a.required && operands[i] === undefined).map((a) => `'${a.name()}'`);
    const missing = [
      ...(args.length > 0 ? [`argument${args.length === 1 ? '' : 's'} ${list(args)}`] : []),
      ...(options.length > 0 ? [`option${options.length === 1 ? '' : 's'} ${list(options)}`] : []),
    ];
    this.error(`error: missing required ${missing.join(' and ')}`, { code: 'commander.missingMandatoryOptionValue' });
  }
}

const list = (items: readonly string[]): string => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/**
 * `flagops help [command]`, replacing commander's: an unknown command is a usage error with a
 * suggestion, like `flagops rollot`.
 */
export function addHelpCommand(program: Command): void {
  program.helpCommand(false);
  program
    .command('help [command]')
    .description('display help for command')
    .action((name: string | undefined) => {
      if (name === undefined) return program.help();
      const command = program.commands.find((c) => c.name() === name || c.aliases().includes(name));
      if (command) return command.help();
      const hint = suggest(name, program.commands.map((c) => c.name()));
      program.error(`error: unknown command '${name}'${hint ? `\n(Did you mean ${hint}?)` : ''}`, { code: 'commander.unknownCommand' });
    });
}
