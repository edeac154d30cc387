/**
 * Extracts the rule groups of the PrometheusRule objects in dist/<env>/ as a plain Prometheus rule
 * file (`groups:`), the form `promtool check rules` and `promtool test rules` read. What is tested is
 * exactly what was synthesized and committed.
 */
import { parse, stringify } from 'yaml';
import { readDist } from './dist.ts';

export interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Record<string, unknown>[] }[];
}

/** The rule groups of every PrometheusRule among `texts` (dist file texts), in file order. */
export function ruleFileOf(texts: Iterable<string>): RuleFile {
  const groups: RuleFile['groups'][number][] = [];
  for (const text of texts) {
    const object = parse(text) as { kind?: string; spec?: RuleFile } | null;
    if (object?.kind === 'PrometheusRule') groups.push(...(object.spec?.groups ?? []));
  }
  return { groups };
}

/** The rule file of one environment's committed dist/<env>/, as YAML text. */
export function extractRules(root: string, environment: string): string {
  return stringify(ruleFileOf(readDist(root, environment).values()), { lineWidth: 0 });
}
