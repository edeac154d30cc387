import type { ProjectConfig } from './settings.ts';

/**
 * Settings of the project as a whole (the shape and defaults are in environments/settings.ts,
 * `ProjectSettings`). Paths are relative to the project root.
 */
export default {
  // The OpenFeature CLI flag manifest `flagops synth` writes; the backend runs
  // `openfeature generate python --manifest <this file>` on it (docs/code-references.md).
  openFeatureManifest: 'dist/openfeature/flags.json',
  // The backend's checkout: where `flagops refs`, `stale`, `status`, `diff` and `remove
  // --keep-code-path` read the code that evaluates the flags. The sample points at a stand-in
  // (examples/pms-backend/README.md); point it at your checkout, for example '../pms-backend' next
  // to this repository. FLAGOPS_SOURCE overrides it, and --src overrides both
  // (docs/code-references.md#where-the-backend-is-checked-out).
  sourceFolders: ['examples/pms-backend'],
} satisfies ProjectConfig;
