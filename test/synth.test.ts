import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeObject } from '../model/manifests.ts';
import { renderObject } from '../synth/synth.ts';
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

describe('rendering an object', () => {
  // renderObject keeps the texts it made, by the object's JSON (a test synthesizes the same objects
  // many times): an equal object gets the same text, a changed one its own, and values JSON would
  // write otherwise than YAML are never looked up by their JSON.
  const configMap = (data: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data }) as KubeObject;
  const fresh = (object: KubeObject): string => `${read(REPO_ROOT, 'dist/dev/configmap-feature-flags-config.yaml').split('\n')[0]}\n${stringify(object, { lineWidth: 0, blockQuote: 'literal', aliasDuplicateObjects: false })}`;

  it('renders an object equal to one rendered before to the same text, and a changed one anew', () => {
    const a = configMap({ flags: 'one\ntwo\n', rollout: 25 });
    expect(renderObject(a)).toBe(fresh(a));
    expect(renderObject(structuredClone(a))).toBe(fresh(a));
    const changed = configMap({ flags: 'one\ntwo\n', rollout: 50 });
    expect(renderObject(changed)).toBe(fresh(changed));
    expect(renderObject(changed)).not.toBe(renderObject(a));
  });

  it('renders values whose JSON is another value as YAML writes them: NaN and null, -0 and 0, a Date and its text, an undefined list item', () => {
    const pairs: [unknown, unknown][] = [
      [Number.NaN, null],
      [-0, 0],
      [new Date('2026-11-23T12:00:00Z'), '2026-11-23T12:00:00.000Z'],
      [[undefined], [null]],
    ];
    for (const [odd, plain] of pairs) {
      for (const value of [plain, odd, plain]) {
        const object = configMap({ value });
        expect(renderObject(object)).toBe(fresh(object));
      }
    }
  });
});
