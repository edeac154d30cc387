/**
 * The OpenFeature CLI flag manifest `flagops synth` writes (dist/openfeature/flags.json by default):
 * its content against the OpenFeature CLI's own schema, determinism, drift, where it is written
 * (environments/project.ts) and what happens when that path moves.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { MANIFEST_COMMENT, OPENFEATURE_MANIFEST_SCHEMA } from '../synth/openfeature-manifest.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { parse } from 'yaml';
import { flagops, read, REPO_ROOT, replaceIn, tempProject, write } from './helpers.ts';

const MANIFEST = 'dist/openfeature/flags.json';
/** The OpenFeature CLI's schema/v0/flag-manifest.json, vendored (policies/openfeature-cli/README.md). */
const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'policies/openfeature-cli/flag-manifest.json'), 'utf8')) as object;
const validateManifest = new Ajv({ allErrors: true, strict: false }).compile(schema);

interface Manifest {
  $schema: string;
  flags: Record<string, { flagType: string; defaultValue: unknown; description: string; owner: string; expiry?: string }>;
}

describe('the OpenFeature flag manifest', () => {
  it('is committed under dist/ and validates against the OpenFeature CLI manifest schema', () => {
    // GIVEN the committed manifest
    const manifest = JSON.parse(read(REPO_ROOT, MANIFEST)) as Manifest;
    // WHEN validating it with ajv against the vendored schema THEN it passes
    expect(validateManifest(manifest), JSON.stringify(validateManifest.errors)).toBe(true);
    expect(manifest.$schema).toBe(OPENFEATURE_MANIFEST_SCHEMA);
  });

  it('has every catalog flag as a boolean whose default is off, with its description, owner and expiry', async () => {
    // GIVEN the sample catalog
    const settings = await loadEnvironmentSettings(REPO_ROOT);
    const { catalog } = parseProject(settings, diskReader(REPO_ROOT)).model;
    // WHEN reading the committed manifest
    const manifest = JSON.parse(read(REPO_ROOT, MANIFEST)) as Manifest;
    // THEN it holds exactly the catalog's flags, sorted, each as the catalog says
    expect(Object.keys(manifest.flags)).toEqual([...catalog.names].sort());
    for (const name of catalog.names) {
      const def = catalog.flags[name]!;
      expect(manifest.flags[name]).toEqual({ flagType: 'boolean', defaultValue: false, description: def.description, owner: def.owner, ...(def.expires ? { expiry: def.expires } : {}) });
    }
    expect(manifest.flags.online_bill_pay_enabled!.expiry).toBe('2027-06-30');
    expect(manifest.flags.maintenance_mode_enabled).not.toHaveProperty('expiry');
  });

  it('the schema rejects what the OpenFeature CLI would refuse: a flag without a type, a default of the wrong type', () => {
    // GIVEN two broken manifests WHEN validating THEN both fail (the schema is really applied)
    expect(validateManifest({ flags: { x_enabled: { defaultValue: false } } })).toBe(false);
    expect(validateManifest({ flags: { x_enabled: { flagType: 'boolean', defaultValue: 'off' } } })).toBe(false);
  });

  it('is written byte for byte the same by every synth (no timestamps, sorted keys, final newline)', async () => {
    // GIVEN a project without dist/
    const dir = tempProject({ dist: false });
    // WHEN synthesizing twice
    expect((await flagops(dir, 'synth')).code).toBe(0);
    const first = read(dir, MANIFEST);
    await flagops(dir, 'synth');
    // THEN the file is the same, equals the committed one, and ends in one newline
    expect(read(dir, MANIFEST)).toBe(first);
    expect(first).toBe(read(REPO_ROOT, MANIFEST));
    expect(first.endsWith('}\n')).toBe(true);
    expect(first).toContain(`"$comment": ${JSON.stringify(MANIFEST_COMMENT)}`);
  });

  it('follows the catalog: a new flag appears in the manifest written by flagops add', async () => {
    // GIVEN the sample project
    const dir = tempProject();
    // WHEN a flag is added
    const r = await flagops(dir, 'add', 'referral_tracking_enabled', '--description', 'Referral sources are recorded at intake.', '--owner', 'team-intake', '--type', 'release', '--expires', '2027-06-30', '--reason', 'New intake field', '--ticket', 'TICKET-9', '--by', 'dev@pms.example.com');
    // THEN the same transaction rewrote the manifest, and check finds no drift
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`wrote ${MANIFEST}`);
    expect((JSON.parse(read(dir, MANIFEST)) as Manifest).flags.referral_tracking_enabled).toEqual({
      flagType: 'boolean', defaultValue: false, description: 'Referral sources are recorded at intake.', owner: 'team-intake', expiry: '2027-06-30',
    });
    expect((await flagops(dir, 'check')).stdout).not.toContain('[drift]');
  });

  it('[drift] check reports a manifest edited by hand or missing, and synth restores it', async () => {
    // GIVEN a hand edit of the manifest
    const dir = tempProject();
    replaceIn(dir, MANIFEST, '"defaultValue": false,\n      "description": "Draft after-visit', '"defaultValue": true,\n      "description": "Draft after-visit');
    // WHEN checking THEN it is drift, at the line that differs
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^dist\/openfeature\/flags\.json:7:1: error: dist\/openfeature\/flags\.json differs from a fresh synth; run `npx flagops synth` and commit dist\/ \[drift\]$/m);
    // WHEN it is missing THEN that is drift too
    rmSync(join(dir, MANIFEST));
    expect((await flagops(dir, 'check')).stdout).toContain(`${MANIFEST} is missing from the committed dist/`);
    // WHEN synthesizing THEN it is back as committed
    expect((await flagops(dir, 'synth')).stdout).toContain(`created ${MANIFEST}`);
    expect(read(dir, MANIFEST)).toBe(read(REPO_ROOT, MANIFEST));
  });

  it('moves with environments/project.ts: synth writes the new path and removes the manifest it wrote at the old one, and nothing else', async () => {
    // GIVEN the manifest configured elsewhere, and a JSON file in dist/ that flagops did not write
    const dir = tempProject();
    replaceIn(dir, 'environments/project.ts', "openFeatureManifest: 'dist/openfeature/flags.json'", "openFeatureManifest: 'dist/backend/openfeature.json'");
    write(dir, 'dist/openfeature/notes.json', '{"flags": {}}\n');
    // WHEN checking THEN the new file is missing and the old one is stale
    const check = await flagops(dir, 'check');
    expect(check.stdout).toContain('dist/backend/openfeature.json is missing from the committed dist/');
    expect(check.stdout).toContain(`${MANIFEST} is no longer synthesized (stale)`);
    // WHEN synthesizing THEN the manifest moves; the other file stays
    const r = await flagops(dir, 'synth');
    expect(r.stdout).toContain('created dist/backend/openfeature.json');
    expect(r.stdout).toContain(`removed ${MANIFEST}`);
    expect(existsSync(join(dir, MANIFEST))).toBe(false);
    expect(read(dir, 'dist/backend/openfeature.json')).toBe(read(REPO_ROOT, MANIFEST));
    expect(read(dir, 'dist/openfeature/notes.json')).toBe('{"flags": {}}\n');
  });

  it('refuses a manifest path inside an environment\'s dist/ folder (Pulumi deploys those) as a usage error naming the setting', async () => {
    // GIVEN the manifest configured under dist/production/
    const dir = tempProject();
    replaceIn(dir, 'environments/project.ts', "openFeatureManifest: 'dist/openfeature/flags.json'", "openFeatureManifest: 'dist/production/flags.json'");
    // WHEN running any command THEN exit 2, naming the file, the setting and the value
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "flagops: error: environments/project.ts: 'openFeatureManifest' must not be inside dist/production/: that folder holds the manifests Pulumi deploys to production. The value passed is: \"dist/production/flags.json\"",
    );
  });

  it('refuses a path outside dist/, with .. in it, or not ending in .json', async () => {
    for (const path of ['flags.json', 'dist/../flags.json', 'dist/openfeature/flags.yaml']) {
      const dir = tempProject();
      replaceIn(dir, 'environments/project.ts', "openFeatureManifest: 'dist/openfeature/flags.json'", `openFeatureManifest: '${path}'`);
      const r = await flagops(dir, 'check');
      expect(r.code, path).toBe(2);
      expect(r.stderr, path).toContain("'openFeatureManifest' must be a relative path under dist/ ending in .json");
    }
  });

  it('[symlink] never writes through a link on the manifest\'s path', async () => {
    // GIVEN dist/openfeature is a link to a folder outside the project
    const dir = tempProject();
    const outside = tempProject({ dist: false });
    rmSync(join(dir, 'dist/openfeature'), { recursive: true });
    mkdirSync(join(outside, 'elsewhere'));
    symlinkSync(join(outside, 'elsewhere'), join(dir, 'dist/openfeature'));
    // WHEN synthesizing THEN it refuses, naming the link, and nothing is written outside
    const r = await flagops(dir, 'synth');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('dist/openfeature: error: dist/openfeature is a symbolic link');
    expect(existsSync(join(outside, 'elsewhere', 'flags.json'))).toBe(false);
  });

  it('works without environments/project.ts: the defaults apply', async () => {
    // GIVEN a project without the file
    const dir = tempProject();
    rmSync(join(dir, 'environments/project.ts'));
    // WHEN checking THEN the manifest at the default path is up to date
    const r = await flagops(dir, 'check');
    expect(r.stdout).not.toContain('[drift]');
    expect(r.code).toBe(0);
  });
});

