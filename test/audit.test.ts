import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseFlags, plainEntry, type AuditEntry } from '../lib/review/audit.ts';
import { flagops, git, read, REPO_ROOT, tempProject, write } from './helpers.ts';
import { commitAll, setFlag } from './flag-history.ts';

/** Runs an edit command with "now" fixed to `at`, expecting it to be applied. */
async function edit(dir: string, at: string, ...args: string[]): Promise<void> {
  const previous = process.env.FLAGOPS_NOW;
  process.env.FLAGOPS_NOW = at;
  try {
    const r = await flagops(dir, ...args);
    expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  } finally {
    if (previous === undefined) delete process.env.FLAGOPS_NOW;
    else process.env.FLAGOPS_NOW = previous;
  }
}

/** A scratch project as a fresh git repository whose first commit has a fixed date. */
function initRepo(dir: string): string {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'commit.gpgsign', 'false');
  return commitAll(dir, 'Import the flag files', { date: '2026-11-21T08:00:00Z' });
}

/** Deletes a flag from the catalog and every environment (what a clean-up pull request does). */
function removeFlag(dir: string, flag: string): void {
  for (const path of ['environments/catalog.yaml', ...['dev', 'staging', 'production'].map((e) => `environments/${e}/flags.yaml`)]) {
    const doc = parseDocument(read(dir, path));
    doc.deleteIn(['flags', flag]);
    write(dir, path, doc.toString());
  }
}

const jsonLines = (stdout: string): AuditEntry[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);

