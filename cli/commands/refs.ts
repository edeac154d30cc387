import { Option } from 'commander';
import { scanSources, type SourceFolder } from '../../lib/code/code-refs.ts';
import { codeSource, findSource, NO_SOURCE, resolveSource, type SourceRequest } from '../../lib/code/code-source.ts';
import { srcOption } from '../options.ts';
import type { CodeReference, ReferenceScan, SkippedFiles } from '../../model/code-references.ts';
import { CATALOG_FILE, diskReader, parseProject } from '../../lib/workspace/project.ts';
import type { ProjectModel } from '../../model/flags.ts';
import { openWorkspace, UsageError, type Workspace } from '../../lib/workspace/workspace.ts';
import { codeReferenceFindings, FLAG_UNREFERENCED, UNKNOWN_FLAG_KEY } from '../../policies/code-references.ts';
import { hasErrors, sortFindings, strict, type Finding } from '../../model/findings.ts';
import { cell, code, inline } from '../markdown.ts';
import { printable, safeJson, type Output } from '../report.ts';
import { formatFinding, summarize, table } from '../../common/text/format.ts';
import { EXIT, note, type Register } from '../context.ts';

/** The first line of the markdown form: CI finds its own PR comment by it. */
export const REFS_MARKDOWN_MARKER = '<!-- flagops-refs -->';

type Format = 'text' | 'markdown' | 'json';

/** The folders to search: `--src` (relative to the cwd), else FLAGOPS_SOURCE, else the project's `sourceFolders`. */
export function foldersToSearch(ws: Workspace, request: SourceRequest): SourceFolder[] {
  const source = codeSource(ws, request);
  if (!source) throw new UsageError(`no source folders to search: ${NO_SOURCE}`);
  return resolveSource(ws, source);
}

/**
 * References per catalog flag in the backend's checkout, for `stale`, `status` and `diff`: `--src`
 * (a missing folder is a usage error), else FLAGOPS_SOURCE or the configured folders; one of those
 * that is missing, or none set, is a note and no counts (those commands work without the code).
 */
export function codeReferences(
  ws: Workspace,
  model: ProjectModel,
  request: SourceRequest & { readonly onNote: (note: string) => void },
): { scan: ReferenceScan; folders: readonly SourceFolder[] } | undefined {
  const source = findSource(ws, request);
  if (!source.found) {
    request.onNote(`code references not searched: ${source.why}`);
    return undefined;
  }
  return { scan: scanSources(ws.root, source.folders, model.catalog.names), folders: source.folders };
}

/** References per flag of a scan. */
export function referenceCounts(scan: ReferenceScan): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of scan.references) counts.set(r.flag, (counts.get(r.flag) ?? 0) + 1);
  return counts;
}