describe('installing the OpenFeature CLI (docs/backend.md)', () => {
  const doc = read(REPO_ROOT, 'docs/backend.md');
  const section = doc.slice(doc.indexOf('### Installing the OpenFeature CLI, pinned'), doc.indexOf('## The code default is off'));
  const version = section.match(/^OPENFEATURE_CLI_VERSION=(\d+\.\d+\.\d+)$/m)?.[1];

  it('pins one released version, the one whose manifest schema flagops vendors, from the GitHub releases, checksum-verified', () => {
    expect(section).not.toBe('');
    expect(version).toBe('0.4.1');
    expect(section).toContain(`**v${version}**`);
    expect(read(REPO_ROOT, 'policies/openfeature-cli/README.md')).toContain(`after v${version}`);
    expect(section).toContain('base="https://github.com/open-feature/cli/releases/download/v$OPENFEATURE_CLI_VERSION"');
    expect(section).toContain('grep " $asset\\$" checksums.txt | sha256sum -c -');
    expect(section).toContain(`go install github.com/open-feature/cli/cmd/openfeature@v${version}`);
    // never an unpinned install as the way to do it
    expect(section).not.toMatch(/@latest|\| *sh\b/);
    // the accessors' versions in the text above follow
    expect(doc).toContain(`(v${version}, [installed pinned](#installing-the-openfeature-cli-pinned);`);
  });

  it("gives the backend's CI step, since this repository's workflow generates no accessors, with the same version", () => {
    // GIVEN this repository's workflow: it does not run the OpenFeature CLI
    expect(read(REPO_ROOT, '.github/workflows/flagops.yml')).not.toContain('openfeature generate');
    expect(section).toContain("This repository's workflow does not generate accessors");
    // THEN the page's snippet for the backend's workflow installs the pinned CLI and fails on a difference
    const snippet = section.match(/```yaml\n([\s\S]*?)```/)?.[1] ?? '';
    const job = (parse(snippet) as { accessors: { env: Record<string, string>; steps: { uses?: string; with?: Record<string, unknown>; run?: string }[] } }).accessors;
    expect(job.env.OPENFEATURE_CLI_VERSION).toBe(version);
    expect(job.steps[1]!.with).toMatchObject({ path: 'flagops', 'persist-credentials': false });
    const install = job.steps.find((st) => st.run?.includes('releases/download'))!.run!;
    expect(install).toContain('sha256sum -c -');
    expect(install).toContain('openfeature version');
    const generate = job.steps.at(-1)!.run!;
    expect(generate).toContain('openfeature generate python --no-input --manifest flagops/dist/openfeature/flags.json --output app/openfeature_gen');
    expect(generate).toContain('git diff --exit-code');
  });
});
