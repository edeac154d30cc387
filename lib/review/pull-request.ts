/**
 * Who really changed and approved a pull request: its commit authors and approving reviewers, as
 * the GitHub API reports them, and the committed mapping of GitHub logins to the e-mail addresses
 * used in `changed_by` / `approved_by`. Parse step only; policies/identity-rules.ts judges.
 *
 * `--pull-request FILE` is a JSON object `{"commits": [...], "reviews": [...]}` holding the two API
 * responses as they come (`GET /repos/{owner}/{repo}/pulls/{n}/commits` and `.../reviews`, all
 * pages). The CI workflow writes it with actions/github-script.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { error, type Finding } from '../../model/findings.ts';
import { UsageError } from '../../common/text/errors.ts';

import { IDENTITIES_FILE, type ApprovalScope, type PullRequestAuthor, type PullRequestFacts } from '../../model/pull-request.ts';
import { shortSha } from '../../common/text/sha.ts';
import { entryText } from '../../common/yaml/yaml-source.ts';
import { gitReader, resolveRef } from './git.ts';

type Json = unknown;
const isRecord = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 320 ? v : undefined);

/**
 * Reads `--pull-request FILE` (relative to `cwd`). The logins are mapped to e-mails by
 * `identities`: the text of the identities file that judges (the base's: a pull request never
 * chooses whose approval counts); its malformed lines are not reported here (check reports the
 * working tree's file).
 *
 * @throws UsageError when the file is missing or not the expected shape (it comes from an API).
 */
