/**
 * The CLI's front door (issue 17): --version, every missing option in one message, "did you mean"
 * for flag and environment names, `help UNKNOWN` as an error, one finding per problem.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { distinct } from '../cli/report.ts';
import { suggest } from '../common/text/suggest.ts';
import type { Finding } from '../model/findings.ts';
import { flagops, flagopsProcess, git, read, REPO_ROOT, tempProject, write } from './helpers.ts';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const FLAG = 'telehealth_appointments_enabled';
const TYPO = 'telehealth_apointments_enabled';
const ADD_AUDIT = ['--reason', 'test', '--ticket', 'TICKET-1', '--by', 'dev@pms.example.com'];
const AUDIT = [...ADD_AUDIT, '--approved-by', 'lead@pms.example.com'];

describe('flagops --version', () => {
  it.each(['--version', '-V'])('%s prints the version of package.json, exit 0', async (option) => {
    const r = await flagops(REPO_ROOT, option);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`flagops ${VERSION}`);
  });

  it('works through the real executable', () => {
    const r = flagopsProcess(REPO_ROOT, ['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`flagops ${VERSION}\n`);
  });

  it('is listed in the help', async () => {
    expect((await flagops(REPO_ROOT, '--help')).stdout).toMatch(/-V, --version +print the version of flagops/);
  });
});

describe('missing required options', () => {
  it('come out all in one usage error (exit 2), not one per run', async () => {
    const r = await flagops(REPO_ROOT, 'rollout', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: missing required options '--env <env>', '--to <n>' and '--reason <text>'");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('name the missing argument too', async () => {
    const r = await flagops(REPO_ROOT, 'rollout');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: missing required argument 'flag' and options '--env <env>', '--to <n>' and '--reason <text>'");
  });

  it('leave out the ones given; a single one reads as one', async () => {
    const r = await flagops(REPO_ROOT, 'rollout', 'x', '--env', 'dev', '--to', '5');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: missing required option '--reason <text>'");
  });

  it('list every required option of add, including the mandatory choice', async () => {
    const r = await flagops(REPO_ROOT, 'add', 'x_enabled');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      "error: missing required options '--description <text>', '--owner <team>', '--type <type>', '--reason <text>' and '--ticket <id>' (staging and production need a ticket for every entry, and add writes one in each)",
    );
  });

  it('come after a misspelt option, which gets its suggestion first', async () => {
    const r = await flagops(REPO_ROOT, 'rollout', 'x', '--evn', 'production');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--evn'\n(Did you mean --env?)");
  });
});

describe('flagops help COMMAND', () => {
  it('an unknown command is a usage error with a suggestion, not the general help', async () => {
    const r = await flagops(REPO_ROOT, 'help', 'rollot');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("error: unknown command 'rollot'\n(Did you mean rollout?)\n(run with --help for usage)");
  });

  it('an unknown command with nothing close says so', async () => {
    const r = await flagops(REPO_ROOT, 'help', 'zzzzzz');
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: unknown command 'zzzzzz'");
  });

  it('a known command prints its help (exit 0); no command prints the general help', async () => {
    const one = await flagops(REPO_ROOT, 'help', 'rollout');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^Usage: flagops rollout \[options\] <flag>/);
    const all = await flagops(REPO_ROOT, 'help');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^Usage: flagops \[options\] \[command\]/);
    expect(all.stdout).toMatch(/help \[command\] +display help for command/);
  });
});

describe('did you mean: flag and environment names', () => {
  it('suggests by edit distance (swaps count one) or a unique prefix', () => {
    expect(suggest('rollot', ['rollout', 'enable'])).toBe('rollout');
    expect(suggest('stagnig', ['dev', 'staging', 'production'])).toBe('staging');
    expect(suggest('prod', ['dev', 'staging', 'production'])).toBe('production');
    expect(suggest('pr', ['dev', 'staging', 'production'])).toBeUndefined();
    expect(suggest('qa', ['dev', 'staging', 'production'])).toBeUndefined();
  });

  it.each([
    ['rollout', [TYPO, '--env', 'production', '--to', '50', ...AUDIT]],
    ['enable', [TYPO, '--env', 'dev', ...AUDIT]],
    ['disable', [TYPO, '--env', 'production', ...AUDIT]],
    ['remove', [TYPO, '--reason', 'x', '--by', 'dev@pms.example.com']],
    ['advance', [TYPO, ...AUDIT]],
    ['status', [TYPO]],
    ['monitor', [TYPO, '--env', 'production', '--prometheus', 'http://prometheus.invalid']],
  ])('%s: a misspelt flag gets the close name, not the advice to add it', async (command, args) => {
    const r = await flagops(tempProject({ git: true }), command, ...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`flagops: error: unknown flag '${TYPO}' (did you mean '${FLAG}'?): it is not in environments/catalog.yaml`);
    expect(r.stderr).not.toContain('flagops add');
  });

  it('a flag name with nothing close is told to add it', async () => {
    const r = await flagops(tempProject(), 'enable', 'brand_new_thing_enabled', '--env', 'dev', ...AUDIT);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag 'brand_new_thing_enabled': it is not in environments/catalog.yaml (declare it with flagops add)");
  });

  it('restore --flag gets the suggestion too', async () => {
    const r = await flagops(tempProject({ git: true }), 'restore', '--env', 'dev', '--to', 'HEAD', '--flag', TYPO, ...AUDIT);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`unknown flag '${TYPO}' (did you mean '${FLAG}'?)`);
  });

  it.each([
    ['rollout', [FLAG, '--env', 'prodution', '--to', '50', ...AUDIT]],
    ['status', ['--env', 'prodution']],
    ['synth', ['--env', 'prodution']],
    ['alerts', ['--env', 'prodution']],
    ['access', ['--env', 'prodution']],
    ['audit', ['--env', 'prodution']],
    ['monitor', [FLAG, '--env', 'prodution', '--prometheus', 'http://prometheus.invalid']],
    ['restore', ['--env', 'prodution', '--to', 'HEAD', ...AUDIT]],
  ])('%s: a misspelt environment gets the close name', async (command, args) => {
    const r = await flagops(tempProject({ git: true }), command, ...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flagops: error: unknown environment 'prodution' (did you mean 'production'?); known: dev, staging, production");
  });

  it('a misspelt entry in a flag file and a misspelt prerequisite get the close name', async () => {
    const dir = tempProject();
    write(dir, 'environments/dev/flags.yaml', read(dir, 'environments/dev/flags.yaml').replace(`  ${FLAG}:`, `  ${TYPO}:`));
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`error: flag '${TYPO}' is not declared in environments/catalog.yaml (did you mean '${FLAG}'?) [unknown-flag]`);

    const add = await flagops(tempProject(), 'add', 'brand_new_thing_enabled', '--description', 'd', '--owner', 'team-x', '--type', 'ops', '--requires', TYPO, ...ADD_AUDIT);
    expect(add.code).toBe(1);
    expect(add.stdout).toContain(`requires '${TYPO}', which is not in the catalog (did you mean '${FLAG}'?) [unknown-prerequisite]`);
  });
});

describe('one finding per problem', () => {
  it('a flag name breaking the naming rule is reported once, in the catalog, not again in every environment file', async () => {
    // GIVEN a flag renamed by hand to a bad name in the catalog and every environment
    const dir = tempProject();
    const bad = 'Telehealth_appointments_enabled';
    for (const file of ['environments/catalog.yaml', 'environments/dev/flags.yaml', 'environments/staging/flags.yaml', 'environments/production/flags.yaml']) {
      write(dir, file, read(dir, file).replaceAll(`${FLAG}:`, `${bad}:`));
    }
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    const nameErrors = r.stdout.split('\n').filter((l) => l.includes('[flag-name]'));
    expect(nameErrors).toHaveLength(1);
    expect(nameErrors[0]).toMatch(new RegExp(`^environments/catalog\\.yaml:\\d+:3: error: invalid flag name '${bad}'`));
  });

  it('a bad name only an environment file has is still reported there', async () => {
    const dir = tempProject();
    write(dir, 'environments/dev/flags.yaml', read(dir, 'environments/dev/flags.yaml').replace(`  ${FLAG}:`, '  Bad_enabled:'));
    const r = await flagops(dir, 'check');
    expect(r.stdout).toMatch(/^environments\/dev\/flags\.yaml:\d+:3: error: invalid flag name 'Bad_enabled'.*\[flag-name\]$/m);
  });

  it('add with an invalid name says so once', async () => {
    const r = await flagops(tempProject(), 'add', 'Bad-Name', '--description', 'd', '--owner', 'team-x', '--type', 'ops', ...ADD_AUDIT);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.includes('is not a flag name'))).toHaveLength(1);
  });

  it('printed findings never repeat exactly', () => {
    const f: Finding = { file: 'a.yaml', line: 1, col: 2, severity: 'error', rule: 'r', message: 'm' };
    const w: Finding = { ...f, severity: 'warning' };
    expect(distinct([f, w, { ...f }, { ...f, line: 3 }])).toEqual([f, w, { ...f, line: 3 }]);
  });

  it('stale lists each flag once, with all its reasons', async () => {
    // GIVEN every flag of the catalog expired (and some also on 100% everywhere: two reasons)
    const dir = tempProject({ git: true });
    const doc = parseDocument(read(dir, 'environments/catalog.yaml'));
    const flags = doc.get('flags') as { items: { key: { value: string } }[] };
    for (const item of flags.items) doc.setIn(['flags', item.key.value, 'expires'], '2020-01-01');
    write(dir, 'environments/catalog.yaml', doc.toString());
    const r = await flagops(dir, 'stale', '--json');
    const rows = JSON.parse(r.stdout) as { flag: string; reasons: unknown[] }[];
    expect(rows.length).toBe(flags.items.length);
    expect(new Set(rows.map((row) => row.flag)).size).toBe(rows.length);
    const text = await flagops(dir, 'stale');
    for (const row of rows) expect(text.stdout.split('\n').filter((l) => l.startsWith(`${row.flag} `))).toHaveLength(1);
  });
});

describe('one SHA form in headers: the 12-character short SHA', () => {
  it('check and diff with --base <full SHA> name the commit once, short', async () => {
    const dir = tempProject({ git: true });
    const sha = git(dir, 'rev-parse', 'HEAD').trim();
    const check = await flagops(dir, 'check', '--base', sha);
    expect(check.stdout).toMatch(new RegExp(`^flagops check \\(base: ${sha.slice(0, 12)}\\): `, 'm'));
    expect(check.stdout).not.toContain(sha);
    const text = await flagops(dir, 'diff', '--base', sha);
    expect(text.stdout).toMatch(new RegExp(`^flagops diff against ${sha.slice(0, 12)}: nothing changes$`, 'm'));
    expect(text.stdout).not.toContain(sha);
    const markdown = await flagops(dir, 'diff', '--base', sha, '--format', 'markdown');
    expect(markdown.stdout).toContain(`### flagops diff against \`${sha.slice(0, 12)}\`\n`);
    // JSON is for machines: the ref as given
    expect(JSON.parse((await flagops(dir, 'diff', '--base', sha, '--format', 'json')).stdout).base).toBe(sha);
  });

  it('a named base shows the name and the short merge base', async () => {
    const dir = tempProject({ git: true });
    const sha = git(dir, 'rev-parse', 'HEAD').trim();
    expect((await flagops(dir, 'check', '--base', 'main')).stdout).toContain(`(base: main, merge base ${sha.slice(0, 12)})`);
    expect((await flagops(dir, 'diff', '--base', 'main')).stdout).toContain(`flagops diff against main (merge base ${sha.slice(0, 12)})`);
  });

  it('audit shows commits by their short SHA', async () => {
    const dir = tempProject({ git: true });
    const sha = git(dir, 'rev-parse', 'HEAD').trim();
    const r = await flagops(dir, 'audit', '--ref', 'HEAD');
    expect(r.stdout).toContain(`  ${sha.slice(0, 12)}  `);
    expect(r.stdout).not.toContain(sha);
  });
});
