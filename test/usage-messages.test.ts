/**
 * Messages that point the right way (issue 22): what the user typed is what the message is about.
 * `add` without an option a flag of its type needs is a usage error naming the option, not a finding
 * in a file the user never edited; `advance --env` says that advance picks the environment.
 */
import { describe, expect, it } from 'vitest';
import { flagops, read, snapshot, tempProject } from './helpers.ts';

const FLAG = 'telehealth_appointments_enabled';
const NEW = 'online_check_in_enabled';
const ADD = ['add', NEW, '--description', 'Patients check in online.', '--owner', 'team-scheduling', '--by', 'dev@pms.example.com'];

describe('flagops add: options a flag of its type or the environments need', () => {
  it('a release flag without --expires is a usage error naming the option (exit 2), not a finding in the catalog', async () => {
    // GIVEN the sample project
    const dir = tempProject();
    const before = snapshot(dir);
    // WHEN adding a release flag without --expires
    const r = await flagops(dir, ...ADD, '--type', 'release', '--reason', 'New check-in', '--ticket', 'TICKET-7');
    // THEN the missing option is named, with why, as a usage error; nothing points into catalog.yaml
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: missing required option '--expires <date>' (a release flag expires: the date it is due to be cleaned up, YYYY-MM-DD)");
    expect(r.stdout + r.stderr).not.toContain('catalog.yaml');
    expect(snapshot(dir)).toEqual(before);
  });

  it('an experiment flag needs --expires too; an ops flag does not', async () => {
    const dir = tempProject();
    const experiment = await flagops(dir, ...ADD, '--type', 'experiment', '--reason', 'Try it', '--ticket', 'TICKET-7');
    expect(experiment.code).toBe(2);
    expect(experiment.stderr).toContain("'--expires <date>' (an experiment flag expires");
    const ops = await flagops(dir, ...ADD, '--type', 'ops', '--reason', 'Try it', '--ticket', 'TICKET-7');
    expect(ops.code, ops.stderr).toBe(0);
    expect(read(dir, 'environments/catalog.yaml')).toContain(`  ${NEW}:`);
  });

  it('every missing option comes in one message: the ones commander requires, --expires and the --ticket staging and production require', async () => {
    // GIVEN a release flag with neither --reason, --expires nor --ticket
    const r = await flagops(tempProject(), ...ADD, '--type', 'release');
    // THEN one usage error lists all three, each conditional one with why
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      "error: missing required options '--reason <text>', '--expires <date>' (a release flag expires: the date it is due to be cleaned up, YYYY-MM-DD) " +
        "and '--ticket <id>' (staging and production need a ticket for every entry, and add writes one in each)",
    );
  });

  it('a missing --ticket alone is a usage error too, not two findings in flag files the user never opened', async () => {
    const r = await flagops(tempProject(), ...ADD, '--type', 'ops', '--reason', 'New');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: missing required option '--ticket <id>' (staging and production need a ticket for every entry, and add writes one in each)");
    expect(r.stdout).toBe('');
  });
});

describe('flagops advance --env', () => {
  it('explains that advance picks the environment, and names the by-hand command (exit 2)', async () => {
    // GIVEN the sample project
    const dir = tempProject();
    const before = snapshot(dir);
    // WHEN asking advance for an environment
    const r = await flagops(dir, 'advance', FLAG, '--env', 'production');
    // THEN it says why --env does not apply and what to run instead, and changes nothing
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `flagops: error: advance chooses the environment itself: the first of dev, staging, production where ${FLAG} is not on 100%, raised to its next step. ` +
        `To set a rollout in production by hand, run \`flagops rollout ${FLAG} --env production --to N\` (see \`flagops advance --dry-run\` for the next step)`,
    );
    expect(r.stderr).not.toContain("unknown option '--env'");
    expect(snapshot(dir)).toEqual(before);
  });

  it('says so in the --env=E form too, and keeps --env out of its help', async () => {
    const r = await flagops(tempProject(), 'advance', FLAG, '--env=staging');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`run \`flagops rollout ${FLAG} --env staging --to N\``);
    expect((await flagops(tempProject(), 'advance', '--help')).stdout).not.toContain('--env');
  });
});
