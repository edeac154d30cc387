import { describe, expect, it } from 'vitest';
import { EXAMPLE_PAGE, exampleDiff, withExample } from '../scripts/diff-example.ts';
import { read, REPO_ROOT } from './helpers.ts';

describe('the flagops diff example of docs/review-and-audit.md', () => {
  it('is exactly what the tool prints for the sample change (regenerate with npm run docs:diff)', async () => {
    const readme = read(REPO_ROOT, EXAMPLE_PAGE);
    const generated = await exampleDiff();
    expect(generated).toContain('| `e_prescribing_enabled` | on 5% | on 25% | 20% on |');
    // the base commit's SHA changes with any file of the sample project; the content must not
    const sha = (s: string) => s.replace(/\b[0-9a-f]{12}\b/g, '<sha>');
    expect(sha(readme), `${EXAMPLE_PAGE} is out of date: run \`npm run docs:diff\``).toBe(sha(withExample(readme, generated)));
  });
});
