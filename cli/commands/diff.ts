import { Option } from 'commander';
import { describeBase, findBase, underCi } from '../../lib/review/base.ts';
import { baseJudges, baseProject, workingJudges } from '../../lib/review/base-project.ts';
import { changedFiles, isShaOf, refLabel } from '../../lib/review/git.ts';
import { rulesChanges, type RuleChange } from '../../policies/judged-by-base.ts';
import { shortSha } from '../../common/text/sha.ts';
import { reviewCodeReferences, type CodeReview } from '../../lib/code/code-changes.ts';
import { scanSources } from '../../lib/code/code-refs.ts';
import { findSource, type FoundSource } from '../../lib/code/code-source.ts';
import type { ProjectModel } from '../../model/flags.ts';
import {
  classifyLane,
  distAtCommit,
  distOnDisk,
  removalCommits,
  reviewFlags,
  reviewObjects,
  summaryLine,
  type FlagReview,
  type Lane,
  type ObjectReview,
  type RemovalFacts,
  type Review,
} from '../../lib/review/review.ts';
import { flagChanges } from '../../policies/change-rules.ts';
import { exposure } from '../../policies/state-rules.ts';
import { now, openWorkspace, UsageError, validate, type Workspace } from '../../lib/workspace/workspace.ts';
import { cell, code, fenced, htmlCode, inline } from '../markdown.ts';
import { printable, safeJson, type Output } from '../report.ts';
import { formatFinding } from '../../common/text/format.ts';
import { DRIFT_FIX } from '../../lib/workspace/dist.ts';
import type { Finding } from '../../model/findings.ts';
import { EXIT, type CommandContext, type Register, note } from '../context.ts';
import { srcOption } from '../options.ts';

/** The rules about dist/ itself that the drift section shows with `drift`. */
const DIST_RULES = new Set(['dist-entry', 'symlink']);

/** The first line of the markdown form: CI finds its own PR comment by it. */
export const MARKDOWN_MARKER = '<!-- flagops-diff -->';

type Format = 'text' | 'markdown' | 'json';

export const registerDiff: Register = (program, ctx) => {
  program
    .command('diff')
    .description('what a change does: flag by flag per environment (before, after, users switching, reason, ticket, who), then object by object')
    .option('--base <ref>', 'compare with the merge base of HEAD and this ref (default: origin/main; without it, HEAD)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--exit-code', 'exit 1 when something changes (like git diff --exit-code)')
    .option('--max-chars <n>', `markdown: leave out object diffs beyond this size (GitHub comments stop at 65536)`, positiveInt, MARKDOWN_BUDGET)
    .addOption(srcOption("the backend's checkout, to say which flags the change leaves without a code reference"))
    .action(async (opts: { base?: string; format: Format; exitCode?: boolean; maxChars: number; src?: string[] }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      const found = findBase(ws.root, opts.base);
      const notes: string[] = [];
      if (!found.ok) {
        // Never a silent "nothing changes": an unusable --base, or no base under CI, is an error;
        // locally the diff falls back to HEAD (uncommitted changes) and says so.
        if (opts.base !== undefined || !found.fallback) throw new UsageError(found.problem);
        if (underCi(ctx.env)) {
          ctx.output.err(`flagops: error: ${found.problem}`);
          ctx.exitCode = EXIT.violations;
          return;
        }
        notes.push(`${found.problem}; showing only the uncommitted changes against ${describeBase(found.fallback)}`);
      }
      const chosen = found.ok ? found.base : found.fallback!;
      const commit = chosen.commit;
      const onBase = baseProject(ws, commit);
      const base = onBase.parsed;
      // With the drift check of `flagops check`: the comment never says "nothing changes" where check fails.
      const current = await validate(ws, { now: now(), drift: true });
      // What check fails on in dist/ itself: hand edits (drift), and what flagops never writes there (a folder, a FIFO, a link).
      const drift = current.findings.filter((f) => f.rule === 'drift' || (DIST_RULES.has(f.rule) && f.file.startsWith('dist')));
      const environments = ws.settings.map((s) => s.name);
      let after: Map<string, string>;
      if (current.manifests) {
        after = new Map(current.manifests.flatMap((m) => m.files.map((f) => [f.path, f.text] as const)));
      } else {
        after = distOnDisk(ws.root, environments);
        const inFlagFiles = current.findings.some((f) => f.severity === 'error' && !drift.includes(f));
        notes.push(`${inFlagFiles ? 'the flag files have errors' : 'dist/ holds what flagops does not write (below)'} (run \`flagops check\`), so objects are compared with dist/ as it is on disk`);
      }
      const source = findSource(ws, { src: opts.src, cwd: ctx.cwd, env: ctx.env });
      const code = codeReview(ws, current.parsed.model, commit, source);
      const review: Review = {
        rules: rulesChanges(baseJudges(onBase), workingJudges(ws, current.parsed)),
        flags: reviewFlags(base.model, current.parsed.model, removalFacts(ws, base.model, current.parsed.model, commit, source)),
        objects: reviewObjects(distAtCommit(ws.root, commit), after),
        ...(code ? { code } : {}),
        ...(drift.length > 0 ? { drift } : {}),
      };
      notes.push(...(code?.notes ?? []));
      const files = changedFiles(ws.root, commit);
      const lane: Lane = files ? classifyLane(review.flags, files, environments) : { fast: false, environments: [], reasons: ['git cannot list the changed files'] };
      const header = { base: chosen.ref, commit: shortSha(commit), mergeBase: chosen.mergeBase, maxChars: opts.maxChars, lane };
      const render = { text: renderText, markdown: renderMarkdown, json: renderJson }[opts.format];
      render(ctx.output, review, environments, header, notes);
      const changed = review.flags.length > 0 || review.objects.length > 0 || review.rules.length > 0 || drift.length > 0;
      ctx.exitCode = opts.exitCode && changed ? EXIT.violations : EXIT.ok;
    });
};

