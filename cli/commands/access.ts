import { BACKUP_NAMES } from '../../constructs/database-backup.ts';
import { accessMatrix, describeSubject, describeVerbs, writes, type SubjectAccess, type Target } from '../../lib/access.ts';
import { now, openWorkspace, validate } from '../../lib/workspace.ts';
import { hasErrors } from '../../policies/findings.ts';
import { flagConfigMapsTarget, flagConfigMapTarget } from '../../policies/access-policies.ts';
import { printFindings, table } from '../report.ts';
import { EXIT, type Register, note } from '../main.ts';
import { checkEnv, envOption } from './synth.ts';

/** What `flagops access` reports on: the flag ConfigMap and the backup resources. */
export const ACCESS_TARGETS: readonly Target[] = [
  flagConfigMapTarget,
  { label: 'backup CronJobs', apiGroup: 'batch', resource: 'cronjobs', names: [BACKUP_NAMES.cronJob, BACKUP_NAMES.verifyCronJob] },
  { label: 'backup PVC', apiGroup: '', resource: 'persistentvolumeclaims', names: [BACKUP_NAMES.claim] },
  { label: 'backup scripts', apiGroup: '', resource: 'configmaps', names: [BACKUP_NAMES.scripts] },
];

export const registerAccess: Register = (program, ctx) => {
  program
    .command('access')
    .description('who may do what to feature-flags-config and the backup resources, computed from the synthesized Roles and RoleBindings')
    .addOption(envOption())
    .option('--json', 'JSON output')
    .action(async (opts: { env?: string; json?: boolean }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      const environments = checkEnv(ws, opts.env);
      const result = await validate(ws, { now: now(), environments });
      if (!result.manifests || hasErrors(result.findings.filter((f) => !f.file.startsWith('dist/')))) {
        printFindings(ctx.output, result.findings, 'text', 'flagops access: cannot synthesize');
        ctx.exitCode = EXIT.violations;
        return;
      }
      const reports = result.manifests.map((m) => {
        const settings = ws.settings.find((s) => s.name === m.environment)!;
        const objects = m.files.map((f) => f.object);
        // The flag column covers every flag ConfigMap (the shards of a split flag set too).
        const targets = ACCESS_TARGETS.map((t) => (t === flagConfigMapTarget ? flagConfigMapsTarget(objects) : t));
        return { environment: m.environment, namespace: settings.namespace, subjects: accessMatrix(objects, settings.namespace, targets) };
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

/** One row per subject, one column per target, verbs in plain words. */
export function accessTable(subjects: readonly SubjectAccess[]): string[] {
  const rows = subjects.map((s) => [
    describeSubject(s.subject) + (s.automountToken === false ? ' (no token)' : ''),
    ...ACCESS_TARGETS.map((t) => describeVerbs(s.access[t.label]?.verbs ?? [])),
  ]);
  return table(rows, ['SUBJECT', ...ACCESS_TARGETS.map((t) => t.label)]);
}

export function flagWriters(subjects: readonly SubjectAccess[]): string {
  const writers = subjects.filter((s) => writes(s.access[flagConfigMapTarget.label]?.verbs ?? []));
  if (writers.length === 0) return 'nobody';
  return writers.map((s) => `${describeSubject(s.subject)} (via Role ${s.access[flagConfigMapTarget.label]!.via.join(', ')})`).join('; ');
}
