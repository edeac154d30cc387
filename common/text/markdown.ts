/**
 * Markdown for pull-request comments, job summaries and reports (`flagops diff`, `flagops refs`,
 * `monitor --report x.md`): text from files, git, source code and servers stays text. GitHub turns
 * more than markdown syntax into markup: after parsing it links @mentions and team mentions (which
 * ping), `#123`, `owner/repo#1` and `GH-1` references (which leave a mark on the issue), commit
 * SHAs, bare URLs, `www.` and e-mail addresses, and renders `$math$` and `:emoji:`. A backslash does
 * not stop a mention or a reference (github/markup#1168, github/cmark-gfm#181), and invisible
 * characters are refused everywhere else in flagops; a code span stops them all, and GitHub shows
 * its text exactly as written. So:
 *
 * - {@link inline} (prose: reasons, notes, messages) keeps ordinary words as they are and puts each
 *   word that holds anything markdown or GitHub could act on in a code span of its own;
 * - {@link code} (names, paths, SHAs) is one code span;
 * - {@link htmlCode} is the same inside raw HTML (`<summary>`), where markdown is not parsed;
 * - {@link fenced} is a code block that no line of the text can end.
 *
 * Everything is made printable first (common/text/printable.ts): one line, no control characters.
 */
import { printable } from './printable.ts';

/**
 * Characters markdown or GitHub act on in a word: code, escapes, emphasis and strikethrough, links
 * and images, HTML and entities, mentions and e-mail links, references, URLs (`/`), math, emoji
 * (`:`), and braces and carets some renderers use. A word without them is plain text everywhere.
 */
const ACTIVE = /[`\\*_~[\]<>&@#/|{}$^:]|www\.|GH-\d/i;
/** A word GitHub links without any of those characters: a commit SHA. */
const SHA = /^[0-9a-f]{7,40}$/i;

/**
 * `s` (printable, one line) as a code span that no backtick in it can end. A `|` goes between two
 * spans, escaped, so that it stays inside a table cell: inside a span, `\|` after a backslash
 * would end the cell (GFM's table rows are split before code spans are seen). An empty `s` is a
 * span of one space (two backticks alone are text).
 */
export function code(s: string): string {
  const text = printable(s);
  return text === '' ? '` `' : text.split('|').map(span).join('\\|');
}

/** One code span of `text` (no `|`); empty for empty text. */
function span(text: string): string {
  if (text === '') return '';
  const fence = '`'.repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length)) + 1);
  // A code span strips one space on each side when both are there, and a backtick next to the fence would join it.
  const padded = text.startsWith('`') || text.endsWith('`') || /^ .* $/.test(text) ? ` ${text} ` : text;
  return `${fence}${padded}${fence}`;
}

/**
 * A pair of backticks around text that stands alone: after a space, the start or an opening
 * parenthesis that does, and before a space, the end, or punctuation followed by one (so that no
 * code span of a word can touch it).
 */
const QUOTED = /((?<=^|\s|(?:^|\s)\()`[^`]+`(?=$|\s|[.,;:!?)]+(?:$|\s)))/;

/**
 * Prose from files, git or servers as markdown text, on one line, safe in a paragraph, a list item,
 * a quote, a heading or a table cell: ordinary words as they are, every word with a character
 * markdown or GitHub acts on (see {@link ACTIVE}) as a code span, `|` escaped. Text between a pair
 * of backticks (flagops' messages quote commands so: `npx flagops synth`) is one code span.
 */
export function inline(s: string): string {
  const out = printable(s)
    .split(QUOTED)
    .map((part, i) => (i % 2 === 1 ? code(part.slice(1, -1)) : prose(part)))
    .join('');
  // At the start of a list item or a quote, a leading `-`, `+`, `=` or `1.` would start a block.
  return out.replace(/^([-+=]|\d+(?=[.)]))/, (m) => (/^\d/.test(m) ? `${m}\\` : `\\${m}`));
}

/** Printable text without backtick pairs: words, spaces and escaped pipes. */
function prose(text: string): string {
  return text
    .split(/(\s+|\|)/)
    .map((part) => (part === '|' ? '\\|' : part === '' || /^\s+$/.test(part) ? part : word(part)))
    .join('');
}

/** A table cell: {@link inline}, a dash when empty. */
export const cell = (s: string | undefined): string => (s === undefined || s === '' ? '–' : inline(s));

/** `<code>` with `s` HTML-escaped, for raw HTML (`<summary>`): GitHub neither links nor mentions inside it. */
export function htmlCode(s: string): string {
  return `<code>${printable(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</code>`;
}

/** A fenced code block of `text` (each line printable), with a fence longer than any backtick run in it. */
export function fenced(text: string, language = ''): string[] {
  const lines = text.split('\n').map(printable);
  const longest = lines.reduce((n, l) => Math.max(n, ...(l.match(/`+/g) ?? []).map((r) => r.length)), 2);
  const fence = '`'.repeat(longest + 1);
  return [`${fence}${language}`, ...lines, fence];
}

/**
 * One word of prose: as it is when plain, else a code span, with the sentence punctuation after it
 * and parentheses around it left outside (`(\`a/b\`).`).
 */
function word(w: string): string {
  let [before, core, after] = ['', w, ''];
  if (core.startsWith('(') && !core.slice(1).includes('(')) [before, core] = ['(', core.slice(1)];
  // Sentence punctuation, and a closing parenthesis that opens nowhere in the word.
  while (/[.,;:!?]$/.test(core) || (core.endsWith(')') && !core.includes('('))) [core, after] = [core.slice(0, -1), `${core.at(-1)}${after}`];
  const plain = !ACTIVE.test(core) && !/www\./i.test(w) && !SHA.test(core);
  return plain ? w : `${before}${code(core)}${after}`;
}