/**
 * The flags whose last code reference the change removes, when the backend's checkout is set (--src,
 * FLAGOPS_SOURCE or sourceFolders; a missing setting's folder is a note: diff works without the code).
 */
function codeReview(ws: Workspace, model: ProjectModel, commit: string, source: FoundSource): CodeReview | undefined {
  if (source.found) return reviewCodeReferences(ws.root, source.folders, model, { commit });
  // None set at all: nothing to compare; a folder set but missing: a note.
  return source.none ? undefined : { folders: [], removable: [], notes: [`code references not compared: ${source.why}`] };
}

/**
 * What diff needs to say what each removal does: the commit it is recorded by, once committed, and
 * whether the code still reads a flag that was on (searched in the backend's checkout, when set).
 */
function removalFacts(ws: Workspace, base: ProjectModel, current: ProjectModel, commit: string, source: FoundSource): RemovalFacts {
  const removed = flagChanges(base, current).filter((c) => !c.after);
  const commits = removalCommits(ws.root, commit, removed);
  const on = [...new Set(removed.filter((c) => exposure(c.before) > 0).map((c) => c.flag))];
  if (on.length === 0 || !source.found) return { commits };
  const reads = new Map(on.map((flag) => [flag, [] as string[]]));
  for (const r of scanSources(ws.root, source.folders, on).references) reads.get(r.flag)?.push(`${r.file}:${r.line}`);
  return { commits, code: { folders: source.folders.map((f) => f.shown), reads } };
}

interface Header {
  readonly base: string;
  readonly commit: string;
  /** Whether `commit` is the merge base of HEAD and `base`. */
  readonly mergeBase: boolean;
  /** Markdown size budget. */
  readonly maxChars: number;
  /** Whether CI takes the kill-switch fast lane for this change. */
  readonly lane: Lane;
}

/** One line for a change in the kill-switch fast lane (nothing is said otherwise). */
const fastLaneLine = (lane: Lane): string =>
  `Kill-switch fast lane: this change only lowers exposure (${lane.environments.join(', ')}); CI runs flagops check and flagops diff without the test suite, and deploys ${lane.environments.join(', ')} directly after the merge.`;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--max-chars expects a positive integer, got '${value}'`);
  return n;
}

/** Whether the review has nothing to show: no flag, object, code reference or drift. */
const unchanged = (review: Review): boolean =>
  review.flags.length === 0 && review.objects.length === 0 && review.rules.length === 0 && !review.code?.removable.length && !review.drift?.length;

const DRIFT_TITLE = 'dist/ is not what the flag files synthesize (a hand edit, or a synth not committed)';

/** The drift section of the text form: check's findings, as check prints them. */
function driftText(o: Output, drift: readonly Finding[] | undefined): void {
  if (!drift?.length) return;
  o.out('');
  o.out(`drift: ${DRIFT_TITLE}; flagops check fails until it is:`);
  for (const f of drift) o.out(`  ${formatFinding(f, o.color)}`);
}

/** The drift section of the markdown form: what is deployed is the committed dist/, not the flag files shown below. */
function driftMarkdown(drift: readonly Finding[] | undefined): string[] {
  if (!drift?.length) return [];
  const what = (f: Finding) => f.message.replace(`${f.file} `, '').replace(`; ${DRIFT_FIX}`, '');
  return [
    '',
    `#### Drift: ${DRIFT_TITLE}`,
    '',
    `\`flagops check\` fails with \`drift\`: the committed manifests are what deploys, and they differ from what the flag files below synthesize. To fix: ${inline(DRIFT_FIX)}.`,
    '',
    ...drift.map((f) => `- ${code(f.line > 0 ? `${f.file}:${f.line}` : f.file)}: ${inline(what(f))}`),
  ];
}

