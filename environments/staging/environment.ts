import type { EnvironmentConfig } from '../settings.ts';

/**
 * staging: a flag is raised here only once it is at 100% in dev. Pages like production, with the
 * relaxed thresholds below (production's are the defaults of environments/settings.ts).
 */
export default {
  namespace: 'pms-staging',
  promotesFrom: 'dev',
  rolloutSteps: [0, 5, 25, 50, 100],
  requireTicket: true,
  backup: { retentionDays: 14, storageGiB: 50, scratchGiB: 25 },
  monitoring: {
    errorRatio: 0.05,
    elevatedErrorRatio: 0.02,
    p95LatencySeconds: 2.5,
    p99LatencySeconds: 6,
    availabilityObjective: 0.995,
    cacheHitRatio: 0.5,
    dashboardFolder: 'PMS staging',
  },
} satisfies EnvironmentConfig;