export function loadPullRequest(file: string, cwd: string, identities: string | undefined): PullRequestFacts {
  let data: Json;
  try {
    data = JSON.parse(readFileSync(resolve(cwd, file), 'utf8')) as Json;
  } catch (e) {
    throw new UsageError(`--pull-request ${file} cannot be read as JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return { ...parsePullRequest(data, file), identities: parseIdentities(identities ?? '').identities, findings: [] };
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const asSha = (v: Json): string | undefined => (typeof v === 'string' && SHA.test(v) ? v : undefined);

/**
 * The commits and approvals in the API responses. `head` is the pull request's head commit
 * (`"head"` in the file, as the workflow writes it; else the last of the commits, which GitHub lists
 * oldest first); `"author"` the login of who opened it.
 */
export function parsePullRequest(data: Json, file = 'the pull request file'): Pick<PullRequestFacts, 'authors' | 'approvers' | 'approvals' | 'head' | 'opener'> {
  if (!isRecord(data) || !Array.isArray(data.commits) || !Array.isArray(data.reviews)) {
    throw new UsageError(`${file} must be a JSON object {"commits": [...], "reviews": [...]} holding GitHub's pull request commits and reviews`);
  }
  const authors: PullRequestAuthor[] = [];
  let last: string | undefined;
  for (const c of data.commits) {
    if (!isRecord(c)) throw new UsageError(`${file}: every entry of "commits" must be an object (a GitHub commit)`);
    // GitHub's `author` and `committer` are the accounts it linked the commit to (null when the
    // e-mail belongs to none); `commit.author` is what the commit says, which anyone can type.
    const login = isRecord(c.author) ? asLogin(c.author.login) : undefined;
    const committerLogin = isRecord(c.committer) ? asLogin(c.committer.login) : undefined;
    const email = isRecord(c.commit) && isRecord(c.commit.author) ? asEmail(c.commit.author.email) : undefined;
    const committerEmail = isRecord(c.commit) && isRecord(c.commit.committer) ? asEmail(c.commit.committer.email) : undefined;
    authors.push({ login, email, committerLogin, committerEmail });
    last = asSha(c.sha) ?? last;
  }
  // A reviewer's latest deciding review counts: an approval followed by "changes requested" or a
  // dismissal is no approval. Comments do not change the decision. Reviews come oldest first.
  const latest = new Map<string, { login: string; state: string; commit?: string }>();
  for (const r of data.reviews) {
    if (!isRecord(r)) throw new UsageError(`${file}: every entry of "reviews" must be an object (a GitHub review)`);
    const login = isRecord(r.user) ? asLogin(r.user.login) : undefined;
    const state = str(r.state);
    if (!login || !state || !['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(state)) continue;
    latest.set(login.toLowerCase(), { login: login.toLowerCase(), state, commit: asSha(r.commit_id) });
  }
  const approvals = [...latest.values()].filter((r) => r.state === 'APPROVED').map(({ login, commit }) => (commit ? { login, commit } : { login }));
  const head = asSha(data.head) ?? last;
  const opener = asLogin(data.author);
  return { authors, approvers: approvals.map((a) => a.login), approvals, ...(head ? { head } : {}), ...(opener ? { opener } : {}) };
}

/** Parses the identities file in the working tree (for its format findings); absent means no mapping. */
export function readIdentities(root: string): Pick<PullRequestFacts, 'identities' | 'findings'> & { readonly text?: string } {
  let text: string;
  try {
    text = readFileSync(resolve(root, IDENTITIES_FILE), 'utf8');
  } catch {
    return { identities: new Map(), findings: [] };
  }
  return { ...parseIdentities(text), text };
}

/** Something an approval may cover: a flag entry or a whole file, with its text at the head. */
export interface ScopeTarget {
  /** {@link entryScopeKey} or {@link fileScopeKey}. */
  readonly key: string;
  /** The file (relative to the project). */
  readonly file: string;
  /** For an entry: the flag whose entry (`flags.<flag>`) is compared; otherwise the whole file. */
  readonly flag?: string;
  /** Its text at the head (what is judged); undefined when absent there. */
  readonly head: string | undefined;
}

/**
 * What each approval covers ({@link ApprovalScope}): everything when it was given on the head
 * commit; otherwise the targets whose text at the reviewed commit is byte-identical to the head's.
 * Reads each reviewed commit's files from git once.
 */
export function approvalScopes(root: string, pr: PullRequestFacts, targets: readonly ScopeTarget[]): Map<string, ApprovalScope> {
  const scopes = new Map<string, ApprovalScope>();
  const byCommit = new Map<string, ApprovalScope>();
  for (const approval of pr.approvals) {
    const commit = approval.commit;
    if (commit !== undefined && pr.head !== undefined && commit === pr.head) {
      scopes.set(approval.login, { commit: shortSha(commit), atHead: true, unchanged: new Set(), missing: false });
      continue;
    }
    if (commit === undefined) {
      scopes.set(approval.login, { atHead: false, unchanged: new Set(), missing: true });
      continue;
    }
    let scope = byCommit.get(commit);
    if (!scope) {
      scope = reviewedScope(root, commit, targets);
      byCommit.set(commit, scope);
    }
    scopes.set(approval.login, scope);
  }
  return scopes;
}

function reviewedScope(root: string, commit: string, targets: readonly ScopeTarget[]): ApprovalScope {
  if (!resolveRef(root, commit)) return { commit: shortSha(commit), atHead: false, unchanged: new Set(), missing: true };
  const reader = gitReader(root, commit);
  const files = new Map<string, string | undefined>();
  const fileAt = (path: string): string | undefined => {
    if (!files.has(path)) files.set(path, reader.read(path));
    return files.get(path);
  };
  const unchanged = new Set<string>();
  for (const t of targets) {
    const text = fileAt(t.file);
    const then = t.flag === undefined || text === undefined ? text : entryText(t.file, text, ['flags', t.flag]);
    if (then !== undefined && then === t.head) unchanged.add(t.key);
  }
  return { commit: shortSha(commit), atHead: false, unchanged, missing: false };
}

const LOGIN = /^@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))$/;
const EMAIL = /^[^@\s\p{Cc}]+@[^@\s\p{Cc}]+\.[^@\s\p{Cc}]+$/u;
/** Only well-formed values from the API are used (and ever printed). */
const asLogin = (v: Json): string | undefined => (typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$/.test(v) ? v : undefined);
const asEmail = (v: Json): string | undefined => (typeof v === 'string' && v.length <= 254 && EMAIL.test(v) ? v : undefined);

export function parseIdentities(text: string): Pick<PullRequestFacts, 'identities' | 'findings'> {
  const identities = new Map<string, string[]>();
  const findings: Finding[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const at = { file: IDENTITIES_FILE, line: i + 1, col: raw.indexOf(line[0]!) + 1 };
    const [who, ...emails] = line.split(/\s+/);
    const login = LOGIN.exec(who!)?.[1];
    if (!login) {
      findings.push(error(at, 'identities-format', `expected '@github-login email [email ...]', the line starts with ${JSON.stringify(who)}`));
      return;
    }
    const bad = emails.find((e) => !EMAIL.test(e));
    if (emails.length === 0 || bad !== undefined) {
      findings.push(error(at, 'identities-format', bad ? `${JSON.stringify(bad)} is not an e-mail address` : `@${login} names no e-mail address`));
      return;
    }
    const key = login.toLowerCase();
    identities.set(key, [...(identities.get(key) ?? []), ...emails.map((e) => e.toLowerCase())]);
  });
  return { identities, findings };
}