/**
 * A removal's reason: the subject of the commit that removes it (the audit's record), or, before
 * that commit, where it will come from.
 */
function removalReason(f: FlagReview, show: (s: string) => string, quoted: (s: string) => string): string {
  if (f.removal?.commit) return `${show(f.reason ?? '')} (the subject of ${shortSha(f.removal.commit)})`;
  const subject = `Remove ${f.flag}: REASON (TICKET)`;
  return `- (not committed yet: flagops audit takes the removal's reason and ticket from the subject of the commit that removes it, ${quoted(subject)})`;
}

const switching = (f: FlagReview): string => (f.switching ? `${f.switching.percent}% of users switch ${f.switching.to}` : 'nobody switches');
const orDash = (s: string | undefined): string => (s === undefined ? '-' : printable(s));

/**
 * `origin/main (merge base 1a2b3c4d5e6f)`; a base given as a SHA once, short: `1a2b3c4d5e6f`, not
 * the full SHA and then its short form (JSON keeps the ref as given).
 */
function against(h: Header, show: (s: string) => string): string {
  if (isShaOf(h.base, h.commit)) return show(h.commit);
  return `${show(refLabel(h.base))} (${h.mergeBase ? 'merge base ' : ''}${show(h.commit)})`;
}

function renderText(o: Output, review: Review, environments: readonly string[], h: Header, notes: readonly string[]): void {
  const title = `flagops diff against ${against(h, printable)}`;
  for (const n of notes) o.err(`flagops: note: ${printable(n)}`);
  if (unchanged(review)) {
    o.out(`${title}: nothing changes`);
    return;
  }
  o.out(`${title}: ${summaryLine(review, environments)}`);
  if (h.lane.fast) o.out(fastLaneLine(h.lane));
  if (review.rules.length > 0) {
    o.out('');
    o.out(`settings and rules (${RULES_NOTE}):`);
    for (const r of review.rules) o.out(`  ${printable(where(r))}: ${printable(ruleSubject(r))}: ${printable(r.before)} -> ${printable(r.after)}`);
  }
  driftText(o, review.drift);
  for (const env of environments) {
    const flags = review.flags.filter((f) => f.environment === env);
    if (flags.length === 0) continue;
    o.out('');
    o.out(`${env}:`);
    for (const f of flags) {
      const outcome = f.removal ? `${f.removal.afterwards}: ${f.removal.why}` : switching(f);
      o.out(`  ${printable(f.flag)}: ${f.before} -> ${f.after} (${f.kind}; ${printable(outcome)})`);
      o.out(`    reason: ${f.removal ? removalReason(f, printable, (s) => `"${s}"`) : orDash(f.reason)}`);
      o.out(`    ticket: ${orDash(f.ticket)}  changed by: ${orDash(f.changedBy)}  approved by: ${orDash(f.approvedBy)}`);
    }
  }
  const removable = review.code?.removable ?? [];
  if (removable.length > 0) {
    o.out('');
    o.out(`code (${review.code!.folders.map(printable).join(', ')}):`);
    for (const r of removable) {
      o.out(`  ${printable(r.flag)}: this change removes its last code reference, so the flag can now be removed (\`flagops remove ${printable(r.flag)}\`)`);
      for (const ref of r.before) o.out(`    was ${printable(`${ref.file}:${ref.line}`)}: ${printable(ref.code)}`);
    }
  }
  if (review.objects.length > 0) {
    o.out('');
    o.out('objects:');
    for (const obj of review.objects) {
      o.out(`  ${obj.change} ${printable(obj.path)} (${printable(obj.object)})`);
      if (obj.hidden) o.out('    (content not shown: a Secret, or not YAML)');
      else for (const line of obj.patch!.split('\n')) o.out(`    ${printable(line)}`);
    }
  }
}


/**
 * Default markdown budget: GitHub rejects comments over 65,536 characters. Object diffs that would
 * push the markdown past the budget are replaced by a pointer to the full output.
 */
export const MARKDOWN_BUDGET = 60_000;

