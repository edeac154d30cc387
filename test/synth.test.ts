import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagops, read, REPO_ROOT, tempProject } from './helpers.ts';

describe('flagops synth', () => {
  it('reproduces the committed dist/ byte for byte', async () => {
    // GIVEN a copy of the sample project with its committed dist/
    const dir = tempProject();
    // WHEN synthesizing again
    const result = await flagops(dir, 'synth');
    // THEN nothing is written and every file equals the committed one
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('0 written, 0 removed');
    for (const env of ['dev', 'staging', 'production']) {
      for (const name of readdirSync(join(REPO_ROOT, 'dist', env))) {
        expect(read(dir, `dist/${env}/${name}`)).toBe(read(REPO_ROOT, `dist/${env}/${name}`));
      }
    }
  });
});
