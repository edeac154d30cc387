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
import { Command, type Option, type OptionValues } from 'commander';
import { suggest } from '../common/text/suggest.ts';

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
  missingArgument(name: string): void;
}

/** An option a command needs only in some cases (`--expires` for a release flag), and why. */
export interface Requirement {
  /** The option as its help shows it: `--expires <date>`. */
  readonly option: string;
  readonly why: string;
}

/** The options required by the values of others or by the project's settings (see {@link FlagopsCommand.requiredWhen}). */
export type Requirements = (options: OptionValues) => Promise<readonly Requirement[]>;

/** A commander command whose subcommands are flagops commands too. */
export class FlagopsCommand extends Command {
  private requirements?: Requirements;

  override createCommand(name?: string): FlagopsCommand {
    return new FlagopsCommand(name);
  }

  /**
   * Options this command needs depending on the others or on the project (`add --type release`
   * needs `--expires`): checked before the action runs, and reported in the one usage error that
   * lists every missing required option and argument.
   */
  requiredWhen(requirements: Requirements): this {
    this.requirements = requirements;
    return this.hook('preAction', async () => {
      const message = this.missing(await requirements(this.opts()));
      if (message !== undefined) this.error(message, { code: 'commander.missingMandatoryOptionValue' });
    });
  }

  /**
   * Commander calls this for the first missing required option. It reports an unknown option first
   * (`--evn`: did you mean `--env`?), else every missing required option and argument at once (for
   * a command with {@link requiredWhen}, with those, just before the action).
   */
  missingMandatoryOptionValue(_first: Option): void {
    const unknown = this.args.find((a) => a.startsWith('-') && a !== '-' && a !== '--' && !this.options.some((o) => [o.long, o.short].includes(a.split('=')[0])));
    if (unknown !== undefined) (this as unknown as CommanderInternals).unknownOption(unknown);
    if (this.requirements) return;
    this.error(this.missing([])!, { code: 'commander.missingMandatoryOptionValue' });
  }

  /** A missing argument of a command with {@link requiredWhen} is reported with its other missing options. */
  missingArgument(name: string): void {
    if (!this.requirements) (Command.prototype as unknown as CommanderInternals).missingArgument.call(this, name);
  }

  /** `error: missing required argument 'flag' and options '--env <env>' and '--expires <date>' (why)`, or undefined when nothing is missing. */
  private missing(more: readonly Requirement[]): string | undefined {
    const options = [
      ...this.options.filter((o) => o.mandatory && this.getOptionValue(o.attributeName()) === undefined).map((o) => `'${o.flags}'`),
      ...more.map((r) => `'${r.option}' (${r.why})`),
    ];
    const operands = this.args.filter((a) => !a.startsWith('-'));
    const args = this.registeredArguments.filter((a, i) => a.required && operands[i] === undefined).map((a) => `'${a.name()}'`);
    const missing = [
      ...(args.length > 0 ? [`argument${args.length === 1 ? '' : 's'} ${list(args)}`] : []),
      ...(options.length > 0 ? [`option${options.length === 1 ? '' : 's'} ${list(options)}`] : []),
    ];
    return missing.length > 0 ? `error: missing required ${missing.join(' and ')}` : undefined;
  }
}

/** `a`, `a and b`, `a, b and c`. */
export const list = (items: readonly string[]): string => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

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
