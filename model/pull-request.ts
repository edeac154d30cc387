/** Who really changed and approved a pull request (lib/review/pull-request.ts reads it, policies/identity-rules.ts judges). */
import type { Finding } from './findings.ts';

/** The committed login → e-mail mapping, CODEOWNERS style: `@login email [email ...]` per line. */
export const IDENTITIES_FILE = '.github/flagops-identities';

/** One commit of the pull request, as GitHub linked it to accounts. */
export interface PullRequestAuthor {
  /** GitHub login of the commit's author, when GitHub linked the commit to an account (`author` not null). */
  readonly login?: string;
  /** The author e-mail written in the commit itself (free text: proves nothing without a login). */
  readonly email?: string;
  /** GitHub login of the committer, when GitHub linked it (`committer` not null). */
  readonly committerLogin?: string;
  /** The committer e-mail written in the commit. */
  readonly committerEmail?: string;
}

/** One reviewer's latest deciding review, when it approves. */
export interface PullRequestApproval {
  readonly login: string;
  /** The commit the review was given on (GitHub's `commit_id`), when known. */
  readonly commit?: string;
}

export interface PullRequestFacts {
  readonly authors: readonly PullRequestAuthor[];
  /** Logins whose latest review (approve, request changes or dismissed) is an approval. */
  readonly approvers: readonly string[];
  /** The same approvals with the commit each was given on. */
  readonly approvals: readonly PullRequestApproval[];
  /** The pull request's head commit (`head` in the file, else its last commit). */
  readonly head?: string;
  /** Login of who opened the pull request, when the file says (`author`). */
  readonly opener?: string;
  /** Lower-case login → lower-case e-mails (the base's, when a base is known). */
  readonly identities: ReadonlyMap<string, readonly string[]>;
  /** Malformed lines of the identities file. */
  readonly findings: readonly Finding[];
}

/**
 * What one approval covers. GitHub records the commit a review was given on: an approval of the
 * head commit covers the whole pull request; one of an earlier commit covers only what is
 * byte-identical there and at the head (a flag entry, a file), so a raise pushed after the approval
 * is never approved by it.
 */
export interface ApprovalScope {
  /** The reviewed commit, short, for messages. */
  readonly commit?: string;
  /** Given on the head commit: it covers the whole pull request. */
  readonly atHead: boolean;
  /** Keys (`entry:<env>:<flag>`, `file:<path>`) whose text is the same at the reviewed commit and at the head. */
  readonly unchanged: ReadonlySet<string>;
  /** The reviewed commit is not in this clone, so nothing could be compared. */
  readonly missing: boolean;
}

/** The key of a flag entry in an {@link ApprovalScope}'s `unchanged` set. */
export const entryScopeKey = (environment: string, flag: string): string => `entry:${environment}:${flag}`;
/** The key of a whole file in an {@link ApprovalScope}'s `unchanged` set. */
export const fileScopeKey = (file: string): string => `file:${file}`;
