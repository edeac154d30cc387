import { describe, expect, it } from 'vitest';
import { exampleDiff, withExample } from '../scripts/readme-diff-example.ts';
import { read, REPO_ROOT } from './helpers.ts';

describe("the README's flagops diff example", () => {
  it('is exactly what the tool prints for the sample change (regenerate with npm run readme:diff)', async () => {
    const readme = read(REPO_ROOT, 'README.md');
    const generated = await exampleDiff();
    expect(generated).toContain('| `e_prescribing_enabled` | on 5% | on 25% | 20% on |');
    // the base commit's SHA changes with any file of the sample project; the content must not
    const sha = (s: string) => s.replace(/\(`[0-9a-f]{12}`\)/g, '(`<sha>`)');
    expect(sha(readme), 'README.md is out of date: run `npm run readme:diff`').toBe(sha(withExample(readme, generated)));
  });
});
