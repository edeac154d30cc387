/**
 * RBAC policies that need the effect of Roles and RoleBindings together, computed by lib/access.ts
 * (the per-object rules are JSON Schemas: policies/rbac.schema.json).
 */
import { ACCESS_NAMES } from '../constructs/access-control.ts';
import { accessMatrix, describeSubject, ruleAllows, VERB_WORDS, type PolicyRule, type Target } from '../lib/access.ts';
import { error, type Finding } from './findings.ts';
import type { ManifestPolicy } from './manifest-policies.ts';

export const FLAG_CONFIGMAP = 'feature-flags-config';
export const flagConfigMapTarget: Target = { label: FLAG_CONFIGMAP, apiGroup: '', resource: 'configmaps', names: [FLAG_CONFIGMAP] };

const WRITE_VERBS = Object.keys(VERB_WORDS).filter((v) => VERB_WORDS[v] !== 'read');

/**
 * `rbac-flag-writers`: nobody but the deployer ServiceAccount may create, change or delete the flag
 * ConfigMap, except the environment's break-glass groups (`access.breakGlassGroups` in
 * environment.ts) through a Role whose every ConfigMap rule is scoped by resourceNames to that one
 * object. Reported at the RoleBinding subject.
 */
export const flagWritersPolicy: ManifestPolicy = ({ files }, context) => {
  const objects = files.map((f) => f.object);
  const roles = new Map(objects.filter((o) => o.kind === 'Role').map((o) => [o.metadata.name, (o.rules ?? []) as PolicyRule[]]));
  const findings: Finding[] = [];
  const breakGlassGroups = context.settings.access.breakGlassGroups;
  for (const entry of accessMatrix(objects, context.settings.namespace, [flagConfigMapTarget])) {
    const { subject } = entry;
    if (subject.kind === 'ServiceAccount' && subject.name === ACCESS_NAMES.deployer) continue;
    for (const roleName of entry.access[FLAG_CONFIGMAP]!.via) {
      const rules = roles.get(roleName) ?? [];
      const writing = rules.filter((r) => WRITE_VERBS.some((v) => ruleAllows(r, flagConfigMapTarget, v)));
      if (writing.length === 0) continue;
      const configMapRules = rules.filter((r) => (r.apiGroups ?? ['']).includes('') && (r.resources ?? []).includes('configmaps'));
      const scopedToFlags = configMapRules.every((r) => r.resourceNames?.length === 1 && r.resourceNames[0] === FLAG_CONFIGMAP);
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
          `${describeSubject(subject)} may change ${FLAG_CONFIGMAP} through Role ${roleName}: only the deployer (ServiceAccount ${ACCESS_NAMES.deployer}) writes the flag ConfigMap, and in an emergency a break-glass group (access.breakGlassGroups: ${breakGlassGroups.join(', ') || 'none'}) through a Role limited by resourceNames to [${FLAG_CONFIGMAP}]`,
        ),
      );
    }
  }
  return findings;
};
