/**
 * Markdown for pull-request comments and job summaries (`flagops diff`, `flagops refs`): text from
 * files, git and source code made printable, with HTML and table pipes escaped.
 */
import { printable } from '../lib/text/printable.ts';

/** Markdown text from files or git: printable, HTML and pipes escaped (reasons are free text from the flag files). */
export const inline = (s: string): string => printable(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');
/** A table cell: one line, a dash when empty. */
export const cell = (s: string | undefined): string => (s === undefined || s === '' ? '–' : inline(s));
/** Inline code that no backtick in `s` can end (HTML is not interpreted inside it; pipes still end a table cell). */
export const code = (s: string): string => {
  const text = printable(s).replace(/\|/g, '\\|');
  const fence = '`'.repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length)) + 1);
  return `${fence}${text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text}${fence}`;
};