export const registerRefs: Register = (program, ctx) => {
  program
    .command('refs')
    .description('where the code uses each flag (string keys and generated OpenFeature accessors): references per flag, flags no code uses, keys that are not flags')
    .addOption(srcOption('folders to search'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--strict', 'exit 1 also when a flag has no code reference')
    .action(async (opts: { src?: string[]; format: Format; strict?: boolean }) => {
      const ws = await openWorkspace(ctx.cwd, note(ctx));
      const folders = foldersToSearch(ws, { src: opts.src, cwd: ctx.cwd, env: ctx.env });
      // The catalog is all refs needs (no environment's flag file).
      const { model, findings: parseFindings } = parseProject([], diskReader(ws.root));
      if (!model.catalog.readable) throw new UsageError(`${CATALOG_FILE} cannot be read: run flagops check`);
      const scan = scanSources(ws.root, folders, model.catalog.names);
      const catalogErrors = parseFindings.filter((f) => f.file === CATALOG_FILE && f.severity === 'error');
      const found = [...catalogErrors, ...codeReferenceFindings(model, scan)];
      const findings = sortFindings(opts.strict ? strict(found) : found);
      const render = { text: renderText, markdown: renderMarkdown, json: renderJson }[opts.format];
      render(ctx.output, model, scan, findings);
      ctx.exitCode = hasErrors(findings) ? EXIT.violations : EXIT.ok;
    });
};

/** References per catalog flag, in catalog order. */
function perFlag(model: ProjectModel, scan: ReferenceScan): { flag: string; owner: string; refs: CodeReference[] }[] {
  const byFlag = new Map<string, CodeReference[]>(model.catalog.names.map((n) => [n, []]));
  for (const r of scan.references) byFlag.get(r.flag)?.push(r);
  return [...byFlag].map(([flag, refs]) => ({ flag, owner: model.catalog.flags[flag]?.owner ?? '?', refs }));
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** `searched 12 files in a, b; skipped 1 generated accessor file, 2 ignored by .gitignore`. */
export function searchedLine(scan: ReferenceScan): string {
  const s: SkippedFiles = scan.skipped;
  const skipped = [
    scan.generated.length > 0 ? plural(scan.generated.length, 'generated accessor file') : '',
    s.ignored > 0 ? `${s.ignored} ignored by .gitignore` : '',
    s.prose > 0 ? plural(s.prose, 'prose file') : '',
    s.binary > 0 ? plural(s.binary, 'binary file') : '',
    s.tooLarge > 0 ? `${plural(s.tooLarge, 'file')} over 1 MiB` : '',
    s.unreadable > 0 ? `${s.unreadable} unreadable` : '',
    s.links > 0 ? plural(s.links, 'symbolic link') : '',
    s.special > 0 ? plural(s.special, 'special file') : '',
  ].filter(Boolean);
  return `searched ${plural(scan.files, 'file')} in ${scan.folders.join(', ')}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}`;
}

/** `17 references to 14 of 15 flags; 1 flag unused; 1 unknown key`. */
function countsLine(model: ProjectModel, scan: ReferenceScan): string {
  const used = new Set(scan.references.map((r) => r.flag)).size;
  const total = model.catalog.names.length;
  return [
    `${plural(scan.references.length, 'reference')} to ${used} of ${plural(total, 'flag')}`,
    `${plural(total - used, 'flag')} no code uses`,
    plural(scan.unknown.length, 'unknown key'),
  ].join('; ');
}

const where = (r: { file: string; line: number; col: number }): string => `${r.file}:${r.line}:${r.col}`;

function renderText(o: Output, model: ProjectModel, scan: ReferenceScan, findings: readonly Finding[]): void {
  o.out(`flagops refs: ${printable(searchedLine(scan))}`);
  const flags = perFlag(model, scan);
  o.out('');
  for (const l of table(flags.map((f) => [f.flag, f.owner, String(f.refs.length)]), ['FLAG', 'OWNER', 'REFS'])) o.out(l);
  for (const f of flags) {
    if (f.refs.length === 0) continue;
    o.out('');
    o.out(`${printable(f.flag)}: ${plural(f.refs.length, 'reference')}`);
    for (const r of f.refs) o.out(`  ${printable(where(r))}: ${printable(r.code)}`);
  }
  if (findings.length > 0) o.out('');
  for (const f of findings) o.out(formatFinding(f, o.color));
  o.out(`flagops refs: ${countsLine(model, scan)}: ${summarize(findings)}`);
}

export function renderMarkdown(o: Output, model: ProjectModel, scan: ReferenceScan, findings: readonly Finding[]): void {
  const flags = perFlag(model, scan);
  const lines = [REFS_MARKDOWN_MARKER, `### flagops refs: code references in ${scan.folders.map(code).join(', ')}`, '', `**${inline(countsLine(model, scan))}**`, ''];
  lines.push('| Flag | Owner | References | Where (first 3) |', '|---|---|---|---|');
  for (const f of flags) {
    const first = f.refs.slice(0, 3).map((r) => code(`${r.file}:${r.line}`));
    const more = f.refs.length > 3 ? ` and ${f.refs.length - 3} more` : '';
    lines.push(`| ${code(f.flag)} | ${cell(f.owner)} | ${f.refs.length} | ${first.length > 0 ? `${first.join(', ')}${more}` : '**none**'} |`);
  }
  const unknown = findings.filter((f) => f.rule === UNKNOWN_FLAG_KEY);
  if (unknown.length > 0) {
    lines.push('', '#### Keys that are not flags: they always evaluate to off', '', '| Where | Problem |', '|---|---|');
    for (const f of unknown) lines.push(`| ${code(where(f))} | ${inline(f.message)} |`);
  }
  const unused = flags.filter((f) => f.refs.length === 0);
  if (unused.length > 0) {
    lines.push('', '#### Flags no code uses: candidates for `flagops remove`', '');
    for (const f of unused) lines.push(`- ${code(f.flag)} (${inline(f.owner)})`);
  }
  const other = findings.filter((f) => f.rule !== UNKNOWN_FLAG_KEY && f.rule !== FLAG_UNREFERENCED);
  if (other.length > 0) {
    lines.push('', '#### Other findings', '');
    for (const f of other) lines.push(`- ${inline(formatFinding(f, false))}`);
  }
  lines.push('', `<sub>${inline(searchedLine(scan))}</sub>`);
  o.out(lines.join('\n'));
}

function renderJson(o: Output, model: ProjectModel, scan: ReferenceScan, findings: readonly Finding[]): void {
  const flags = perFlag(model, scan).map((f) => ({ flag: f.flag, owner: f.owner, references: f.refs.length, uses: f.refs.map(({ flag: _, ...r }) => r) }));
  const summary = { errors: findings.filter((f) => f.severity === 'error').length, warnings: findings.filter((f) => f.severity === 'warning').length };
  o.out(safeJson({ folders: scan.folders, files: scan.files, skipped: { ...scan.skipped, generated: scan.generated.length }, flags, unknown: scan.unknown, generated: scan.generated, findings, summary }, 2));
}
