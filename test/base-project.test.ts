/**
 * The project on the base of a change, with the base's own judges (lib/review/base-project.ts),
 * called in-process: the base's environment.ts files are read from git and evaluated in memory
 * unless they are byte-identical to the working tree's; a base whose settings cannot be evaluated
 * is judged with the working tree's, with a warning; the judges (settings, their files, the
 * catalog, the identities) on the base and in the working tree, as the rules compare them. BRIEF
 * §5, "Judged by main". Real git: the sample project committed, then changed. These are the tests
 * `npm run mutation` runs against base-project.ts (with test/judged-by-main.test.ts, which runs
 * `flagops check` in-process on pull requests with approvals).
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shortSha } from '../common/text/sha.ts';
import { baseIdentities, baseJudges, baseProject, evaluateSettings, judgeChange, workingJudges, type WorkingSettings } from '../lib/review/base-project.ts';
import { parseIdentities, parsePullRequest } from '../lib/review/pull-request.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import type { PullRequestFacts } from '../model/pull-request.ts';
import type { EnvironmentSettings } from '../model/environments.ts';
import { commitAll } from './flag-history.ts';
import { git, read, replaceIn, tempProject, write } from './helpers.ts';

const PRODUCTION = 'environments/production/environment.ts';
const SETTINGS_FILES = ['environments/dev/environment.ts', PRODUCTION, 'environments/staging/environment.ts'];
const IDENTITIES = '@pms-lead lead@pms.example.com\n@sam-lee sam.lee@pms.example.com\n';

/** GIVEN the sample project committed on main (the base); `change` then edits the working tree. Returns the project, the base commit and the working settings. */
async function project(change: (dir: string) => void = () => {}): Promise<{ dir: string; commit: string; ws: WorkingSettings }> {
  const dir = tempProject({ git: true, dist: false });
  const commit = git(dir, 'rev-parse', 'HEAD').trim();
  change(dir);
  return { dir, commit, ws: { root: dir, settings: await loadEnvironmentSettings(dir) } };
}

/** Commits production's environment.ts as `text` (the new base), and leaves the sample's in the working tree. */
function commitBase(dir: string, text: string): string {
  const sample = read(dir, PRODUCTION);
  write(dir, PRODUCTION, text);
  const commit = commitAll(dir, 'base', { date: '2026-11-22T00:00:00Z' });
  write(dir, PRODUCTION, sample);
  return commit;
}

const names = (settings: readonly EnvironmentSettings[]): string[] => settings.map((s) => s.name);
const settingsOf = (settings: readonly EnvironmentSettings[], name: string): EnvironmentSettings => settings.find((s) => s.name === name)!;

