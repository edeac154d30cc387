/**
 * The release pipeline from the command line: `flagops advance FLAG` takes the flag's next step
 * (lib/rollout/pipeline.ts works it out, lib/edits/edits.ts writes it like `enable`/`rollout`), and
 * `flagops status FLAG` shows where the flag stands and what blocks its next step.
 */
import { Option } from 'commander';
import { DEFAULT_UPSTREAM, UPSTREAM_REF } from '../../lib/review/base.ts';
import { editFlagState } from '../../lib/edits/edits.ts';
import { pipelinePosition, type PipelinePosition, type StateDifference } from '../../lib/rollout/pipeline.ts';
import { diskReader, parseProject } from '../../lib/workspace/project.ts';
import type { ProjectModel } from '../../model/flags.ts';
import { now, openWorkspace, UsageError, type Workspace } from '../../lib/workspace/workspace.ts';
import { unknownFlag } from '../../common/text/suggest.ts';
import type { FlagState } from '../../model/flag-schemas.ts';
import { describeExposure } from '../../policies/state-rules.ts';
import { printable, safeJson } from '../report.ts';
import { table } from '../../common/text/format.ts';
import { EXIT, note, type CommandContext, type Register } from '../context.ts';
import { changedBy, oneLine, report } from './edit.ts';
import { shortSha } from '../../common/text/sha.ts';

interface AdvanceOptions {
  env?: string;
  reason?: string;
  ticket?: string;
  by?: string;
  approvedBy?: string;
  dryRun?: boolean;
}

/** A flag the catalog declares, or a usage error that says so. */
export function knownFlag(model: ProjectModel, flag: string): void {
  if (!model.catalog.names.includes(flag)) throw new UsageError(unknownFlag(flag, model.catalog.names, model.catalog.file, true));
}

const differences = (list: readonly StateDifference[], a: string, b: string): string =>
  list.map((d) => `${d.environment}: ${describeExposure(d.a)} ${a}, ${describeExposure(d.b)} ${b}`).join('; ');

/** Why the next step cannot be taken from this clone, or undefined. */
function notOnMain(p: PipelinePosition): string | undefined {
  if (p.pending.length > 0) {
    return `${p.flag} has changes here that are not on main yet (${differences(p.pending, 'on main', 'here')}; base: ${p.baseLabel}): merge their pull request first, update this clone (\`git checkout main && git pull\`), then run flagops advance again`;
  }
  if (p.behind.length > 0) {
    return `main has moved on for ${p.flag} since this clone's base (${differences(p.behind, 'at the base', `on ${p.base!.ref}`)}): update first (\`git pull\`, or \`git rebase ${p.base!.ref === DEFAULT_UPSTREAM ? UPSTREAM_REF : p.base!.ref}\` on a branch), then run flagops advance again`;
  }
  return undefined;
}

/** `step 2 of 4 in production` for an environment with several pipeline steps. */
function stepOf(p: PipelinePosition, environment: string, to: number): string {
  const steps = p.stages.find((s) => s.environment === environment)!.steps;
  return steps.length > 1 ? ` (step ${steps.indexOf(to) + 1} of ${steps.length} in ${environment})` : '';
}

export const registerPipeline: Register = (program, ctx) => {
  program
    .command('advance <flag>')
    .description(
      "take the flag's next step in the pipeline: the first environment (dev, staging, production) where it is not on 100%, raised to its next pipeline step " +
        '(production 5, 25, 50, 100), once the step before has been on main for the soak time; written like enable/rollout',
    )
    .option('--reason <text>', 'why (goes into the audit trail; default: names the step)')
    .option('--ticket <id>', "change ticket (default: the flag's ticket in that environment)")
    .option('--by <email>', 'who makes the change (default: git config user.email)')
    .option('--approved-by <email>', 'approver, a second person (required in production)')
    .option('--dry-run', 'say what the next step is and validate it, write nothing')
    // Not an option of advance: accepted only to say what to do instead of "unknown option".
    .addOption(new Option('--env <env>').hideHelp())
    .action(async (flag: string, opts: AdvanceOptions) => {
      if (opts.env !== undefined) {
        const ws = await openWorkspace(ctx.cwd, note(ctx));
        throw new UsageError(envGiven(flag, opts.env, ws.settings.map((s) => s.name)));
      }
      oneLine('reason', opts.reason);
      const ws = await openWorkspace(ctx.cwd, note(ctx), { writes: !opts.dryRun });
      const current = parseProject(ws.settings, diskReader(ws.root)).model;
      knownFlag(current, flag);
      const at = now();
      const position = pipelinePosition(ws, current, flag, at);
      if (position.baseProblem) note(ctx)(`${position.baseProblem}; the next step is judged against ${position.baseLabel}`);
      const blocked = notOnMain(position);
      if (blocked) return refuse(ctx, blocked);
      const next = position.next;
      if (!next) throw new UsageError(`${flag} has an invalid entry in an environment before its next step; run flagops check and fix it first`);
      if (next.done) {
        return refuse(ctx, `${flag} is on 100% in every environment: the pipeline is done. Once the code always takes the flag's on path, retire it with \`flagops remove ${flag} --keep-code-path\``);
      }
      const target: FlagState = { ...next.from, enabled: true, rollout: next.to };
      ctx.output.out(`flagops advance: ${flag}: next step ${next.environment} ${describeExposure(next.from)} -> ${describeExposure(target)}${stepOf(position, next.environment, next.to)}`);
      const ticket = opts.ticket ?? next.from.ticket;
      if (opts.ticket === undefined && ticket !== undefined) note(ctx)(`using the flag's ticket in ${next.environment}, ${printable(ticket)} (pass --ticket to name another)`);
      const outcome = await editFlagState(
        ws,
        {
          kind: next.from.enabled ? 'rollout' : 'enable',
          flag,
          environment: next.environment,
          rollout: next.to,
          reason: opts.reason ?? `Rollout to ${next.to}% of users in ${next.environment}${stepOf(position, next.environment, next.to)} (flagops advance)`,
          ticket,
          by: changedBy(ws, opts.by),
          approvedBy: opts.approvedBy,
          at,
        },
        { dryRun: opts.dryRun, onNote: note(ctx) },
      );
      report(ctx, outcome, opts.dryRun);
      if (outcome.dist && !opts.dryRun) {
        ctx.output.out(`after the merge: ${next.settings.soakMinutes > 0 ? `${next.environment} holds this step for ${next.settings.soakMinutes} minutes on main; ` : ''}watch it with \`flagops monitor ${flag} --env ${next.environment} --prometheus URL\`, then run flagops advance again`);
      }
    });
};

