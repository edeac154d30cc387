/**
 * Extracts the rule groups of the PrometheusRule objects in dist/<env>/ as a plain Prometheus rule
 * file (`groups:`), the form `promtool check rules` and `promtool test rules` read. What is tested is
 * exactly what was synthesized and committed.
 */
import { parse, stringify } from 'yaml';
import { readDist } from '../workspace/dist.ts';

export interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Record<string, unknown>[] }[];
}

export interface ExtractOptions {
  /**
   * Keep the alerts' annotations. promtool's unit tests compare annotations verbatim, so tests
   * that assert labels only extract without them.
   * @default true
   */
  readonly annotations?: boolean;
}

/** The rule groups of every PrometheusRule among `texts` (dist file texts), in file order. */
export function ruleFileOf(texts: Iterable<string>, options: ExtractOptions = {}): RuleFile {
  const groups: RuleFile['groups'][number][] = [];
  for (const text of texts) {
    const object = parse(text) as { kind?: string; spec?: RuleFile } | null;
    if (object?.kind !== 'PrometheusRule') continue;
    for (const group of object.spec?.groups ?? []) {
      const rules = options.annotations === false ? group.rules.map(({ annotations: _, ...rule }) => rule) : group.rules;
      groups.push({ ...group, rules });
    }
  }
  return { groups };
}

/** The rule file of one environment's committed dist/<env>/, as YAML text. */
export function extractRules(root: string, environment: string, options: ExtractOptions = {}): string {
  return ruleFileText(ruleFileOf(readDist(root, environment).values(), options));
}

/** A rule file as YAML text. */
export const ruleFileText = (file: RuleFile): string => stringify(file, { lineWidth: 0 });
