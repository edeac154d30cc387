import { Option, type Command, type OptionValues } from 'commander';
import { addFlag, editFlagState, removeFlag, restoreFlags, type EditOutcome, type StateEditKind } from '../../lib/edits/edits.ts';
import { gitUserEmail } from '../../lib/review/git.ts';
import { findRoot, now, openWorkspace, UsageError, type Workspace } from '../../lib/workspace/workspace.ts';
import { loadEnvironmentSettings } from '../../lib/workspace/project.ts';
import { catalogSchema } from '../../model/flag-schemas.ts';
import type { EnvironmentSettings } from '../../model/environments.ts';
import { list, type FlagopsCommand, type Requirement } from '../program.ts';
import type { Finding } from '../../model/findings.ts';
import { printable, printFindings } from '../report.ts';
import { EXIT, type CommandContext, type Register, note } from '../context.ts';
import { srcOption } from '../options.ts';

export interface AuditOptions {
  env: string;
  reason: string;
  ticket?: string;
  by?: string;
  approvedBy?: string;
  dryRun?: boolean;
}

export function auditOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--reason <text>', 'why (goes into the audit trail)')
    .option('--ticket <id>', 'change ticket or incident id, e.g. TICKET-12345 or INC-2291 (required in staging and production)')
    .option('--by <email>', 'who makes the change (default: git config user.email)')
    .option('--dry-run', 'validate and show what would change, write nothing');
}

export function changedBy(ws: Workspace, by: string | undefined): string {
  const who = by ?? gitUserEmail(ws.root);
  if (!who) throw new UsageError('cannot tell who makes the change: pass --by EMAIL or set git config user.email');
  return who;
}

export function oneLine(name: string, value: string | undefined): void {
  if (value !== undefined && /[\r\n]/.test(value)) throw new UsageError(`--${name} must be a single line`);
}

/** For a refused edit, the CLI option that supplies each field a rule asks for. */
const OPTION_HINTS: Readonly<Record<string, string>> = {
  'ticket-required': 'pass --ticket ID (a change ticket, or an incident id such as INC-2291)',
  'ticket-format': 'pass --ticket in the form ABC-123 (for example INC-2291)',
  'approval-required': 'pass --approved-by EMAIL',
  'four-eyes': 'pass --approved-by with someone other than --by',
  'audit-not-updated': 'pass a new --reason (and --by)',
  'email-format': 'pass --by / --approved-by as e-mail addresses',
  'empty-reason': 'pass a non-empty --reason',
};

/** Adds the CLI option to pass to findings about the fields an edit writes. */
function withOptionHints(findings: readonly Finding[], files: readonly string[]): Finding[] {
  return findings.map((f) => {
    const hint = OPTION_HINTS[f.rule];
    return hint && f.severity === 'error' && files.includes(f.file) ? { ...f, message: `${f.message}; ${hint}` } : f;
  });
}

/** Prints an edit's outcome: refused (findings, exit 1), or what was (or would be) written. */
export function report(ctx: CommandContext, outcome: EditOutcome, dryRun: boolean | undefined, next = NEXT): void {
  if (outcome.noop) {
    ctx.output.out(outcome.summary);
    return;
  }
  if (outcome.refused) {
    ctx.output.err(`flagops: refused: ${printable(outcome.refused)}; no file was changed`);
    for (const d of outcome.details ?? []) ctx.output.err(`  ${printable(d)}`);
    ctx.exitCode = EXIT.violations;
    return;
  }
  if (outcome.baseNote) ctx.output.err(`flagops: note: ${outcome.baseNote}`);
  if (!outcome.dist) {
    const findings = withOptionHints(outcome.findings, outcome.files);
    printFindings(ctx.output, findings, 'text', `flagops: refused (${outcome.summary}; base: ${outcome.base}); no file was changed`);
    ctx.exitCode = EXIT.violations;
    return;
  }
  const elsewhere = outcome.findings.some((f) => f.severity === 'error');
  if (outcome.findings.length > 0) {
    printFindings(ctx.output, outcome.findings, 'text', elsewhere ? 'flagops: the errors above are outside the entry this kill switch writes and do not block it; fix them next' : 'flagops');
  }
  for (const n of outcome.notes ?? []) note(ctx)(n);
  const verb = dryRun ? 'would write' : 'wrote';
  ctx.output.out(`${outcome.summary} (base: ${outcome.base})`);
  for (const d of outcome.details ?? []) ctx.output.out(`  ${printable(d)}`);
  for (const f of outcome.files) ctx.output.out(`${verb} ${f}`);
  for (const f of outcome.dist.write) ctx.output.out(`${verb} ${f.path}`);
  for (const f of outcome.dist.remove) ctx.output.out(`${dryRun ? 'would remove' : 'removed'} ${f}`);
  if (!dryRun) ctx.output.out(next);
}

