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
import { UsageError } from '../text/errors.ts';

import { IDENTITIES_FILE, type PullRequestAuthor, type PullRequestFacts } from '../../model/pull-request.ts';

type Json = unknown;
const isRecord = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 320 ? v : undefined);

/**
 * Reads `--pull-request FILE` (relative to `cwd`) and the identities file under `root`.
 *
 * @throws UsageError when the file is missing or not the expected shape (it comes from an API).
 */
export function loadPullRequest(root: string, file: string, cwd = root): PullRequestFacts {
  let data: Json;
  try {
    data = JSON.parse(readFileSync(resolve(cwd, file), 'utf8')) as Json;
  } catch (e) {
    throw new UsageError(`--pull-request ${file} cannot be read as JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return { ...parsePullRequest(data, file), ...readIdentities(root) };
}

/** The authors and approvers in the API responses. */
export function parsePullRequest(data: Json, file = 'the pull request file'): Pick<PullRequestFacts, 'authors' | 'approvers'> {
  if (!isRecord(data) || !Array.isArray(data.commits) || !Array.isArray(data.reviews)) {
    throw new UsageError(`${file} must be a JSON object {"commits": [...], "reviews": [...]} holding GitHub's pull request commits and reviews`);
  }
  const authors: PullRequestAuthor[] = [];
  for (const c of data.commits) {
    if (!isRecord(c)) throw new UsageError(`${file}: every entry of "commits" must be an object (a GitHub commit)`);
    const login = isRecord(c.author) ? asLogin(c.author.login) : undefined;
    const email = isRecord(c.commit) && isRecord(c.commit.author) ? asEmail(c.commit.author.email) : undefined;
    authors.push({ login, email });
  }
  // A reviewer's latest deciding review counts: an approval followed by "changes requested" or a
  // dismissal is no approval. Comments do not change the decision. Reviews come oldest first.
  const latest = new Map<string, string>();
  for (const r of data.reviews) {
    if (!isRecord(r)) throw new UsageError(`${file}: every entry of "reviews" must be an object (a GitHub review)`);
    const login = isRecord(r.user) ? asLogin(r.user.login) : undefined;
    const state = str(r.state);
    if (!login || !state || !['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED'].includes(state)) continue;
    latest.set(login.toLowerCase(), state);
  }
  const approvers = [...latest].filter(([, state]) => state === 'APPROVED').map(([login]) => login);
  return { authors, approvers };
}

/** Parses the identities file; absent means no mapping (e-mails in commits still count). */
export function readIdentities(root: string): Pick<PullRequestFacts, 'identities' | 'findings'> {
  let text: string;
  try {
    text = readFileSync(resolve(root, IDENTITIES_FILE), 'utf8');
  } catch {
    return { identities: new Map(), findings: [] };
  }
  return parseIdentities(text);
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
