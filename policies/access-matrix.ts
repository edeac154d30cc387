/**
 * Who may do what, computed from synthesized Roles, RoleBindings and ServiceAccounts (plain data
 * in, plain data out). `flagops access` prints it; the `rbac-flag-writers` policy checks it.
 */
import type { KubeObject } from '../model/manifests.ts';

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

export interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** An object someone may act on. */
export interface Target {
  /** What it is called in the output, for example `feature-flags-config`. */
  readonly label: string;
  readonly apiGroup: string;
  readonly resource: string;
  /** Object names; a rule must allow every one of them. */
  readonly names: readonly string[];
}

/** One subject's verbs on a target, with the Roles granting them. */
export interface Permission {
  readonly verbs: readonly string[];
  readonly via: readonly string[];
}

export interface SubjectAccess {
  readonly subject: Subject;
  /** For a ServiceAccount: whether pods get its token. */
  readonly automountToken?: boolean;
  /** Target label → permission (verbs empty: no access). */
  readonly access: Readonly<Record<string, Permission>>;
}

export const VERB_WORDS: Readonly<Record<string, 'read' | 'change' | 'delete'>> = {
  get: 'read',
  list: 'read',
  watch: 'read',
  create: 'change',
  update: 'change',
  patch: 'change',
  delete: 'delete',
  deletecollection: 'delete',
};
const ALL_VERBS = Object.keys(VERB_WORDS);

/** Whether a rule grants `verb` on every named object of the target. */
export function ruleAllows(rule: PolicyRule, target: Target, verb: string): boolean {
  const groups = rule.apiGroups ?? [''];
  if (!groups.includes(target.apiGroup) && !groups.includes('*')) return false;
  if (!(rule.resources ?? []).some((r) => r === target.resource || r === '*')) return false;
  if (!rule.verbs.includes(verb) && !rule.verbs.includes('*')) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  // A create or deletecollection request carries no object name, so a rule limited by
  // resourceNames never matches it (Kubernetes RBAC: these verbs cannot be restricted by name).
  if (verb === 'create' || verb === 'deletecollection') return false;
  return target.names.every((n) => names.includes(n));
}

const subjectKey = (s: Subject): string => `${s.kind}/${s.namespace ?? ''}/${s.name}`;

/**
 * Every subject named in a RoleBinding, and every ServiceAccount, with its verbs on each target.
 * Only Roles in `objects` count (a binding to a missing Role grants nothing).
 */
export function accessMatrix(objects: readonly KubeObject[], namespace: string, targets: readonly Target[]): SubjectAccess[] {
  const roles = new Map<string, PolicyRule[]>();
  for (const o of objects) if (o.kind === 'Role') roles.set(o.metadata.name, (o.rules ?? []) as PolicyRule[]);
  const subjects = new Map<string, { subject: Subject; automountToken?: boolean; roles: string[] }>();
  const entry = (s: Subject) => {
    const key = subjectKey(s);
    let e = subjects.get(key);
    if (!e) subjects.set(key, (e = { subject: s, roles: [] }));
    return e;
  };
  for (const o of objects) {
    if (o.kind !== 'ServiceAccount') continue;
    entry({ kind: 'ServiceAccount', name: o.metadata.name, namespace }).automountToken = o.automountServiceAccountToken !== false;
  }
  for (const o of objects) {
    if (o.kind !== 'RoleBinding') continue;
    const ref = o.roleRef as { kind: string; name: string };
    for (const s of (o.subjects ?? []) as Subject[]) {
      const subject = s.kind === 'ServiceAccount' ? { kind: s.kind, name: s.name, namespace: s.namespace ?? namespace } : { kind: s.kind, name: s.name };
      if (ref.kind === 'Role' && roles.has(ref.name)) entry(subject).roles.push(ref.name);
      else entry(subject);
    }
  }
  return [...subjects.values()]
    .map(({ subject, automountToken, roles: granted }) => {
      const access: Record<string, Permission> = {};
      for (const target of targets) {
        const via = new Set<string>();
        const verbs = ALL_VERBS.filter((verb) =>
          granted.some((role) => {
            const ok = roles.get(role)!.some((rule) => ruleAllows(rule, target, verb));
            if (ok) via.add(role);
            return ok;
          }),
        );
        access[target.label] = { verbs, via: [...via].sort() };
      }
      return { subject, ...(automountToken === undefined ? {} : { automountToken }), access };
    })
    .sort((a, b) => a.subject.kind.localeCompare(b.subject.kind) || a.subject.name.localeCompare(b.subject.name));
}

/** `read, change` — verbs in plain words; `no access` when none. */
export function describeVerbs(verbs: readonly string[]): string {
  const words = [...new Set(verbs.map((v) => VERB_WORDS[v] ?? v))];
  const order = ['read', 'change', 'delete'];
  return words.length === 0 ? 'no access' : words.sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(', ');
}

export const describeSubject = (s: Subject): string => `${s.kind} ${s.name}`;

/** Whether a verb list can modify an object. */
export const writes = (verbs: readonly string[]): boolean => verbs.some((v) => VERB_WORDS[v] === 'change' || VERB_WORDS[v] === 'delete');
