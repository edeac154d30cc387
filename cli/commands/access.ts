import type { SubjectAccess } from '../../policies/access-matrix.ts';
import { now, openWorkspace, validate } from '../../lib/workspace/workspace.ts';
import { printSkipped } from '../report.ts';
import { EXIT, type Register, note } from '../context.ts';
import { eachEnv, envOption } from '../options.ts';

export const registerAccess: Register = (program, ctx) => {
  program
    .command('access')
    .description('who may do what to feature-flags-config and the backup resources, computed from the synthesized Roles and RoleBindings')
    .addOption(envOption())
    .option('--json', 'JSON output')
    .action(async (opts: { env?: string; json?: boolean }) => {
      // Each environment that can be synthesized is reported; the others are skipped, saying why.
      const ws = await openWorkspace(ctx.cwd, note(ctx), { eachEnvironment: true });
      const { environments, unloaded } = eachEnv(ws, opts.env);
      printSkipped(ctx.output, 'access', unloaded);
      const result = environments.length > 0 ? await validate(ws, { now: now(), environments, eachEnvironment: true }) : undefined;
      printSkipped(ctx.output, 'access', result?.skipped ?? []);
      if (!result?.manifests || result.manifests.length === 0) {
        ctx.output.err(`flagops access: no environment could be synthesized`);
        ctx.exitCode = EXIT.violations;
        return;
      }
      const { accessMatrix } = await import('../../policies/access-matrix.ts');
      const { ACCESS_TARGETS, accessTable, flagWriters } = await import('../../lib/access/access-report.ts');
      const { flagConfigMapsTarget, flagConfigMapTarget } = await import('../../policies/access-policies.ts');
      const reports = result.manifests.map((m) => {
        const settings = ws.settings.find((s) => s.name === m.environment)!;
        const objects = m.files.map((f) => f.object);
        // The flag column covers every flag ConfigMap (the shards of a split flag set too).
        const targets = ACCESS_TARGETS.map((t) => (t === flagConfigMapTarget ? flagConfigMapsTarget(objects) : t));
        const subjects: SubjectAccess[] = accessMatrix(objects, settings.namespace, targets);
        return { environment: m.environment, namespace: settings.namespace, subjects };
      });
      if (opts.json) {
        ctx.output.out(JSON.stringify(reports, null, 2));
        return;
      }
      reports.forEach((r, i) => {
        if (i > 0) ctx.output.out('');
        ctx.output.out(`${r.environment} (namespace ${r.namespace})`);
        for (const line of accessTable(r.subjects)) ctx.output.out(line);
        ctx.output.out(`Who can change flags in ${r.environment}: ${flagWriters(r.subjects)}`);
      });
    });
};

