/**
 * The review of a change (lib/review/review.ts), in-process: the flag changes as a reviewer reads
 * them (removals with what users get afterwards and the commit they are recorded by), the objects
 * that change with their patches, and the one-line summary. `flagops diff` renders these
 * (test/diff.test.ts, test/remove-diff.test.ts); the fast-lane classifier is test/lane.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { distAtCommit, distOnDisk, removalCommits, reviewFlags, reviewObjects, summaryLine, type FlagReview, type RemovalFacts, type Review } from '../lib/review/review.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { overlay } from '../lib/workspace/workspace.ts';
import { setFields } from '../common/yaml/yaml-edit.ts';
import type { ProjectModel } from '../model/flags.ts';
import type { Finding } from '../model/findings.ts';
import type { RuleChange } from '../policies/judged-by-base.ts';
import { git, read, REPO_ROOT, tempProject, write } from './helpers.ts';
import { commitAll } from './flag-history.ts';

const NEW_STAMP = { changed_at: '2026-11-23T11:00:00Z', changed_by: 'oncall@pms.example.com' };
/** A flag entry of the sample's shape, for adding a flag to a file. */
const NEW_FLAG = '  visit_notes_export_enabled:\n    enabled: false\n    rollout: 0\n    reason: New flag for the PDF export\n    changed_by: lena.fischer@pms.example.com\n    changed_at: 2026-11-23T12:00:00Z\n';

let settings: Awaited<ReturnType<typeof loadEnvironmentSettings>>;
let base: ProjectModel;
beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
  base = parseProject(settings, diskReader(REPO_ROOT)).model;
});

/** The sample with each named flag file's text changed by its function: the model a change makes. */
function changed(edits: Readonly<Record<string, (text: string) => string>>): ProjectModel {
  const disk = diskReader(REPO_ROOT);
  return parseProject(settings, overlay(disk, new Map(Object.entries(edits).map(([env, edit]) => [`environments/${env}/flags.yaml`, edit(disk.read(`environments/${env}/flags.yaml`)!)])))).model;
}
const setting = (flag: string, fields: Readonly<Record<string, string | number | boolean | undefined>>) => (text: string) => setFields(text, ['flags', flag], fields);
/** Deletes flags from a flag file's text (what `flagops remove` does to each environment). */
const deleting = (...flags: string[]) => (text: string) => {
  const doc = parseDocument(text);
  for (const flag of flags) doc.deleteIn(['flags', flag]);
  return doc.toString();
};

describe('reviewFlags: each flag change as a reviewer reads it', () => {
  it('gives every field of a kill switch, a raise, a lower rollout, an audit-only update and an added flag, in promotion and file order', () => {
    // GIVEN one change across the three environments
    const current = changed({
      dev: (text) => text.replace('flags:\n', `flags:\n${NEW_FLAG}`),
      staging: setting('appointment_waitlist_enabled', { rollout: 5, reason: 'Back to 5% (INC-2400)', ...NEW_STAMP }),
      production: (text) =>
        [
          setting('telehealth_appointments_enabled', { enabled: false, reason: 'Kill switch: video provider outage', ticket: 'INC-2301', ...NEW_STAMP }),
          setting('e_prescribing_enabled', { rollout: 25, reason: 'Phase 2', ticket: 'TICKET-13010', changed_by: 'sam.lee@pms.example.com', changed_at: '2026-11-23T10:00:00Z' }),
          setting('online_bill_pay_enabled', { reason: 'Fully rolled out, see the runbook' }),
        ].reduce((t, edit) => edit(t), text),
    });
    // WHEN reviewing it THEN each flag change, field by field (undefined where the entry has none)
    expect(reviewFlags(base, current)).toStrictEqual([
      {
        environment: 'dev',
        flag: 'visit_notes_export_enabled',
        kind: 'added',
        before: 'absent',
        after: 'off',
        switching: undefined,
        reason: 'New flag for the PDF export',
        ticket: undefined,
        changedBy: 'lena.fischer@pms.example.com',
        approvedBy: undefined,
      },
      {
        environment: 'staging',
        flag: 'appointment_waitlist_enabled',
        kind: 'lowered',
        before: 'on 25%',
        after: 'on 5%',
        switching: { percent: 20, to: 'off' },
        reason: 'Back to 5% (INC-2400)',
        ticket: 'TICKET-12411',
        changedBy: 'oncall@pms.example.com',
        approvedBy: undefined,
      },
      {
        environment: 'production',
        flag: 'telehealth_appointments_enabled',
        kind: 'kill-switch',
        before: 'on 25%',
        after: 'off',
        switching: { percent: 25, to: 'off' },
        reason: 'Kill switch: video provider outage',
        ticket: 'INC-2301',
        changedBy: 'oncall@pms.example.com',
        approvedBy: 'lead@pms.example.com',
      },
      {
        environment: 'production',
        flag: 'e_prescribing_enabled',
        kind: 'raised',
        before: 'on 5%',
        after: 'on 25%',
        switching: { percent: 20, to: 'on' },
        reason: 'Phase 2',
        ticket: 'TICKET-13010',
        changedBy: 'sam.lee@pms.example.com',
        approvedBy: 'lead@pms.example.com',
      },
      {
        environment: 'production',
        flag: 'online_bill_pay_enabled',
        kind: 'updated',
        before: 'on 100%',
        after: 'on 100%',
        switching: undefined,
        reason: 'Fully rolled out, see the runbook',
        ticket: 'TICKET-10077',
        changedBy: 'grace.kim@pms.example.com',
        approvedBy: 'lead@pms.example.com',
      },
    ]);
  });

  it('gives nothing for a change that changes no flag', () => {
    expect(reviewFlags(base, changed({ production: (text) => `${text}\n# a comment\n` }))).toStrictEqual([]);
  });
});

