/**
 * Identity rules: the audit fields of a pull request's changes name the people GitHub saw. In an
 * environment that requires approval (production), every flag entry the pull request changes must
 * carry a `changed_by` among the pull request's commit authors and an `approved_by` among its
 * approving reviewers (GitHub logins mapped to e-mails by `.github/flagops-identities`).
 *
 * Pure function of the two project models and the facts from the GitHub API.
 */
import type { ProjectModel } from '../model/flags.ts';
import { IDENTITIES_FILE, type PullRequestFacts } from '../model/pull-request.ts';
import { flagChanges } from './change-rules.ts';
import { error, type Finding } from '../model/findings.ts';

export function checkPullRequestIdentities(base: ProjectModel, current: ProjectModel, pr: PullRequestFacts): Finding[] {
  const findings: Finding[] = [...pr.findings];
  const emailsOf = (login: string | undefined): readonly string[] => (login ? (pr.identities.get(login.toLowerCase()) ?? []) : []);
  const authorEmails = new Set(pr.authors.flatMap((a) => [...(a.email ? [a.email.toLowerCase()] : []), ...emailsOf(a.login)]));
  const approverEmails = new Set(pr.approvers.flatMap((login) => emailsOf(login)));
  const authors = describe(pr.authors.map((a) => (a.login ? `@${a.login}` : (a.email ?? '?'))));
  const approvers = describe(pr.approvers.map((l) => `@${l}`));
  for (const change of flagChanges(base, current)) {
    const env = current.environments.find((e) => e.settings.name === change.environment);
    const after = change.after;
    if (!env?.source || !after || !env.settings.requireApproval) continue;
    if (!authorEmails.has(after.changed_by.toLowerCase())) {
      findings.push(
        error(
          env.source.locate(['flags', change.flag, 'changed_by']),
          'changed-by-not-author',
          `flag '${change.flag}' in ${env.settings.name} says changed_by ${after.changed_by}, who is not among the pull request's commit authors (${authors}); ` +
            `commit as that person, or map their GitHub login in ${IDENTITIES_FILE}`,
        ),
      );
    }
    if (after.approved_by !== undefined && !approverEmails.has(after.approved_by.toLowerCase())) {
      findings.push(
        error(
          env.source.locate(['flags', change.flag, 'approved_by']),
          'approver-not-reviewer',
          `flag '${change.flag}' in ${env.settings.name} says approved_by ${after.approved_by}, who has not approved the pull request (approvals: ${approvers}); ` +
            `the approver approves it on GitHub, and ${IDENTITIES_FILE} maps their login to that e-mail`,
        ),
      );
    }
  }
  return findings;
}

const describe = (names: readonly string[]): string => {
  const unique = [...new Set(names)];
  return unique.length === 0 ? 'none' : unique.join(', ');
};
