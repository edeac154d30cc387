import { Option } from 'commander';
import { describeBase, findBase, underCi, type ChangeBase } from '../../lib/review/base.ts';
import { baseIdentities, baseProject, judgeChange } from '../../lib/review/base-project.ts';
import { journalFindings } from '../../lib/workspace/journal.ts';
import type { ParseCache } from '../../lib/workspace/project.ts';
import { loadPullRequest, readIdentities } from '../../lib/review/pull-request.ts';
import { now, openWorkspace, validate } from '../../lib/workspace/workspace.ts';
import { error, hasErrors, strict, warning, type Finding } from '../../model/findings.ts';
import { printFindings } from '../report.ts';
import { EXIT, type Register, note } from '../context.ts';

/** The rule id of "the change rules could not run: no base". */
export const BASE_UNKNOWN = 'base-unknown';

export const registerCheck: Register = (program, ctx) => {
  program
    .command('check')
    .description('every state rule, the change rules against the base, manifest policies, Kubernetes schemas, and drift of dist/; writes nothing')
    .option('--base <ref>', 'the change is judged against the merge base of HEAD and this ref (default: origin/main)')
    .option('--pull-request <file>', "the pull request's commits and reviews from the GitHub API (JSON), to check changed_by and approved_by against them")
    .option('--strict', 'treat warnings as errors')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { base?: string; pullRequest?: string; strict?: boolean; format: 'text' | 'json' }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx), { quiet: true });
      const found = findBase(ws.root, opts.base);
      const baseFindings: Finding[] = [];
      let base: ChangeBase | undefined;
      if (found.ok) {
        base = found.base;
      } else {
        // An unusable --base, or any missing base under CI, fails the check: the change rules must run.
        const fatal = opts.base !== undefined || underCi(ctx.env);
        const consequence = fatal
          ? 'the change rules cannot run'
          : found.fallback
            ? `the change rules are judged against ${describeBase(found.fallback)} only (uncommitted changes)`
            : 'the change rules are not applied';
        const at = { file: '', line: 0, col: 0 };
        baseFindings.push((fatal ? error : warning)(at, BASE_UNKNOWN, `${found.problem}; ${consequence}`));
        if (!fatal) base = found.fallback;
      }
      const label = base ? describeBase(base) : undefined;
      // One parse per file and text in this run: files the change leaves alone are parsed once.
      const parseCache: ParseCache = new Map();
      // Judged by main: the base's flag files with the base's settings and identities.
      const onBase = base ? baseProject(ws, base.commit, parseCache) : undefined;
      const result = await validate(ws, { now: now(), base: onBase?.parsed, baseLabel: label, baseCommit: base?.commit, drift: true, parseCache });
      const findings = [...journalFindings(ws, note(ctx)), ...baseFindings, ...(onBase?.findings ?? []), ...result.findings];
      const working = readIdentities(ws.root);
      findings.push(...working.findings);
      const pr = opts.pullRequest !== undefined ? loadPullRequest(opts.pullRequest, ctx.cwd, onBase ? baseIdentities(onBase) : working.text) : undefined;
      if (pr && !onBase) findings.push(error({ file: '', line: 0, col: 0 }, BASE_UNKNOWN, '--pull-request needs a base to know which entries the pull request changed'));
      if (onBase) findings.push(...judgeChange(ws, onBase, result.parsed, label!, pr));
      const shown = opts.strict ? strict(findings) : findings;
      const what = `flagops check (base: ${label ?? 'none, change rules not applied'})`;
      printFindings(ctx.output, shown, opts.format, what, { base: base ? { ref: base.ref, commit: base.commit, mergeBase: base.mergeBase } : null });
      ctx.exitCode = hasErrors(shown) ? EXIT.violations : EXIT.ok;
    });
};