describe('reviewFlags: a removed flag, and what users get without it', () => {
  // In dev's file order: telehealth_appointments_enabled on 100%, lab_results_auto_release_enabled on 25%, ai_visit_summaries_enabled on 50%, maintenance_mode_enabled off.
  const FLAGS = ['telehealth_appointments_enabled', 'lab_results_auto_release_enabled', 'ai_visit_summaries_enabled', 'maintenance_mode_enabled'];
  const removedFromDev = (facts?: RemovalFacts): FlagReview[] => {
    const current = changed({ dev: deleting(...FLAGS) });
    return facts === undefined ? reviewFlags(base, current) : reviewFlags(base, current, facts);
  };
  const removal = (flag: string, before: string, afterwards: string, why: string, switching?: number) => ({
    environment: 'dev',
    flag,
    kind: 'removed',
    before,
    after: 'absent',
    ...(switching === undefined ? {} : { switching: { percent: switching, to: 'off' } }),
    removal: { afterwards, why },
  });
  const DEFAULT_OFF = 'without the flag the code takes its default, off';

  it('says who switches off when the code was not searched, and that users at 100% stay on only if no code reads it any more', () => {
    // WHEN the removals are reviewed with no facts at all (not committed, code not searched)
    expect(removedFromDev()).toStrictEqual([
      removal('telehealth_appointments_enabled', 'on 100%', 'users stay on if no code reads it any more', 'the code was not searched here (no sourceFolders); flagops remove --keep-code-path checks it'),
      removal('lab_results_auto_release_enabled', 'on 25%', '25% of users switch off', DEFAULT_OFF, 25),
      removal('ai_visit_summaries_enabled', 'on 50%', '50% of users switch off', DEFAULT_OFF, 50),
      removal('maintenance_mode_enabled', 'off', 'users stay off', DEFAULT_OFF),
    ]);
  });

  it('names where the code still reads a flag that was on, and says users at 100% stay on when no code in the folders searched reads it', () => {
    const reads = new Map([
      ['lab_results_auto_release_enabled', []],
      ['ai_visit_summaries_enabled', ['backend/summaries.py:12', 'backend/visits.py:40', 'worker/jobs.py:7']],
      ['telehealth_appointments_enabled', []],
    ]);
    const reviews = removedFromDev({ commits: new Map(), code: { folders: ['backend', 'worker'], reads } });
    expect(reviews).toStrictEqual([
      removal('telehealth_appointments_enabled', 'on 100%', 'users stay on', 'no code in backend, worker reads it, so it always takes the on path'),
      removal('lab_results_auto_release_enabled', 'on 25%', '25% of users switch off', DEFAULT_OFF, 25),
      removal('ai_visit_summaries_enabled', 'on 50%', '50% of users switch off', 'backend/summaries.py:12 (and 2 more) still reads it and gets its default, off', 50),
      removal('maintenance_mode_enabled', 'off', 'users stay off', DEFAULT_OFF),
    ]);
    // AND a flag on 100% that one place still reads: every user switches off, said with that place alone
    const one = removedFromDev({ commits: new Map(), code: { folders: ['backend'], reads: new Map([['telehealth_appointments_enabled', ['backend/video.py:3']]]) } });
    expect(one[0]).toStrictEqual(removal('telehealth_appointments_enabled', 'on 100%', '100% of users switch off', 'backend/video.py:3 still reads it and gets its default, off', 100));
  });

  it("takes the reason, ticket and author of a committed removal from its commit's subject, keyed by environment and flag", () => {
    const commits = new Map([
      ['dev|maintenance_mode_enabled', { commit: 'a'.repeat(40), subject: 'Remove maintenance_mode_enabled: replaced by the runbook (TICKET-13040)', authorEmail: 'ops@pms.example.com' }],
      ['dev|telehealth_appointments_enabled', { commit: 'b'.repeat(40), subject: 'Retire the telehealth flag', authorEmail: 'sam.lee@pms.example.com' }],
      ['staging|lab_results_auto_release_enabled', { commit: 'c'.repeat(40), subject: 'Not this environment (TICKET-1)', authorEmail: 'x@pms.example.com' }],
    ]);
    const reviews = removedFromDev({ commits });
    expect(reviews[3]).toStrictEqual({
      ...removal('maintenance_mode_enabled', 'off', 'users stay off', DEFAULT_OFF),
      reason: 'Remove maintenance_mode_enabled: replaced by the runbook (TICKET-13040)',
      ticket: 'TICKET-13040',
      changedBy: 'ops@pms.example.com',
      removal: { afterwards: 'users stay off', why: DEFAULT_OFF, commit: 'a'.repeat(40) },
    });
    // a subject without a ticket gives none (not null)
    expect(reviews[0]).toStrictEqual({
      ...removal('telehealth_appointments_enabled', 'on 100%', 'users stay on if no code reads it any more', 'the code was not searched here (no sourceFolders); flagops remove --keep-code-path checks it'),
      reason: 'Retire the telehealth flag',
      ticket: undefined,
      changedBy: 'sam.lee@pms.example.com',
      removal: { afterwards: 'users stay on if no code reads it any more', why: 'the code was not searched here (no sourceFolders); flagops remove --keep-code-path checks it', commit: 'b'.repeat(40) },
    });
    // another environment's commit is not this removal's
    expect(reviews[1]).toStrictEqual(removal('lab_results_auto_release_enabled', 'on 25%', '25% of users switch off', DEFAULT_OFF, 25));
  });
});

