import type { EnvironmentConfig } from '../settings.ts';

/**
 * production: keeps the existing namespace name `pms`. A flag is raised here only once it is at
 * 100% in staging, one rollout step at a time, with a ticket and a second person's approval.
 */
export default {
  namespace: 'pms',
  promotesFrom: 'staging',
  rolloutSteps: [0, 5, 25, 50, 100],
  rolloutOneStepAtATime: true,
  requireTicket: true,
  requireApproval: true,
  monitoring: {
    errorRatio: 0.05,
    p95LatencySeconds: 2,
    p99LatencySeconds: 5,
    availabilityObjective: 0.999,
    dashboardFolder: 'PMS production',
  },
  backup: { retentionDays: 30, storageClassName: 'encrypted-ssd', storageGiB: 200, scratchGiB: 100 },
  access: {
    onCallGroups: ['pms-oncall'],
    developerGroups: ['pms-developers'],
    // Filled just in time by the identity provider when on-call declares an incident.
    breakGlassGroups: ['pms-production-break-glass'],
  },
} satisfies EnvironmentConfig;
