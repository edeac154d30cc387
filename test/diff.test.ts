import { describe, expect, it } from 'vitest';
import { reviewObjects } from '../lib/review/review.ts';
import { flagops, git, read, replaceIn, tempProject, write } from './helpers.ts';
import { commitAll } from './flag-history.ts';

const audit = ['--by', 'sam.lee@pms.example.com'];

/** GIVEN the sample project on main, with a rollout (5% -> 25%) and a kill switch in production in the working tree. */
async function rolloutAndKillSwitch(): Promise<string> {
  const dir = tempProject({ git: true });
  const rollout = await flagops(dir, 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Gradual rollout - Phase 2', '--ticket', 'TICKET-13010', ...audit, '--approved-by', 'lead@pms.example.com');
  expect(rollout.code, rollout.stdout).toBe(0);
  const kill = await flagops(dir, 'disable', 'telehealth_appointments_enabled', '--env', 'production', '--reason', 'Kill switch: video provider outage', '--ticket', 'TICKET-13020', '--by', 'oncall@pms.example.com');
  expect(kill.code, kill.stdout).toBe(0);
  return dir;
}

describe('flagops diff', () => {
  it('lists each flag change with before, after, users switching and the audit fields', async () => {
    const dir = await rolloutAndKillSwitch();
    // WHEN diffing against main as JSON
    const r = await flagops(dir, 'diff', '--base', 'main', '--format', 'json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { summary: string; flags: unknown[]; objects: { path: string; change: string; object: string; patch: string }[] };
    // THEN the kill switch moves everyone in the rollout off, the rollout moves exactly 20% on
    expect(out.flags).toEqual([
      {
        environment: 'production',
        flag: 'telehealth_appointments_enabled',
        kind: 'kill-switch',
        before: 'on 25%',
        after: 'off',
        switching: { percent: 25, to: 'off' },
        reason: 'Kill switch: video provider outage',
        ticket: 'TICKET-13020',
        changedBy: 'oncall@pms.example.com',
      },
      {
        environment: 'production',
        flag: 'e_prescribing_enabled',
        kind: 'raised',
        before: 'on 5%',
        after: 'on 25%',
        switching: { percent: 20, to: 'on' },
        reason: 'Gradual rollout - Phase 2',
        ticket: 'TICKET-13010',
        changedBy: 'sam.lee@pms.example.com',
        approvedBy: 'lead@pms.example.com',
      },
    ]);
    expect(out.summary).toBe('production: 1 flag raised, 1 kill switch; 1 object changed');
    // AND the production ConfigMap is the one object that changes, with a unified diff
    expect(out.objects.map((o) => [o.change, o.path, o.object])).toEqual([
      ['changed', 'dist/production/configmap-feature-flags-config.yaml', 'ConfigMap pms/feature-flags-config'],
    ]);
    expect(out.objects[0]!.patch).toMatch(/^--- a\/dist\/production\/configmap-feature-flags-config\.yaml\n\+\+\+ b\/dist\/production\/configmap-feature-flags-config\.yaml\n@@ /);
    expect(out.objects[0]!.patch).toContain('-            "rollout": 5,\n');
    expect(out.objects[0]!.patch).toContain('+            "rollout": 25,\n');
  });

  it('renders markdown for a pull-request comment: marker, summary, a table per environment, collapsible object diffs', async () => {
    const dir = await rolloutAndKillSwitch();
    const r = await flagops(dir, 'diff', '--base', 'main', '--format', 'markdown');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('<!-- flagops-diff -->');
    expect(lines).toContain('**production: 1 flag raised, 1 kill switch; 1 object changed**');
    expect(lines).toContain('#### production');
    expect(lines).toContain('| Flag | Before | After | Users switching | Reason | Ticket | Changed by | Approved by |');
    expect(lines).toContain('| `telehealth_appointments_enabled` | on 25% | off (kill switch) | 25% off | Kill switch: video provider outage | TICKET-13020 | `oncall@pms.example.com` | – |');
    expect(lines).toContain('| `e_prescribing_enabled` | on 5% | on 25% | 20% on | Gradual rollout - Phase 2 | TICKET-13010 | `sam.lee@pms.example.com` | `lead@pms.example.com` |');
    expect(lines).not.toContain('#### staging');
    expect(lines).toContain('<summary>changed <code>dist/production/configmap-feature-flags-config.yaml</code> (<code>ConfigMap pms/feature-flags-config</code>)</summary>');
    expect(r.stdout).toMatch(/<details>\n<summary>[^\n]*<\/summary>\n\n```diff\n--- a\/dist\/production[\s\S]*\n```\n<\/details>/);
  });

  it('leaves out object diffs that would pass the comment size budget, and keeps HTML in reasons as text', async () => {
    // GIVEN a change whose ConfigMap diff is larger than a tiny budget, with markup in the reason
    const dir = tempProject({ git: true });
    const r0 = await flagops(dir, 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Phase 2 <b>now</b> | fast', '--ticket', 'TICKET-1', ...audit, '--approved-by', 'lead@pms.example.com');
    expect(r0.code).toBe(0);
    // WHEN rendering markdown with --max-chars 1000
    const r = await flagops(dir, 'diff', '--format', 'markdown', '--max-chars', '1000');
    // THEN the object is listed without its diff, and the reason cannot inject markup (a code span) or break the table
    expect(r.stdout).not.toContain('```diff');
    expect(r.stdout).toMatch(/<summary>changed <code>dist\/production\/configmap-feature-flags-config\.yaml<\/code>[^\n]*\n\nDiff of \d+ lines left out to keep this under the size limit/);
    expect(r.stdout).toContain('| Phase 2 `<b>now</b>` \\| fast |');
    // AND the default budget keeps the diff
    expect((await flagops(dir, 'diff', '--format', 'markdown')).stdout).toContain('```diff');
  });

  it('prints the text form flag by flag, then object by object', async () => {
    const dir = await rolloutAndKillSwitch();
    const r = await flagops(dir, 'diff', '--base', 'main');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^flagops diff against main \(merge base [0-9a-f]{12}\): production: 1 flag raised, 1 kill switch; 1 object changed$/);
    expect(lines).toContain('  e_prescribing_enabled: on 5% -> on 25% (raised; 20% of users switch on)');
    expect(lines).toContain('  telehealth_appointments_enabled: on 25% -> off (kill-switch; 25% of users switch off)');
    expect(lines).toContain('    ticket: TICKET-13010  changed by: sam.lee@pms.example.com  approved by: lead@pms.example.com');
    expect(lines).toContain('  changed dist/production/configmap-feature-flags-config.yaml (ConfigMap pms/feature-flags-config)');
  });

  it('shows flags added and removed in every environment', async () => {
    // GIVEN a new flag declared with flagops add
    const dir = tempProject({ git: true });
    const add = await flagops(dir, 'add', 'visit_notes_export_enabled', '--description', 'Providers export visit notes as PDF.', '--owner', 'team-clinical', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New flag', '--ticket', 'TICKET-13030', ...audit);
    expect(add.code, add.stdout).toBe(0);
    // WHEN diffing
    const out = JSON.parse((await flagops(dir, 'diff', '--base', 'main', '--format', 'json')).stdout) as { summary: string; flags: { environment: string; kind: string; before: string; after: string; switching?: unknown }[] };
    // THEN each environment has the flag added, off, nobody switching
    expect(out.flags.map((f) => [f.environment, f.kind, f.before, f.after, f.switching])).toEqual([
      ['dev', 'added', 'absent', 'off', undefined],
      ['staging', 'added', 'absent', 'off', undefined],
      ['production', 'added', 'absent', 'off', undefined],
    ]);
    expect(out.summary).toBe('dev: 1 flag added; staging: 1 flag added; production: 1 flag added; 3 objects changed');
    // AND the other way round, against the new commit, the flag is removed
    commitAll(dir, 'add flag', { date: '2026-11-23T12:00:00Z' });
    git(dir, 'checkout', '-q', 'main~1', '--', 'environments', 'dist');
    const back = JSON.parse((await flagops(dir, 'diff', '--base', 'HEAD', '--format', 'json')).stdout) as { flags: { kind: string }[] };
    expect(back.flags.map((f) => f.kind)).toEqual(['removed', 'removed', 'removed']);
  });

  it('says that nothing changes and exits 0 for an empty change, also with --exit-code', async () => {
    const dir = tempProject({ git: true });
    const text = await flagops(dir, 'diff', '--exit-code');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^flagops diff against HEAD \([0-9a-f]{12}\): nothing changes$/);
    const md = await flagops(dir, 'diff', '--format', 'markdown');
    expect(md.stdout).toContain('Nothing changes: the flag files and the synthesized manifests are the same as the base.');
  });

  it('reports a hand-edited dist/ as drift in every format, never "nothing changes", as check does', async () => {
    // GIVEN a bare origin, and a branch that hand-edits production's ConfigMap in dist/ (e_prescribing on for everyone), flag files untouched
    const dir = tempProject({ git: true });
    const origin = `${dir}.origin.git`;
    git(dir, 'init', '-q', '--bare', origin);
    git(dir, 'remote', 'add', 'origin', origin);
    git(dir, 'push', '-q', 'origin', 'main');
    git(dir, 'fetch', '-q', 'origin');
    git(dir, 'checkout', '-q', '-b', 'hand-edit');
    const CONFIGMAP = 'dist/production/configmap-feature-flags-config.yaml';
    replaceIn(dir, CONFIGMAP, '        "e_prescribing_enabled": false,', '        "e_prescribing_enabled": true,');
    const line = read(dir, CONFIGMAP).split('\n').indexOf('        "e_prescribing_enabled": true,') + 1;
    commitAll(dir, 'tweak the ConfigMap by hand', { date: '2026-11-23T11:00:00Z' });
    // WHEN check and diff judge the branch against origin/main
    const check = await flagops(dir, 'check');
    const finding = `${CONFIGMAP}:${line}:1: error: ${CONFIGMAP} differs from a fresh synth; run \`npx flagops synth\` and commit dist/ [drift]`;
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(finding);
    const text = await flagops(dir, 'diff');
    const md = await flagops(dir, 'diff', '--format', 'markdown');
    const json = await flagops(dir, 'diff', '--format', 'json');
    // THEN the text form says the same as check, in its own section, and never "nothing changes"
    expect(text.stdout).not.toContain('nothing changes');
    expect(text.stdout.split('\n')[0]).toMatch(/^flagops diff against origin\/main \(merge base [0-9a-f]{12}\): 1 file of dist\/ differs from a fresh synth \(drift\)$/);
    expect(text.stdout).toContain(`drift: dist/ is not what the flag files synthesize (a hand edit, or a synth not committed); flagops check fails until it is:\n  ${finding}`);
    // AND so does the pull-request comment
    expect(md.stdout).not.toContain('Nothing changes');
    expect(md.stdout).toContain('**1 file of `dist/` differs from a fresh synth (drift)**');
    expect(md.stdout).toContain('#### Drift: dist/ is not what the flag files synthesize');
    expect(md.stdout).toContain(`- \`${CONFIGMAP}:${line}\`: differs from a fresh synth`);
    // AND the JSON carries check's findings
    const out = JSON.parse(json.stdout) as { summary: string; drift: unknown[] };
    expect(out.summary).toBe('1 file of dist/ differs from a fresh synth (drift)');
    expect(out.drift).toEqual([{ file: CONFIGMAP, line, col: 1, severity: 'error', rule: 'drift', message: `${CONFIGMAP} differs from a fresh synth; run \`npx flagops synth\` and commit dist/` }]);
    // AND --exit-code counts drift as a change
    expect((await flagops(dir, 'diff', '--exit-code')).code).toBe(1);
  });

  it('never shows a Secret in dist/, nor a file there that is not YAML (it could be one), in any format', async () => {
    // GIVEN flag files with an error (so objects are compared with dist/ on disk) and, in dist/, a
    // Secret written by hand and one that is not YAML
    const dir = tempProject({ git: true });
    replaceIn(dir, 'environments/production/flags.yaml', '    rollout: 25                   # percent of users, integer 0..100', '    rollout: 30');
    write(dir, 'dist/production/secret-db.yaml', 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n');
    write(dir, 'dist/production/secret-broken.yaml', 'apiVersion: v1\nkind: Secret\nstringData:\n  password: correct-horse\n  bad: [\n');
    // WHEN diff shows the change THEN both are listed, their content never
    const text = await flagops(dir, 'diff');
    expect(text.stdout).toContain('  added dist/production/secret-broken.yaml (unparsable YAML)\n    (content not shown: a Secret, or not YAML)\n');
    expect(text.stdout).toContain('  added dist/production/secret-db.yaml (Secret db)\n    (content not shown: a Secret, or not YAML)');
    const md = await flagops(dir, 'diff', '--format', 'markdown');
    expect(md.stdout).toContain('<summary>added <code>dist/production/secret-broken.yaml</code> (<code>unparsable YAML</code>)</summary>\n\nContent not shown: a Secret, or not YAML.\n</details>');
    const json = await flagops(dir, 'diff', '--format', 'json');
    for (const out of [text.stdout, md.stdout, json.stdout]) expect(out).not.toMatch(/hunter2|correct-horse/);
  });

  it('exits 1 with --exit-code when something changes', async () => {
    const dir = await rolloutAndKillSwitch();
    expect((await flagops(dir, 'diff', '--exit-code')).code).toBe(1);
    expect((await flagops(dir, 'diff')).code).toBe(0);
  });

  it('compares with the merge base of origin/main by default', async () => {
    // GIVEN a branch with a committed rollout, and origin/main that moved on with an unrelated change
    const dir = tempProject({ git: true });
    git(dir, 'checkout', '-q', '-b', 'feature');
    const r = await flagops(dir, 'rollout', 'e_prescribing_enabled', '--env', 'production', '--to', '25', '--reason', 'Phase 2', '--ticket', 'TICKET-1', ...audit, '--approved-by', 'lead@pms.example.com');
    expect(r.code).toBe(0);
    commitAll(dir, 'rollout', { date: '2026-11-23T12:00:00Z' });
    git(dir, 'checkout', '-q', 'main');
    const upstream = commitAll(dir, 'unrelated', { date: '2026-11-23T12:30:00Z' });
    git(dir, 'update-ref', 'refs/remotes/origin/main', upstream);
    git(dir, 'checkout', '-q', 'feature');
    // WHEN diffing without --base THEN the branch's own change is shown
    const out = JSON.parse((await flagops(dir, 'diff', '--format', 'json')).stdout) as { flags: { flag: string }[] };
    expect(out.flags.map((f) => f.flag)).toEqual(['e_prescribing_enabled']);
  });

  it('rejects an unknown base as a usage error', async () => {
    const dir = tempProject({ git: true });
    const r = await flagops(dir, 'diff', '--base', 'no-such-ref');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--base no-such-ref is not a commit in this repository');
  });
});

describe('object review', () => {
  const secret = (value: string) => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: pms\nstringData:\n  password: ${value}\n`;

  it('never shows the content of a Secret', () => {
    // GIVEN a Secret whose value changes WHEN reviewing objects
    const [review] = reviewObjects(new Map([['dist/production/secret-db.yaml', secret('hunter2')]]), new Map([['dist/production/secret-db.yaml', secret('correct-horse')]]));
    // THEN it is listed as changed, hidden, without a patch
    expect(review).toEqual({ path: 'dist/production/secret-db.yaml', environment: 'production', change: 'changed', object: 'Secret pms/db', hidden: true, patch: undefined });
    expect(JSON.stringify(review)).not.toMatch(/hunter2|correct-horse/);
  });

  it('shows an added object as a diff from /dev/null', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';
    const [review] = reviewObjects(new Map(), new Map([['dist/dev/configmap-x.yaml', cm]]));
    expect(review!.change).toBe('added');
    expect(review!.patch).toBe('--- /dev/null\n+++ b/dist/dev/configmap-x.yaml\n@@ -0,0 +1,4 @@\n+apiVersion: v1\n+kind: ConfigMap\n+metadata:\n+  name: x');
  });
});
