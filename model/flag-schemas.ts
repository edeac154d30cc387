/**
 * The JSON Schemas of the two user-facing files, written once here as `as const` objects so the
 * TypeScript types are derived from them (json-schema-to-ts) and cannot drift. The
 * `*.schema.json` files next to this one are emitted from these objects (`npm run schemas`; a
 * test fails when they are stale) and are what editors load through the
 * `# yaml-language-server: $schema=` line and what ajv validates in `flagops check`.
 *
 * `x-rule` names the stable rule id reported when a value breaks that part of the schema.
 */
import type { FromSchema } from 'json-schema-to-ts';

export const FLAG_NAME_PATTERN = '^[a-z][a-z0-9]*(_[a-z0-9]+)*_enabled$';

const flagName = {
  type: 'string',
  pattern: FLAG_NAME_PATTERN,
  maxLength: 63,
  'x-rule': 'flag-name',
  description: 'snake_case, ends in _enabled, at most 63 characters',
} as const;

const email = { type: 'string', format: 'email', 'x-rule': 'email-format' } as const;

export const catalogSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://flagops.pms.example.com/schemas/catalog.schema.json',
  title: 'flagops feature-flag catalog',
  description: 'environments/catalog.yaml: what each feature flag is.',
  type: 'object',
  additionalProperties: false,
  required: ['flags'],
  properties: {
    flags: {
      type: 'object',
      propertyNames: flagName,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['description', 'owner', 'type', 'created'],
        properties: {
          description: { type: 'string', minLength: 1, pattern: '\\S', 'x-rule': 'empty-description', description: 'What the flag turns on, for people.' },
          owner: {
            type: 'string',
            pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$',
            'x-rule': 'owner-format',
            description: 'Owning team slug, for example team-scheduling.',
          },
          type: {
            enum: ['release', 'experiment', 'ops', 'permission'],
            'x-rule': 'flag-type',
            description: 'release | experiment | ops | permission',
          },
          created: { type: 'string', format: 'date', 'x-rule': 'date-format', description: 'YYYY-MM-DD' },
          expires: {
            type: 'string',
            format: 'date',
            'x-rule': 'date-format',
            description: 'YYYY-MM-DD; required for release and experiment flags.',
          },
          requires: {
            type: 'array',
            items: flagName,
            uniqueItems: true,
            'x-rule': 'invalid-prerequisite',
            description: 'Flags that must be on at 100% wherever this flag is enabled.',
          },
        },
        if: { properties: { type: { enum: ['release', 'experiment'] } }, required: ['type'] },
        then: { required: ['expires'], 'x-rule': 'expires-required' },
      },
    },
  },
} as const;

export const flagStatesSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://flagops.pms.example.com/schemas/flag-states.schema.json',
  title: 'flagops feature-flag states of one environment',
  description: 'environments/<env>/flags.yaml: the state of every catalog flag in that environment.',
  type: 'object',
  additionalProperties: false,
  required: ['environment', 'flags'],
  properties: {
    environment: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', 'x-rule': 'environment-name' },
    flags: {
      type: 'object',
      propertyNames: flagName,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['enabled', 'rollout', 'reason', 'changed_by', 'changed_at'],
        properties: {
          enabled: { type: 'boolean' },
          rollout: {
            type: 'integer',
            minimum: 0,
            maximum: 100,
            'x-rule': 'rollout-range',
            description: 'Percent of users, integer 0..100, one of the environment\'s rollout steps.',
          },
          reason: { type: 'string', minLength: 1, pattern: '\\S', 'x-rule': 'empty-reason', description: 'Why this change.' },
          ticket: {
            type: 'string',
            pattern: '^[A-Z][A-Z0-9]*-[0-9]+$',
            'x-rule': 'ticket-format',
            description: 'Change ticket like ABC-123; required in staging and production.',
          },
          changed_by: { ...email, description: 'E-mail of who made the change.' },
          changed_at: {
            type: 'string',
            format: 'date-time',
            pattern: 'Z$',
            'x-rule': 'timestamp-format',
            description: 'RFC 3339 UTC timestamp, for example 2024-01-15T10:30:00Z.',
          },
          approved_by: { ...email, description: 'E-mail of the approver; required in production, differs from changed_by.' },
        },
      },
    },
  },
} as const;

export type Catalog = FromSchema<typeof catalogSchema>;
export type FlagDefinition = Catalog['flags'][string];
export type FlagType = FlagDefinition['type'];
export type FlagStates = FromSchema<typeof flagStatesSchema>;
export type FlagState = FlagStates['flags'][string];

/** The emitted file name of each schema, next to this module. */
export const SCHEMA_FILES = {
  'catalog.schema.json': catalogSchema,
  'flag-states.schema.json': flagStatesSchema,
} as const;

/**
 * The schemas (and the per-entry subschemas parsing uses on their own) whose validators are
 * generated ahead of time into policies/generated/flag-validators.ts: name → schema and JSON pointer.
 */
export const PRECOMPILED = {
  catalog: { schema: catalogSchema, pointer: undefined },
  catalogNames: { schema: catalogSchema, pointer: '/properties/flags/propertyNames' },
  catalogEntry: { schema: catalogSchema, pointer: '/properties/flags/additionalProperties' },
  states: { schema: flagStatesSchema, pointer: undefined },
  statesNames: { schema: flagStatesSchema, pointer: '/properties/flags/propertyNames' },
  statesEntry: { schema: flagStatesSchema, pointer: '/properties/flags/additionalProperties' },
} as const;
