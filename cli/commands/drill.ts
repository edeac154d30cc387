import type { DrillFlagResult, DrillResult } from '../../lib/rollout/drill.ts';
import { now, openWorkspace, UsageError } from '../../lib/workspace/workspace.ts';
import { printable, printSkipped } from '../report.ts';
import { groupedNotes } from '../../common/text/notes.ts';
import { table } from '../../common/text/format.ts';
import { EXIT, type CommandContext, type Register, note } from '../context.ts';
import { eachEnv, envOption } from '../options.ts';

/** A duration in seconds with one decimal, right-aligned in a fixed width, so the table keeps its shape from run to run. */
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`.padStart(6);

/** `changed_by` of the scratch kill switches (they are never committed). */
export const DRILL_BY = 'rollback-drill@flagops.local';

interface DrillCliOptions {
  env?: string;
  flag?: string[];
  keys: string;
  json?: boolean;
  propagation: boolean;
}

function row(r: DrillFlagResult): string[] {
  const after = r.evaluationAfter;
  const off = !after ? '-' : after.on === 0 && after.errors === 0 ? `yes (${after.keys} keys)` : `no (${after.on} on, ${after.errors} errors)`;
  return [r.flag, r.before, r.allowed ? 'yes' : 'no', r.allowed ? String(r.objectsChanged.length) : '-', off, providerCell(r), seconds(r.ms), r.problems.length === 0 ? 'ok' : 'FAILED'];
}

/** How long the OpenFeature flagd provider took to see the kill switch in a kubelet-style volume. */
function providerCell(r: DrillFlagResult): string {
  const p = r.propagation;
  if (!p) return '-';
  if (p.ms === undefined) return 'never';
  return `${(p.ms / 1000).toFixed(1)} s${p.onAfter === 0 && p.errorsAfter === 0 ? '' : ' (still on)'}`;
}

function printResult(ctx: CommandContext, result: DrillResult): void {
  const out = ctx.output;
  if (result.blockers.length > 0) {
    printSkipped(out, 'drill', [{ environment: result.environment, errors: result.blockers }], 'the drill starts from its committed dist/, as its flag files synthesize it');
    return;
  }
  if (result.flags.length === 0) {
    out.out(`flagops drill: ${result.environment}: no flag is on; nothing to roll back`);
    return;
  }
  out.out(`flagops drill: ${result.environment}: ${result.flags.length} flag${result.flags.length === 1 ? '' : 's'} on; each kill switch pulled on a scratch copy of the project`);
  for (const l of table(result.flags.map(row), ['FLAG', 'BEFORE', 'ROLLBACK ALLOWED', 'OBJECTS CHANGED', 'OFF FOR ALL', 'PROVIDER SAW IT', 'TIME', 'RESULT'])) out.out(l);
  // Notes that say the same of many flags (promotion order in dev, say) are one line naming them; --json keeps each.
  const notes = result.flags.flatMap((r) => r.findings.filter((f) => f.severity === 'warning').map((f) => ({ subject: r.flag, message: f.message, rule: f.rule })));
  if (notes.length > 0) {
    out.out('notes (the kill switch is still allowed):');
    for (const n of groupedNotes(notes)) out.out(printable(n));
  }
  const failed = result.flags.filter((r) => r.problems.length > 0);
  for (const r of failed) {
    out.err(`flagops drill: ${result.environment}: ${r.flag} cannot be rolled back cleanly:`);
    for (const p of r.problems) out.err(`  - ${p}`);
  }
  const measured = result.flags.map((r) => r.propagation?.ms).filter((ms): ms is number => ms !== undefined);
  if (measured.length > 0) {
    out.out(
      `provider: the OpenFeature flagd provider (in-process, on the ConfigMap laid out as the kubelet mounts it) saw each kill switch within ${(Math.max(...measured) / 1000).toFixed(1)} s of the swap; ` +
        'in a cluster add the kubelet sync period and its ConfigMap cache delay (docs/flag-serving.md: "How long a change takes to reach the backend")',
    );
  }
  const clean = result.flags.length - failed.length;
  out.out(`flagops drill: ${result.environment}: ${clean} of ${result.flags.length} flag${result.flags.length === 1 ? '' : 's'} roll back cleanly`);
}

export const registerDrill: Register = (program, ctx) => {
  program
    .command('drill')
    .description(
      'the rollback drill: for every flag on in an environment, pull its kill switch on a scratch copy and prove it passes every rule, ' +
        "changes only that flag's ConfigMap entries, and evaluates to off for everyone, also through the OpenFeature flagd provider " +
        'reading the ConfigMap as the kubelet mounts it, which it times (every environment unless --env); ' +
        'exit 1 if any flag fails or an environment cannot be drilled (stderr says which and why)',
    )
    .addOption(envOption())
    .option('--flag <flags...>', 'only these flags (default: every flag on in the environment)')
    .option('--keys <n>', 'targeting keys to evaluate with flagd per flag', '1000')
    .option('--json', 'JSON output')
    .option('--no-propagation', 'skip measuring how long the OpenFeature flagd provider takes to see each kill switch (about 5 s per environment)')
    .action(async (opts: DrillCliOptions) => {
      const keys = Number(opts.keys);
      if (!Number.isInteger(keys) || keys < 1) throw new UsageError(`--keys must be a whole number of targeting keys, at least 1, got '${opts.keys}'`);
      // Every environment that can be drilled is; the others are skipped, saying why (and exit 1).
      const ws = await openWorkspace(ctx.cwd, note(ctx), { eachEnvironment: true });
      const { environments, unloaded } = eachEnv(ws, opts.env);
      if (!opts.json) printSkipped(ctx.output, 'drill', unloaded);
      const at = now();
      const results: DrillResult[] = unloaded.map((u) => ({ environment: u.environment, blockers: [], problem: u.problem, flags: [], ok: false }));
      for (const environment of environments) {
        const status = ctx.output.status;
        const { drill } = await import('../../lib/rollout/drill.ts');
        const result = await drill(ws, {
          environment,
          now: at,
          by: DRILL_BY,
          targetingKeys: keys,
          flags: opts.flag,
          propagation: opts.propagation,
          onFlag: status ? (flag, i, total) => status(`drilling ${environment}: ${i + 1}/${total} ${flag}`) : undefined,
        });
        status?.('');
        results.push(result);
        if (!opts.json) printResult(ctx, result);
      }
      if (opts.json) ctx.output.out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      if (!results.every((r) => r.ok)) ctx.exitCode = EXIT.violations;
    });
};
