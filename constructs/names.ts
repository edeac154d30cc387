/**
 * The names of the flag ConfigMaps, without the constructs that make them: commands that only need a
 * name (diff, review) import this and never load cdk8s.
 */

/** Name of the flag ConfigMap the backend mounts (the construct's default). */
export const FLAG_CONFIG_MAP = 'feature-flags-config';
/** Names of the shard ConfigMaps start with this: `feature-flags-shard-03-of-64`. */
export const FLAG_SHARD_PREFIX = 'feature-flags-shard';

/** The committed file of an environment's flag ConfigMap. */
export const flagConfigMapPath = (environment: string): string => `dist/${environment}/configmap-${FLAG_CONFIG_MAP}.yaml`;
