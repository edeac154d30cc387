/**
 * RBAC policies that need the effect of Roles and RoleBindings together, computed by policies/access-matrix.ts
 * (the per-object rules are JSON Schemas: policies/rbac.schema.json).
 */
import { ACCESS_NAMES } from '../constructs/access-control.ts';
import { isFlagConfigMapName } from '../constructs/feature-flag-config-map.ts';
import { FLAG_CONFIG_MAP } from '../constructs/names.ts';
import type { KubeObject } from '../model/manifests.ts';
import { accessMatrix, describeSubject, ruleAllows, VERB_WORDS, type PolicyRule, type Target } from './access-matrix.ts';
import { error, type Finding } from '../model/findings.ts';
import type { ManifestPolicy } from './manifest-policy.ts';

export const FLAG_CONFIGMAP = FLAG_CONFIG_MAP;
export const flagConfigMapTarget: Target = { label: FLAG_CONFIGMAP, apiGroup: '', resource: 'configmaps', names: [FLAG_CONFIGMAP] };

/** The flag ConfigMaps of an environment's objects: `feature-flags-config`, then its shards in order. */
export function flagConfigMapNames(objects: readonly KubeObject[]): string[] {
  const shards = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name !== FLAG_CONFIGMAP && isFlagConfigMapName(o.metadata.name)).map((o) => o.metadata.name);
  return [FLAG_CONFIGMAP, ...shards.sort()];
}

/**
 * {@link flagConfigMapTarget} over every flag ConfigMap of `objects` (a rule must allow each): for a
 * sharded flag set, what may be done to the flags as a whole.
 */
export const flagConfigMapsTarget = (objects: readonly KubeObject[]): Target => ({ ...flagConfigMapTarget, names: flagConfigMapNames(objects) });

/** `feature-flags-config`, or `feature-flags-config and its 64 shards`. */
const describeFlagConfigMaps = (names: readonly string[]): string => (names.length === 1 ? names[0]! : `${FLAG_CONFIGMAP} and its ${names.length - 1} shards`);

const WRITE_VERBS = Object.keys(VERB_WORDS).filter((v) => VERB_WORDS[v] !== 'read');

/**
 * `rbac-flag-writers`: nobody but the deployer ServiceAccount may create, change or delete a flag
 * ConfigMap (`feature-flags-config`, or one of its shards), except the environment's break-glass
 * groups (`access.breakGlassGroups` in environment.ts) through a Role whose every ConfigMap rule is
 * scoped by resourceNames to flag ConfigMaps. Reported at the RoleBinding subject.
 */
export const flagWritersPolicy: ManifestPolicy = ({ files }, context) => {
  const objects = files.map((f) => f.object);
  const roles = new Map(objects.filter((o) => o.kind === 'Role').map((o) => [o.metadata.name, (o.rules ?? []) as PolicyRule[]]));
  const findings: Finding[] = [];
  const breakGlassGroups = context.settings.access.breakGlassGroups;
  const flagNames = flagConfigMapNames(objects);
  // One target per flag ConfigMap: writing any one of them is writing flags.
  const targets = flagNames.map((name): Target => ({ ...flagConfigMapTarget, label: name, names: [name] }));
  for (const entry of accessMatrix(objects, context.settings.namespace, targets)) {
    const { subject } = entry;
    if (subject.kind === 'ServiceAccount' && subject.name === ACCESS_NAMES.deployer) continue;
    for (const roleName of [...new Set(flagNames.flatMap((n) => entry.access[n]!.via))].sort()) {
      const rules = roles.get(roleName) ?? [];
      const written = targets.filter((t) => rules.some((r) => WRITE_VERBS.some((v) => ruleAllows(r, t, v)))).map((t) => t.label);
      if (written.length === 0) continue;
      const configMapRules = rules.filter((r) => (r.apiGroups ?? ['']).includes('') && (r.resources ?? []).includes('configmaps'));
      const scopedToFlags = configMapRules.every((r) => (r.resourceNames?.length ?? 0) > 0 && r.resourceNames!.every((n) => flagNames.includes(n)));
      const breakGlassGroup = subject.kind === 'Group' && breakGlassGroups.includes(subject.name);
      if (scopedToFlags && breakGlassGroup) continue;
      const file = files.find(
        (f) => f.object.kind === 'RoleBinding' && (f.object.roleRef as { name: string }).name === roleName && ((f.object.subjects ?? []) as { name: string }[]).some((s) => s.name === subject.name),
      );
      if (!file) continue;
      const index = ((file.object.subjects ?? []) as { kind: string; name: string }[]).findIndex((s) => s.kind === subject.kind && s.name === subject.name);
      findings.push(
        error(
          context.locator(file).locate(['subjects', index]),
          'rbac-flag-writers',
          `${describeSubject(subject)} may change ${describeFlagConfigMaps(written)} through Role ${roleName}: only the deployer (ServiceAccount ${ACCESS_NAMES.deployer}) writes the flag ConfigMap, and in an emergency a break-glass group (access.breakGlassGroups: ${breakGlassGroups.join(', ') || 'none'}) through a Role limited by resourceNames to [${describeFlagConfigMaps(flagNames)}]`,
        ),
      );
    }
  }
  return findings;
};
