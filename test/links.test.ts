/**
 * lib/workspace/links.ts on its own: which paths of a project are symbolic links, and the `symlink`
 * finding that names each one (a pull request can carry links; flagops never goes through one).
 * The commands' refusals are in write-safety.test.ts; these pin each branch of the module, so that
 * mutation testing (docs/testing.md#mutation-testing) sees a test fail for every bug planted in it.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLink, linkFindings, linkIn } from '../lib/workspace/links.ts';

const ENVS = ['dev', 'production'];

/** A scratch project: environments/<env>/ and dist/<env>/ with one file each. */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'flagops-links-'));
  for (const env of ENVS) {
    mkdirSync(join(root, 'environments', env), { recursive: true });
    writeFileSync(join(root, 'environments', env, 'flags.yaml'), 'flags: {}\n');
    mkdirSync(join(root, 'dist', env), { recursive: true });
    writeFileSync(join(root, 'dist', env, 'a.yaml'), 'kind: ConfigMap\n');
  }
  return root;
}

/** `path` (relative to `root`) replaced by a link to `target`. */
function replaceWithLink(root: string, path: string, target: string): void {
  rmSync(join(root, path), { recursive: true, force: true });
  symlinkSync(target, join(root, path));
}

const symlinkMessage = (path: string, shown = ''): string =>
  `${path} is a symbolic link${shown}; flagops never reads, writes or deletes through links in the project: replace it with the plain file or folder`;

describe('isLink and linkIn: a link anywhere on a path is found, without following it', () => {
  it('isLink is true for a link (even a dangling one), false for a file, a folder or nothing', () => {
    const root = project();
    symlinkSync('nowhere', join(root, 'dangling'));
    expect(isLink(root, 'dangling')).toBe(true);
    expect(isLink(root, 'dist/dev/a.yaml')).toBe(false);
    expect(isLink(root, 'dist/dev')).toBe(false);
    expect(isLink(root, 'missing/file')).toBe(false);
  });

  it('linkIn names the first linked component of a path: the folder, a deeper folder, or the file itself', () => {
    const root = project();
    expect(linkIn(root, 'dist/dev/a.yaml')).toBeUndefined();
    replaceWithLink(root, 'dist/dev/a.yaml', '/etc/hostname');
    expect(linkIn(root, 'dist/dev/a.yaml')).toBe('dist/dev/a.yaml');
    replaceWithLink(root, 'dist/dev', join(root, 'dist', 'production'));
    expect(linkIn(root, 'dist/dev/a.yaml')).toBe('dist/dev');
    replaceWithLink(root, 'dist', tmpdir());
    expect(linkIn(root, 'dist/dev/a.yaml')).toBe('dist');
  });
});

