import { Option } from 'commander';
import { defaultBase, gitReader, resolveRef } from '../../lib/git.ts';
import { parseProject } from '../../lib/project.ts';
import { now, openWorkspace, UsageError, validate } from '../../lib/workspace.ts';
import { hasErrors, strict } from '../../policies/findings.ts';
import { printFindings } from '../report.ts';
import { EXIT, type Register } from '../main.ts';

export const registerCheck: Register = (program, ctx) => {
  program
    .command('check')
    .description('every state rule, the change rules against --base, manifest policies, Kubernetes schemas, and drift of dist/; writes nothing')
    .option('--base <ref>', 'git ref the change is compared with (default: merge base with origin/main, when it exists)')
    .option('--strict', 'treat warnings as errors')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { base?: string; strict?: boolean; format: 'text' | 'json' }) => {
      const ws = await openWorkspace(ctx.cwd);
      const ref = opts.base ?? defaultBase(ws.root);
      let base;
      if (ref !== undefined) {
        const commit = resolveRef(ws.root, ref);
        if (!commit) throw new UsageError(`--base ${ref} is not a commit in this repository`);
        base = parseProject(ws.settings, gitReader(ws.root, commit));
      }
      const result = await validate(ws, { now: now(), base, drift: true });
      const findings = opts.strict ? strict(result.findings) : result.findings;
      const what = `flagops check${ref ? ` (base ${ref})` : ''}`;
      printFindings(ctx.output, findings, opts.format, what);
      ctx.exitCode = hasErrors(findings) ? EXIT.violations : EXIT.ok;
    });
};
