import { describe, expect, it } from 'vitest';
import { SCHEMA_FILES } from '../policies/flag-schemas.ts';
import { renderSchema } from '../policies/emit-schemas.ts';
import { schemaValidator } from '../policies/schema-validation.ts';
import { read, REPO_ROOT } from './helpers.ts';

describe('policies/*.schema.json', () => {
  for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
    it(`${name} is current with policies/flag-schemas.ts (run npm run schemas)`, () => {
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
