/**
 * Markdown for pull-request comments and job summaries (`flagops diff`, `flagops refs`): the
 * helpers of common/text/markdown.ts, where free text from files, git, code and servers is kept from
 * becoming mentions, links, images or HTML.
 */
export { cell, code, fenced, htmlCode, inline } from '../common/text/markdown.ts';
