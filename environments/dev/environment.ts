import type { EnvironmentConfig } from '../settings.ts';

/** dev: where every flag starts. Anything goes, nothing pages. */
export default {
  namespace: 'pms-dev',
  rolloutSteps: [0, 5, 10, 25, 50, 75, 100],
  monitoring: { pages: false, errorRatio: 0.1, p95LatencySeconds: 3, p99LatencySeconds: 8 },
  backup: { retentionDays: 7 },
} satisfies EnvironmentConfig;
