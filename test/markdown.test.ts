/**
 * The markdown flagops writes for pull-request comments, job summaries and reports (`diff --format
 * markdown`, `refs --format markdown`, `monitor --report x.md`): no free-text field, whatever it
 * holds, turns into a mention (which pings), a link, an image, HTML or other markup when GitHub
 * renders it. Checked with a CommonMark + GFM parser (micromark, with GFM's autolink literals and
 * tables), plus what GitHub links after parsing in text outside code: @mentions and team mentions,
 * #123, owner/repo#1 and GH-1 references, commit SHAs, math and emoji.
 */
import fc from 'fast-check';
import type { Nodes, Root } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { describe, expect, it } from 'vitest';
import { renderMarkdown as renderDiff } from '../cli/commands/diff.ts';
import { renderMarkdown as renderRefs } from '../cli/commands/refs.ts';
import type { Output } from '../cli/report.ts';
import { renderReport } from '../lib/rollout/monitor-report.ts';
import type { Signal } from '../lib/rollout/monitor.ts';
import type { Review } from '../lib/review/review.ts';
import type { ProjectModel } from '../model/flags.ts';
import type { ReferenceScan } from '../model/code-references.ts';
import { flagops, tempProject } from './helpers.ts';

const parse = (markdown: string): Root => fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });

