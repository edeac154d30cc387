import { describe, expect, it } from 'vitest';
import { exampleDiff, withExample } from '../scripts/readme-diff-example.ts';
import { read, REPO_ROOT } from './helpers.ts';

describe("the README's flagops diff example", () => {
  it('is exactly what the tool prints for the sample change (regenerate with npm run readme:diff)', async () => {
    const readme = read(REPO_ROOT, 'README.md');
    const generated = await exampleDiff();
    expect(generated).toContain('| `e_prescribing_enabled` | on 5% | on 25% | 20% on |');
    expect(readme, 'README.md is out of date: run `npm run readme:diff`').toBe(withExample(readme, generated));
  });
});
