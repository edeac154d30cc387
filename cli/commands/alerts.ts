import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Option } from 'commander';
import { openWorkspace, UsageError } from '../../lib/workspace/workspace.ts';
import { table } from '../../common/text/format.ts';
import { EXIT, note, type Register } from '../context.ts';
import { eachEnv, envOption } from '../options.ts';
import { printSkipped } from '../report.ts';

export const registerAlerts: Register = (program, ctx) => {
  program
    .command('alerts')
    .description(
      'the alert catalog, one row per alert and environment: environment, alert, tier, severity, priority, for, threshold and runbook ' +
        '(the URL of its page, as in the runbook_url annotation); markdown: one table per environment, the runbook linked; json: the same rows',
    )
    .addOption(envOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--rules', "print the committed dist/<env>/ rules as a plain Prometheus rule file (for promtool); needs --env")
    .option('--update <file>', 'rewrite the markdown tables between the <!-- flagops alerts: ... markers of FILE (docs/monitoring.md)')
    .option('--runbooks <dir>', "rewrite the table between the same markers in each alert's runbook page DIR/<alert-in-kebab-case>.md")
    .action(async (opts: { env?: string; format: 'text' | 'markdown' | 'json'; update?: string; runbooks?: string; rules?: boolean }) => {
      // Every environment whose settings load is listed; the others are skipped, saying why. The
      // documentation is only ever rewritten from every environment.
      const ws = await openWorkspace(ctx.cwd, note(ctx), { eachEnvironment: !opts.update && !opts.runbooks });
      const { environments: only, unloaded } = eachEnv(ws, opts.env);
      // The alert catalog loads the constructs: only when this command runs.
      const [{ ruleFileOf, ruleFileText }, { readDist }, { alertRows, alertTablesMarkdown, replaceAlertTables, runbookTables, TABLE_BEGIN, TABLE_END }] = await Promise.all([
        import('../../lib/rollout/prometheus-rules.ts'),
        import('../../lib/workspace/dist.ts'),
        import('../../lib/rollout/alert-table.ts'),
      ]);
      if (opts.rules && !opts.env) throw new UsageError('--rules needs --env: one rule file per environment');
      printSkipped(ctx.output, 'alerts', unloaded);
      if (only.length === 0) {
        ctx.output.err(`flagops alerts: no environment's settings could be loaded`);
        ctx.exitCode = EXIT.violations;
        return;
      }
      if (opts.rules) {
        const rules = ruleFileOf(readDist(ws.root, opts.env!).values());
        if (rules.groups.length === 0) {
          ctx.output.err(`flagops alerts: dist/${opts.env} holds no PrometheusRule: synthesize it first (\`npx flagops synth --env ${opts.env}\`, which says what stops it), then commit dist/`);
          ctx.exitCode = EXIT.violations;
          return;
        }
        return ctx.output.out(ruleFileText(rules).trimEnd());
      }
      const settings = ws.settings.filter((s) => only.includes(s.name));
      if (opts.update || opts.runbooks) {
        // Every file is read and checked before any is written: a page without markers changes nothing.
        const targets = [
          ...(opts.update ? [{ file: opts.update, tables: alertTablesMarkdown(settings, runbookLinks(ws.root, resolve(ctx.cwd, opts.update))) }] : []),
          ...(opts.runbooks ? runbookTables(settings).map((r) => ({ file: join(opts.runbooks!, r.page), tables: r.table })) : []),
        ];
        const edits = targets.map(({ file, tables }) => {
          const path = isAbsolute(file) ? file : join(ctx.cwd, file);
          let text: string;
          try {
            text = readFileSync(path, 'utf8');
          } catch {
            throw new UsageError(`cannot read ${file}`);
          }
          const updated = replaceAlertTables(text, tables);
          if (updated === undefined) throw new UsageError(`${file} has no ${TABLE_BEGIN} ... ${TABLE_END} markers`);
          return { file, path, changed: updated !== text, updated };
        });
        for (const e of edits) if (e.changed) writeFileSync(e.path, e.updated);
        if (opts.update) ctx.output.out(`flagops alerts: ${opts.update} ${edits[0]!.changed ? 'updated' : 'is up to date'}`);
        if (opts.runbooks) {
          const pages = edits.slice(opts.update ? 1 : 0);
          ctx.output.out(`flagops alerts: ${opts.runbooks}: ${pages.filter((e) => e.changed).length} of ${pages.length} runbook pages updated`);
        }
        return;
      }
      if (opts.format === 'markdown') return ctx.output.out(alertTablesMarkdown(settings));
      const rows = alertRows(settings);
      if (opts.format === 'json') return ctx.output.out(JSON.stringify(rows, null, 2));
      for (const l of table(
        rows.map((r) => [r.environment, r.alert, r.tier, r.severity, r.priority, r.for, r.threshold, r.runbook]),
        ['ENV', 'ALERT', 'TIER', 'SEVERITY', 'PRIORITY', 'FOR', 'THRESHOLD', 'RUNBOOK'],
      ))
        ctx.output.out(l);
    });
};

/** The project's runbook folder (docs/runbooks) as a link from the page at the absolute path `file`. */
function runbookLinks(root: string, file: string): string {
  return relative(dirname(file), join(root, 'docs', 'runbooks')).split(sep).join('/');
}
