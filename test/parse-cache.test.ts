/**
 * Issue 14's "Why": `flagops check` parsed each flag file more than once (working tree and base, the
 * base even when its blob is identical). With one parse cache per run, a file whose text is the same
 * in both is parsed once, and the change rules see the very same states object, which they skip.
 */
import { describe, expect, it } from 'vitest';
import { checkChangeRules } from '../policies/change-rules.ts';
import { diskReader, loadEnvironmentSettings, parseProject, statesFile, type FileReader, type ParseCache } from '../lib/workspace/project.ts';
import { REPO_ROOT } from './helpers.ts';

/** A reader that counts how often each file is read, with one file's text replaced. */
function countingReader(replace?: { file: string; from: string; to: string }): FileReader & { reads: Map<string, number> } {
  const disk = diskReader(REPO_ROOT);
  const reads = new Map<string, number>();
  return {
    reads,
    read(path) {
      reads.set(path, (reads.get(path) ?? 0) + 1);
      const text = disk.read(path);
      return replace && path === replace.file && text !== undefined ? text.replace(replace.from, replace.to) : text;
    },
  };
}

describe('one parse per flag file and run', () => {
  it('gives the base and the working tree the same parsed states when the text is the same, and new ones where it differs', async () => {
    // GIVEN the base and a working tree that differ only in production's flag file
    const settings = await loadEnvironmentSettings(REPO_ROOT);
    const cache: ParseCache = new Map();
    const base = parseProject(settings, countingReader(), cache);
    const production = statesFile('production');
    const current = parseProject(settings, countingReader({ file: production, from: 'rollout: 5\n', to: 'rollout: 25\n' }), cache);
    // THEN every unchanged file was parsed once (the cache holds one entry per file and text)
    expect(cache.size).toBe(settings.length + 1 + 1);
    for (const env of current.model.environments) {
      const before = base.model.environments.find((e) => e.settings.name === env.settings.name)!;
      if (env.file === production) expect(env.states).not.toBe(before.states);
      else expect(env.states).toBe(before.states);
    }
    expect(current.model.catalog.flags).toBe(base.model.catalog.flags);
    // AND the change rules judge only the changed environment
    const findings = checkChangeRules(base.model, current.model, 'main');
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.file === production)).toBe(true);
  });

  it('parses again without a cache (what every run did before)', async () => {
    const settings = await loadEnvironmentSettings(REPO_ROOT);
    const a = parseProject(settings, countingReader());
    const b = parseProject(settings, countingReader());
    expect(b.model.environments[0]!.states).not.toBe(a.model.environments[0]!.states);
  });
});
