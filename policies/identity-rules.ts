/**
 * Identity rules: the audit fields of a pull request's changes name the people GitHub saw. In an
 * environment that requires approval (production, by the base's settings), every flag entry the
 * pull request changes must carry a `changed_by` proven by one of its commits and an `approved_by`
 * proven by an approving review that covers that entry.
 *
 * What counts as proof is what GitHub records, not what a file or a commit says:
 * - `changed_by`: a commit GitHub linked to an account (its `author` or `committer` is a login), whose
 *   login the base's `.github/flagops-identities` maps to that e-mail, or whose own e-mail it is (GitHub
 *   links a commit to an account by an e-mail of that account). A commit with `author: null` carries
 *   an e-mail anyone can type: it proves nothing.
 * - `approved_by`: the latest review of a login the base's identities map to that e-mail is an
 *   approval, given on the head commit, or on an earlier commit where this entry was byte-identical
 *   (an approval does not cover a raise pushed after it).
 *
 * Pure function of the two project models and the facts from the GitHub API.
 */
import type { ProjectModel } from '../model/flags.ts';
import { entryScopeKey, IDENTITIES_FILE, type ApprovalScope, type PullRequestFacts } from '../model/pull-request.ts';
import { flagChanges } from './change-rules.ts';
import { error, type Finding } from '../model/findings.ts';
import { describeScope } from './judged-by-base.ts';

/**
 * `current` is the model as the base's rules see it (policies/judged-by-base.ts `judgedModel`), so
 * which environments require approval is the base's decision. `scopes`: what each approval covers
 * (lib/review/pull-request.ts `approvalScopes`), by lower-case login.
 */
export function checkPullRequestIdentities(base: ProjectModel, current: ProjectModel, pr: PullRequestFacts, scopes: ReadonlyMap<string, ApprovalScope>): Finding[] {
  const findings: Finding[] = [...pr.findings];
  const linked = (login: string | undefined): login is string => login !== undefined && login.toLowerCase() !== 'web-flow';
  /** Whether the base's identities file maps `login` to `email` (lower case). */
  const maps = (login: string, email: string): boolean => pr.identities.get(login.toLowerCase())?.includes(email) === true;
  // The people GitHub saw: each commit's author and committer it linked to an account.
  const accounts = pr.authors
    .flatMap((a) => [{ login: a.login, email: a.email }, { login: a.committerLogin, email: a.committerEmail }])
    .filter((account): account is Account => linked(account.login));
  /** GitHub links a commit to an account by an e-mail of that account: the one written in the commit, or one the identities map. */
  const proves = (account: Account, email: string): boolean => account.email?.toLowerCase() === email || maps(account.login, email);
  const unlinked = pr.authors.filter((a) => !linked(a.login) && a.email).map((a) => a.email!);
  const authors = describe(pr.authors.filter((a) => linked(a.login)).map((a) => `@${a.login}`));
  const unproven = unlinked.length > 0 ? `; commits GitHub linked to no account prove nothing (${describe(unlinked)})` : '';
  const approvers = describe(pr.approvals.map((a) => `@${a.login}`));
  for (const change of flagChanges(base, current)) {
    const env = current.environments.find((e) => e.settings.name === change.environment);
    const after = change.after;
    if (!env?.source || !after || !env.settings.requireApproval) continue;
    const changedBy = after.changed_by.toLowerCase();
    if (!accounts.some((account) => proves(account, changedBy))) {
      findings.push(
        error(
          env.source.locate(['flags', change.flag, 'changed_by']),
          'changed-by-not-author',
          `flag '${change.flag}' in ${env.settings.name} says changed_by ${after.changed_by}, who is not among the pull request's commit authors (${authors})${unproven}; ` +
            `commit as that person from their GitHub account, or map their GitHub login in ${IDENTITIES_FILE} on main`,
        ),
      );
    }
    if (after.approved_by === undefined) continue;
    const approvedBy = after.approved_by.toLowerCase();
    const candidates = pr.approvals.filter((a) => maps(a.login, approvedBy));
    const key = entryScopeKey(change.environment, change.flag);
    const covering = candidates.filter((a) => {
      const scope = scopes.get(a.login.toLowerCase());
      return scope !== undefined && !scope.missing && (scope.atHead || scope.unchanged.has(key));
    });
    if (covering.length > 0) continue;
    const at = env.source.locate(['flags', change.flag, 'approved_by']);
    if (candidates.length === 0) {
      findings.push(
        error(
          at,
          'approver-not-reviewer',
          `flag '${change.flag}' in ${env.settings.name} says approved_by ${after.approved_by}, who has not approved the pull request (approvals: ${approvers}); ` +
            `the approver approves it on GitHub, and ${IDENTITIES_FILE} on main maps their login to that e-mail`,
        ),
      );
      continue;
    }
    const why = candidates.map((a) => `@${a.login} ${describeScope(scopes.get(a.login.toLowerCase()), 'this entry changed since')}`).join('; ');
    findings.push(
      error(
        at,
        'approver-not-reviewer',
        `flag '${change.flag}' in ${env.settings.name} says approved_by ${after.approved_by}, whose approval does not cover this entry as it is now (${why}); ` +
          `ask ${candidates.map((a) => `@${a.login}`).join(' or ')} to approve the pull request again`,
      ),
    );
  }
  return findings;
}

/** A commit's author or committer, by the login GitHub linked it to and the e-mail written in the commit. */
interface Account {
  readonly login: string;
  readonly email: string | undefined;
}

const describe = (names: readonly string[]): string => {
  const unique = [...new Set(names)];
  return unique.length === 0 ? 'none' : unique.join(', ');
};
