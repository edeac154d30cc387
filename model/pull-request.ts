/** Who really changed and approved a pull request (lib/review/pull-request.ts reads it, policies/identity-rules.ts judges). */
import type { Finding } from './findings.ts';

/** The committed login → e-mail mapping, CODEOWNERS style: `@login email [email ...]` per line. */
export const IDENTITIES_FILE = '.github/flagops-identities';

/** One commit author of the pull request. */
export interface PullRequestAuthor {
  /** GitHub login of the commit's author, when GitHub could link the commit to an account. */
  readonly login?: string;
  /** The e-mail in the commit itself. */
  readonly email?: string;
}

export interface PullRequestFacts {
  readonly authors: readonly PullRequestAuthor[];
  /** Logins whose latest review (approve, request changes or dismissed) is an approval. */
  readonly approvers: readonly string[];
  /** Lower-case login → lower-case e-mails. */
  readonly identities: ReadonlyMap<string, readonly string[]>;
  /** Malformed lines of the identities file. */
  readonly findings: readonly Finding[];
}

