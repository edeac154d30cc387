/**
 * `similar-flag-name` (warning): a flag whose name has the words of another flag's name in another
 * order (`appointment_reminders_sms_enabled`, `sms_appointment_reminders_enabled`), or the same
 * words but one a letter apart (`telehealth_appointment_enabled`, `telehealth_appointments_enabled`:
 * a letter added, dropped or changed, or two neighbours swapped), is most likely a second flag for
 * the same thing. Words are the `_`-separated parts before `_enabled`. A word of fewer than four
 * letters (`sms`, `mms`, `v2`) is never taken for another, nor are two words that differ only in
 * their digits (`report2025`, `report2026`): those are told apart on purpose.
 *
 * The later flag in the catalog is reported, naming the first one it resembles. Linear in the
 * catalog: names are grouped by the words they share, and only words of one group are compared,
 * through the words one letter shorter each of them contains.
 */
import { FLAG_NAME_PATTERN } from '../model/flag-schemas.ts';
import type { CatalogModel } from '../model/flags.ts';
import { fileLocator, warning, type FindingList } from '../model/findings.ts';

export const SIMILAR_FLAG_NAME = 'similar-flag-name';

/** Words of fewer letters are never taken for another word. */
const MIN_LETTERS = 4;

/**
 * Words of one group met through the same shorter word: more than a real catalog ever has; a
 * generated one's further words are not compared (the rule stays linear whatever the input).
 */
const MAX_MET = 16;

/** A flag name that resembles an earlier one. */
export interface SimilarName {
  readonly name: string;
  /** The earlier flag it resembles. */
  readonly like: string;
  /** `the same words in another order`, or `'appointment' for 'appointments'`. */
  readonly why: string;
}

const VALID_NAME = new RegExp(FLAG_NAME_PATTERN);
const wordsOf = (name: string): string[] => name.slice(0, -'_enabled'.length).split('_');
const letters = (word: string): number => word.replace(/\d/g, '').length;

/** Each name (in order) that resembles an earlier one, with the first it resembles. Invalid names are left out. */
export function similarFlagNames(names: readonly string[]): SimilarName[] {
  const valid = names.filter((n) => n.length <= 63 && VALID_NAME.test(n));
  const found = new Map<number, { like: number; why: string }>();
  const note = (i: number, like: number, why: string): boolean => {
    const known = found.get(i);
    if (!known || like < known.like) found.set(i, { like, why });
    return true;
  };
  // The same words in another order: the same words once sorted.
  const bySorted = new Map<string, number>();
  // Every word but one, sorted: the names that could differ in that one word.
  const groups = new Map<string, { index: number; word: string }[]>();
  valid.forEach((name, index) => {
    const words = wordsOf(name);
    const sorted = [...words].sort().join('_');
    const first = bySorted.get(sorted);
    if (first === undefined) bySorted.set(sorted, index);
    else note(index, first, 'the same words in another order');
    words.forEach((word, k) => {
      if (letters(word) < MIN_LETTERS) return;
      const rest = words.filter((_, j) => j !== k).sort().join('_');
      const group = groups.get(rest);
      if (group) group.push({ index, word });
      else groups.set(rest, [{ index, word }]);
    });
  });
  for (const group of groups.values()) if (group.length > 1) compareWords(group, note);
  return [...found.entries()]
    .sort(([a], [b]) => a - b)
    .map(([i, f]) => ({ name: valid[i]!, like: valid[f.like]!, why: f.why }));
}

/**
 * The words of one group (names alike but for that word) one letter apart: two such words share a
 * word one letter shorter (or one is the other one letter shorter), so each word meets only those
 * candidates, never the whole group. A name is said to resemble the first name it is found like.
 */
function compareWords(group: readonly { index: number; word: string }[], note: (i: number, like: number, why: string) => boolean): void {
  const byShorter = new Map<string, { index: number; word: string }[]>();
  for (const entry of group) {
    const { word } = entry;
    let matched = false;
    for (let i = -1; i < word.length; i++) {
      const key = i < 0 ? word : word.slice(0, i) + word.slice(i + 1);
      const met = byShorter.get(key);
      for (const other of matched ? [] : (met ?? [])) {
        if (other.index === entry.index || !oneLetterApart(word, other.word)) continue;
        if (other.word.replace(/\d/g, '') === word.replace(/\d/g, '')) continue; // a number apart: told apart on purpose
        matched = note(entry.index, other.index, `'${word}' for '${other.word}'`);
        break;
      }
      if (!met) byShorter.set(key, [entry]);
      else if (met.length < MAX_MET && met.at(-1) !== entry) met.push(entry);
    }
  }
}

/** Whether `a` becomes `b` by one letter added, dropped or changed, or two neighbours swapped. */
export function oneLetterApart(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const restA = endA - start;
  const restB = endB - start;
  // What differs once the shared start and end are set aside: one letter on either side, or two swapped.
  if (restA + restB <= 2 && restA <= 1 && restB <= 1) return true;
  return restA === 2 && restB === 2 && a[start] === b[start + 1] && a[start + 1] === b[start];
}

/** The rule on the catalog: a warning at each flag whose name resembles an earlier flag's. */
export function checkSimilarFlagNames(catalog: CatalogModel, findings: FindingList): void {
  const at = catalog.source ?? fileLocator(catalog.file);
  for (const s of similarFlagNames(catalog.names)) {
    if (!findings.wants(catalog.file, SIMILAR_FLAG_NAME, 'warning')) {
      findings.count(catalog.file, SIMILAR_FLAG_NAME, 'warning', 1);
      continue;
    }
    const what = s.why === 'the same words in another order' ? `has the words of '${s.like}' in another order` : `looks like '${s.like}' (${s.why})`;
    findings.push(
      warning(
        at.locate(['flags', s.name], 'key'),
        SIMILAR_FLAG_NAME,
        `flag '${s.name}' ${what}: if both are meant, name them so they can be told apart; if not, use the existing flag and remove this one (flagops remove)`,
      ),
    );
  }
}
