/**
 * A removal in `flagops diff` (issue 22): what users get afterwards (the code path kept), and the
 * removal's own reason and ticket, which `flagops audit` takes from the subject of the commit that
 * removes the flag: before it is committed, diff says so and which subject to use; once committed,
 * it shows that subject; once merged, the audit records it, not the merge's subject. Real git, a bare
 * origin, a merge commit.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../lib/review/audit.ts';
import type { Review } from '../lib/review/review.ts';
import { cell, code } from '../common/text/markdown.ts';
import { commitAll, setFlag } from './flag-history.ts';
import { flagops, git, initRepository, read, tempProject, write } from './helpers.ts';
import { pushToNewOrigin } from './support/git-server.ts';

const FLAG = 'online_bill_pay_enabled';
const SUBJECT = `Remove ${FLAG}: Fully rolled out (TICKET-9000)`;
const REMOVE = ['remove', FLAG, '--keep-code-path', '--reason', 'Fully rolled out', '--ticket', 'TICKET-9000', '--by', 'sam.lee@pms.example.com'];

/**
 * GIVEN the sample on main with a bare origin, its code in `backend/` (`code`: the files there), and a
 * branch `retire` checked out. online_bill_pay_enabled is on 100% everywhere.
 */
function project(code: Readonly<Record<string, string>> = { 'app.py': 'TIMEOUT = 30\n' }): string {
  const dir = tempProject();
  write(dir, 'environments/project.ts', "export default { openFeatureManifest: 'dist/openfeature/flags.json', sourceFolders: ['backend'] };\n");
  mkdirSync(join(dir, 'backend'));
  for (const [file, text] of Object.entries(code)) write(dir, `backend/${file}`, text);
  initRepository(dir);
  pushToNewOrigin(dir);
  git(dir, 'checkout', '-q', '-b', 'retire');
  return dir;
}

