/**
 * policies/identity-rules.ts in-process (docs/testing.md#mutation-testing): who may be named in the
 * audit fields of a pull request's production changes, judged on small hand-written flag files and
 * hand-written GitHub facts, each case's whole list of findings compared exactly.
 * test/pull-request-identities.test.ts and test/judged-by-main.test.ts cover the same rules end to
 * end, from the GitHub API's responses and real git histories.
 */
import { describe, expect, it } from 'vitest';
import type { Finding } from '../model/findings.ts';
import { entryScopeKey, type ApprovalScope, type PullRequestAuthor, type PullRequestFacts } from '../model/pull-request.ts';
import { checkPullRequestIdentities } from '../policies/identity-rules.ts';
import { at, CATALOG, catalog, DEV, finding, flags, LEAD, model, PRODUCTION, SAM, statesPath, type Entry } from './support/flag-model.ts';

const PROD = statesPath('production');
const SETTINGS = [DEV, PRODUCTION];
const GRACE = 'grace.kim@pms.example.com';
const IDENTITIES: ReadonlyMap<string, readonly string[]> = new Map([
  ['sam-lee', [SAM]],
  ['pms-lead', [LEAD]],
  ['lead-backup', [LEAD]],
  ['grace-kim', [GRACE]],
]);

const AT_HEAD: ApprovalScope = { commit: 'c0ffee1', atHead: true, unchanged: new Set(), missing: false };
/** Given on an earlier commit, where `unchanged` were the same as at the head. */
const earlier = (...unchanged: string[]): ApprovalScope => ({ commit: 'abc1234', atHead: false, unchanged: new Set(unchanged), missing: false });

interface Case {
  /** Production's alpha_enabled as the pull request leaves it (on the base: off, changed by someone else). */
  readonly alpha?: Entry;
  /** Production's beta_enabled as the pull request leaves it (on the base: on 100%); `null`: removed. */
  readonly beta?: Entry | null;
  /** dev's alpha_enabled as the pull request leaves it (on the base: off). */
  readonly devAlpha?: Entry;
  readonly authors?: readonly PullRequestAuthor[];
  readonly approvals?: readonly string[];
  readonly scopes?: Readonly<Record<string, ApprovalScope>>;
  readonly findings?: readonly Finding[];
}

const BASE_ENTRY: Entry = { changed_by: 'nora.ali@pms.example.com', changed_at: '2026-10-01T10:00:00Z' };
/** Production's alpha_enabled as on the base: the pull request leaves it unchanged. */
const UNCHANGED: Entry = { ...BASE_ENTRY, enabled: false, rollout: 0, approved_by: undefined };
const BASE_TEXTS = {
  [CATALOG]: catalog({ alpha_enabled: {}, beta_enabled: {} }),
  [statesPath('dev')]: flags('dev', { alpha_enabled: BASE_ENTRY, beta_enabled: { enabled: true, rollout: 100 } }),
  [PROD]: flags('production', { alpha_enabled: BASE_ENTRY, beta_enabled: { ...BASE_ENTRY, enabled: true, rollout: 100, approved_by: LEAD } }),
};

/**
 * GIVEN a pull request (by default: production alpha_enabled raised to 5% by sam.lee, approved by
 * lead, with commits by @grace-kim and @sam-lee and @pms-lead's approval of the head commit)
 * WHEN the identity rules judge it, THEN these findings, and the texts of its flag files.
 */
function judge(c: Case = {}): { findings: Finding[]; texts: Record<string, string> } {
  const beta: Record<string, Entry> = c.beta === null ? {} : { beta_enabled: { ...BASE_ENTRY, enabled: true, rollout: 100, approved_by: LEAD, ...c.beta } };
  const texts = {
    ...BASE_TEXTS,
    [statesPath('dev')]: flags('dev', { alpha_enabled: { ...BASE_ENTRY, ...c.devAlpha }, beta_enabled: { enabled: true, rollout: 100 } }),
    [PROD]: flags('production', { alpha_enabled: { enabled: true, rollout: 5, changed_by: SAM, approved_by: LEAD, ...c.alpha }, ...beta }),
  };
  const approvals = c.approvals ?? ['pms-lead'];
  const pr: PullRequestFacts = {
    authors: c.authors ?? [{ login: 'grace-kim' }, { login: 'sam-lee', email: 'sam@laptop.local' }],
    approvers: approvals,
    approvals: approvals.map((login) => ({ login, commit: 'c0ffee1' })),
    identities: IDENTITIES,
    findings: c.findings ?? [],
  };
  const scopes = new Map(Object.entries(c.scopes ?? { 'pms-lead': AT_HEAD }));
  // A removed entry leaves the catalog flag without a state: a state rule's finding, not the parser's.
  return { findings: checkPullRequestIdentities(model(BASE_TEXTS, SETTINGS), model(texts, SETTINGS), pr, scopes), texts };
}