describe('flagops audit', () => {
  let dir: string;
  const sha: Record<string, string> = {};

  beforeAll(async () => {
    // GIVEN a history: import, a rollout, an unrelated commit, a kill switch, a flag added, a flag removed
    dir = tempProject();
    sha.initial = initRepo(dir);
    await edit(dir, '2026-11-23T10:00:00Z', 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Gradual rollout - Phase 2 (25% of prescribers)', '--ticket', 'TICKET-13010', '--by', 'sam.lee@pms.example.com', '--approved-by', 'lead@pms.example.com');
    sha.rollout = commitAll(dir, 'e-prescribing to 25% in production', { date: '2026-11-23T10:05:00Z', author: 'Sam Lee', email: 'sam.lee@pms.example.com' });
    write(dir, 'NOTES.md', 'Release notes draft\n');
    sha.unrelated = commitAll(dir, 'Draft release notes', { date: '2026-11-23T10:30:00Z' });
    await edit(dir, '2026-11-23T11:00:00Z', 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch: video provider outage (INC-2301)', '--ticket', 'TICKET-13020', '--by', 'oncall@pms.example.com');
    sha.kill = commitAll(dir, 'Kill switch for telehealth in production', { date: '2026-11-23T11:02:00Z', author: 'On Call', email: 'oncall@pms.example.com' });
    await edit(dir, '2026-11-23T12:00:00Z', 'add', 'visit_notes_export_enabled', '--description', 'Providers export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag for the PDF export', '--ticket', 'TICKET-13030', '--by', 'lena.fischer@pms.example.com');
    sha.added = commitAll(dir, 'Declare visit_notes_export_enabled', { date: '2026-11-23T12:10:00Z', author: 'Lena Fischer', email: 'lena.fischer@pms.example.com' });
    removeFlag(dir, 'maintenance_mode_enabled');
    sha.removed = commitAll(dir, 'Remove maintenance_mode_enabled, replaced by the runbook (TICKET-13040)', { date: '2026-11-23T13:00:00Z', author: 'Ops Bot', email: 'ops@pms.example.com' });
  });

  it('gives exactly one entry per state change since a date, in the compliance format with the commit', async () => {
    // WHEN auditing production since the start of the change window
    const r = await flagops(dir, 'audit', '--env', 'production', '--since', '2026-11-22', '--json');
    // THEN the rollout, the kill switch, the added and the removed flag, field by field and in order
    expect(r.code).toBe(0);
    const expected = [
      {
        timestamp: '2026-11-23T10:00:00Z',
        event_type: 'feature_flag_rollout_changed',
        user_id: 'sam.lee@pms.example.com',
        feature_flag: 'e_prescribing_enabled',
        previous_state: true,
        new_state: true,
        environment: 'production',
        reason: 'Gradual rollout - Phase 2 (25% of prescribers)',
        rollout_percentage: 25,
        previous_rollout_percentage: 5,
        approval_ticket: 'TICKET-13010',
        approved_by: 'lead@pms.example.com',
        commit: sha.rollout,
        commit_author: 'Sam Lee <sam.lee@pms.example.com>',
        commit_date: '2026-11-23T10:05:00Z',
        commits: [{ commit: sha.rollout, author: 'Sam Lee <sam.lee@pms.example.com>', date: '2026-11-23T10:05:00Z', subject: 'e-prescribing to 25% in production' }],
      },
      {
        timestamp: '2026-11-23T11:00:00Z',
        event_type: 'feature_flag_toggled',
        user_id: 'oncall@pms.example.com',
        feature_flag: 'telehealth_appointments_enabled',
        previous_state: true,
        new_state: false,
        environment: 'production',
        reason: 'Kill switch: video provider outage (INC-2301)',
        rollout_percentage: 25,
        previous_rollout_percentage: 25,
        approval_ticket: 'TICKET-13020',
        approved_by: null,
        commit: sha.kill,
        commit_author: 'On Call <oncall@pms.example.com>',
        commit_date: '2026-11-23T11:02:00Z',
        commits: [{ commit: sha.kill, author: 'On Call <oncall@pms.example.com>', date: '2026-11-23T11:02:00Z', subject: 'Kill switch for telehealth in production' }],
      },
      {
        timestamp: '2026-11-23T12:00:00Z',
        event_type: 'feature_flag_added',
        user_id: 'lena.fischer@pms.example.com',
        feature_flag: 'visit_notes_export_enabled',
        previous_state: null,
        new_state: false,
        environment: 'production',
        reason: 'New flag for the PDF export',
        rollout_percentage: 0,
        previous_rollout_percentage: null,
        approval_ticket: 'TICKET-13030',
        approved_by: null,
        commit: sha.added,
        commit_author: 'Lena Fischer <lena.fischer@pms.example.com>',
        commit_date: '2026-11-23T12:10:00Z',
        commits: [{ commit: sha.added, author: 'Lena Fischer <lena.fischer@pms.example.com>', date: '2026-11-23T12:10:00Z', subject: 'Declare visit_notes_export_enabled' }],
      },
      {
        timestamp: '2026-11-23T13:00:00Z',
        event_type: 'feature_flag_removed',
        user_id: 'ops@pms.example.com',
        feature_flag: 'maintenance_mode_enabled',
        previous_state: false,
        new_state: null,
        environment: 'production',
        reason: 'Remove maintenance_mode_enabled, replaced by the runbook (TICKET-13040)',
        rollout_percentage: null,
        previous_rollout_percentage: 0,
        approval_ticket: 'TICKET-13040',
        approved_by: null,
        commit: sha.removed,
        commit_author: 'Ops Bot <ops@pms.example.com>',
        commit_date: '2026-11-23T13:00:00Z',
        commits: [{ commit: sha.removed, author: 'Ops Bot <ops@pms.example.com>', date: '2026-11-23T13:00:00Z', subject: 'Remove maintenance_mode_enabled, replaced by the runbook (TICKET-13040)' }],
      },
    ];
    expect(jsonLines(r.stdout)).toEqual(expected);
    // AND each line is exactly that entry, its keys in the compliance format's order
    expect(r.stdout).toBe(expected.map((e) => JSON.stringify(e)).join('\n'));
  });

  it('starts each flag with an added entry from the commit that imported the file', async () => {
    const entries = jsonLines((await flagops(dir, 'audit', '--json')).stdout);
    const imported = entries.filter((e) => e.commit === sha.initial);
    // 15 sample flags in each of the three environments
    expect(imported).toHaveLength(45);
    expect(imported.every((e) => e.event_type === 'feature_flag_added' && e.previous_state === null)).toBe(true);
    expect(imported.find((e) => e.environment === 'production' && e.feature_flag === 'telehealth_appointments_enabled')).toMatchObject({
      timestamp: '2026-11-16T10:30:00Z',
      user_id: 'admin@pms.example.com',
      new_state: true,
      rollout_percentage: 25,
      approval_ticket: 'TICKET-12345',
      commit_date: '2026-11-21T08:00:00Z',
    });
  });

  it('never lists a commit that does not touch the flag files', async () => {
    const entries = jsonLines((await flagops(dir, 'audit', '--json')).stdout);
    expect(entries.map((e) => e.commit)).not.toContain(sha.unrelated);
    expect(new Set(entries.map((e) => e.commit))).toEqual(new Set([sha.initial, sha.rollout, sha.kill, sha.added, sha.removed]));
  });

  it('filters by environment', async () => {
    const entries = jsonLines((await flagops(dir, 'audit', '--env', 'staging', '--since', '2026-11-22', '--json')).stdout);
    expect(entries.map((e) => [e.environment, e.event_type, e.feature_flag])).toEqual([
      ['staging', 'feature_flag_added', 'visit_notes_export_enabled'],
      ['staging', 'feature_flag_removed', 'maintenance_mode_enabled'],
    ]);
  });

  it('filters by flag across environments', async () => {
    const entries = jsonLines((await flagops(dir, 'audit', '--flag', 'e_prescribing_enabled', '--json')).stdout);
    expect(entries.map((e) => [e.environment, e.event_type, e.commit])).toEqual([
      ['dev', 'feature_flag_added', sha.initial],
      ['staging', 'feature_flag_added', sha.initial],
      ['production', 'feature_flag_added', sha.initial],
      ['production', 'feature_flag_rollout_changed', sha.rollout],
    ]);
  });

  it('filters by time: --since with an RFC 3339 time keeps entries at or after it', async () => {
    const entries = jsonLines((await flagops(dir, 'audit', '--since', '2026-11-23T11:00:00Z', '--json')).stdout);
    expect(entries.map((e) => e.commit)).not.toContain(sha.rollout);
    expect(entries.filter((e) => e.commit === sha.kill)).toHaveLength(1);
    expect(entries.filter((e) => e.commit === sha.added)).toHaveLength(3);
  });

  it('prints a readable table by default', async () => {
    const r = await flagops(dir, 'audit', '--env', 'production', '--flag', 'telehealth_appointments_enabled', '--since', '2026-11-22');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^TIMESTAMP\s+ENV\s+FLAG\s+EVENT\s+CHANGE\s+BY\s+TICKET\s+APPROVED BY\s+COMMIT\s+VIA\s+REASON$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(
      new RegExp(`^2026-11-23T11:00:00Z\\s+production\\s+telehealth_appointments_enabled\\s+toggled\\s+on 25% -> off\\s+oncall@pms.example.com\\s+TICKET-13020\\s+-\\s+${sha.kill!.slice(0, 12)}\\s+-\\s+Kill switch: video provider outage \\(INC-2301\\)$`),
    );
  });

  it('and flagops diff over the same history gives exactly the net change per environment', async () => {
    // WHEN diffing HEAD against the import commit
    const r = await flagops(dir, 'diff', '--base', sha.initial!, '--format', 'json');
    const out = JSON.parse(r.stdout) as { summary: string; flags: { environment: string; flag: string; kind: string; before: string; after: string; switching?: { percent: number; to: string } }[] };
    // THEN the rollout, the kill switch, the added and the removed flag, and nothing from the unrelated commit
    expect(out.flags.map((f) => [f.environment, f.flag, f.kind, f.before, f.after, f.switching ? `${f.switching.percent}% ${f.switching.to}` : '-'])).toEqual([
      ['dev', 'maintenance_mode_enabled', 'removed', 'off', 'absent', '-'],
      ['dev', 'visit_notes_export_enabled', 'added', 'absent', 'off', '-'],
      ['staging', 'maintenance_mode_enabled', 'removed', 'off', 'absent', '-'],
      ['staging', 'visit_notes_export_enabled', 'added', 'absent', 'off', '-'],
      ['production', 'telehealth_appointments_enabled', 'kill-switch', 'on 25%', 'off', '25% off'],
      ['production', 'e_prescribing_enabled', 'raised', 'on 5%', 'on 25%', '20% on'],
      ['production', 'maintenance_mode_enabled', 'removed', 'off', 'absent', '-'],
      ['production', 'visit_notes_export_enabled', 'added', 'absent', 'off', '-'],
    ]);
    // (this history commits flag files without synthesizing dist/: diff says so, as check does)
    expect(out.summary).toMatch(/^dev: 1 flag added, 1 flag removed; staging: 1 flag added, 1 flag removed; production: 1 flag raised, 1 kill switch, 1 flag added, 1 flag removed; \d+ objects? changed; \d+ files of dist\/ differ from a fresh synth \(drift\)$/);
  });

  it('rejects an unknown environment and a malformed date as usage errors', async () => {
    expect((await flagops(dir, 'audit', '--env', 'qa')).code).toBe(2);
    const r = await flagops(dir, 'audit', '--since', 'last tuesday');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--since expects a date (YYYY-MM-DD) or an RFC 3339 time, got 'last tuesday'");
  });
});

describe('flagops audit across renames and merges', () => {
  it('follows a flag file through a rename and keeps its earlier changes', async () => {
    // GIVEN production's flag file started as flags.yml, was changed there, then renamed to flags.yaml
    const dir = tempProject();
    const prod = (name: string) => join(dir, 'environments', 'production', name);
    renameSync(prod('flags.yaml'), prod('flags.yml'));
    initRepo(dir);
    renameSync(prod('flags.yml'), prod('flags.yaml'));
    setFlag(dir, 'production', 'billing_export_v2_enabled', { rollout: 100, changed_at: '2026-11-22T09:00:00Z', changed_by: 'grace.kim@pms.example.com' });
    renameSync(prod('flags.yaml'), prod('flags.yml'));
    const before = commitAll(dir, 'billing export to 100%', { date: '2026-11-22T09:05:00Z' });
    git(dir, 'mv', 'environments/production/flags.yml', 'environments/production/flags.yaml');
    commitAll(dir, 'Rename the production flag file', { date: '2026-11-22T10:00:00Z' });
    setFlag(dir, 'production', 'billing_export_v2_enabled', { enabled: false, changed_at: '2026-11-22T11:00:00Z', changed_by: 'oncall@pms.example.com', approved_by: undefined });
    const after = commitAll(dir, 'Kill switch for billing export', { date: '2026-11-22T11:05:00Z' });
    // WHEN auditing the flag in production
    const entries = jsonLines((await flagops(dir, 'audit', '--env', 'production', '--flag', 'billing_export_v2_enabled', '--json')).stdout);
    // THEN the change before the rename is there, the pure rename adds nothing
    expect(entries.map((e) => [e.event_type, e.previous_rollout_percentage, e.rollout_percentage, e.new_state, e.commit])).toEqual([
      ['feature_flag_added', null, 50, true, expect.any(String)],
      ['feature_flag_rollout_changed', 50, 100, true, before],
      ['feature_flag_toggled', 100, 100, false, after],
    ]);
  });

  it('attributes a change merged from a branch to the merge that landed it, with the branch commit as detail, once', async () => {
    // GIVEN a change made on a branch and merged with a merge commit, while main moved on
    const dir = tempProject();
    initRepo(dir);
    git(dir, 'checkout', '-q', '-b', 'rollout');
    setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, changed_at: '2026-11-22T09:00:00Z', changed_by: 'sam.lee@pms.example.com' });
    const branchCommit = commitAll(dir, 'e-prescribing to 25%', { date: '2026-11-22T09:05:00Z' });
    git(dir, 'checkout', '-q', 'main');
    setFlag(dir, 'staging', 'appointment_waitlist_enabled', { rollout: 50, changed_at: '2026-11-22T10:00:00Z', changed_by: 'marco.diaz@pms.example.com' });
    const mainCommit = commitAll(dir, 'waitlist to 50% in staging', { date: '2026-11-22T10:05:00Z' });
    git(dir, '-c', 'user.name=Merger', '-c', 'user.email=merger@pms.example.com', 'merge', '-q', '--no-ff', '-m', 'Merge rollout', 'rollout');
    const merge = git(dir, 'rev-parse', 'HEAD').trim();
    // WHEN auditing since the branch point
    const entries = jsonLines((await flagops(dir, 'audit', '--since', '2026-11-22', '--json')).stdout);
    // THEN each change appears once, in the order main got them: the direct commit, then the merge
    expect(entries.map((e) => [e.environment, e.feature_flag, e.rollout_percentage, e.commit, e.commits.map((c) => c.commit)])).toEqual([
      ['staging', 'appointment_waitlist_enabled', 50, mainCommit, [mainCommit]],
      ['production', 'e_prescribing_enabled', 25, merge, [branchCommit]],
    ]);
  });

  it('reads versions written with anchors, and skips a version that is not YAML with a warning', async () => {
    // GIVEN a commit whose production file uses an anchor and alias, then a broken commit, then a fix
    const dir = tempProject();
    initRepo(dir);
    const path = 'environments/production/flags.yaml';
    const original = read(dir, path);
    const anchored = original
      .replace('    approved_by: lead@pms.example.com   # required in production, must differ from changed_by', '    approved_by: &lead lead@pms.example.com')
      .replace(/(  e_prescribing_enabled:\n    enabled: true\n)    rollout: 5\n/, '$1    rollout: 25\n')
      .replace('    changed_at: 2026-11-18T15:00:00Z\n    approved_by: lead@pms.example.com', '    changed_at: 2026-11-22T09:00:00Z\n    approved_by: *lead');
    write(dir, path, anchored);
    const withAnchor = commitAll(dir, 'e-prescribing to 25%', { date: '2026-11-22T09:05:00Z' });
    write(dir, path, `${anchored}\n  broken: [\n`);
    const broken = commitAll(dir, 'oops', { date: '2026-11-22T10:00:00Z' });
    write(dir, path, anchored);
    commitAll(dir, 'fix', { date: '2026-11-22T10:05:00Z' });
    // WHEN auditing production
    const r = await flagops(dir, 'audit', '--env', 'production', '--since', '2026-11-22', '--json');
    // THEN the anchored version gives the rollout entry with the aliased approver, the broken one a warning, the fix nothing
    expect(jsonLines(r.stdout).map((e) => [e.feature_flag, e.previous_rollout_percentage, e.rollout_percentage, e.approved_by, e.commit])).toEqual([
      ['e_prescribing_enabled', 5, 25, 'lead@pms.example.com', withAnchor],
    ]);
    expect(r.stderr).toBe(`flagops: warning: ${broken.slice(0, 12)}: environments/production/flags.yaml is not a readable flag file; skipped`);
  });
});