describe("baseProject: the project on the base, judged by the base's settings", () => {
  it("settings files byte-identical to the working tree's: the settings already loaded, as they are", async () => {
    // GIVEN a working tree whose flag files changed, but not its environment.ts files
    const { dir, commit, ws } = await project((d) => replaceIn(d, 'environments/production/flags.yaml', '    rollout: 5\n', '    rollout: 25\n'));
    const base = baseProject(ws, commit);
    expect(base.settings).toBe(ws.settings);
    expect([...base.settingsFiles]).toEqual(SETTINGS_FILES.map((f) => [f, read(dir, f)]));
    expect(base.findings).toEqual([]);
    expect({ root: base.root, commit: base.commit }).toEqual({ root: dir, commit });
    // AND the flag files are the base's
    const production = base.parsed.model.environments.find((e) => e.settings.name === 'production')!;
    expect(production.states.e_prescribing_enabled?.rollout).toBe(5);
  });

  it("a changed environment.ts: the base's text is evaluated, never the working tree's", async () => {
    const { commit, ws } = await project((d) => replaceIn(d, PRODUCTION, '  soakMinutes: 30,', '  soakMinutes: 0,'));
    expect(settingsOf(ws.settings, 'production').soakMinutes).toBe(0);
    const base = baseProject(ws, commit);
    expect(names(base.settings)).toEqual(['dev', 'staging', 'production']);
    expect(settingsOf(base.settings, 'production').soakMinutes).toBe(30);
    expect(base.settingsFiles.get(PRODUCTION)).toContain('  soakMinutes: 30,\n');
    expect(base.findings).toEqual([]);
  });

  it("an environment the change adds (qa) is not among the base's settings", async () => {
    const { commit, ws } = await project((d) => {
      mkdirSync(join(d, 'environments/qa'));
      write(d, 'environments/qa/environment.ts', "export default { namespace: 'pms-qa', promotesFrom: 'dev' };\n");
    });
    expect(names(ws.settings)).toContain('qa');
    expect(names(baseProject(ws, commit).settings)).toEqual(['dev', 'staging', 'production']);
  });

  it("the working settings stand in only for the base's own environments: as many, named otherwise, are not", async () => {
    // GIVEN working settings that lost production and gained qa, every environment.ts file unchanged
    const { commit, ws } = await project();
    const other: WorkingSettings = { root: ws.root, settings: ws.settings.map((s) => (s.name === 'production' ? { ...s, name: 'qa' } : s)) };
    const base = baseProject(other, commit);
    expect(names(base.settings)).toEqual(['dev', 'staging', 'production']);
  });

  it('only environments/<env>/environment.ts is a settings file: not a leftover .orig, not one deeper under environments/', async () => {
    const { dir } = await project();
    write(dir, `${PRODUCTION}.orig`, read(dir, PRODUCTION).replace('  soakMinutes: 30,', '  soakMinutes: 0,'));
    mkdirSync(join(dir, 'environments/archive/environments/dev'), { recursive: true });
    cpSync(join(dir, 'environments/dev/environment.ts'), join(dir, 'environments/archive/environments/dev/environment.ts'));
    const commit = commitAll(dir, 'leftovers', { date: '2026-11-22T00:00:00Z' });
    const ws = { root: dir, settings: await loadEnvironmentSettings(dir) };
    const base = baseProject(ws, commit);
    expect([...base.settingsFiles.keys()]).toEqual(SETTINGS_FILES);
    expect(base.settings).toBe(ws.settings);
  });

  it("a base without any environment.ts: the working tree's settings, and no settings file to compare", async () => {
    const { dir } = await project();
    const sample = git(dir, 'rev-parse', 'HEAD').trim();
    git(dir, 'rm', '-q', ...SETTINGS_FILES);
    const commit = commitAll(dir, 'no settings', { date: '2026-11-22T00:00:00Z' });
    git(dir, 'checkout', '-q', sample, '--', ...SETTINGS_FILES);
    const ws = { root: dir, settings: await loadEnvironmentSettings(dir) };
    const base = baseProject(ws, commit);
    expect(base.settings).toBe(ws.settings);
    expect(base.settingsFiles.size).toBe(0);
    expect(base.findings).toEqual([]);
  });

  describe("a base whose settings cannot be evaluated: the working tree's settings, and a warning that says why", () => {
    const cases: readonly (readonly [string, string, string])[] = [
      ['imports what it may not', "import { readFileSync } from 'node:fs';\nexport default { namespace: 'pms', soakMinutes: readFileSync.length };\n", `${PRODUCTION} imports "node:fs"; an environment.ts may import only from ../settings.ts`],
      ['throws an error: its first line, escaped', "throw new Error('settings \\x1b[31mbroken\\nsecond line');\n", 'settings \\x1b[31mbroken'],
      ['throws what is not an Error', "throw 'not an Error';\n", 'not an Error'],
      ['has a syntax error: its place and what esbuild found, not esbuild\'s summary line', "export default { namespace: 'pms',\n", `${PRODUCTION}:2:1: Expected identifier but found end of file`],
    ];
    for (const [what, text, why] of cases) {
      it(`when it ${what}`, async () => {
        const { dir } = await project();
        const commit = commitBase(dir, text);
        const ws = { root: dir, settings: await loadEnvironmentSettings(dir) };
        const base = baseProject(ws, commit);
        expect(base.settings).toBe(ws.settings);
        expect(base.findings).toEqual([
          { file: '', line: 0, col: 0, severity: 'warning', rule: 'base-settings', message: `the settings on the base (${shortSha(commit)}) cannot be read (${why}), so the change is judged with the working tree's settings` },
        ]);
        expect(base.settingsFiles.get(PRODUCTION)).toBe(text);
      });
    }

    it('when the blob of its environment.ts is missing from the clone', async () => {
      const { dir } = await project();
      const commit = commitBase(dir, read(dir, PRODUCTION).replace('  soakMinutes: 30,', '  soakMinutes: 45,'));
      const blob = git(dir, 'rev-parse', `${commit}:${PRODUCTION}`).trim();
      rmSync(join(dir, '.git/objects', blob.slice(0, 2), blob.slice(2)));
      const ws = { root: dir, settings: await loadEnvironmentSettings(dir) };
      const base = baseProject(ws, commit);
      expect(base.settings).toBe(ws.settings);
      expect(base.findings.map((f) => f.message)).toEqual([
        `the settings on the base (${shortSha(commit)}) cannot be read (${PRODUCTION}: 'namespace' must be a Kubernetes namespace name (DNS label, at most 63 characters). The value passed is: undefined), so the change is judged with the working tree's settings`,
      ]);
    });
  });
});

