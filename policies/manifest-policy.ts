/** What a manifest policy is: a pure function of an environment's synthesized files and its settings. */
import type { EnvironmentSettings } from '../model/environments.ts';
import type { Locator, Finding } from '../model/findings.ts';
import type { EnvironmentManifests, ManifestFile } from '../model/manifests.ts';

/** The context a manifest policy sees: the environment and a way to locate paths in each file. */
export interface ManifestContext {
  readonly settings: EnvironmentSettings;
  locator(file: ManifestFile): Locator;
}

export type ManifestPolicy = (manifests: EnvironmentManifests, context: ManifestContext) => Finding[] | Promise<Finding[]>;

