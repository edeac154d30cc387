/**
 * The Node the project declares (package.json `engines.node`) is a Node every installed package
 * supports, and the one CI runs: `npm ci` prints an EBADENGINE warning for any package in the lock
 * whose `engines.node` excludes the running Node (issue 17: kubernetes-models 5 wants Node >= 22).
 * The npm it declares (`engines.npm`) is the npm CI's Node ships, and the README says the same
 * (issue 22: it said npm 11, while Node 20 in CI ships npm 10).
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

const manifest = JSON.parse(read(REPO_ROOT, 'package.json')) as { engines?: { node?: string; npm?: string } };
const lock = JSON.parse(read(REPO_ROOT, 'package-lock.json')) as { packages: Record<string, LockEntry> };
const declared = manifest.engines?.node ?? '';
const declaredNpm = manifest.engines?.npm ?? '';

/**
 * The major version of the npm each Node release line ships with (nodejs.org/dist/index.json, the
 * `npm` of its releases within engines.node): what `actions/setup-node` gives a workflow.
 */
const BUNDLED_NPM: Record<string, number> = { '20': 10, '22': 10, '24': 11 };

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

  it('declares the npm that CI\'s Node ships (Node 20 gives npm 10), and the README says the same versions of Node and npm', () => {
    expect(semver.validRange(declaredNpm), `engines.npm ${JSON.stringify(declaredNpm)}`).not.toBeNull();
    // GIVEN the npm major each workflow's Node line ships
    const shipped = workflowNodeVersions().map(({ file, version }) => ({ file, version, npm: BUNDLED_NPM[version.replace(/\..*$/, '')] }));
    for (const { file, version, npm } of shipped) {
      expect(npm, `${file}: node-version ${version}: add its npm to BUNDLED_NPM`).toBeDefined();
      // THEN engines.npm allows it
      expect(semver.intersects(`^${npm}.0.0`, declaredNpm), `${file}: Node ${version} ships npm ${npm}, outside engines.npm ${declaredNpm}`).toBe(true);
    }
    // AND the README's set-up line names exactly the Node lines of engines.node and the npm majors of engines.npm
    const line = read(REPO_ROOT, 'README.md').split('\n').find((l) => l.startsWith('Set up and synthesize every environment'))!;
    expect(line).toBeDefined();
    const nodeMinimums = [...declared.matchAll(/(?:\^|>=)(\d+)\.(\d+)\.\d+/g)].map((m) => (m[2] === '0' ? `${m[1]}+` : `${m[1]}.${m[2]}+`));
    expect(nodeMinimums).toEqual(['20.19+', '22.13+', '24+']);
    for (const minimum of nodeMinimums) expect(line, `README: Node ${minimum}`).toContain(minimum);
    const npmMajors = [...declaredNpm.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));
    const npmInReadme = line.match(/npm ([\d ,or]+)/)?.[1]?.match(/\d+/g)?.map(Number);
    expect(npmInReadme, `README: ${line}`).toEqual(npmMajors);
    for (const { npm } of shipped) expect(npmInReadme).toContain(npm);
  });

  it('the Node running the tests is one the project declares', () => {
    expect(semver.satisfies(process.version, declared), `${process.version} against ${declared}`).toBe(true);
  });
});