describe('reading one version of a flag file', () => {
  const whole = (text: string) => Object.entries((parse(text) as { flags: Record<string, unknown> }).flags);
  const sample = read(REPO_ROOT, 'environments/production/flags.yaml');
  const variants: Record<string, string> = {
    'the sample file': sample,
    'a flow-style entry': sample.replace(/  maintenance_mode_enabled:\n(    .*\n)+?(?=  read_replica)/, '  maintenance_mode_enabled: {enabled: true, rollout: 100, reason: x, changed_by: a@b.co, changed_at: "2026-01-01T00:00:00Z"}\n'),
    'a top-level key after the flags': `${sample}other:\n  not_a_flag_enabled:\n    enabled: true\n`,
    'quoted values and comments between entries': sample.replace('    reason: Full activation\n', '    reason: "Full activation: #1"   # comment\n\n  # a comment between entries\n'),
  };
  for (const [name, text] of Object.entries(variants)) {
    it(`reads ${name} exactly like a full YAML parse`, () => {
      expect([...parseFlags(text)!]).toEqual(whole(text));
    });
  }
});

describe('flagops audit --since and late merges', () => {
  it('keeps a change prepared before the cut-off but merged after it', async () => {
    // GIVEN a rollout whose changed_at is 2026-11-01 but whose commit lands on 2026-11-25
    const dir = tempProject({ git: true });
    setFlag(dir, 'production', 'e_prescribing_enabled', { rollout: 25, changed_at: '2026-11-01T09:00:00Z', reason: 'Phase 2', ticket: 'TICKET-13001' });
    commitAll(dir, 'e-prescribing to 25%', { date: '2026-11-25T10:00:00Z' });
    // WHEN auditing since 2026-11-20
    const entries = jsonLines((await flagops(dir, 'audit', '--env', 'production', '--since', '2026-11-20', '--json')).stdout);
    // THEN the change is listed, with its own changed_at as timestamp
    expect(entries.map((e) => [e.feature_flag, e.timestamp, e.commit_date])).toContainEqual(['e_prescribing_enabled', '2026-11-01T09:00:00Z', '2026-11-25T10:00:00Z']);
  });
});