describe('evaluateSettings: an environment.ts from git, evaluated in memory', () => {
  it("the sample's environment.ts files evaluate to the settings the working tree loads", async () => {
    const { dir, ws } = await project();
    for (const s of ws.settings) expect(evaluateSettings(s.name, `environments/${s.name}/environment.ts`, read(dir, `environments/${s.name}/environment.ts`))).toEqual(s);
  });

  const importing = (spec: string): string => `import { PRODUCTION_SOAK_MINUTES } from '${spec}';\nexport default { namespace: 'pms-qa', soakMinutes: PRODUCTION_SOAK_MINUTES + 15 };\n`;

  it('may import the settings module, as ../settings or the model it re-exports', () => {
    for (const spec of ['../settings', '../settings.ts', '../settings.js', './settings', '../../model/environments', '../../model/environments.ts']) {
      expect(evaluateSettings('qa', 'environments/qa/environment.ts', importing(spec)).soakMinutes, spec).toBe(45);
    }
  });

  it('may import nothing else, not even a name that begins or ends like the settings module', () => {
    for (const spec of ['node:fs', '../../settings.ts', '../settings-local.ts', '../settings.ts.orig', '../settings.mjs']) {
      expect(() => evaluateSettings('qa', 'environments/qa/environment.ts', importing(spec)), spec).toThrow(
        `environments/qa/environment.ts imports ${JSON.stringify(spec)}; an environment.ts may import only from ../settings.ts`,
      );
    }
  });

  it('is compiled for Node 20: TypeScript that Node 20 cannot run as written (an auto-accessor) evaluates', () => {
    const text = "class Soak { accessor minutes = 45; }\nexport default { namespace: 'pms-qa', soakMinutes: new Soak().minutes };\n";
    expect(evaluateSettings('qa', 'environments/qa/environment.ts', text).soakMinutes).toBe(45);
  });

  it('a CommonJS module.exports is its settings too', () => {
    expect(evaluateSettings('qa', 'environments/qa/environment.ts', "module.exports = { namespace: 'pms-qa', soakMinutes: 45 };\n").soakMinutes).toBe(45);
  });
});