export function renderMarkdown(o: Output, review: Review, environments: readonly string[], h: Header, notes: readonly string[]): void {
  const lines: string[] = [MARKDOWN_MARKER, `### flagops diff against ${against(h, code)}`, ''];
  for (const n of notes) lines.push(`> **Note:** ${inline(n)}`, '');
  if (unchanged(review)) {
    lines.push('Nothing changes: the flag files and the synthesized manifests are the same as the base.');
    o.out(lines.join('\n'));
    return;
  }
  lines.push(`**${inline(summaryLine(review, environments))}**`);
  if (h.lane.fast) lines.push('', `> ${inline(fastLaneLine(h.lane))}`);
  if (review.rules.length > 0) {
    lines.push('', '#### Settings and rules', '', `> **This pull request changes what judges flag changes:** ${inline(RULES_NOTE)}.`, '', '| Where | What | Before | After |', '|---|---|---|---|');
    for (const r of review.rules) lines.push(`| ${code(where(r))} | ${cell(ruleSubject(r))} | ${code(r.before)} | ${code(r.after)} |`);
  }
  lines.push(...driftMarkdown(review.drift));
  for (const env of environments) {
    const flags = review.flags.filter((f) => f.environment === env);
    if (flags.length === 0) continue;
    lines.push('', `#### ${inline(env)}`, '', '| Flag | Before | After | Users switching | Reason | Ticket | Changed by | Approved by |', '|---|---|---|---|---|---|---|---|');
    for (const f of flags) {
      const share = f.switching ? `${f.switching.percent}% ${f.switching.to}` : 'none';
      const after = f.removal ? cell(`${f.after}: removed; ${f.removal.afterwards}`) : `${cell(f.after)}${f.kind === 'kill-switch' ? ' (kill switch)' : ''}`;
      const reason = f.removal && !f.removal.commit ? removalReason(f, inline, code) : cell(f.reason);
      lines.push(`| ${code(f.flag)} | ${cell(f.before)} | ${after} | ${share} | ${reason} | ${cell(f.ticket)} | ${cell(f.changedBy)} | ${cell(f.approvedBy)} |`);
    }
  }
  const removable = review.code?.removable ?? [];
  if (removable.length > 0) {
    lines.push('', '#### Code references', '');
    for (const r of removable) {
      const was = r.before.map((ref) => code(`${ref.file}:${ref.line}`)).join(', ');
      lines.push(`- ${code(r.flag)} (${inline(r.owner)}): this change removes its last code reference (${was}), so the flag can now be removed: ${code(`flagops remove ${r.flag}`)}`);
    }
  }
  if (review.objects.length > 0) {
    lines.push('', '#### Objects', '');
    let size = lines.join('\n').length;
    for (const obj of review.objects) {
      let section = objectDetails(obj).join('\n');
      if (size + section.length > h.maxChars) section = objectDetails(obj, true).join('\n');
      lines.push(section);
      size += section.length + 1;
    }
  }
  o.out(lines.join('\n'));
}

function objectDetails(obj: ObjectReview, tooLarge = false): string[] {
  // Raw HTML: markdown is not parsed there, so names go in <code> (GitHub links and mentions nothing inside it).
  const summary = `<summary>${obj.change} ${htmlCode(obj.path)} (${htmlCode(obj.object)})</summary>`;
  if (obj.hidden) return ['<details>', summary, '', 'Content not shown: a Secret, or not YAML.', '</details>', ''];
  if (tooLarge) {
    const n = obj.patch!.split('\n').length;
    return ['<details>', summary, '', `Diff of ${n} lines left out to keep this under the size limit: see the job summary or run \`npx flagops diff\`.`, '</details>', ''];
  }
  // A fence longer than any backtick run in the patch, so YAML content cannot end it.
  return ['<details>', summary, '', ...fenced(obj.patch!, 'diff'), '</details>', ''];
}

function renderJson(o: Output, review: Review, environments: readonly string[], h: Header, notes: readonly string[]): void {
  const rules = review.rules.map((r) => ({ file: r.file, line: r.at.line, environment: r.environment ?? null, subject: r.subject, before: r.before, after: r.after }));
  o.out(
    safeJson(
      { base: h.base, commit: h.commit, mergeBase: h.mergeBase, summary: summaryLine(review, environments), notes, lane: h.lane, rules, flags: review.flags, objects: review.objects, code: review.code ?? null, drift: review.drift ?? [] },
      2,
    ),
  );
}

/** What the settings-and-rules section says above its list. */
const RULES_NOTE =
  "it is judged by the base's settings, prerequisites and identities, which apply until it lands, and needs an approval from someone in the base's .github/flagops-identities who authored none of its commits";

/** `environments/production/environment.ts:14` (the file alone when the key is gone). */
const where = (r: RuleChange): string => (r.at.line > 0 ? `${r.file}:${r.at.line}` : r.file);
/** `production soakMinutes`, `x_enabled requires`, `@login`. */
const ruleSubject = (r: RuleChange): string => (r.environment ? `${r.environment} ${r.subject}` : r.subject);