describe('plainEntry, the audit\'s fast reader of one flag entry', () => {
  it('reads every entry it accepts exactly as the YAML parser does (property test)', async () => {
    const fc = (await import('fast-check')).default;
    const { plainEntry } = await import('../lib/review/audit.ts');
    const word = fc.stringMatching(/^[A-Za-z0-9 :#'"\\%@,.!*&|>{}[\]?\-+~_\t]{0,24}$/);
    const value = fc.oneof(
      word,
      word.map((w) => `"${w}"`),
      word.map((w) => `'${w}'`),
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.constantFrom('true', 'false', 'null', '~', 'yes', 'On', '0x19', '1e2', '025', '.inf', '2026-11-23T10:00:00Z', '2026-11-23', '|', '>-', '[]', '{}', '*a', '&a x', '!!str 5'),
      fc.tuple(word, word).map(([a, b]) => `${a} # ${b}`),
    );
    const field = fc.constantFrom('enabled', 'rollout', 'reason', 'ticket', 'changed_by', 'changed_at', 'approved_by');
    fc.assert(
      fc.property(fc.array(fc.tuple(field, value), { minLength: 1, maxLength: 7 }), (fields) => {
        const lines = ['  x_enabled:', ...fields.map(([k, v]) => `    ${k}: ${v}`)];
        const fast = plainEntry(lines);
        if (fast === undefined) return true; // left to the YAML parser
        const full = (parse(lines.join('\n')) as { x_enabled: unknown }).x_enabled;
        expect(fast).toEqual(full);
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves nothing that matters to chance: the sample files are all read fast', () => {
    for (const env of ['dev', 'staging', 'production']) {
      const text = read(REPO_ROOT, `environments/${env}/flags.yaml`);
      const blocks = text.split(/\n(?=  [a-z0-9_]+_enabled:\n)/).slice(1).map((b) => b.split('\n').filter((l) => l.startsWith('    ') || /^  [a-z0-9_]+:$/.test(l)));
      for (const block of blocks) expect(plainEntry(block), block.join('\n')).toBeDefined();
    }
  });
});
