import { auditTrail, type AuditEntry } from '../../lib/review/audit.ts';
import { DEFAULT_UPSTREAM, UPSTREAM_REF } from '../../lib/review/base.ts';
import { resolveRef, tryGit } from '../../lib/review/git.ts';
import { shortSha } from '../../common/text/sha.ts';
import { openWorkspace, UsageError } from '../../lib/workspace/workspace.ts';
import { unknownEnvironment } from '../../common/text/suggest.ts';
import { printable, safeJson } from '../report.ts';
import { table } from '../../common/text/format.ts';
import { EXIT, type Register, note } from '../context.ts';

export const registerAudit: Register = (program, ctx) => {
  program
    .command('audit')
    .description('the audit trail of every flag state change, rebuilt from the git history of the flag files')
    .option('--env <env>', 'only this environment')
    .option('--flag <flag>', 'only this flag')
    .option('--since <date>', 'only changes at or after this date (YYYY-MM-DD, UTC) or RFC 3339 time')
    .option('--ref <ref>', `the main branch whose first-parent history is read (default: ${DEFAULT_UPSTREAM}, else HEAD)`)
    .option('--json', 'JSON lines, one entry per line (the compliance format)')
    .action(async (opts: { env?: string; flag?: string; since?: string; ref?: string; json?: boolean }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      const environments = ws.settings.map((s) => s.name);
      if (opts.env !== undefined && !environments.includes(opts.env)) {
        throw new UsageError(unknownEnvironment(opts.env, environments));
      }
      if (!resolveRef(ws.root, 'HEAD')) throw new UsageError('flagops audit reads the git history: run it in a git repository with at least one commit');
      const since = parseSince(opts.since);
      // The commit of main, resolved once: a tag named origin/main never stands in for it.
      let ref = opts.ref === undefined ? resolveRef(ws.root, UPSTREAM_REF) : resolveRef(ws.root, opts.ref, '--ref');
      if (!ref) {
        if (opts.ref !== undefined) throw new UsageError(`--ref ${printable(opts.ref)} is not a commit in this repository`);
        ref = 'HEAD';
        const branch = tryGit(ws.root, ['symbolic-ref', '--quiet', '--short', 'HEAD'])?.trim();
        if (branch !== 'main') {
          ctx.output.err(
            `flagops: note: no ${DEFAULT_UPSTREAM} in this clone, so the audit follows HEAD${branch ? ` (${branch})` : ''}, which may hold changes that never reached main; ` +
              'run `git fetch origin main:refs/remotes/origin/main`, or pass --ref main',
          );
        }
      }
      const trail = auditTrail(ws.root, environments, { environment: opts.env, flag: opts.flag, since }, ref);
      for (const w of trail.warnings) ctx.output.err(`flagops: warning: ${printable(w)}`);
      if (trail.cut) {
        ctx.output.err(
          `flagops: warning: the history is shallow and cut at ${shortSha(trail.cut.commit)} (${trail.cut.date}): changes before it are not shown, ` +
            'and the state there is where this audit starts; run `git fetch --unshallow` for the complete trail',
        );
      }
      if (opts.json) {
        for (const e of trail.entries) ctx.output.out(safeJson(e));
      } else if (trail.entries.length === 0) {
        ctx.output.out('no flag changes found');
      } else {
        for (const line of table(trail.entries.map(row), ['TIMESTAMP', 'ENV', 'FLAG', 'EVENT', 'CHANGE', 'BY', 'TICKET', 'APPROVED BY', 'COMMIT', 'VIA', 'REASON'])) ctx.output.out(line);
      }
      ctx.exitCode = EXIT.ok;
    });
};

function parseSince(since: string | undefined): Date | undefined {
  if (since === undefined) return undefined;
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(since);
  const t = Date.parse(/T/.test(since) ? since : `${since}T00:00:00Z`);
  if (!ok || Number.isNaN(t)) throw new UsageError(`--since expects a date (YYYY-MM-DD) or an RFC 3339 time, got '${since}'`);
  return new Date(t);
}

const state = (enabled: boolean | null, rollout: number | null): string => (enabled === null ? 'absent' : enabled ? `on ${rollout ?? '?'}%` : 'off');
const EVENT_WORDS: Record<AuditEntry['event_type'], string> = {
  feature_flag_toggled: 'toggled',
  feature_flag_rollout_changed: 'rollout',
  feature_flag_added: 'added',
  feature_flag_removed: 'removed',
};

function row(e: AuditEntry): string[] {
  return [
    e.timestamp,
    e.environment,
    e.feature_flag,
    EVENT_WORDS[e.event_type],
    `${state(e.previous_state, e.previous_rollout_percentage)} -> ${state(e.new_state, e.rollout_percentage)}`,
    e.user_id,
    e.approval_ticket ?? '-',
    e.approved_by ?? '-',
    shortSha(e.commit),
    via(e),
    e.reason,
  ];
}

/** The pull request's commits behind a merge (`2: 1a2b3c4d 5e6f7a8b`), `-` for a direct commit. */
function via(e: AuditEntry): string {
  if (e.commits.length === 1 && e.commits[0]!.commit === e.commit) return '-';
  if (e.commits.length === 0) return '0';
  const shown = e.commits.slice(0, 3).map((c) => shortSha(c.commit));
  return `${e.commits.length}: ${shown.join(' ')}${e.commits.length > 3 ? ' ...' : ''}`;
}