const notAuthor = (changedBy: string, authors: string, unproven = ''): string =>
  `flag 'alpha_enabled' in production says changed_by ${changedBy}, who is not among the pull request's commit authors (${authors})${unproven}; ` +
  'commit as that person from their GitHub account, or map their GitHub login in .github/flagops-identities on main';
const notApproved = (approvedBy: string, approvals: string): string =>
  `flag 'alpha_enabled' in production says approved_by ${approvedBy}, who has not approved the pull request (approvals: ${approvals}); ` +
  'the approver approves it on GitHub, and .github/flagops-identities on main maps their login to that e-mail';
const notCovered = (approvedBy: string, why: string, ask: string): string =>
  `flag 'alpha_enabled' in production says approved_by ${approvedBy}, whose approval does not cover this entry as it is now (${why}); ask ${ask} to approve the pull request again`;

describe('checkPullRequestIdentities: changed_by', () => {
  it('passes a change whose changed_by a linked commit proves and whose approved_by approved the head commit', () => {
    expect(judge().findings).toEqual([]);
  });

  it("is proven by the e-mail written in a linked commit, the committer's login or e-mail, whatever the case", () => {
    const changedBy = { alpha: { changed_by: 'Sam.Lee@PMS.example.com' } };
    expect(judge({ ...changedBy, authors: [{ login: 'someone', email: 'SAM.LEE@pms.example.com' }] }).findings).toEqual([]);
    expect(judge({ ...changedBy, authors: [{ login: 'grace-kim' }, { committerLogin: 'Sam-Lee' }] }).findings).toEqual([]);
    expect(judge({ ...changedBy, authors: [{ committerLogin: 'someone', committerEmail: SAM }] }).findings).toEqual([]);
  });

  it('[changed-by-not-author] not proven by a commit GitHub linked to no account, or to web-flow (an edit in the browser)', () => {
    const authors: PullRequestAuthor[] = [
      { login: 'grace-kim', email: 'grace@laptop.local' },
      { email: SAM },
      { login: 'Grace-Kim' },
      {},
      { login: 'pms-lead', committerLogin: 'web-flow', committerEmail: SAM },
      { login: 'web-flow', email: 'noreply@github.com' },
      { email: SAM },
    ];
    const { findings, texts } = judge({ authors });
    expect(findings).toEqual([
      finding(
        at(texts, PROD, SAM, 'alpha_enabled'),
        'error',
        'changed-by-not-author',
        notAuthor(SAM, '@grace-kim, @Grace-Kim, @pms-lead', '; commits GitHub linked to no account prove nothing (sam.lee@pms.example.com, noreply@github.com)'),
      ),
    ]);
  });

  it('[changed-by-not-author] says "none" when no commit is linked to an account', () => {
    const { findings, texts } = judge({ authors: [] });
    expect(findings).toEqual([finding(at(texts, PROD, SAM, 'alpha_enabled'), 'error', 'changed-by-not-author', notAuthor(SAM, 'none'))]);
  });
});