describe('removalCommits: the commit a removal is recorded by', () => {
  const FLAG = 'maintenance_mode_enabled';
  const removeFrom = (dir: string, env: string, flag = FLAG) => write(dir, `environments/${env}/flags.yaml`, deleting(flag)(read(dir, `environments/${env}/flags.yaml`)));
  const touch = (dir: string, env: string) => write(dir, `environments/${env}/flags.yaml`, `${read(dir, `environments/${env}/flags.yaml`)}# touched\n`);
  const removed = (...envs: string[]) => envs.map((environment) => ({ environment, flag: FLAG }));

  it("takes, per environment, the newest commit since the base that changed that environment's file and names the flag, else the newest", () => {
    // GIVEN since the base: the removal from production (naming the flag), a later commit to production
    // that does not name it, and the removal from staging (naming it), newest last; then dev's removal
    // by a commit that does not name it, followed by another that does not either
    const dir = tempProject({ git: true });
    const baseCommit = git(dir, 'rev-parse', 'HEAD').trim();
    removeFrom(dir, 'production');
    const production = commitAll(dir, `Remove ${FLAG} from production (TICKET-13040)`, { date: '2026-11-23T10:00:00Z', author: 'Ops Bot', email: 'ops@pms.example.com' });
    touch(dir, 'production');
    commitAll(dir, 'Tidy the production comments', { date: '2026-11-23T10:10:00Z' });
    removeFrom(dir, 'staging');
    const staging = commitAll(dir, `${FLAG}: gone from staging`, { date: '2026-11-23T10:20:00Z', author: 'Sam Lee', email: 'sam.lee@pms.example.com' });
    removeFrom(dir, 'dev');
    commitAll(dir, 'Clean up dev', { date: '2026-11-23T10:30:00Z' });
    touch(dir, 'dev');
    const devNewest = commitAll(dir, 'Clean up dev, again', { date: '2026-11-23T10:40:00Z', author: 'Lena Fischer', email: 'lena.fischer@pms.example.com' });
    // WHEN asking for each removal's commit THEN
    expect(removalCommits(dir, baseCommit, removed('dev', 'staging', 'production'))).toStrictEqual(
      new Map([
        [`dev|${FLAG}`, { commit: devNewest, subject: 'Clean up dev, again', authorEmail: 'lena.fischer@pms.example.com' }],
        [`staging|${FLAG}`, { commit: staging, subject: `${FLAG}: gone from staging`, authorEmail: 'sam.lee@pms.example.com' }],
        [`production|${FLAG}`, { commit: production, subject: `Remove ${FLAG} from production (TICKET-13040)`, authorEmail: 'ops@pms.example.com' }],
      ]),
    );
  });

  /** A commit since the base that changed production's file, then the flag removed from it in the working tree. */
  function removedAfterAnotherCommit(): { dir: string; baseCommit: string } {
    const dir = tempProject({ git: true });
    const baseCommit = git(dir, 'rev-parse', 'HEAD').trim();
    touch(dir, 'production');
    commitAll(dir, `Prepare the removal of ${FLAG}`, { date: '2026-11-23T10:00:00Z' });
    removeFrom(dir, 'production');
    return { dir, baseCommit };
  }

  it('gives none for a removal not committed yet, even when commits since the base changed that file', () => {
    const { dir, baseCommit } = removedAfterAnotherCommit();
    expect(removalCommits(dir, baseCommit, removed('production'))).toStrictEqual(new Map());
  });

  it('gives none for a removal staged but not committed (HEAD decides, not the index)', () => {
    const { dir, baseCommit } = removedAfterAnotherCommit();
    git(dir, 'add', 'environments/production/flags.yaml');
    expect(removalCommits(dir, baseCommit, removed('production'))).toStrictEqual(new Map());
  });

  it('gives none while the file at HEAD cannot be read (the removal cannot be told committed)', () => {
    const dir = tempProject({ git: true });
    const baseCommit = git(dir, 'rev-parse', 'HEAD').trim();
    const fixed = deleting(FLAG)(read(dir, 'environments/production/flags.yaml'));
    write(dir, 'environments/production/flags.yaml', `${fixed}  broken: [\n`);
    commitAll(dir, `Remove ${FLAG}`, { date: '2026-11-23T10:00:00Z' });
    write(dir, 'environments/production/flags.yaml', fixed);
    expect(removalCommits(dir, baseCommit, removed('production'))).toStrictEqual(new Map());
  });

  it('gives none for a removal made by a merge commit alone (merges are not removal commits)', () => {
    // GIVEN a branch that changes no flag file, merged with the flag removed in the merge itself
    const dir = tempProject({ git: true });
    const baseCommit = git(dir, 'rev-parse', 'HEAD').trim();
    git(dir, 'checkout', '-q', '-b', 'side');
    write(dir, 'NOTES.md', 'notes\n');
    commitAll(dir, 'Notes', { date: '2026-11-23T10:00:00Z' });
    git(dir, 'checkout', '-q', 'main');
    git(dir, 'merge', '-q', '--no-ff', '--no-commit', 'side');
    removeFrom(dir, 'production');
    commitAll(dir, `Merge side, removing ${FLAG}`, { date: '2026-11-23T10:10:00Z' });
    expect(git(dir, 'rev-list', '--count', '--merges', 'HEAD').trim()).toBe('1');
    expect(removalCommits(dir, baseCommit, removed('production'))).toStrictEqual(new Map());
  });

  it('runs no git for no removal: outside a repository it gives none', () => {
    const outside = mkdtempSync(join(tmpdir(), 'flagops-no-repo-'));
    expect(removalCommits(outside, 'main', [])).toStrictEqual(new Map());
  });
});