const NEXT = 'next: review `git diff`, commit, and open a pull request (CI runs flagops check and flagops diff)';

function stateCommand(program: Command, ctx: CommandContext, kind: StateEditKind, description: string, extra: (c: Command) => Command): void {
  auditOptions(extra(program.command(`${kind} <flag>`).description(description).requiredOption('--env <env>', 'environment')))
    .option('--approved-by <email>', 'approver, a second person (required in production for enabled flags)')
    .action(async (flag: string, opts: AuditOptions & { rollout?: number; to?: number }) => {
      oneLine('reason', opts.reason);
      const ws = await openWorkspace(ctx.cwd, note(ctx), { writes: !opts.dryRun, killSwitch: kind === 'disable' });
      const outcome = await editFlagState(
        ws,
        {
          kind,
          flag,
          environment: opts.env,
          rollout: opts.rollout ?? opts.to,
          reason: opts.reason,
          ticket: opts.ticket,
          by: changedBy(ws, opts.by),
          approvedBy: opts.approvedBy,
          at: now(),
        },
        { dryRun: opts.dryRun, onNote: note(ctx) },
      );
      report(ctx, outcome, opts.dryRun);
    });
}

/** A rollout option: a whole number 0..100 in plain decimal digits (not '', 0x19, 2.5e1, 1e2 or 25.0). */
const percent = (value: string): number => {
  const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 100)) throw new UsageError(`a rollout is a whole number of percent from 0 to 100, written in digits; got ${JSON.stringify(value)}`);
  return n;
};

/** The flag types that must expire: the catalog schema's condition on `expires`. */
const EXPIRING: readonly string[] = catalogSchema.properties.flags.additionalProperties.if.properties.type.enum;

/**
 * What `add` needs besides the options every flag needs: `--expires` for the types that expire, and
 * `--ticket` when an environment requires one (add writes an entry in every environment). Missing,
 * they are usage errors naming the option, never findings in files the user did not edit.
 */
export function addRequirements(opts: OptionValues, settings: readonly EnvironmentSettings[]): Requirement[] {
  const missing: Requirement[] = [];
  const type = opts.type as string | undefined;
  if (type !== undefined && EXPIRING.includes(type) && opts.expires === undefined) {
    missing.push({ option: '--expires <date>', why: `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} flag expires: the date it is due to be cleaned up, YYYY-MM-DD` });
  }
  const ticketed = settings.filter((s) => s.requireTicket).map((s) => s.name);
  if (ticketed.length > 0 && opts.ticket === undefined) {
    missing.push({ option: '--ticket <id>', why: `${list(ticketed)} need${ticketed.length === 1 ? 's' : ''} a ticket for every entry, and add writes one in each` });
  }
  return missing;
}

