import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Option } from 'commander';
import { extractRules } from '../../lib/prometheus-rules.ts';
import { alertRows, alertTablesMarkdown, replaceAlertTables, TABLE_BEGIN, TABLE_END } from '../../lib/alert-table.ts';
import { openWorkspace, UsageError } from '../../lib/workspace.ts';
import { table } from '../report.ts';
import type { Register } from '../main.ts';
import { checkEnv, envOption } from './synth.ts';

export const registerAlerts: Register = (program, ctx) => {
  program
    .command('alerts')
    .description('the alert catalog per environment: threshold, severity, priority and runbook of every alert')
    .addOption(envOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--rules', "print the committed dist/<env>/ rules as a plain Prometheus rule file (for promtool); needs --env")
    .option('--update <file>', `rewrite the markdown tables between the ${TABLE_BEGIN.slice(0, 22)}... markers of FILE (the README)`)
    .action(async (opts: { env?: string; format: 'text' | 'markdown' | 'json'; update?: string; rules?: boolean }) => {
      const ws = await openWorkspace(ctx.cwd);
      const only = checkEnv(ws, opts.env);
      if (opts.rules) {
        if (!opts.env) throw new UsageError('--rules needs --env: one rule file per environment');
        return ctx.output.out(extractRules(ws.root, opts.env).trimEnd());
      }
      const settings = ws.settings.filter((s) => !only || only.includes(s.name));
      if (opts.update) {
        const path = isAbsolute(opts.update) ? opts.update : join(ctx.cwd, opts.update);
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch {
          throw new UsageError(`cannot read ${opts.update}`);
        }
        const updated = replaceAlertTables(text, alertTablesMarkdown(settings));
        if (updated === undefined) throw new UsageError(`${opts.update} has no ${TABLE_BEGIN} ... ${TABLE_END} markers`);
        if (updated !== text) writeFileSync(path, updated);
        ctx.output.out(`flagops alerts: ${opts.update} ${updated === text ? 'is up to date' : 'updated'}`);
        return;
      }
      if (opts.format === 'markdown') return ctx.output.out(alertTablesMarkdown(settings));
      const rows = alertRows(settings);
      if (opts.format === 'json') return ctx.output.out(JSON.stringify(rows, null, 2));
      for (const l of table(
        rows.map((r) => [r.environment, r.alert, r.severity, r.priority, r.for, r.threshold]),
        ['ENV', 'ALERT', 'SEVERITY', 'PRIORITY', 'FOR', 'THRESHOLD'],
      ))
        ctx.output.out(l);
    });
};