describe('the manifests of dist/ at a commit and on disk', () => {
  const CM = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

  it("reads the manifests of each dist/<env>/ folder itself at a commit: no nested folder's, no other file's, none outside an environment", () => {
    // GIVEN a commit whose dist/ holds manifests, and files that are not an environment's manifests
    const dir = mkdtempSync(join(tmpdir(), 'flagops-dist-'));
    mkdirSync(join(dir, 'dist/dev/nested.yaml'), { recursive: true });
    mkdirSync(join(dir, 'dist/production'), { recursive: true });
    mkdirSync(join(dir, 'other'), { recursive: true });
    write(dir, 'dist/dev/configmap-a.yaml', CM('a'));
    write(dir, 'dist/production/configmap-b.yaml', CM('b'));
    write(dir, 'dist/dev/nested.yaml/configmap-c.yaml', CM('c'));
    write(dir, 'dist/dev/README.md', 'not a manifest\n');
    write(dir, 'dist/dev/configmap-a.yaml.bak', CM('old'));
    write(dir, 'dist/top.yaml', CM('top'));
    write(dir, 'other/configmap-d.yaml', CM('d'));
    git(dir, 'init', '-q', '-b', 'main');
    const commit = commitAll(dir, 'dist', { date: '2026-11-23T10:00:00Z' });
    // WHEN reading dist/ at that commit THEN only the two manifests, with their text
    expect(distAtCommit(dir, commit)).toStrictEqual(
      new Map([
        ['dist/dev/configmap-a.yaml', CM('a')],
        ['dist/production/configmap-b.yaml', CM('b')],
      ]),
    );
  });

  it('reads a manifest whose content git does not have (a partial clone) as empty text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagops-dist-'));
    git(dir, 'init', '-q', '-b', 'main');
    const missing = '1234567890abcdef1234567890abcdef12345678';
    git(dir, 'update-index', '--add', '--cacheinfo', `100644,${missing},dist/dev/configmap-a.yaml`);
    const tree = git(dir, 'write-tree', '--missing-ok').trim();
    const commit = spawnSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@pms.example.com', 'commit-tree', tree, '-m', 'partial'], { cwd: dir, encoding: 'utf8' }).stdout.trim();
    expect(distAtCommit(dir, commit)).toStrictEqual(new Map([['dist/dev/configmap-a.yaml', '']]));
  });

  it("reads every environment's manifests on disk", () => {
    const dir = tempProject();
    const expected = new Map(['dev', 'production'].flatMap((env) => readdirSync(join(dir, 'dist', env)).map((f) => [`dist/${env}/${f}`, read(dir, `dist/${env}/${f}`)] as const)));
    expect(distOnDisk(dir, ['dev', 'production'])).toStrictEqual(expected);
    expect(expected.size).toBeGreaterThan(40);
  });
});