/** What GitHub links or renders in text outside code, after the markdown is parsed (github/markup#1168: a backslash does not stop a mention). */
const GITHUB_TEXT: readonly (readonly [string, RegExp])[] = [
  ['a mention, a team mention or an e-mail link', /@/],
  ['an issue reference (#1, owner/repo#1)', /#\d/],
  ['a GH- issue reference', /\bGH-\d/i],
  ['a URL', /:\/\//],
  ['a www. link', /www\./i],
  ['a commit SHA', /\b[0-9a-f]{7,40}\b/i],
  ['math', /\$/],
  ['an emoji shortcode', /:[a-z0-9_+-]+:/i],
];
/** Node types that change what the text means, or point elsewhere. */
const MARKUP = new Set(['link', 'linkReference', 'image', 'imageReference', 'definition', 'footnoteReference', 'footnoteDefinition', 'emphasis', 'delete']);
/** The HTML flagops writes itself; everything else in HTML is text or `<code>` with escaped text. */
const OWN_HTML = /<!-- flagops-(?:diff|refs) -->|<\/?(?:details|summary|sub)>|<code>[^<>]*<\/code>/g;

/** What in `markdown` GitHub would render as more than text: one line per problem. */
function markup(markdown: string): string[] {
  const problems: string[] = [];
  const visit = (node: Nodes): void => {
    if (MARKUP.has(node.type)) problems.push(`${node.type} at line ${node.position?.start.line}`);
    if (node.type === 'html') {
      const rest = node.value.replace(OWN_HTML, '');
      if (/[<>]/.test(rest)) problems.push(`HTML ${JSON.stringify(node.value)}`);
      for (const [what, re] of GITHUB_TEXT) if (re.test(rest)) problems.push(`${what} in HTML ${JSON.stringify(node.value)}`);
    }
    if (node.type === 'text') {
      // The reports' own timestamps (12:00:00Z) are not emoji.
      const text = node.value.replace(/\d\d:\d\d:\d\dZ/g, '');
      for (const [what, re] of GITHUB_TEXT) if (re.test(text)) problems.push(`${what} in text ${JSON.stringify(node.value)}`);
    }
    if (node.type === 'table') {
      const width = node.children[0]!.children.length;
      for (const row of node.children) if (row.children.length !== width) problems.push(`a table row of ${row.children.length} cells under a header of ${width}`);
    }
    if ('children' in node) for (const child of node.children) visit(child);
  };
  visit(parse(markdown));
  return problems;
}

const HOSTILE = [
  '@pms-example/release-managers ![x](https://evil.example/x.png) [approve here](https://evil.example/approve)',
  '@octocat please approve',
  'see #123 and pms-example/flagops#7 and GH-12',
  'https://evil.example/approve www.evil.example <https://evil.example> lead@pms.example.com',
  '<img src=x onerror=alert(1)> <b>bold</b> <!-- hidden --> &lt;b&gt; &#64;octocat',
  '[approve][1]\n\n[1]: https://evil.example',
  '[^1] footnote *em* _em_ ~~struck~~ **strong**',
  '$x^2$ :+1: deadbeefcafe 1a2b3c4',
  '`code` ``` ~~~ \\` | a | b |',
  '- item\n# heading\n> quote\n1. one',
  '\\@octocat \\#1 \\[x\\](https://evil.example)',
];

/** Strings with everything that markdown or GitHub reacts to, and arbitrary Unicode. */
const freeText = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.array(fc.constantFrom('@', '#', '1', '7', 'a', 'f', 'Z', 'G', 'H', '-', '[', ']', '(', ')', '!', '<', '>', '/', ':', '.', 'w', 'h', 't', 'p', 's', '`', '*', '_', '~', '|', '\\', '&', ';', ' ', '$', '^', '"', "'", '=', '+', '{', '}', '\n', '\t', 'é', '＠', 'www.', 'http://', '@org/team', '#12', 'GH-3', '](', '![', '<a href=x>', '&#64;', '\\|', '\\\\|', '`|', '|`', '`x`', ' `a b` ', '(`', '`).', '\\`'), { maxLength: 30 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

function captured(render: (o: Output) => void): string {
  const lines: string[] = [];
  render({ out: (l) => lines.push(l), err: (l) => lines.push(l), color: false });
  return lines.join('\n');
}

describe('flagops diff --format markdown neutralizes free text (real git, the CLI)', () => {
  it('renders a reason with a team mention, an image and a link as plain text in code spans', async () => {
    // GIVEN a rollout whose reason mentions a team and carries an image and a link
    const dir = tempProject({ git: true });
    const reason = '@pms-example/release-managers ![x](https://evil.example/x.png) [approve here](https://evil.example/approve)';
    const r0 = await flagops(dir, 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', reason, '--ticket', 'TICKET-1', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com');
    expect(r0.code, r0.stdout + r0.stderr).toBe(0);
    // WHEN the pull-request comment is rendered
    const r = await flagops(dir, 'diff', '--format', 'markdown');
    expect(r.code).toBe(0);
    // THEN GitHub would show no mention, image, link or HTML: every part is text, the risky words in code spans
    expect(markup(r.stdout)).toEqual([]);
    expect(r.stdout).toContain('`@pms-example/release-managers` `![x](https://evil.example/x.png)` `[approve` `here](https://evil.example/approve)`');
    expect(r.stdout).toContain('`sam.lee@pms.example.com`');
  });
});

describe('every free-text field of every markdown output, for any input (fast-check, CommonMark + GFM parser)', () => {
  it('flagops diff: settings and rules, flag names, states, reasons, tickets, who, environments, notes, object names and paths, code references', () => {
    fc.assert(
      fc.property(fc.array(freeText, { minLength: 24, maxLength: 24 }), (t) => {
        const env = t[0]!;
        const review: Review = {
          rules: [{ file: t[20]!, at: { file: t[20]!, line: 3, col: 1 }, subject: t[21]!, environment: env, before: t[22]!, after: t[23]! }],
          flags: [{ environment: env, flag: t[1]!, kind: 'raised', before: t[2]!, after: t[3]!, switching: { percent: 20, to: 'on' }, reason: t[4]!, ticket: t[5]!, changedBy: t[6]!, approvedBy: t[7]! }],
          objects: [
            { path: t[8]!, environment: env, change: 'changed', object: t[9]!, hidden: false, patch: t[10]! },
            { path: t[11]!, environment: env, change: 'added', object: t[12]!, hidden: true },
          ],
          code: { folders: [t[13]!], removable: [{ flag: t[14]!, owner: t[15]!, before: [{ flag: t[14]!, file: t[16]!, line: 3, col: 1, form: 'string', written: t[14]!, code: t[17]! }] }], notes: [] },
        };
        const header = { base: t[18]!, commit: '1a2b3c4d5e6f', mergeBase: true, maxChars: 60_000, lane: { fast: true, environments: [env], reasons: [] } };
        const md = captured((o) => renderDiff(o, review, [env], header, [t[19]!]));
        expect(markup(md)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('flagops diff: an object diff left out for size', () => {
    fc.assert(
      fc.property(freeText, freeText, (path, object) => {
        const review: Review = { rules: [], flags: [], objects: [{ path, environment: 'dev', change: 'removed', object, hidden: false, patch: 'x'.repeat(100) }] };
        const md = captured((o) => renderDiff(o, review, ['dev'], { base: 'main', commit: '1a2b3c4d5e6f', mergeBase: true, maxChars: 10, lane: { fast: false, environments: [], reasons: [] } }, []));
        expect(markup(md)).toEqual([]);
      }),
    );
  });

  it('flagops refs: flag names, owners, folders, files, unknown keys and findings', () => {
    fc.assert(
      fc.property(fc.array(freeText, { minLength: 8, maxLength: 8 }), (t) => {
        const [used, unused] = [`${t[0]}_a`, `${t[0]}_b`];
        const model = { catalog: { names: [used, unused], flags: { [used]: { owner: t[1]! }, [unused]: { owner: t[2]! } } } } as unknown as ProjectModel;
        const scan: ReferenceScan = {
          folders: [t[3]!],
          files: 2,
          references: [{ flag: used, file: t[4]!, line: 1, col: 1, form: 'string', written: used, code: t[5]! }],
          unknown: [],
          generated: [],
          skipped: { ignored: 0, binary: 0, tooLarge: 0, unreadable: 0, links: 0, special: 0, prose: 0 },
        };
        const findings = [
          { file: t[4]!, line: 2, col: 3, severity: 'error' as const, rule: 'unknown-flag-key', message: t[6]! },
          { file: t[4]!, line: 0, col: 0, severity: 'warning' as const, rule: 'something-else', message: t[7]! },
        ];
        const md = captured((o) => renderRefs(o, model, scan, findings));
        expect(markup(md)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('flagops monitor --report x.md: the Prometheus URL, namespace, job, flag state, signals, the server error, the rollback', () => {
    fc.assert(
      fc.property(fc.array(freeText, { minLength: 12, maxLength: 12 }), (t) => {
        const signal: Signal = { id: 'errorRatio', label: t[0]!, short: 'errors', query: t[1]!, threshold: 0.05, unit: 'ratio', setting: t[2]!, optional: false };
        const md = renderReport(
          {
            flag: t[3]!,
            environment: t[4]!,
            namespace: t[5]!,
            job: t[6]!,
            flagState: t[7]!,
            prometheus: t[8]!,
            window: '5m',
            intervalMs: 1000,
            durationMs: 60_000,
            consecutive: 1,
            signals: [signal],
            result: {
              verdict: 'breached',
              polls: [{ at: '2026-11-23T12:00:00Z', elapsedMs: 0, values: { errorRatio: 0.5, p95: null, p99: null, flagEvaluationErrorRatio: null }, above: ['errorRatio'] }],
              breaches: [{ signal: 'errorRatio', at: '2026-11-23T12:00:00Z', value: 0.5, threshold: 0.05 }],
              noData: ['errorRatio'],
              error: t[9]!,
              startedAt: '2026-11-23T12:00:00Z',
              endedAt: '2026-11-23T12:01:00Z',
            },
            rollback: t[10]!,
            rollbackBranch: { branch: t[11]!, commit: '1a2b3c4d5e6f7a8b', pushed: t[11]! },
          },
          'markdown',
        );
        expect(markup(md)).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
