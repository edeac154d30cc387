import type { StaleFlag } from '../../lib/code/flag-debt.ts';
import { diskReader, parseProject } from '../../lib/workspace/project.ts';
import type { Parsed } from '../../model/flags.ts';
import { now, openWorkspace, UsageError, type Workspace } from '../../lib/workspace/workspace.ts';
import { describeExposure } from '../../policies/state-rules.ts';
import { printFindings, safeJson } from '../report.ts';
import { table } from '../../common/text/format.ts';
import { EXIT, type CommandContext, type Register, note } from '../context.ts';
import { checkEnv, envOption, srcOption } from '../options.ts';

async function load(ctx: CommandContext, workspace?: Workspace): Promise<Parsed> {
  const ws = workspace ?? (await openWorkspace(ctx.cwd, note(ctx)));
  const parsed = parseProject(ws.settings, diskReader(ws.root));
  const errors = parsed.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    printFindings(ctx.output, errors, 'text', 'flagops: the flag files have errors (showing what could be read)');
    ctx.exitCode = EXIT.violations;
  }
  return parsed;
}

export const registerInfo: Register = (program, ctx) => {
  program
    .command('list')
    .description('the flag catalog: every flag with its type, owner, dates and prerequisites')
    .option('--json', 'JSON output')
    .action(async (opts: { json?: boolean }) => {
      const parsed = await load(ctx);
      const flags = parsed.model.catalog.names.map((name) => ({ name, ...parsed.model.catalog.flags[name] }));
      if (opts.json) return ctx.output.out(safeJson(flags, 2));
      for (const l of table(
        flags.map((f) => [f.name, f.type ?? '?', f.owner ?? '?', f.expires ?? '-', (f.requires ?? []).join(', ') || '-', f.description ?? '']),
        ['FLAG', 'TYPE', 'OWNER', 'EXPIRES', 'REQUIRES', 'DESCRIPTION'],
      ))
        ctx.output.out(l);
      ctx.output.out(`${flags.length} flags`);
    });

  program
    .command('status')
    .description('the state of every flag in every environment (or in one, with its audit fields); with FLAG, where that flag stands in the pipeline and what blocks its next step')
    .argument('[flag]', 'one flag: its pipeline position, when each state landed on main, its next step and what blocks it')
    .addOption(envOption())
    .addOption(srcOption('the backend\'s checkout, for the stale flags per owner'))
    .option('--json', 'JSON output')
    .action(async (flag: string | undefined, opts: { env?: string; src?: string[]; json?: boolean }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      if (flag !== undefined && opts.env !== undefined) throw new UsageError('status FLAG shows every environment of the pipeline; leave out --env');
      if (flag !== undefined && opts.src !== undefined) throw new UsageError('status FLAG does not read the code (the stale flags per owner end `flagops status` without FLAG); leave out --src');
      const only = checkEnv(ws, opts.env);
      const parsed = await load(ctx, ws);
      if (flag !== undefined) return (await import('./pipeline.ts')).flagStatus(ctx, ws, parsed.model, flag, opts.json === true);
      const envs = parsed.model.environments.filter((e) => !only || only.includes(e.settings.name));
      if (opts.json) {
        const rows = envs.flatMap((e) => Object.entries(e.states).map(([flag, s]) => ({ environment: e.settings.name, flag, ...s })));
        return ctx.output.out(safeJson(rows, 2));
      }
      if (only) {
        const env = envs[0]!;
        const rows = Object.entries(env.states).map(([flag, s]) => [flag, describeExposure(s), s.ticket ?? '-', s.changed_by, s.changed_at, s.approved_by ?? '-', s.reason]);
        for (const l of table(rows, ['FLAG', 'STATE', 'TICKET', 'CHANGED BY', 'CHANGED AT', 'APPROVED BY', 'REASON'])) ctx.output.out(l);
        ctx.output.out(await staleFooter(ctx, ws, parsed, opts.src));
        return;
      }
      const rows = parsed.model.catalog.names.map((flag) => [flag, ...envs.map((e) => killOrState(e.states[flag]))]);
      for (const l of table(rows, ['FLAG', ...envs.map((e) => e.settings.name.toUpperCase())])) ctx.output.out(l);
      ctx.output.out(await staleFooter(ctx, ws, parsed, opts.src));
    });

  program
    .command('stale')
    .description('clean-up candidates, each with its reasons: past its expiry date, on at 100% everywhere for long (by main\'s git history), no code uses it')
    .option('--days <n>', 'how long "at 100% everywhere" counts as long', '30')
    .addOption(srcOption('the backend\'s checkout, to count code references in'))
    .option('--strict', 'exit 1 when any flag has expired')
    .option('--json', 'JSON output')
    .action(async (opts: { days: string; src?: string[]; strict?: boolean; json?: boolean }) => {
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 0) throw new UsageError(`--days expects a whole number of days, got '${opts.days}'`);
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      const parsed = await load(ctx, ws);
      const rows = await staleFlags(ctx, ws, parsed, days, { src: opts.src });
      const { describeReason } = await import('../../lib/code/flag-debt.ts');
      if (opts.json) ctx.output.out(safeJson(rows, 2));
      else if (rows.length === 0) ctx.output.out('flagops stale: no clean-up candidates');
      else {
        for (const l of table(rows.map((r) => [r.flag, r.owner, r.reasons.map(describeReason).join('; ')]), ['FLAG', 'OWNER', 'WHY'])) ctx.output.out(l);
        ctx.output.out(`flagops stale: ${rows.length} clean-up candidate${rows.length === 1 ? '' : 's'}: remove the flag from the code, then run \`flagops remove FLAG\` (--keep-code-path for a flag on 100% everywhere)`);
      }
      if (opts.strict && rows.some((r) => r.reasons.some((why) => why.why === 'expired'))) ctx.exitCode = EXIT.violations;
    });
};