describe('reviewObjects: the objects that change', () => {
  const lines = Array.from({ length: 10 }, (_, i) => `  key${i}: "${i}"`);
  const cm = (name: string, data: readonly string[] = lines, namespace = 'pms') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n${data.join('\n')}\n`;
  const secret = (value: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: pms\nstringData:\n  password: ${value}\n`;

  it('lists objects added, removed and changed, sorted by path, with unified patches of 3 lines of context; unchanged ones not at all', () => {
    const changedLines = lines.map((l, i) => (i === 5 ? '  key5: "five"' : l));
    const before = new Map([
      ['dist/production/configmap-b.yaml', cm('b')],
      ['dist/staging/configmap-same.yaml', cm('same')],
      ['dist/staging/configmap-gone.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n'],
    ]);
    const after = new Map([
      ['dist/staging/configmap-same.yaml', cm('same')],
      ['dist/production/configmap-b.yaml', cm('b', changedLines)],
      ['dist/dev/configmap-new.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\n'],
    ]);
    expect(reviewObjects(before, after)).toStrictEqual([
      {
        path: 'dist/dev/configmap-new.yaml',
        environment: 'dev',
        change: 'added',
        object: 'ConfigMap new',
        hidden: false,
        patch: '--- /dev/null\n+++ b/dist/dev/configmap-new.yaml\n@@ -0,0 +1,4 @@\n+apiVersion: v1\n+kind: ConfigMap\n+metadata:\n+  name: new',
      },
      {
        path: 'dist/production/configmap-b.yaml',
        environment: 'production',
        change: 'changed',
        object: 'ConfigMap pms/b',
        hidden: false,
        patch: [
          '--- a/dist/production/configmap-b.yaml',
          '+++ b/dist/production/configmap-b.yaml',
          '@@ -9,7 +9,7 @@',
          '   key2: "2"',
          '   key3: "3"',
          '   key4: "4"',
          '-  key5: "5"',
          '+  key5: "five"',
          '   key6: "6"',
          '   key7: "7"',
          '   key8: "8"',
        ].join('\n'),
      },
      {
        path: 'dist/staging/configmap-gone.yaml',
        environment: 'staging',
        change: 'removed',
        object: 'ConfigMap gone',
        hidden: false,
        patch: '--- a/dist/staging/configmap-gone.yaml\n+++ /dev/null\n@@ -1,4 +0,0 @@\n-apiVersion: v1\n-kind: ConfigMap\n-metadata:\n-  name: gone',
      },
    ]);
  });

  it('keeps every line of the objects in the patch, a line of "=" signs too', () => {
    const rule = '# ==========';
    const [review] = reviewObjects(new Map(), new Map([['dist/dev/configmap-x.yaml', `${rule}\nkind: ConfigMap\n`]]));
    expect(review!.patch).toBe(`--- /dev/null\n+++ b/dist/dev/configmap-x.yaml\n@@ -0,0 +1,2 @@\n+${rule}\n+kind: ConfigMap`);
  });

  it('labels an object by the new text when it changes, by the old one when it is removed', () => {
    const [renamed] = reviewObjects(new Map([['dist/dev/configmap-x.yaml', cm('old-name')]]), new Map([['dist/dev/configmap-x.yaml', cm('new-name', lines, 'pms-dev')]]));
    expect(renamed!.object).toBe('ConfigMap pms-dev/new-name');
    const [gone] = reviewObjects(new Map([['dist/dev/configmap-x.yaml', cm('old-name')]]), new Map());
    expect(gone!.object).toBe('ConfigMap pms/old-name');
  });

  it('labels what it can of an object without a kind, a name or a namespace, or that is not YAML', () => {
    const label = (text: string) => reviewObjects(new Map(), new Map([['dist/dev/x.yaml', text]]))[0]!.object;
    expect(label('kind: ConfigMap\n')).toBe('ConfigMap ?');
    expect(label('kind: 5\nmetadata:\n  name: x\n')).toBe('object x');
    expect(label('metadata:\n  name: x\n  namespace: 7\n')).toBe('object x');
    expect(label('')).toBe('object ?');
    expect(label('# nothing but a comment\n')).toBe('object ?');
    expect(label('kind: [\n')).toBe('unparsable YAML');
  });

  it('never shows the content of a Secret: added, removed, changed, or turned into another kind and back', () => {
    const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n  namespace: pms\ndata:\n  password: hunter2\n';
    const path = 'dist/production/secret-db.yaml';
    const cases: [string | undefined, string | undefined, string][] = [
      [undefined, secret('hunter2'), 'added'],
      [secret('hunter2'), undefined, 'removed'],
      [secret('hunter2'), secret('correct-horse'), 'changed'],
      [secret('hunter2'), configMap, 'changed'],
      [configMap, secret('hunter2'), 'changed'],
    ];
    for (const [a, b, change] of cases) {
      const [review] = reviewObjects(new Map(a === undefined ? [] : [[path, a]]), new Map(b === undefined ? [] : [[path, b]]));
      expect(review, `${change}: ${b ?? a}`).toMatchObject({ path, change, hidden: true, patch: undefined });
      expect(JSON.stringify(review)).not.toMatch(/hunter2|correct-horse/);
    }
  });

  it('never shows the content of an object that is not YAML, before or after: it could be a Secret', () => {
    const broken = 'apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter2\n  bad: [\n';
    const path = 'dist/production/secret-db.yaml';
    for (const [a, b] of [[undefined, broken], [broken, secret('correct-horse').replace('kind: Secret', 'kind: ConfigMap')], [secret('x').replace('kind: Secret', 'kind: ConfigMap'), broken]] as const) {
      const [review] = reviewObjects(new Map(a === undefined ? [] : [[path, a]]), new Map([[path, b]]));
      expect(review).toMatchObject({ path, hidden: true, patch: undefined });
      expect(JSON.stringify(review)).not.toMatch(/hunter2|correct-horse/);
    }
  });

  it('gives an object outside any dist/<env>/ folder no environment', () => {
    expect(reviewObjects(new Map(), new Map([['configmap-x.yaml', 'kind: ConfigMap\n']]))[0]!.environment).toBe('');
  });
});