describe('checkPullRequestIdentities: approved_by', () => {
  it("is proven by an approval of the head commit from a login the identities map to it, whatever the case", () => {
    expect(judge({ alpha: { approved_by: 'Lead@PMS.example.com' }, approvals: ['PMS-Lead'] }).findings).toEqual([]);
  });

  it('[approver-not-reviewer] an approved_by whom no approving login maps to', () => {
    const one = judge({ approvals: ['grace-kim'], scopes: { 'grace-kim': AT_HEAD } });
    expect(one.findings).toEqual([finding(at(one.texts, PROD, LEAD, 'alpha_enabled'), 'error', 'approver-not-reviewer', notApproved(LEAD, '@grace-kim'))]);
    const two = judge({ approvals: ['grace-kim', 'sam-lee'], scopes: { 'grace-kim': AT_HEAD, 'sam-lee': AT_HEAD } });
    expect(two.findings.map((f) => f.message)).toEqual([notApproved(LEAD, '@grace-kim, @sam-lee')]);
    expect(judge({ approvals: [] }).findings.map((f) => f.message)).toEqual([notApproved(LEAD, 'none')]);
  });

  it('an approval of an earlier commit covers the entry while it is the same as at the head', () => {
    expect(judge({ scopes: { 'pms-lead': earlier(entryScopeKey('production', 'alpha_enabled')) } }).findings).toEqual([]);
  });

  it('[approver-not-reviewer] an approval of an earlier commit where the entry differed, one of a commit this clone lacks, one of unknown scope', () => {
    const changed = judge({ scopes: { 'pms-lead': earlier(entryScopeKey('production', 'beta_enabled')) } });
    expect(changed.findings).toEqual([
      finding(
        at(changed.texts, PROD, LEAD, 'alpha_enabled'),
        'error',
        'approver-not-reviewer',
        notCovered(LEAD, '@pms-lead approved commit abc1234, not the head; this entry changed since it', '@pms-lead'),
      ),
    ]);
    const missing = judge({ scopes: { 'pms-lead': { ...earlier(entryScopeKey('production', 'alpha_enabled')), missing: true } } });
    expect(missing.findings.map((f) => f.message)).toEqual([notCovered(LEAD, '@pms-lead approved commit abc1234, which is not in this clone', '@pms-lead')]);
    expect(judge({ scopes: {} }).findings.map((f) => f.message)).toEqual([notCovered(LEAD, '@pms-lead approval unknown', '@pms-lead')]);
  });

  it('[approver-not-reviewer] names every login that could approve again', () => {
    const { findings } = judge({ approvals: ['pms-lead', 'Lead-Backup'], scopes: { 'pms-lead': earlier(), 'lead-backup': earlier() } });
    expect(findings.map((f) => f.message)).toEqual([
      notCovered(
        LEAD,
        '@pms-lead approved commit abc1234, not the head; this entry changed since it; @Lead-Backup approved commit abc1234, not the head; this entry changed since it',
        '@pms-lead or @Lead-Backup',
      ),
    ]);
    // one covering approval among them is enough
    expect(judge({ approvals: ['pms-lead', 'lead-backup'], scopes: { 'pms-lead': earlier(), 'lead-backup': AT_HEAD } }).findings).toEqual([]);
  });
});

describe('checkPullRequestIdentities: what is judged', () => {
  it('only entries the pull request changes, in environments that require approval; a removed entry names nobody', () => {
    const nobody = { authors: [], approvals: [] };
    const { findings } = judge({ ...nobody, alpha: UNCHANGED, beta: null, devAlpha: { enabled: true, rollout: 100 } });
    expect(findings).toEqual([]);
  });

  it('an entry without approved_by (a kill switch) is judged on its changed_by only', () => {
    const killSwitch = { alpha: UNCHANGED, beta: { enabled: false, changed_by: SAM, changed_at: '2026-11-20T10:00:00Z', approved_by: undefined } };
    expect(judge(killSwitch).findings).toEqual([]);
    const { findings, texts } = judge({ ...killSwitch, authors: [], approvals: [] });
    expect(findings).toEqual([finding(at(texts, PROD, SAM, 'beta_enabled'), 'error', 'changed-by-not-author', notAuthor(SAM, 'none').replace("'alpha_enabled'", "'beta_enabled'"))]);
  });

  it("reports the identities file's own findings first", () => {
    const malformed = finding({ file: '.github/flagops-identities', line: 2, col: 1 }, 'error', 'identities-format', 'expected an e-mail');
    const { findings, texts } = judge({ findings: [malformed], authors: [] });
    expect(findings).toEqual([malformed, finding(at(texts, PROD, SAM, 'alpha_enabled'), 'error', 'changed-by-not-author', notAuthor(SAM, 'none'))]);
  });
});