describe('linkFindings: every link flagops would go through is one `symlink` error naming it', () => {
  it('a project without links has no finding', () => {
    expect(linkFindings(project(), ENVS, ['dist/openfeature/flags.json'])).toEqual([]);
  });

  it('a linked environments folder is one finding, and nothing is looked at through it', () => {
    const root = project();
    const elsewhere = project();
    replaceWithLink(elsewhere, 'environments/dev', 'production');
    replaceWithLink(root, 'environments', join(elsewhere, 'environments'));
    expect(linkFindings(root, ENVS)).toEqual([{ severity: 'error', rule: 'symlink', file: 'environments', line: 0, col: 0, message: symlinkMessage('environments', ` (to ${join(elsewhere, 'environments')})`) }]);
  });

  it('each linked environment folder is named, in the order given', () => {
    const root = project();
    replaceWithLink(root, 'environments/production', 'dev');
    replaceWithLink(root, 'environments/dev', 'production');
    expect(linkFindings(root, ENVS).map((f) => f.file)).toEqual(['environments/dev', 'environments/production']);
  });

  it('a linked dist/ is one finding: nothing is looked at through it, not even a project-wide file', () => {
    const root = project();
    const elsewhere = project();
    replaceWithLink(elsewhere, 'dist/dev', 'production');
    replaceWithLink(elsewhere, 'dist/production/a.yaml', '/etc/passwd');
    mkdirSync(join(elsewhere, 'dist/openfeature'));
    symlinkSync('/etc/passwd', join(elsewhere, 'dist/openfeature/flags.json'));
    replaceWithLink(root, 'dist', join(elsewhere, 'dist'));
    expect(linkFindings(root, ENVS, ['dist/openfeature/flags.json']).map((f) => f.file)).toEqual(['dist']);
  });

  it('a linked dist/<env> is named and its files are not listed through it; files of the other environments are checked', () => {
    const root = project();
    const elsewhere = project();
    replaceWithLink(elsewhere, 'dist/dev/a.yaml', '/etc/passwd');
    replaceWithLink(root, 'dist/dev', join(elsewhere, 'dist', 'dev'));
    replaceWithLink(root, 'dist/production/a.yaml', '/etc/passwd');
    expect(linkFindings(root, ENVS).map((f) => f.file)).toEqual(['dist/dev', 'dist/production/a.yaml']);
  });

  it('the files of a dist/<env> are named in the order of JavaScript strings, not of the bytes the folder is listed in', () => {
    // Node lists a folder sorted by UTF-8 bytes: '\uff01' (EF BC 81) before '\u{1f600}' (F0 9F 98 80);
    // as JavaScript strings (UTF-16) the emoji (D83D DE00) comes first.
    const root = project();
    rmSync(join(root, 'dist/dev/a.yaml'));
    const names = ['\uff01.yaml', '\u{1f600}.yaml', 'a.yaml'];
    for (const name of names) symlinkSync('/etc/passwd', join(root, 'dist/dev', name));
    expect(linkFindings(root, ['dev']).map((f) => f.file)).toEqual(['dist/dev/a.yaml', 'dist/dev/\u{1f600}.yaml', 'dist/dev/\uff01.yaml']);
  });

  it('an environment without a dist/ folder is skipped, and the next one is still checked', () => {
    const root = project();
    rmSync(join(root, 'dist/dev'), { recursive: true });
    replaceWithLink(root, 'dist/production/a.yaml', '/etc/passwd');
    expect(linkFindings(root, ENVS).map((f) => f.file)).toEqual(['dist/production/a.yaml']);
  });

  it('a project-wide file under dist/ is checked at every folder on its way, each link named once', () => {
    const root = project();
    mkdirSync(join(root, 'dist/openfeature'));
    writeFileSync(join(root, 'dist/openfeature/flags.json'), '{}\n');
    expect(linkFindings(root, ENVS, ['dist/openfeature/flags.json'])).toEqual([]);
    replaceWithLink(root, 'dist/openfeature/flags.json', '/etc/passwd');
    expect(linkFindings(root, ENVS, ['dist/openfeature/flags.json']).map((f) => f.file)).toEqual(['dist/openfeature/flags.json']);
    replaceWithLink(root, 'dist/openfeature', tmpdir());
    expect(linkFindings(root, ENVS, ['dist/openfeature/flags.json', 'dist/openfeature/other.json']).map((f) => f.file)).toEqual(['dist/openfeature']);
  });

  it('a project-wide file inside a dist/<env> already named is not named twice', () => {
    const root = project();
    replaceWithLink(root, 'dist/dev', tmpdir());
    expect(linkFindings(root, ENVS, ['dist/dev/flags.json']).map((f) => f.file)).toEqual(['dist/dev']);
  });

  it('names the target only when it is plain text of at most 200 characters (a hostile target is never printed)', () => {
    const root = project();
    const plain = `./a-b_c/d e@f+g.${'x'.repeat(200 - 16)}`;
    expect(plain).toHaveLength(200);
    const cases: [string, string][] = [
      [plain, ` (to ${plain})`],
      [`${plain}x`, ''],
      ['evil\u001b[31mred', ''],
      ['line\nbreak', ''],
    ];
    for (const [target, shown] of cases) {
      replaceWithLink(root, 'dist/dev/a.yaml', target);
      expect(linkFindings(root, ['dev'])[0]?.message).toBe(symlinkMessage('dist/dev/a.yaml', shown));
    }
  });
});
