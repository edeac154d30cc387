import type { ProjectConfig } from './settings.ts';

/**
 * Settings of the project as a whole (the shape and defaults are in environments/settings.ts,
 * `ProjectSettings`). Paths are relative to the project root.
 */
export default {
  // The OpenFeature CLI flag manifest `flagops synth` writes; the backend runs
  // `openfeature generate python --manifest <this file>` on it (docs/code-references.md).
  openFeatureManifest: 'dist/openfeature/flags.json',
  // Where the code that evaluates the flags lives, for `flagops refs`, `stale`, `status` and `diff`.
  // In a real checkout this is the backend's repository next to this one ('../pms-backend'); the
  // sample project points at the small sample backend of the tests.
  sourceFolders: ['test/fixtures/pms-backend'],
} satisfies ProjectConfig;
