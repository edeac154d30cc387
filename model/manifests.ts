/** The synthesized manifests: Kubernetes objects as plain JSON, and the files they are written to. */

/** A synthesized Kubernetes object (plain JSON, as cdk8s emits it). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** One synthesized file under dist/<env>/. */
export interface ManifestFile {
  /** Path relative to the project root: `dist/<env>/<kind>-<name>.yaml`. */
  readonly path: string;
  readonly object: KubeObject;
  readonly text: string;
}

export interface EnvironmentManifests {
  readonly environment: string;
  readonly files: readonly ManifestFile[];
}

/** A file synthesized once for the whole project (not per environment), under dist/ but outside every dist/<env>/. */
export interface ProjectFile {
  /** Path relative to the project root. */
  readonly path: string;
  readonly text: string;
}