export const registerEdits: Register = (program, ctx) => {
  stateCommand(program, ctx, 'enable', 'turn a flag on (default rollout: the first step above 0)', (c) =>
    c.option('--rollout <n>', 'percent of users', percent),
  );
  stateCommand(program, ctx, 'rollout', 'move the rollout percentage (one step at a time in production)', (c) =>
    c.requiredOption('--to <n>', 'the new percentage', percent),
  );
  stateCommand(program, ctx, 'disable', 'the kill switch: turn a flag off; always allowed', (c) => c);

  (auditOptions(
    program
      .command('add <flag>')
      .description('declare a new flag in the catalog, off in every environment')
      .requiredOption('--description <text>', 'what the flag turns on')
      .requiredOption('--owner <team>', 'owning team slug, e.g. team-scheduling')
      .addOption(new Option('--type <type>', 'flag type').choices(['release', 'experiment', 'ops', 'permission']).makeOptionMandatory())
      .option('--expires <date>', 'YYYY-MM-DD (required for release and experiment flags)')
      .option('--requires <flags...>', 'prerequisite flags'),
  ) as FlagopsCommand)
    .requiredWhen(async (opts) => addRequirements(opts, await loadEnvironmentSettings(findRoot(ctx.cwd))))
    .action(async (flag: string, opts: Omit<AuditOptions, 'env'> & { description: string; owner: string; type: 'release'; expires?: string; requires?: string[] }) => {
      oneLine('reason', opts.reason);
      oneLine('description', opts.description);
      const ws = await openWorkspace(ctx.cwd, note(ctx), { writes: !opts.dryRun });
      const outcome = await addFlag(
        ws,
        {
          flag,
          description: opts.description,
          owner: opts.owner,
          type: opts.type,
          expires: opts.expires,
          requires: opts.requires,
          reason: opts.reason,
          ticket: opts.ticket,
          by: changedBy(ws, opts.by),
          at: now(),
        },
        { dryRun: opts.dryRun, onNote: note(ctx) },
      );
      report(ctx, outcome, opts.dryRun);
    });

  auditOptions(
    program
      .command('restore')
      .description("set every flag of an environment (or --flag F) back to its state at a git ref, as one change with fresh audit fields, judged by every rule (lowering always passes; a raise like any other): git is the backup")
      .requiredOption('--env <env>', 'environment')
      .requiredOption('--to <ref>', 'the git ref (commit SHA, tag, branch) whose flag states to restore')
      .option('--flag <flags...>', 'only these flags (default: every flag of the catalog)'),
  )
    .option('--approved-by <email>', 'approver, a second person (required in production for flags that end up enabled)')
    .action(async (opts: AuditOptions & { to: string; flag?: string[] }) => {
      oneLine('reason', opts.reason);
      const ws = await openWorkspace(ctx.cwd, note(ctx), { writes: !opts.dryRun });
      const outcome = await restoreFlags(
        ws,
        { environment: opts.env, to: opts.to, flags: opts.flag, reason: opts.reason, ticket: opts.ticket, by: changedBy(ws, opts.by), approvedBy: opts.approvedBy, at: now() },
        { dryRun: opts.dryRun, onNote: note(ctx) },
      );
      report(ctx, outcome, opts.dryRun);
    });

  auditOptions(
    program
      .command('remove <flag>')
      .description('retire a flag: delete it from the catalog and every environment, once that changes nothing for users (off everywhere, or on 100% everywhere with --keep-code-path)')
      .option('--keep-code-path', "the flag is on 100% everywhere and the code no longer reads it (it always takes the on path); checked in the backend's checkout as flagops refs does")
      .addOption(srcOption("the backend's checkout, where --keep-code-path is checked")),
  ).action(async (flag: string, opts: Omit<AuditOptions, 'env' | 'approvedBy'> & { keepCodePath?: boolean; src?: string[] }) => {
    oneLine('reason', opts.reason);
    const ws = await openWorkspace(ctx.cwd, note(ctx), { writes: !opts.dryRun });
    const code = { src: opts.src, cwd: ctx.cwd, env: ctx.env };
    const outcome = await removeFlag(ws, { flag, keepCodePath: opts.keepCodePath, code, reason: opts.reason, ticket: opts.ticket, by: changedBy(ws, opts.by), at: now() }, { dryRun: opts.dryRun, onNote: note(ctx) });
    // The entry is gone, so the audit trail takes the removal's reason and ticket from the commit subject.
    const subject = `Remove ${flag}: ${opts.reason}${opts.ticket ? ` (${opts.ticket})` : ''}`;
    report(ctx, outcome, opts.dryRun, `next: commit with the subject ${JSON.stringify(printable(subject))} (flagops audit takes the removal's reason and ticket from it), and open a pull request`);
  });
};