describe('summaryLine: the whole change in one line', () => {
  const flag = (environment: string, kind: FlagReview['kind']): FlagReview => ({ environment, flag: `${kind}_enabled`, kind, before: 'off', after: 'off' });
  const objects = (counts: Record<'added' | 'removed' | 'changed', number>) =>
    Object.entries(counts).flatMap(([change, n]) => Array.from({ length: n }, (_, i) => ({ path: `dist/dev/${change}-${i}.yaml`, environment: 'dev', change: change as 'added', object: 'ConfigMap x', hidden: false })));
  const KINDS: FlagReview['kind'][] = ['updated', 'removed', 'added', 'lowered', 'kill-switch', 'raised'];
  const rules = (n: number) => Array.from({ length: n }, () => ({}) as RuleChange);
  const findings = (n: number) => Array.from({ length: n }, () => ({}) as Finding);
  const code = (removable: number) => ({ folders: ['backend'], removable: Array.from({ length: removable }, () => ({ flag: 'x_enabled' })), notes: [] }) as unknown as NonNullable<Review['code']>;

  it('says "nothing changes" for an empty review, and nothing about code that loses no reference', () => {
    expect(summaryLine({ rules: [], flags: [], objects: [] }, ['dev', 'staging', 'production'])).toBe('nothing changes');
    expect(summaryLine({ rules: [], flags: [], objects: [], code: code(0), drift: [] }, ['dev'])).toBe('nothing changes');
  });

  it('counts one of each: rules, every kind of flag change in its order, objects, code references and drift', () => {
    const review: Review = { rules: rules(1), flags: KINDS.map((k) => flag('production', k)), objects: objects({ changed: 1, removed: 1, added: 1 }), code: code(1), drift: findings(1) };
    expect(summaryLine(review, ['dev', 'staging', 'production'])).toBe(
      '1 setting or rule changed; production: 1 flag raised, 1 kill switch, 1 flag lowered, 1 flag added, 1 flag removed, 1 flag updated without a state change; ' +
        '1 object added, 1 object removed, 1 object changed; 1 flag loses its last code reference; 1 file of dist/ differs from a fresh synth (drift)',
    );
  });

  it('counts several of each, environments in the order given whatever the order of the flags', () => {
    const review: Review = {
      rules: rules(2),
      flags: [...KINDS.flatMap((k) => [flag('staging', k), flag('staging', k)]), flag('production', 'kill-switch'), flag('dev', 'raised')],
      objects: objects({ changed: 3, removed: 2, added: 4 }),
      code: code(2),
      drift: findings(3),
    };
    expect(summaryLine(review, ['dev', 'staging', 'production'])).toBe(
      '2 settings or rules changed; dev: 1 flag raised; staging: 2 flags raised, 2 kill switches, 2 flags lowered, 2 flags added, 2 flags removed, 2 flags updated without a state change; ' +
        'production: 1 kill switch; 4 objects added, 2 objects removed, 3 objects changed; 2 flags lose their last code reference; 3 files of dist/ differ from a fresh synth (drift)',
    );
  });
});
