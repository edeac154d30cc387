import type { EnvironmentConfig } from '../settings.ts';

/**
 * production: keeps the existing namespace name `pms`. A flag is raised here only once it is at
 * 100% in staging, one rollout step at a time, with a ticket and a second person's approval.
 * Alert thresholds: the defaults of environments/settings.ts, which are the operations template's
 * production contract (docs/monitoring.md traces each to its line); do not relax them here.
 */
export default {
  namespace: 'pms',
  promotesFrom: 'staging',
  rolloutSteps: [0, 5, 25, 50, 100],
  rolloutOneStepAtATime: true,
  // The playbook's pipeline: 5% -> 25% -> 50% -> 100% (`flagops advance`), and "wait 30-60 minutes
  // between each increase": each step stays on main this long before the next (policy soak-time).
  pipelineSteps: [5, 25, 50, 100],
  soakMinutes: 30,
  requireTicket: true,
  requireApproval: true,
  monitoring: {
    dashboardFolder: 'PMS production',
  },
  // Two flagd replicas, spread over nodes, with a PodDisruptionBudget: flag evaluation survives a node drain.
  flagServing: { replicas: 2 },
  backup: { retentionDays: 30, storageClassName: 'encrypted-ssd', storageGiB: 200, scratchGiB: 100 },
  access: {
    onCallGroups: ['pms-oncall'],
    developerGroups: ['pms-developers'],
    // Filled just in time by the identity provider when on-call declares an incident.
    breakGlassGroups: ['pms-production-break-glass'],
  },
} satisfies EnvironmentConfig;