/** Why `advance --env E` is not how to choose the environment, and the command that sets E by hand. */
function envGiven(flag: string, env: string, environments: readonly string[]): string {
  return (
    `advance chooses the environment itself: the first of ${environments.join(', ')} where ${flag} is not on 100%, raised to its next step. ` +
    `To set a rollout in ${env} by hand, run \`flagops rollout ${flag} --env ${env} --to N\` (see \`flagops advance --dry-run\` for the next step)`
  );
}

function refuse(ctx: CommandContext, why: string): void {
  ctx.output.err(`flagops advance: refused: ${printable(why)}; no file was changed`);
  ctx.exitCode = EXIT.violations;
}

/** `flagops status FLAG`: where the flag stands in the pipeline and what blocks its next step. */
export async function flagStatus(ctx: CommandContext, ws: Workspace, model: ProjectModel, flag: string, json: boolean): Promise<void> {
  knownFlag(model, flag);
  const p = pipelinePosition(ws, model, flag, now());
  const why = notOnMain(p);
  if (json) {
    ctx.output.out(
      safeJson(
        {
          flag,
          base: p.base ? { ref: p.base.ref, commit: p.base.commit, mergeBase: p.base.mergeBase } : null,
          environments: p.stages.map((s) => ({
            environment: s.environment,
            state: describeExposure(s.state),
            enabled: s.state?.enabled ?? null,
            rollout: s.state?.rollout ?? null,
            onMain: p.base ? describeExposure(s.onMain) : null,
            landed: s.landed ?? null,
            pipelineSteps: s.steps,
            soakMinutes: s.soakMinutes,
          })),
          done: p.next?.done ?? false,
          next: p.next && !p.next.done ? { environment: p.next.environment, from: describeExposure(p.next.from), to: `on ${p.next.to}%` } : null,
          blockers: [...(why ? [{ rule: 'not-on-main', message: why }] : []), ...p.blockers.map((f) => ({ rule: f.rule, message: f.message }))],
        },
        2,
      ),
    );
    return;
  }
  const out = ctx.output;
  out.out(`flagops status ${flag} (base: ${p.baseLabel})`);
  if (p.baseProblem) out.err(`flagops: note: ${printable(p.baseProblem)}`);
  const rows = p.stages.map((s) => {
    const level = s.state?.enabled ? s.state.rollout : 0;
    const steps = s.steps.map((x) => (x === level ? `[${x}]` : String(x))).join(' ');
    const state = killOrState(s.state) + (p.base && describeExposure(s.onMain) !== describeExposure(s.state) ? ` (${describeExposure(s.onMain)} on main)` : '');
    return [s.environment, state, s.landed ? `${s.landed.at} (${shortSha(s.landed.commit)})` : '-', steps, s.soakMinutes > 0 ? `${s.soakMinutes}m` : '-'];
  });
  for (const l of table(rows, ['ENVIRONMENT', 'STATE', 'ON MAIN SINCE', 'PIPELINE', 'SOAK'])) out.out(l);
  if (!p.next) {
    out.out('next: unknown: an entry of this flag is invalid (run flagops check)');
    return;
  }
  if (p.next.done) {
    out.out(`done: on 100% in every environment; once the code always takes the on path, retire it with \`flagops remove ${flag} --keep-code-path\``);
    return;
  }
  const next = p.next;
  out.out(`next: ${next.environment} ${describeExposure(next.from)} -> on ${next.to}%${stepOf(p, next.environment, next.to)}: \`flagops advance ${flag}\``);
  const blockers = [...(why ? [`[not-on-main] ${why}`] : []), ...p.blockers.map((f) => `[${f.rule}] ${f.message}`)];
  if (blockers.length === 0) out.out(`blocked by: nothing${next.settings.requireApproval ? ` (${next.environment} needs --approved-by, a second person)` : ''}`);
  else for (const b of blockers) out.out(`blocked by: ${printable(b)}`);
}

function killOrState(s: FlagState | undefined): string {
  if (s && !s.enabled && s.rollout > 0) return `off (kill switch, was ${s.rollout}%)`;
  return describeExposure(s);
}