/**
 * The stale flags of the project: expiry, time at 100% everywhere (git), code references. Loaded
 * only by the commands that use it; `quiet` leaves out the notes on how they were derived.
 */
async function staleFlags(ctx: CommandContext, ws: Workspace, parsed: Parsed, days: number, options: { src?: readonly string[]; quiet?: boolean }): Promise<StaleFlag[]> {
  const [{ flagDebt, fullRollouts }, { codeReferences, referenceCounts }] = await Promise.all([import('../../lib/code/flag-debt.ts'), import('./refs.ts')]);
  const { model } = parsed;
  const onNote = options.quiet ? () => {} : note(ctx);
  const full = fullRollouts(ws.root, model);
  if (full.note) onNote(full.note);
  const code = codeReferences(ws, model, { src: options.src, cwd: ctx.cwd, env: ctx.env, onNote });
  return flagDebt(model, {
    now: now(),
    days,
    fullRollouts: full.since,
    references: code && { folders: code.scan.folders, counts: referenceCounts(code.scan) },
  });
}

/** The footer of `status`: stale flags per owner team. */
async function staleFooter(ctx: CommandContext, ws: Workspace, parsed: Parsed, src: readonly string[] | undefined): Promise<string> {
  const { staleByOwner } = await import('../../lib/code/flag-debt.ts');
  const byOwner = staleByOwner(await staleFlags(ctx, ws, parsed, DEFAULT_STALE_DAYS, { src, quiet: true }));
  if (byOwner.length === 0) return 'stale flags per owner: none';
  return `stale flags per owner: ${byOwner.map(([owner, n]) => `${owner} ${n}`).join(', ')} (\`flagops stale\` says why)`;
}

/** `flagops stale --days`' default, also what `status` counts with. */
const DEFAULT_STALE_DAYS = 30;

function killOrState(s: Parameters<typeof describeExposure>[0]): string {
  if (s && !s.enabled && s.rollout > 0) return `off (kill switch, was ${s.rollout}%)`;
  return describeExposure(s);
}
