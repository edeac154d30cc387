/**
 * The Node the project declares (package.json `engines.node`) is a Node every installed package
 * supports, and the one CI runs: `npm ci` prints an EBADENGINE warning for any package in the lock
 * whose `engines.node` excludes the running Node (issue 17: kubernetes-models 5 wants Node >= 22).
 */
import { readdirSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { read, REPO_ROOT } from './helpers.ts';

interface LockEntry {
  readonly version?: string;
  readonly engines?: Record<string, string> | readonly string[];
}

const manifest = JSON.parse(read(REPO_ROOT, 'package.json')) as { engines?: { node?: string } };
const lock = JSON.parse(read(REPO_ROOT, 'package-lock.json')) as { packages: Record<string, LockEntry> };
const declared = manifest.engines?.node ?? '';

/** Every `node-version` an actions/setup-node step of a workflow asks for. */
function workflowNodeVersions(): { file: string; version: string }[] {
  const dir = '.github/workflows';
  const out: { file: string; version: string }[] = [];
  const visit = (file: string, value: unknown): void => {
    if (Array.isArray(value)) value.forEach((v) => visit(file, v));
    else if (value && typeof value === 'object') {
      const step = value as { uses?: unknown; with?: Record<string, unknown> };
      if (typeof step.uses === 'string' && step.uses.startsWith('actions/setup-node@')) {
        out.push({ file, version: String(step.with?.['node-version'] ?? '') });
      }
      Object.values(value).forEach((v) => visit(file, v));
    }
  };
  for (const name of readdirSync(`${REPO_ROOT}/${dir}`).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    visit(`${dir}/${name}`, parse(read(REPO_ROOT, `${dir}/${name}`)));
  }
  return out;
}

describe('engines', () => {
  it('package.json declares a valid Node range, recorded in the lock', () => {
    expect(semver.validRange(declared), `engines.node ${JSON.stringify(declared)}`).not.toBeNull();
    expect(lock.packages['']?.engines).toEqual(manifest.engines);
  });

  it('no package in the lock declares an engines.node range that excludes a Node the project declares', () => {
    const excluding: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '') continue;
      // npm checks only the object form; the legacy array form (["node >= 0.2.0"]) is ignored by it.
      const engines = entry.engines;
      if (!engines || Array.isArray(engines)) continue;
      const wanted = (engines as Record<string, string>).node;
      if (wanted === undefined) continue;
      const range = semver.validRange(wanted);
      // Every Node version the project allows must be one the package allows.
      if (range === null || !semver.subset(declared, range)) {
        excluding.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version ?? '?'} wants node ${JSON.stringify(wanted)}`);
      }
    }
    expect(excluding, `the project declares node ${JSON.stringify(declared)}`).toEqual([]);
  });

  it('every workflow sets up a Node the project declares', () => {
    const versions = workflowNodeVersions();
    expect(versions.length).toBeGreaterThan(0);
    for (const { file, version } of versions) {
      // `node-version: 20` installs the newest 20.x: that release line must be inside engines.
      const line = semver.validRange(version.match(/^\d+$/) ? `^${version}.0.0` : version);
      expect(line, `${file}: node-version ${JSON.stringify(version)}`).not.toBeNull();
      expect(semver.intersects(line!, declared), `${file}: node-version ${version} is outside engines.node ${declared}`).toBe(true);
    }
  });

  it('the Node running the tests is one the project declares', () => {
    expect(semver.satisfies(process.version, declared), `${process.version} against ${declared}`).toBe(true);
  });
});
