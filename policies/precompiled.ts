/**
 * Registers the ahead-of-time validators of the flag files' schemas (policies/generated/, written
 * by `npm run schemas`) with schema-validation.ts, keyed by the very schema objects parsing passes,
 * so that no command compiles them at start-up. Imported for its effect by lib/workspace/project.ts.
 */
import type { ValidateFunction } from 'ajv';
import * as generated from './generated/flag-validators.ts';
import { catalogSchema, flagStatesSchema } from '../model/flag-schemas.ts';
import { registerPrecompiled } from './schema-validation.ts';

const v = generated as unknown as Record<string, ValidateFunction>;
registerPrecompiled(
  new Map<object, ValidateFunction>([
    [catalogSchema, v.catalog!],
    [catalogSchema.properties.flags.propertyNames, v.catalogNames!],
    [catalogSchema.properties.flags.additionalProperties, v.catalogEntry!],
    [flagStatesSchema, v.states!],
    [flagStatesSchema.properties.flags.propertyNames, v.statesNames!],
    [flagStatesSchema.properties.flags.additionalProperties, v.statesEntry!],
  ]),
);
