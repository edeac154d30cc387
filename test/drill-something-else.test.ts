/**
 * The drill fails a flag whose kill switch would change something besides that flag's entries and
 * the checksums. The sample constructs never do; these tests swap in synthesizers that do, the
 * way a plausible future construct would:
 *
 * - cascading `requires`: a flag is synthesized off wherever one of its prerequisites is not on at
 *   100%. The kill switch of a prerequisite then silently turns its dependants off too, so a
 *   reviewer approving "disable X" would also ship "disable Y".
 * - an object derived from flag states: a ConfigMap listing the flags in partial rollout (as a
 *   per-rollout alert or dashboard would be). A kill switch then changes a second object.
 *
 * It also reports a kill switch that a (swapped-in) manifest policy refuses as "rollback allowed: no".
 *
 * The committed dist/ is re-synthesized with the swapped synthesizer first, as the engineer adding
 * such a construct would commit it, so the drill's drift pre-check passes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProjectModel } from '../model/flags.ts';
import { flagops, tempProject } from './helpers.ts';

const mode = vi.hoisted(() => ({ current: 'none' as 'none' | 'cascade-requires' | 'rollout-list' | 'keep-audit-streaming' }));

// A manifest policy a compliance team might add: the SIEM stream of PHI access events must stay on
// in production. It makes that flag's kill switch a refused edit, which the drill must report.
vi.mock('../policies/manifest-policies.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../policies/manifest-policies.ts')>();
  const keepAuditStreaming: import('../policies/manifest-policy.ts').ManifestPolicy = ({ environment, files }) => {
    if (mode.current !== 'keep-audit-streaming' || environment !== 'production') return [];
    const cm = files.find((f) => f.object.kind === 'ConfigMap' && f.object.metadata.name === 'feature-flags-config')!;
    const legacy = JSON.parse((cm.object.data as Record<string, string>)['feature_flags.json']!);
    return legacy.production.audit_log_streaming_enabled
      ? []
      : [{ file: cm.path, line: 1, col: 1, severity: 'error', rule: 'audit-streaming-required', message: 'audit_log_streaming_enabled must stay on in production (HIPAA 164.312(b))' }];
  };
  return {
    ...original,
    checkManifests: (manifests: Parameters<typeof original.checkManifests>[0], settings: Parameters<typeof original.checkManifests>[1]) =>
      original.checkManifests(manifests, settings, [...original.MANIFEST_POLICIES, keepAuditStreaming]),
  };
});

vi.mock('../synth/synth.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../synth/synth.ts')>();

  const cascadeRequires = (model: ProjectModel): ProjectModel => ({
    ...model,
    environments: model.environments.map((env) => {
      const full = (name: string) => env.states[name]?.enabled === true && env.states[name]?.rollout === 100;
      const states = Object.fromEntries(
        Object.entries(env.states).map(([name, s]) => {
          const prerequisitesOff = (model.catalog.flags[name]?.requires ?? []).some((r) => !full(r));
          return [name, s.enabled && prerequisitesOff ? { ...s, enabled: false } : s];
        }),
      );
      return { ...env, states };
    }),
  });

  // the four labels the labels policy asks of every object
  const ROLLOUT_LIST_LABELS = { 'app.kubernetes.io/name': 'flag-rollouts', 'app.kubernetes.io/part-of': 'pms', 'app.kubernetes.io/managed-by': 'flagops', 'app.kubernetes.io/component': 'feature-flags' };
  const synthesizeAll: typeof original.synthesizeAll = (model, only) => {
    if (mode.current === 'cascade-requires') return original.synthesizeAll(cascadeRequires(model), only);
    const manifests = original.synthesizeAll(model, only);
    if (mode.current !== 'rollout-list') return manifests;
    return manifests.map((m) => {
      const env = model.environments.find((e) => e.settings.name === m.environment)!;
      const partial = Object.entries(env.states).filter(([, s]) => s.enabled && s.rollout < 100).map(([name, s]) => `${name}=${s.rollout}`);
      const [extra] = original.renderFiles(m.environment, [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flag-rollouts', namespace: env.settings.namespace, labels: ROLLOUT_LIST_LABELS }, data: { rollouts: partial.sort().join('\n') } },
      ]);
      return { ...m, files: [...m.files, extra!].sort((a, b) => (a.path < b.path ? -1 : 1)) };
    });
  };
  return { ...original, synthesizeAll };
});

afterEach(() => {
  mode.current = 'none';
});

async function projectWith(m: typeof mode.current): Promise<string> {
  mode.current = m;
  const dir = tempProject();
  const synth = await flagops(dir, 'synth');
  expect(synth.code, synth.stdout + synth.stderr).toBe(0);
  return dir;
}

describe('flagops drill: a kill switch that changes something else', () => {
  it('fails the prerequisite whose kill switch would also turn a dependant off', async () => {
    // GIVEN flags synthesized off when a prerequisite is not at 100%, and production's
    // secure_document_upload_enabled (25%) requiring patient_portal_messaging_enabled (100%)
    const dir = await projectWith('cascade-requires');
    // WHEN drilling production
    const r = await flagops(dir, 'drill', '--env', 'production', '--no-propagation');
    // THEN the prerequisite's rollback fails, naming the other flag's entry that would change
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^patient_portal_messaging_enabled\s+on 100%\s+yes\s+1\s+yes \(1000 keys\)\s+-\s+\d+\.\d s\s+FAILED$/m);
    expect(r.stderr).toContain('patient_portal_messaging_enabled cannot be rolled back cleanly');
    expect(r.stderr).toContain(
      'changes something else: dist/production/configmap-feature-flags-config.yaml: data.flags.flagd.json (flags.secure_document_upload_enabled)',
    );
    // ... and every other flag still rolls back cleanly
    expect(r.stdout).toMatch(/^secure_document_upload_enabled\s.*\sok$/m);
    expect(r.stdout).toContain('flagops drill: production: 8 of 9 flags roll back cleanly');
  });

  it('fails every flag whose kill switch would change a second object', async () => {
    // GIVEN a second ConfigMap derived from the flags in partial rollout
    const dir = await projectWith('rollout-list');
    // WHEN drilling production
    const r = await flagops(dir, 'drill', '--env', 'production', '--json', '--no-propagation');
    // THEN the flags in partial rollout fail, naming that object; flags at 100% pass
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as { ok: boolean; flags: { flag: string; objectsChanged: string[]; unexpected: string[]; problems: string[] }[] };
    const failed = result.flags.filter((f) => f.problems.length > 0).map((f) => f.flag);
    expect(failed.sort()).toEqual(['billing_export_v2_enabled', 'e_prescribing_enabled', 'secure_document_upload_enabled', 'telehealth_appointments_enabled']);
    const telehealth = result.flags.find((f) => f.flag === 'telehealth_appointments_enabled')!;
    expect(telehealth.objectsChanged).toEqual(['dist/production/configmap-feature-flags-config.yaml', 'dist/production/configmap-flag-rollouts.yaml']);
    expect(telehealth.unexpected).toEqual(['dist/production/configmap-flag-rollouts.yaml: data.rollouts']);
  });

  it('fails the drill for a kill switch whose result a policy refuses: it goes through, but its pull request would fail', async () => {
    // GIVEN a policy that refuses turning audit_log_streaming_enabled off in production
    const dir = await projectWith('keep-audit-streaming');
    // WHEN drilling production
    const r = await flagops(dir, 'drill', '--env', 'production', '--no-propagation');
    // THEN the kill switch is not blocked (only its own entry could block it), and the drill fails for that flag with the policy's reason
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^audit_log_streaming_enabled\s+on 100%\s+yes\s+.*FAILED$/m);
    expect(r.stderr).toContain('the kill switch goes through but leaves errors its pull request would fail on: audit_log_streaming_enabled must stay on in production (HIPAA 164.312(b)) [audit-streaming-required]');
    expect(r.stdout).toContain('flagops drill: production: 8 of 9 flags roll back cleanly');
  });

  it('passes with the real synthesizer, which changes only the flag and its checksums', async () => {
    const dir = await projectWith('none');
    const r = await flagops(dir, 'drill', '--env', 'production', '--flag', 'patient_portal_messaging_enabled', 'telehealth_appointments_enabled');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 of 2 flags roll back cleanly');
  });
});
