/**
 * Generates a flagops project with N flags across dev, staging and production, in a believable
 * state (every rule holds): the sample's environment.ts files, a catalog and three flag files.
 * Deterministic: the same N gives the same files.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TYPES = ['release', 'experiment', 'ops', 'permission'] as const;
const TEAMS = ['team-scheduling', 'team-clinical', 'team-billing', 'team-platform', 'team-security', 'team-patient-experience'];

/** A small deterministic PRNG (mulberry32), so generated projects are reproducible. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateProject(dir: string, count: number, repoRoot: string): void {
  mkdirSync(join(dir, 'environments'), { recursive: true });
  cpSync(join(repoRoot, 'environments', 'settings.ts'), join(dir, 'environments', 'settings.ts'));
  for (const env of ['dev', 'staging', 'production']) {
    mkdirSync(join(dir, 'environments', env), { recursive: true });
    cpSync(join(repoRoot, 'environments', env, 'environment.ts'), join(dir, 'environments', env, 'environment.ts'));
  }
  const rnd = random(count);
  const names = Array.from({ length: count }, (_, i) => `generated_feature_${String(i).padStart(5, '0')}_enabled`);
  const catalog = ['flags:'];
  // Exposure per environment, respecting the promotion order: dev >= staging's prerequisite, etc.
  const states: Record<string, string[]> = { dev: ['environment: dev', 'flags:'], staging: ['environment: staging', 'flags:'], production: ['environment: production', 'flags:'] };
  const stepsDev = [0, 5, 10, 25, 50, 75, 100];
  const steps = [0, 5, 25, 50, 100];
  names.forEach((name, i) => {
    const type = TYPES[i % TYPES.length]!;
    catalog.push(
      `  ${name}:`,
      `    description: Generated feature number ${i} for the benchmark.`,
      `    owner: ${TEAMS[i % TEAMS.length]}`,
      `    type: ${type}`,
      `    created: 2026-01-01`,
      ...(type === 'release' || type === 'experiment' ? ['    expires: 2027-12-31'] : []),
    );
    const dev = stepsDev[Math.floor(rnd() * stepsDev.length)]!;
    const staging = dev === 100 ? steps[Math.floor(rnd() * steps.length)]! : 0;
    const production = staging === 100 ? steps[Math.floor(rnd() * steps.length)]! : 0;
    for (const [env, rollout] of [['dev', dev], ['staging', staging], ['production', production]] as const) {
      states[env]!.push(
        `  ${name}:`,
        `    enabled: ${rollout > 0}`,
        `    rollout: ${rollout}`,
        `    reason: Generated state ${rollout}%`,
        `    ticket: BENCH-${i + 1}`,
        `    changed_by: bench@pms.example.com`,
        `    changed_at: 2026-02-01T00:00:00Z`,
        ...(env === 'production' ? ['    approved_by: lead@pms.example.com'] : []),
      );
    }
  });
  writeFileSync(join(dir, 'environments', 'catalog.yaml'), `${catalog.join('\n')}\n`);
  for (const [env, lines] of Object.entries(states)) writeFileSync(join(dir, 'environments', env, 'flags.yaml'), `${lines.join('\n')}\n`);
}
