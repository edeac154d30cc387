import { diskReader, parseProject, type Parsed } from '../../lib/project.ts';
import { now, openWorkspace, UsageError, type Workspace } from '../../lib/workspace.ts';
import { describeExposure, exposure } from '../../policies/state-rules.ts';
import { printFindings, safeJson, table } from '../report.ts';
import { EXIT, type CommandContext, type Register, note } from '../main.ts';
import { checkEnv, envOption } from '../options.ts';

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
    .option('--json', 'JSON output')
    .action(async (flag: string | undefined, opts: { env?: string; json?: boolean }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      if (flag !== undefined && opts.env !== undefined) throw new UsageError('status FLAG shows every environment of the pipeline; leave out --env');
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
        return;
      }
      const rows = parsed.model.catalog.names.map((flag) => [flag, ...envs.map((e) => killOrState(e.states[flag]))]);
      for (const l of table(rows, ['FLAG', ...envs.map((e) => e.settings.name.toUpperCase())])) ctx.output.out(l);
    });

  program
    .command('stale')
    .description('clean-up candidates: flags past their expiry date, and flags on at 100% everywhere for a long time')
    .option('--days <n>', 'how long "at 100% everywhere" counts as long', '30')
    .option('--strict', 'exit 1 when any flag has expired')
    .option('--json', 'JSON output')
    .action(async (opts: { days: string; strict?: boolean; json?: boolean }) => {
      const parsed = await load(ctx);
      const today = now();
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 0) throw new UsageError(`--days expects a whole number of days, got '${opts.days}'`);
      const { catalog, environments } = parsed.model;
      const rows: { flag: string; why: 'expired' | 'fully-rolled-out'; since: string; owner: string }[] = [];
      for (const name of catalog.names) {
        const def = catalog.flags[name];
        if (!def) continue;
        if (def.expires && def.expires < today.toISOString().slice(0, 10)) rows.push({ flag: name, why: 'expired', since: def.expires, owner: def.owner });
        const states = environments.map((e) => e.states[name]);
        if (states.every((s) => exposure(s) === 100)) {
          const last = states.map((s) => s!.changed_at).sort().at(-1)!;
          if (today.getTime() - Date.parse(last) > days * 86_400_000 && def.type !== 'ops' && def.type !== 'permission') {
            rows.push({ flag: name, why: 'fully-rolled-out', since: last.slice(0, 10), owner: def.owner });
          }
        }
      }
      if (opts.json) ctx.output.out(safeJson(rows, 2));
      else if (rows.length === 0) ctx.output.out('flagops stale: no clean-up candidates');
      else {
        const why = { expired: 'expired on', 'fully-rolled-out': 'on at 100% everywhere since' };
        for (const l of table(rows.map((r) => [r.flag, r.owner, `${why[r.why]} ${r.since}`]), ['FLAG', 'OWNER', 'WHY'])) ctx.output.out(l);
        ctx.output.out(`flagops stale: ${rows.length} clean-up candidate${rows.length === 1 ? '' : 's'}: remove the flag from the code, then run \`flagops remove FLAG\` (--keep-code-path for a flag on 100% everywhere)`);
      }
      if (opts.strict && rows.some((r) => r.why === 'expired')) ctx.exitCode = EXIT.violations;
    });
};

function killOrState(s: Parameters<typeof describeExposure>[0]): string {
  if (s && !s.enabled && s.rollout > 0) return `off (kill switch, was ${s.rollout}%)`;
  return describeExposure(s);
}
