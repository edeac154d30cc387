/**
 * Every rule id on the flag files: a failing case (a small edit to the sample project) reported at
 * the exact file:line:col, and a passing case (a nearby valid edit) without that rule.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentSettings } from '../model/environments.ts';
import { diskReader, loadEnvironmentSettings, parseProject } from '../lib/workspace/project.ts';
import { overlay, validate, type Workspace } from '../lib/workspace/workspace.ts';
import type { Finding } from '../model/findings.ts';
import { NOW, REPO_ROOT } from './helpers.ts';

const CATALOG = 'environments/catalog.yaml';
const PROD = 'environments/production/flags.yaml';
const STAGING = 'environments/staging/flags.yaml';
const DEV = 'environments/dev/flags.yaml';

let settings: EnvironmentSettings[];
beforeAll(async () => {
  settings = await loadEnvironmentSettings(REPO_ROOT);
});

const disk = diskReader(REPO_ROOT);

/** Replaces the `nth` occurrence (0-based) of `from` after the line containing `after`. */
interface Edit {
  readonly file: string;
  readonly from: string;
  readonly to: string;
  /** Start searching after the first occurrence of this text (to pick one flag's entry). */
  readonly after?: string;
}

function applyEdit(text: string, e: Edit): string {
  const start = e.after ? text.indexOf(e.after) : 0;
  if (start < 0) throw new Error(`'${e.after}' not found in ${e.file}`);
  const at = text.indexOf(e.from, start);
  if (at < 0) throw new Error(`'${e.from}' not found in ${e.file} after '${e.after ?? ''}'`);
  return text.slice(0, at) + e.to + text.slice(at + e.from.length);
}

/** Runs the flag rules on the sample project with edits applied in memory; returns findings and texts. */
async function run(edits: readonly Edit[], baseEdits: readonly Edit[] = []): Promise<{ findings: readonly Finding[]; texts: Map<string, string> }> {
  const texts = new Map<string, string>();
  for (const e of edits) texts.set(e.file, applyEdit(texts.get(e.file) ?? disk.read(e.file)!, e));
  const ws: Workspace = { root: REPO_ROOT, settings };
  let base;
  if (baseEdits.length > 0) {
    const baseTexts = new Map<string, string>();
    for (const e of baseEdits) baseTexts.set(e.file, applyEdit(baseTexts.get(e.file) ?? disk.read(e.file)!, e));
    base = parseProject(settings, overlay(disk, baseTexts));
  }
  const result = await validate(ws, { reader: overlay(disk, texts), now: new Date(NOW), base });
  return { findings: result.findings, texts };
}