describe('the judges on the base and in the working tree', () => {
  it('on the base: its settings, their files, its catalog and its .github/flagops-identities', async () => {
    const { dir } = await project();
    mkdirSync(join(dir, '.github'));
    write(dir, '.github/flagops-identities', IDENTITIES);
    const commit = commitAll(dir, 'identities', { date: '2026-11-22T00:00:00Z' });
    write(dir, '.github/flagops-identities', `${IDENTITIES}@random-dev lead@pms.example.com\n`);
    const base = baseProject({ root: dir, settings: await loadEnvironmentSettings(dir) }, commit);
    expect(baseIdentities(base)).toBe(IDENTITIES);
    const judges = baseJudges(base);
    expect(Object.keys(judges).sort()).toEqual(['catalog', 'identities', 'identitiesText', 'settings', 'settingsFiles']);
    expect(judges.settings).toBe(base.settings);
    expect(judges.settingsFiles).toBe(base.settingsFiles);
    expect(judges.catalog).toBe(base.parsed.model.catalog);
    expect(judges.identities).toEqual(new Map([['pms-lead', ['lead@pms.example.com']], ['sam-lee', ['sam.lee@pms.example.com']]]));
    expect(judges.identitiesText).toBe(IDENTITIES);
  });

  it('on a base without .github/flagops-identities: no identities, and no text', async () => {
    const { commit, ws } = await project();
    const base = baseProject(ws, commit);
    expect(baseIdentities(base)).toBeUndefined();
    const judges = baseJudges(base);
    expect(Object.keys(judges).sort()).toEqual(['catalog', 'identities', 'settings', 'settingsFiles']);
    expect(judges.identities).toEqual(new Map());
  });

  it('in the working tree: its settings, the files of those it has, its catalog as parsed, its identities file', async () => {
    const { dir, ws } = await project((d) => {
      mkdirSync(join(d, '.github'));
      write(d, '.github/flagops-identities', IDENTITIES);
      replaceIn(d, PRODUCTION, '  soakMinutes: 30,', '  soakMinutes: 0,');
    });
    const current = parseProject(ws.settings, diskReader(dir));
    // AND a setting whose environment.ts is not in the working tree has no file
    const withQa: WorkingSettings = { root: dir, settings: [...ws.settings, { ...settingsOf(ws.settings, 'dev'), name: 'qa' }] };
    const judges = workingJudges(withQa, current);
    expect(Object.keys(judges).sort()).toEqual(['catalog', 'identities', 'identitiesText', 'settings', 'settingsFiles']);
    expect(judges.settings).toBe(withQa.settings);
    expect(new Map([...judges.settingsFiles].sort())).toEqual(new Map(SETTINGS_FILES.map((f) => [f, read(dir, f)])));
    expect(judges.settingsFiles.get(PRODUCTION)).toContain('  soakMinutes: 0,');
    expect(judges.catalog).toBe(current.model.catalog);
    expect(judges.identities).toEqual(new Map([['pms-lead', ['lead@pms.example.com']], ['sam-lee', ['sam.lee@pms.example.com']]]));
    expect(judges.identitiesText).toBe(IDENTITIES);
    // AND without the identities file: none, and no text
    rmSync(join(dir, '.github/flagops-identities'));
    const without = workingJudges(ws, current);
    expect(Object.keys(without).sort()).toEqual(['catalog', 'identities', 'settings', 'settingsFiles']);
    expect(without.identities).toEqual(new Map());
  });

  it('judgeChange without pull-request facts: a change to the judges is a warning naming the setting, on its line', async () => {
    const { dir, commit, ws } = await project((d) => replaceIn(d, PRODUCTION, '  soakMinutes: 30,', '  soakMinutes: 0,'));
    const line = read(dir, PRODUCTION).split('\n').indexOf('  soakMinutes: 0,') + 1;
    const findings = judgeChange(ws, baseProject(ws, commit), parseProject(ws.settings, diskReader(dir)), 'origin/main', undefined);
    expect(findings).toEqual([
      expect.objectContaining({ file: PRODUCTION, line, col: 3, severity: 'warning', rule: 'rules-change', message: expect.stringContaining('(production soakMinutes: 30 -> 0)') }),
    ]);
  });

  it("judgeChange with pull-request facts: an approval of an earlier commit covers a judges' file byte-identical at the head, and no more", async () => {
    // GIVEN main with the identities file, and a pull request by Sam that adds a login to it, then a note
    const { dir } = await project((d) => {
      mkdirSync(join(d, '.github'));
      write(d, '.github/flagops-identities', IDENTITIES);
    });
    const commit = commitAll(dir, 'identities', { date: '2026-11-22T00:00:00Z' });
    const sam = { author: 'Sam Lee', email: 'sam.lee@pms.example.com' };
    write(dir, '.github/flagops-identities', `${IDENTITIES}@random-dev random.dev@pms.example.com\n`);
    const reviewed = commitAll(dir, 'random-dev', { date: '2026-11-23T10:00:00Z', ...sam });
    write(dir, 'notes.txt', 'a note\n');
    const head = commitAll(dir, 'a note', { date: '2026-11-23T10:30:00Z', ...sam });
    /** The facts of the pull request up to `tip`, approved by the lead on the commit `reviewed`. */
    const facts = (tip: string): PullRequestFacts => ({
      ...parsePullRequest({
        head: tip,
        author: 'sam-lee',
        commits: git(dir, 'rev-list', '--reverse', `${commit}..${tip}`).trim().split('\n').map((sha) => ({ sha, commit: { author: { email: sam.email }, committer: { email: sam.email } }, author: { login: 'sam-lee' }, committer: { login: 'sam-lee' } })),
        reviews: [{ user: { login: 'pms-lead' }, state: 'APPROVED', commit_id: reviewed }],
      }),
      ...parseIdentities(IDENTITIES),
    });
    const judge = async (tip: string) => {
      const ws = { root: dir, settings: await loadEnvironmentSettings(dir) };
      return judgeChange(ws, baseProject(ws, commit), parseProject(ws.settings, diskReader(dir)), 'origin/main', facts(tip)).filter((f) => f.rule === 'rules-change');
    };
    // THEN the lead's approval covers the change to the identities file, unchanged since
    expect(await judge(head)).toEqual([]);
    // AND once the file changed after the approval, it does not
    write(dir, '.github/flagops-identities', `${IDENTITIES}@random-dev random.dev@pms.example.com\n@other-dev other.dev@pms.example.com\n`);
    const changed = commitAll(dir, 'other-dev', { date: '2026-11-23T11:00:00Z', ...sam });
    expect((await judge(changed)).map((f) => `${f.severity}: ${f.message}`)).toEqual([
      expect.stringMatching(/^error: .*\(@other-dev: absent -> other\.dev@pms\.example\.com\).*given at the head commit or with \.github\/flagops-identities as it is now/),
      expect.stringMatching(/^error: .*\(@random-dev: absent -> random\.dev@pms\.example\.com\).*given at the head commit or with \.github\/flagops-identities as it is now/),
    ]);
  });
});
