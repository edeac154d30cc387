/**
 * The README is the front door (issue 17: it had grown to 662 lines of reference): short, the two
 * commands that take a fresh machine to working, every command named, and every page it links to
 * there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/main.ts';
import { read, REPO_ROOT } from './helpers.ts';

const readme = read(REPO_ROOT, 'README.md');

describe('the README', () => {
  it('reads in five minutes: at most about 200 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
  });

  it('gives exactly the two commands: set up and synthesize, and run the tests', () => {
    const section = readme.slice(readme.indexOf('## Two commands'), readme.indexOf('\n## ', readme.indexOf('## Two commands') + 1));
    const blocks = [...section.matchAll(/```sh\n([^`]*)```/g)].map((m) => m[1]!.trim());
    expect(blocks).toEqual(['npm ci && npm run synth', 'npm test']);
  });

  it('names every command in its command table', () => {
    const table = readme.slice(readme.indexOf('## The commands'), readme.indexOf('## Where things are'));
    for (const name of COMMANDS.flatMap((m) => m.names)) expect(table, name).toMatch(new RegExp(`\`${name}\\b`));
  });

  it("says the sample's code references come from a stand-in backend, and how to point them at the real checkout", () => {
    const firstDay = readme.slice(readme.indexOf('## Two commands'), readme.indexOf('## One flag change'));
    expect(firstDay).toContain('a stand-in backend, `examples/pms-backend/`: replace it');
    expect(firstDay).toContain("`sourceFolders: ['../pms-backend']` in `environments/project.ts`");
    expect(firstDay).toContain('`FLAGOPS_SOURCE=DIR`');
    expect(firstDay).toContain('](docs/code-references.md#where-the-backend-is-checked-out)');
    const where = readme.slice(readme.indexOf('## Where things are'), readme.indexOf('## Reference'));
    expect(where).toMatch(/^\| `examples\/pms-backend\/` \| a stand-in for the backend's code.*replace it/m);
    // AND the page it links to has that section, with the order of precedence
    const doc = read(REPO_ROOT, 'docs/code-references.md');
    expect(doc).toContain('## Where the backend is checked out');
    expect(doc).toMatch(/\| 1 \| `--src DIR \.\.\.`[^\n]*\n\| 2 \| `FLAGOPS_SOURCE=DIR`[^\n]*\n\| 3 \| `sourceFolders` in `environments\/project\.ts`/);
  });

  it('links only to pages and folders that exist', () => {
    const links = [...readme.matchAll(/\]\(((?:docs|\.github|test|policies)[^)#]*)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !existsSync(join(REPO_ROOT, l)))).toEqual([]);
  });
});