describe('flagops diff of a removal', () => {
  it('says users keep the code path kept, not that 100% switch off, and no earlier reason or ticket as the removal\'s', async () => {
    // GIVEN a flag on 100% everywhere that no code reads any more, removed in the working tree
    const dir = project();
    const removed = await flagops(dir, ...REMOVE);
    expect(removed.code, removed.stderr).toBe(0);
    // WHEN diff shows the change before it is committed
    const r = await flagops(dir, 'diff');
    // THEN users stay on (the code keeps its on path), nobody switches
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('switch off');
    expect(r.stdout).toContain(`  ${FLAG}: on 100% -> absent (removed; users stay on: no code in backend reads it, so it always takes the on path)`);
    // ... and the reason and ticket are the removal's, from the commit still to be made: not production's last change (Full activation, TICKET-10077)
    const flags = r.stdout.slice(0, r.stdout.indexOf('\nobjects:'));
    expect(flags).not.toContain('Full activation');
    expect(flags).not.toContain('TICKET-10077');
    expect(r.stdout).toContain(`    reason: - (not committed yet: flagops audit takes the removal's reason and ticket from the subject of the commit that removes it, "Remove ${FLAG}: REASON (TICKET)")`);
  });

  it('shows the subject of the commit that removes it once committed, in text, markdown and JSON', async () => {
    const dir = project();
    expect((await flagops(dir, ...REMOVE)).code).toBe(0);
    const sha = commitAll(dir, SUBJECT, { date: '2026-11-23T10:00:00Z', author: 'Sam Lee', email: 'sam.lee@pms.example.com' });
    const text = await flagops(dir, 'diff');
    expect(text.stdout).toContain(`    reason: ${SUBJECT} (the subject of ${sha.slice(0, 12)})\n    ticket: TICKET-9000  changed by: sam.lee@pms.example.com  approved by: -`);
    const md = await flagops(dir, 'diff', '--format', 'markdown');
    expect(md.stdout).toContain(`| ${code(FLAG)} | on 100% | ${cell('absent: removed; users stay on')} | none | ${cell(SUBJECT)} | TICKET-9000 | ${cell('sam.lee@pms.example.com')} | – |`);
    const json = JSON.parse((await flagops(dir, 'diff', '--format', 'json')).stdout) as Review;
    const production = json.flags.find((f) => f.environment === 'production')!;
    expect(production).toMatchObject({ kind: 'removed', reason: SUBJECT, ticket: 'TICKET-9000', changedBy: 'sam.lee@pms.example.com', removal: { afterwards: 'users stay on', commit: sha } });
    expect(production.switching).toBeUndefined();
    expect(production.approvedBy).toBeUndefined();
  });

  it('says who switches when code still reads a flag removed by hand, naming where', async () => {
    // GIVEN code that still asks for the flag, and its entries deleted by hand (not with flagops remove)
    const dir = project({ 'billing.py': `async def pay(client, ctx):\n    return await client.get_boolean_value("${FLAG}", False, ctx)\n` });
    expect((await flagops(dir, ...REMOVE)).code).toBe(1); // flagops remove refuses it
    for (const file of ['environments/catalog.yaml', 'environments/dev/flags.yaml', 'environments/staging/flags.yaml', 'environments/production/flags.yaml']) {
      const lines = read(dir, file).split('\n');
      const start = lines.indexOf(`  ${FLAG}:`);
      let end = start + 1;
      while (end < lines.length && (lines[end]!.startsWith('    ') || lines[end] === '')) end++;
      write(dir, file, [...lines.slice(0, start), ...lines.slice(end)].join('\n'));
    }
    const r = await flagops(dir, 'diff');
    expect(r.stdout).toContain(`  ${FLAG}: on 100% -> absent (removed; 100% of users switch off: backend/billing.py:2 still reads it and gets its default, off)`);
  });

  it('says users stay off for a flag that was off everywhere', async () => {
    const dir = project();
    for (const env of ['dev', 'staging', 'production']) setFlag(dir, env, 'lab_results_auto_release_enabled', { enabled: false, rollout: 0 });
    commitAll(dir, 'off everywhere', { date: '2026-11-23T09:00:00Z' });
    expect((await flagops(dir, 'remove', 'lab_results_auto_release_enabled', '--reason', 'Never shipped', '--ticket', 'TICKET-9001', '--by', 'sam.lee@pms.example.com')).code).toBe(0);
    const r = await flagops(dir, 'diff');
    expect(r.stdout).toContain('  lab_results_auto_release_enabled: off -> absent (removed; users stay off: without the flag the code takes its default, off)');
  });
});

describe('flagops audit of a removal merged with a merge commit', () => {
  it("records the removal's commit subject (reason and ticket) and author, not the merge's subject", async () => {
    // GIVEN the removal committed on a branch and merged into main with a merge commit
    const dir = project();
    expect((await flagops(dir, ...REMOVE)).code).toBe(0);
    commitAll(dir, SUBJECT, { date: '2026-11-23T10:00:00Z', author: 'Sam Lee', email: 'sam.lee@pms.example.com' });
    git(dir, 'checkout', '-q', 'main');
    git(dir, '-c', 'user.email=lead@pms.example.com', '-c', 'user.name=Lead', 'merge', '-q', '--no-ff', 'retire', '-m', 'Merge pull request #5 from sam/retire');
    // WHEN the audit is rebuilt from main
    const lines = (await flagops(dir, 'audit', '--env', 'production', '--flag', FLAG, '--ref', 'HEAD', '--json')).stdout.split('\n').filter(Boolean);
    const removal = lines.map((l) => JSON.parse(l) as AuditEntry).at(-1)!;
    // THEN the entry carries the removal's reason, ticket and author
    expect(removal).toMatchObject({ event_type: 'feature_flag_removed', reason: SUBJECT, approval_ticket: 'TICKET-9000', user_id: 'sam.lee@pms.example.com' });
    expect(removal.commit_author).toBe('Lead <lead@pms.example.com>');
  });
});
