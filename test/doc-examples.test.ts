import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allSessions, blocksOf, documents, SCENARIOS, withExamples } from '../scripts/doc-examples.ts';
import { REPO_ROOT } from './helpers.ts';

describe('the example sessions of README.md and docs/', () => {
  it('are exactly what the tool prints today (run `npm run docs:examples` when this fails)', { timeout: 180_000 }, async () => {
    // GIVEN every markdown page with example blocks
    const pages = documents().map((file) => ({ file, text: readFileSync(join(REPO_ROOT, file), 'utf8') }));
    expect(blocksOf(pages.find((p) => p.file === 'README.md')!.text)).toEqual(['flag-change', 'refused', 'kill-switch']);
    // WHEN the scenarios run again
    const sessions = await allSessions();
    // (the pull-request diff shows the share of users each change switches)
    expect(sessions.get('diff-markdown')).toContain('| `e_prescribing_enabled` | on 5% | on 25% | 20% on |');
    // THEN each page already holds their output (the merge base's SHA depends on every file of the
    // sample project, so it is compared as a placeholder)
    const sha = (s: string) => s.replace(/\b[0-9a-f]{12}\b/g, '<sha>');
    for (const { file, text } of pages) expect(sha(text), `${file} is out of date: run \`npm run docs:examples\``).toBe(sha(withExamples(text, sessions)));
  });

  it('name only scenarios that exist, and every scenario is shown somewhere', () => {
    const named = documents().flatMap((file) => blocksOf(readFileSync(join(REPO_ROOT, file), 'utf8')));
    expect([...new Set(named)].sort()).toEqual(Object.keys(SCENARIOS).sort());
  });
});
