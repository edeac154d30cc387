/**
 * `access`, `drill` and `alerts` go ahead in every environment they can (issue 22): an error in one
 * environment's flag file, or an `environment.ts` that cannot be loaded, skips that environment
 * only, and the command says which it skipped and why (the file:line errors); an error every
 * environment depends on (the catalog) skips them all, and then the command exits 1.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagops, read, replaceIn, tempProject } from './helpers.ts';

const STAGING = 'environments/staging/flags.yaml';
/** One flag on in every environment, without the provider's timing: the drill's per-environment behaviour, quickly. */
const DRILL = ['drill', '--no-propagation', '--keys', '20', '--flag', 'telehealth_appointments_enabled'];

/** GIVEN the sample with one error in staging's flag file: a rollout of 30, not one of its steps. Returns the error as check prints it. */
function brokenStaging(dir: string): string {
  const text = read(dir, STAGING);
  const at = text.indexOf('    rollout: 100', text.indexOf('  telehealth_appointments_enabled:'));
  replaceIn(dir, STAGING, `  telehealth_appointments_enabled:\n    enabled: true\n    rollout: 100`, `  telehealth_appointments_enabled:\n    enabled: true\n    rollout: 30`);
  const line = text.slice(0, at).split('\n').length;
  return `${STAGING}:${line}:14: error: flag 'telehealth_appointments_enabled' rollout 30 is not an allowed step in staging (0, 5, 25, 50, 100) [rollout-step]`;
}

/** GIVEN the sample whose staging environment.ts has a setting out of range. */
function unloadableStaging(dir: string): void {
  replaceIn(dir, 'environments/staging/environment.ts', 'errorRatio: 0.05,', 'errorRatio: 5,');
}

describe('flagops access, one environment at a time', () => {
  it('--env production works when staging has an error', async () => {
    const dir = tempProject();
    brokenStaging(dir);
    const r = await flagops(dir, 'access', '--env', 'production');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('production (namespace pms)');
    expect(r.stdout + r.stderr).not.toContain('cannot synthesize');
  });

  it('reports every other environment and says which it skipped, naming the file:line errors', async () => {
    const dir = tempProject();
    const error = brokenStaging(dir);
    const r = await flagops(dir, 'access');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dev (namespace pms-dev)');
    expect(r.stdout).toContain('production (namespace pms)');
    expect(r.stdout).not.toContain('staging (namespace');
    expect(r.stderr).toContain(`flagops access: staging skipped (it cannot be synthesized); fix these first:\n${error}\nflagops access: staging skipped: 1 error, 0 warnings in 1 file`);
  });

  it('skips an environment whose environment.ts cannot be loaded, saying why', async () => {
    const dir = tempProject();
    unloadableStaging(dir);
    const r = await flagops(dir, 'access', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { environment: string }[]).map((e) => e.environment)).toEqual(['dev', 'production']);
    expect(r.stderr).toContain("flagops access: staging skipped: environments/staging/environment.ts: 'monitoring.errorRatio' must be a ratio above 0 and at most 1. The value passed is: 5");
  });

  it('exits 1 when nothing can be reported: an error in the catalog stops every environment', async () => {
    const dir = tempProject();
    replaceIn(dir, 'environments/catalog.yaml', '    owner: team-scheduling        # team slug', '    owner: Team Scheduling');
    const r = await flagops(dir, 'access');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    for (const env of ['dev', 'staging', 'production']) expect(r.stderr).toContain(`flagops access: ${env} skipped (it cannot be synthesized); fix these first:\nenvironments/catalog.yaml:`);
    expect(r.stderr).toContain('flagops access: no environment could be synthesized');
  });
});

describe('flagops drill, one environment at a time', () => {
  it('--env production runs when staging has an error', async () => {
    const dir = tempProject();
    brokenStaging(dir);
    const r = await flagops(dir, ...DRILL, '--env', 'production');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/flagops drill: production: 1 of 1 flags? rolls? back cleanly/);
  });

  it('drills the other environments, says which it skipped and why, and exits 1 (a drill not run is not a drill passed)', async () => {
    const dir = tempProject();
    const error = brokenStaging(dir);
    const r = await flagops(dir, ...DRILL);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/flagops drill: dev: 1 of 1 flags? rolls? back cleanly/);
    expect(r.stdout).toMatch(/flagops drill: production: 1 of 1 flags? rolls? back cleanly/);
    expect(r.stderr).toContain(`flagops drill: staging skipped (the drill starts from its committed dist/, as its flag files synthesize it); fix these first:\n${error}`);
  });

  it("is stopped by its own environment's drift only, not another's", async () => {
    const dir = tempProject();
    rmSync(join(dir, 'dist', 'staging'), { recursive: true });
    const production = await flagops(dir, ...DRILL, '--env', 'production');
    expect(production.code, production.stderr).toBe(0);
    const staging = await flagops(dir, ...DRILL, '--env', 'staging');
    expect(staging.code).toBe(1);
    expect(staging.stderr).toMatch(/flagops drill: staging skipped .*\ndist\/staging\/\S+\.yaml: error: .* is missing from the committed dist\/; run `npx flagops synth` and commit dist\/ \[drift\]/);
  });

  it('skips an environment whose environment.ts cannot be loaded, and drills the others', async () => {
    const dir = tempProject();
    unloadableStaging(dir);
    const r = await flagops(dir, ...DRILL);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/flagops drill: production: 1 of 1 flags? rolls? back cleanly/);
    expect(r.stderr).toContain("flagops drill: staging skipped: environments/staging/environment.ts: 'monitoring.errorRatio' must be a ratio above 0 and at most 1");
  });
});

describe('flagops alerts, one environment at a time', () => {
  it('lists the environments whose settings load, says which it skipped and why; --env production works', async () => {
    const dir = tempProject();
    unloadableStaging(dir);
    const all = await flagops(dir, 'alerts');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^dev +ServiceDown /m);
    expect(all.stdout).toMatch(/^production +ServiceDown /m);
    expect(all.stdout).not.toMatch(/^staging /m);
    expect(all.stderr).toContain("flagops alerts: staging skipped: environments/staging/environment.ts: 'monitoring.errorRatio' must be a ratio above 0 and at most 1. The value passed is: 5");
    const production = await flagops(dir, 'alerts', '--env', 'production', '--format', 'json');
    expect(production.code).toBe(0);
    expect(new Set((JSON.parse(production.stdout) as { environment: string }[]).map((a) => a.environment))).toEqual(new Set(['production']));
    const staging = await flagops(dir, 'alerts', '--env', 'staging');
    expect(staging.code).toBe(1);
    expect(staging.stdout).toBe('');
  });

  it('--rules of an environment whose dist/ has no rules says so (exit 1) instead of an empty rule file', async () => {
    const dir = tempProject();
    rmSync(join(dir, 'dist', 'staging'), { recursive: true });
    const r = await flagops(dir, 'alerts', '--rules', '--env', 'staging');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('flagops alerts: dist/staging holds no PrometheusRule: synthesize it first (`npx flagops synth --env staging`, which says what stops it), then commit dist/');
    expect((await flagops(dir, 'alerts', '--rules', '--env', 'production')).stdout).toMatch(/^groups:\n/);
  });

  it('rewrites the documentation only from every environment', async () => {
    const dir = tempProject();
    unloadableStaging(dir);
    const r = await flagops(dir, 'alerts', '--update', 'DOC.md');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("environments/staging/environment.ts: 'monitoring.errorRatio' must be a ratio");
  });
});
