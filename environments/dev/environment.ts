import type { EnvironmentConfig } from '../settings.ts';

/**
 * dev: where every flag starts. Anything goes, nothing pages; thresholds relaxed from production's
 * (the defaults of environments/settings.ts).
 */
export default {
  namespace: 'pms-dev',
  rolloutSteps: [0, 5, 10, 25, 50, 75, 100],
  monitoring: {
    pages: false,
    errorRatio: 0.1,
    elevatedErrorRatio: 0.05,
    p95LatencySeconds: 3,
    p99LatencySeconds: 8,
    flagEvaluationErrorRatio: 0.05,
    availabilityObjective: 0.99,
    cacheHitRatio: 0.4,
    cpuUtilization: 0.95,
    memoryUtilization: 0.95,
    backupMaxAgeHours: 50,
    restoreVerifyMaxAgeDays: 15,
    dashboardFolder: 'PMS dev',
  },
  backup: { retentionDays: 7 },
} satisfies EnvironmentConfig;