/** 1-based line:col of the first occurrence of `needle` (after `after`) in `text`. */
function positionOf(text: string, needle: string, after?: string): string {
  const offset = text.indexOf(needle, after ? text.indexOf(after) : 0);
  if (offset < 0) throw new Error(`'${needle}' not in text`);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

const where = (f: Finding) => `${f.file}:${f.line}:${f.col}`;

interface Case {
  readonly rule: string;
  readonly bad: readonly Edit[];
  readonly good: readonly Edit[];
  /** The finding's expected place: file and the text it points at (after `after`). */
  readonly at: { file: string; needle: string; after?: string };
  /** Base edits: the files as they were before the change (change rules). */
  readonly base?: readonly Edit[];
  readonly message?: RegExp;
}

const TELE = 'telehealth_appointments_enabled:';

/** maintenance_mode_enabled renamed in the catalog and in every environment: consistent. */
const RENAME_EVERYWHERE: readonly Edit[] = [CATALOG, DEV, STAGING, PROD].map((file) => ({
  file,
  from: '  maintenance_mode_enabled:',
  to: '  maintenance_window_enabled:',
}));

const CASES: readonly Case[] = [
  {
    rule: 'yaml-syntax',
    bad: [{ file: PROD, from: 'reason: Gradual rollout - Phase 2 (25% of users)', to: 'reason: "Gradual rollout - Phase 2 (25% of users)', after: TELE }],
    good: [{ file: PROD, from: 'reason: Gradual rollout - Phase 2 (25% of users)', to: 'reason: "Gradual rollout - Phase 2 (25% of users)"', after: TELE }],
    // The parser notices the missing quote at the end of the line.
    at: { file: PROD, needle: '\n', after: '"Gradual' },
    message: /^Missing closing "quote$/,
  },
  {
    rule: 'duplicate-key',
    bad: [{ file: PROD, from: '    enabled: true\n', to: '    enabled: true\n    enabled: false\n', after: TELE }],
    good: [{ file: PROD, from: '    enabled: true\n', to: '    enabled: false\n', after: TELE }],
    at: { file: PROD, needle: 'enabled: false', after: TELE },
    message: /duplicate key 'enabled'/,
  },
  {
    rule: 'unknown-field',
    bad: [{ file: PROD, from: '    rollout: 25', to: '    rolout: 25', after: TELE }],
    good: [{ file: PROD, from: '    rollout: 25', to: '    rollout: 50', after: TELE }],
    at: { file: PROD, needle: 'rolout', after: TELE },
    message: /unknown field 'rolout' in flag 'telehealth_appointments_enabled' \(did you mean 'rollout'\?\)/,
  },
  {
    rule: 'wrong-type',
    bad: [{ file: PROD, from: 'enabled: true', to: 'enabled: yes', after: TELE }],
    good: [{ file: PROD, from: 'enabled: true', to: 'enabled: false', after: TELE }],
    at: { file: PROD, needle: 'yes', after: TELE },
    message: /flag 'telehealth_appointments_enabled' field 'enabled' must be a boolean, got string "yes"/,
  },
  {
    rule: 'missing-field',
    bad: [{ file: PROD, from: '    reason: Gradual rollout - Phase 2 (25% of users)\n', to: '', after: TELE }],
    good: [{ file: PROD, from: '    reason: Gradual rollout - Phase 2 (25% of users)\n', to: '    reason: Phase 2\n', after: TELE }],
    at: { file: PROD, needle: TELE },
    message: /missing required field 'reason'/,
  },
  {
    rule: 'flag-name',
    bad: [
      { file: CATALOG, from: '  maintenance_mode_enabled:', to: '  MaintenanceMode:' },
      ...['dev', 'staging', 'production'].map((e) => ({ file: `environments/${e}/flags.yaml`, from: '  maintenance_mode_enabled:', to: '  MaintenanceMode:' })),
    ],
    good: [
      { file: CATALOG, from: '  maintenance_mode_enabled:', to: '  maintenance_window_enabled:' },
      ...['dev', 'staging', 'production'].map((e) => ({ file: `environments/${e}/flags.yaml`, from: '  maintenance_mode_enabled:', to: '  maintenance_window_enabled:' })),
    ],
    at: { file: CATALOG, needle: 'MaintenanceMode' },
    message: /invalid flag name 'MaintenanceMode'/,
  },
  {
    rule: 'flag-type',
    bad: [{ file: CATALOG, from: 'type: ops', to: 'type: operational' }],
    good: [{ file: CATALOG, from: 'type: ops', to: 'type: permission' }],
    at: { file: CATALOG, needle: 'operational' },
    message: /must be one of release, experiment, ops, permission/,
  },
  {
    rule: 'owner-format',
    bad: [{ file: CATALOG, from: 'owner: team-platform', to: 'owner: Team Platform' }],
    good: [{ file: CATALOG, from: 'owner: team-platform', to: 'owner: team-infra' }],
    at: { file: CATALOG, needle: 'Team Platform' },
  },
  {
    rule: 'empty-description',
    bad: [{ file: CATALOG, from: 'description: Shows the maintenance banner and rejects writes; for planned database maintenance.', to: 'description: " "' }],
    good: [{ file: CATALOG, from: 'description: Shows the maintenance banner and rejects writes; for planned database maintenance.', to: 'description: Maintenance banner.' }],
    at: { file: CATALOG, needle: '" "' },
  },
  {
    rule: 'date-format',
    bad: [{ file: CATALOG, from: 'created: 2026-01-12', to: 'created: 12/01/2026' }],
    good: [{ file: CATALOG, from: 'created: 2026-01-12', to: 'created: 2026-01-13' }],
    at: { file: CATALOG, needle: '12/01/2026' },
    message: /must be a date \(YYYY-MM-DD\)/,
  },
  {
    rule: 'expires-required',
    bad: [{ file: CATALOG, from: '    expires: 2027-02-28\n', to: '', after: 'appointment_waitlist_enabled:' }],
    good: [{ file: CATALOG, from: '    expires: 2027-02-28\n', to: '    expires: 2027-03-31\n', after: 'appointment_waitlist_enabled:' }],
    at: { file: CATALOG, needle: 'appointment_waitlist_enabled:' },
    message: /missing required field 'expires' in flag 'appointment_waitlist_enabled' \(required for experiment flags\)/,
  },
  {
    rule: 'invalid-prerequisite',
    bad: [{ file: CATALOG, from: 'requires: [patient_portal_messaging_enabled]', to: 'requires: [patient_portal_messaging_enabled, patient_portal_messaging_enabled]' }],
    good: [{ file: CATALOG, from: 'requires: [patient_portal_messaging_enabled]', to: 'requires: [patient_portal_messaging_enabled, audit_log_streaming_enabled]' }],
    at: { file: CATALOG, needle: '[patient_portal_messaging_enabled, patient' },
  },
  {
    rule: 'unknown-prerequisite',
    bad: [{ file: CATALOG, from: 'requires: [patient_portal_messaging_enabled]', to: 'requires: [patient_chat_enabled]' }],
    good: [{ file: CATALOG, from: 'requires: [patient_portal_messaging_enabled]', to: 'requires: []' }],
    at: { file: CATALOG, needle: 'patient_chat_enabled' },
    message: /requires 'patient_chat_enabled', which is not in the catalog/,
  },
  {
    rule: 'flag-expired',
    bad: [{ file: CATALOG, from: 'expires: 2027-01-31           # required', to: 'expires: 2026-11-01           # required' }],
    good: [{ file: CATALOG, from: 'expires: 2027-01-31           # required', to: 'expires: 2026-11-24           # required' }],
    at: { file: CATALOG, needle: '2026-11-01' },
  },
  {
    rule: 'environment-name',
    bad: [{ file: STAGING, from: 'environment: staging', to: 'environment: production' }],
    good: [{ file: STAGING, from: 'environment: staging', to: 'environment: "staging"' }],
    at: { file: STAGING, needle: 'production' },
    message: /declares environment 'production' but lives in environments\/staging\//,
  },
  {
    rule: 'rollout-range',
    bad: [{ file: DEV, from: 'rollout: 50', to: 'rollout: 150', after: 'ai_visit_summaries_enabled:' }],
    good: [{ file: DEV, from: 'rollout: 50', to: 'rollout: 75', after: 'ai_visit_summaries_enabled:' }],
    at: { file: DEV, needle: '150' },
  },
  {
    rule: 'empty-reason',
    bad: [{ file: DEV, from: 'reason: Secure messaging complete', to: 'reason: ""' }],
    good: [{ file: DEV, from: 'reason: Secure messaging complete', to: 'reason: Done' }],
    at: { file: DEV, needle: '""' },
  },
  {
    rule: 'ticket-format',
    bad: [{ file: STAGING, from: 'ticket: TICKET-12050', to: 'ticket: "12050"' }],
    good: [{ file: STAGING, from: 'ticket: TICKET-12050', to: 'ticket: OPS-7' }],
    at: { file: STAGING, needle: '"12050"' },
  },
  {
    rule: 'email-format',
    bad: [{ file: STAGING, from: 'changed_by: priya.shah@pms.example.com', to: 'changed_by: priya' }],
    good: [{ file: STAGING, from: 'changed_by: priya.shah@pms.example.com', to: 'changed_by: p.shah@pms.example.com' }],
    at: { file: STAGING, needle: 'priya\n' },
    message: /must be an e-mail address/,
  },
  {
    rule: 'timestamp-format',
    bad: [{ file: STAGING, from: 'changed_at: 2026-08-24T15:00:00Z', to: 'changed_at: 2026-08-24T15:00:00+02:00' }],
    good: [{ file: STAGING, from: 'changed_at: 2026-08-24T15:00:00Z', to: 'changed_at: 2026-08-24T13:00:00Z' }],
    at: { file: STAGING, needle: '2026-08-24T15:00:00+02:00' },
  },
  {
    rule: 'future-timestamp',
    bad: [{ file: STAGING, from: 'changed_at: 2026-08-24T15:00:00Z', to: 'changed_at: 2026-12-24T15:00:00Z' }],
    good: [{ file: STAGING, from: 'changed_at: 2026-08-24T15:00:00Z', to: 'changed_at: 2026-11-23T12:00:00Z' }],
    at: { file: STAGING, needle: '2026-12-24T15:00:00Z' },
  },
  {
    rule: 'missing-flag-state',
    bad: [{ file: DEV, from: '  maintenance_mode_enabled:\n    enabled: false\n', to: '  maintenance_mode_enabled_x:\n    enabled: false\n' }],
    // renamed in the catalog and every environment alike
    good: RENAME_EVERYWHERE,
    at: { file: DEV, needle: 'flags:' },
    message: /catalog flag 'maintenance_mode_enabled' has no entry in dev/,
  },
  {
    rule: 'unknown-flag',
    bad: [{ file: DEV, from: '  maintenance_mode_enabled:\n    enabled: false\n', to: '  maintenance_mode_enabled:\n    enabled: false\n    rollout: 0\n    reason: x\n    changed_by: a@pms.example.com\n    changed_at: 2026-01-12T08:00:00Z\n  ghost_enabled:\n    enabled: false\n' }],
    // declared in the catalog, with an entry in every environment
    good: [
      { file: CATALOG, from: 'flags:\n', to: 'flags:\n  ghost_enabled:\n    description: Ghost.\n    owner: team-x\n    type: ops\n    created: 2026-01-01\n' },
      ...[DEV, STAGING, PROD].map((file) => ({
        file,
        from: 'flags:\n',
        to: 'flags:\n  ghost_enabled:\n    enabled: false\n    rollout: 0\n    reason: x\n    ticket: T-1\n    changed_by: a@pms.example.com\n    changed_at: 2026-01-12T08:00:00Z\n',
      })),
    ],
    at: { file: DEV, needle: 'ghost_enabled' },
    message: /flag 'ghost_enabled' is not declared in environments\/catalog.yaml/,
  },
  {
    rule: 'rollout-step',
    bad: [{ file: STAGING, from: 'rollout: 25', to: 'rollout: 30', after: 'appointment_waitlist_enabled:' }],
    good: [{ file: STAGING, from: 'rollout: 25', to: 'rollout: 5', after: 'appointment_waitlist_enabled:' }],
    at: { file: STAGING, needle: '30' },
    message: /rollout 30 is not an allowed step in staging \(0, 5, 25, 50, 100\)/,
  },
  {
    rule: 'ticket-required',
    bad: [{ file: STAGING, from: '    ticket: TICKET-12050\n', to: '' }],
    good: [{ file: DEV, from: '    ticket: TICKET-12001\n', to: '' }],
    at: { file: STAGING, needle: TELE },
  },
  {
    rule: 'approval-required',
    bad: [{ file: PROD, from: '    approved_by: lead@pms.example.com   # required in production, must differ from changed_by\n', to: '' }],
    good: [
      { file: PROD, from: '    approved_by: lead@pms.example.com   # required in production, must differ from changed_by\n', to: '' },
      { file: PROD, from: 'enabled: true', to: 'enabled: false', after: TELE },
    ],
    at: { file: PROD, needle: TELE },
    message: /is enabled in production and needs 'approved_by'/,
  },
  {
    rule: 'four-eyes',
    bad: [{ file: PROD, from: 'approved_by: lead@pms.example.com   #', to: 'approved_by: Admin@pms.example.com   #' }],
    good: [{ file: PROD, from: 'approved_by: lead@pms.example.com   #', to: 'approved_by: cto@pms.example.com   #' }],
    at: { file: PROD, needle: 'Admin@pms.example.com' },
  },
  {
    rule: 'promotion-order',
    // A state breaking the order is a warning (for example after a kill switch upstream) ...
    bad: [{ file: STAGING, from: 'enabled: true', to: 'enabled: false', after: TELE }],
    // ... and a kill switch upstream of a flag production has off breaks nothing.
    good: [{ file: STAGING, from: 'enabled: true', to: 'enabled: false', after: 'appointment_waitlist_enabled:' }],
    at: { file: PROD, needle: '25                   #', after: TELE },
    message: /is on 25% in production while staging has it off/,
  },
  {
    rule: 'prerequisite',
    bad: [{ file: PROD, from: 'rollout: 100', to: 'rollout: 50', after: 'patient_portal_messaging_enabled:' }],
    good: [
      { file: PROD, from: 'rollout: 100', to: 'rollout: 50', after: 'patient_portal_messaging_enabled:' },
      { file: PROD, from: 'enabled: true', to: 'enabled: false', after: 'secure_document_upload_enabled:' },
    ],
    at: { file: PROD, needle: 'true', after: 'secure_document_upload_enabled:' },
    message: /requires 'patient_portal_messaging_enabled', which is on 50% in production/,
  },
];

describe('flag rules', () => {
  it('pass on the committed sample project without a finding', async () => {
    const { findings } = await run([]);
    expect(findings).toEqual([]);
  });

  for (const c of CASES) {
    describe(`[${c.rule}]`, () => {
      it('reports the problem at its exact file:line:col', async () => {
        const { findings, texts } = await run(c.bad, c.base);
        const hits = findings.filter((f) => f.rule === c.rule);
        expect(hits.length, JSON.stringify(findings, null, 1)).toBeGreaterThan(0);
        const text = texts.get(c.at.file) ?? disk.read(c.at.file)!;
        expect(hits.map(where)).toContain(`${c.at.file}:${positionOf(text, c.at.needle, c.at.after)}`);
        if (c.message) expect(hits.map((f) => f.message).join('\n')).toMatch(c.message);
      });
      if (c.good.length > 0) {
        it('accepts a valid variant of the same edit', async () => {
          const [{ findings }, baseline] = await Promise.all([run(c.good, c.base), run([])]);
          const ofRule = (fs: readonly Finding[]) => fs.filter((f) => f.rule === c.rule).map((f) => f.message);
          expect(ofRule(findings)).toEqual(ofRule(baseline.findings));
          // and the variant is valid as a whole: it adds no error of any other rule either
          const errors = (fs: readonly Finding[]) => fs.filter((f) => f.severity === 'error').map((f) => `${f.rule}: ${f.message}`);
          expect(errors(findings)).toEqual(errors(baseline.findings));
        });
      }
    });
  }

  it('reports every problem of a run, in every file, at once', async () => {
    const { findings } = await run([
      { file: PROD, from: '    rollout: 25', to: '    rolout: 25', after: TELE },
      { file: STAGING, from: 'ticket: TICKET-12050', to: 'ticket: nope' },
      { file: CATALOG, from: 'type: ops', to: 'type: operational' },
    ]);
    expect(new Set(findings.map((f) => f.rule))).toEqual(new Set(['unknown-field', 'missing-field', 'ticket-format', 'flag-type']));
  });

  it('treats a state that breaks the promotion order as a warning, never an error', async () => {
    const { findings } = await run([{ file: STAGING, from: 'enabled: true', to: 'enabled: false', after: TELE }]);
    expect(findings.filter((f) => f.rule === 'promotion-order').map((f) => f.severity)).toEqual(['warning']);
  });
});
