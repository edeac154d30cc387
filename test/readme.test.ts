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

  it('links only to pages and folders that exist', () => {
    const links = [...readme.matchAll(/\]\(((?:docs|\.github|test|policies)[^)#]*)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !existsSync(join(REPO_ROOT, l)))).toEqual([]);
  });
});
