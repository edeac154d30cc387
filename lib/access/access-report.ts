/**
 * `flagops access`'s report: what it reports on (the flag ConfigMap and the backup resources), one
 * row per subject in plain words, and who can change flags.
 */
import { BACKUP_NAMES } from '../../constructs/database-backup.ts';
import { flagConfigMapTarget } from '../../policies/access-policies.ts';
import { table } from '../../common/text/format.ts';
import { describeSubject, describeVerbs, writes, type SubjectAccess, type Target } from '../../policies/access-matrix.ts';

/** What `flagops access` reports on: the flag ConfigMap and the backup resources. */
export const ACCESS_TARGETS: readonly Target[] = [
  flagConfigMapTarget,
  { label: 'backup CronJobs', apiGroup: 'batch', resource: 'cronjobs', names: [BACKUP_NAMES.cronJob, BACKUP_NAMES.verifyCronJob] },
  { label: 'backup PVC', apiGroup: '', resource: 'persistentvolumeclaims', names: [BACKUP_NAMES.claim] },
  { label: 'backup scripts', apiGroup: '', resource: 'configmaps', names: [BACKUP_NAMES.scripts] },
];

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
