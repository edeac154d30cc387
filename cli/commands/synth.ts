import { applyDist, planDist } from '../../lib/workspace/dist.ts';
import { hasErrors } from '../../model/findings.ts';
import { distProjectFiles, now, openWorkspace, validate } from '../../lib/workspace/workspace.ts';
import { withEditLock } from '../../lib/edits/edits.ts';
import { printFindings } from '../report.ts';
import { EXIT, type Register, note } from '../context.ts';

import { checkEnv, envOption } from '../options.ts';

export const registerSynth: Register = (program, ctx) => {
  program
    .command('synth')
    .description('validate, then write dist/<env>/ (all environments by default) and the OpenFeature flag manifest; nothing is written when validation fails')
    .addOption(envOption())
    .action(async (opts: { env?: string }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx), { writes: true });
      const environments = checkEnv(ws, opts.env);
      await withEditLock(
        ws.root,
        async () => {
          const result = await validate(ws, { now: now(), environments });
          if (hasErrors(result.findings) || !result.manifests) {
            printFindings(ctx.output, result.findings, 'text', 'flagops synth: nothing written');
            ctx.exitCode = EXIT.violations;
            return;
          }
          const plan = planDist(ws.root, result.manifests, distProjectFiles(ws, result.projectFiles ?? []));
          applyDist(ws.root, plan);
          if (result.findings.length > 0) printFindings(ctx.output, result.findings, 'text', 'flagops synth');
          for (const f of plan.write) ctx.output.out(`${f.added ? 'created' : 'updated'} ${f.path}`);
          for (const p of plan.remove) ctx.output.out(`removed ${p}`);
          const project = result.projectFiles ?? [];
          const files = result.manifests.reduce((n, m) => n + m.files.length, 0) + project.length;
          const what = [...result.manifests.map((m) => m.environment), ...project.map((f) => f.path)].join(', ');
          ctx.output.out(`flagops synth: ${what}: ${files} files, ${plan.write.length} written, ${plan.remove.length} removed, ${plan.unchanged} unchanged`);
        },
        note(ctx),
      );
    });
};
