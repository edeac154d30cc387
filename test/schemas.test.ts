import { describe, expect, it } from 'vitest';
import type { ValidateFunction } from 'ajv';
import { flagStatesSchema, SCHEMA_FILES } from '../model/flag-schemas.ts';
import { renderSchema, renderValidators, VALIDATORS_FILE } from '../policies/emit-schemas.ts';
import { newAjv, schemaValidator } from '../policies/schema-validation.ts';
import { read, REPO_ROOT } from './helpers.ts';

describe('policies/*.schema.json', () => {
  for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
    it(`${name} is current with model/flag-schemas.ts (run npm run schemas)`, () => {
      expect(read(REPO_ROOT, `policies/${name}`)).toBe(renderSchema(schema));
    });
    it(`${name} is a valid draft 2020-12 schema`, () => {
      expect(schemaValidator().validateSchema(JSON.parse(read(REPO_ROOT, `policies/${name}`)))).toBe(true);
    });
  }

  it('are the files the flag files point editors at', () => {
    expect(read(REPO_ROOT, 'environments/catalog.yaml')).toMatch(/^# yaml-language-server: \$schema=\.\.\/policies\/catalog\.schema\.json\n/);
    for (const env of ['dev', 'staging', 'production']) {
      expect(read(REPO_ROOT, `environments/${env}/flags.yaml`)).toMatch(/^# yaml-language-server: \$schema=\.\.\/\.\.\/policies\/flag-states\.schema\.json\n/);
    }
  });
});

describe('the precompiled validators of the flag files', () => {
  it('are current with model/flag-schemas.ts (run npm run schemas)', () => {
    expect(read(REPO_ROOT, `policies/${VALIDATORS_FILE}`)).toBe(renderValidators());
  });

  it('report exactly what ajv compiling the schema reports', async () => {
    // GIVEN an entry with several problems, validated by the generated code and by a fresh compile
    const generated = (await import('../policies/generated/flag-validators.ts')) as unknown as Record<string, ValidateFunction>;
    const entry = { enabled: 'yes', rollout: 250, reason: '', rolout: 5, changed_by: 'nobody', changed_at: 'yesterday' };
    const compiled = newAjv().compile(flagStatesSchema.properties.flags.additionalProperties);
    // THEN both fail with the same errors
    expect(generated.statesEntry!(entry)).toBe(false);
    expect(compiled(entry)).toBe(false);
    const shape = (errors: ValidateFunction['errors']) => (errors ?? []).map((e) => [e.instancePath, e.keyword, e.message]);
    expect(shape(generated.statesEntry!.errors)).toEqual(shape(compiled.errors));
  });
});
