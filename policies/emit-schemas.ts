/**
 * Writes policies/*.schema.json from the `as const` schemas in flag-schemas.ts
 * (`npm run schemas`). A test fails when the committed JSON files are stale.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILES } from './flag-schemas.ts';

export function renderSchema(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = dirname(fileURLToPath(import.meta.url));
  for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
    writeFileSync(join(dir, name), renderSchema(schema));
    console.log(`wrote policies/${name}`);
  }
}
