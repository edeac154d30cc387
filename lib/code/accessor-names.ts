/**
 * The names `openfeature generate` gives a flag's typed accessors, so `flagops refs` finds code that
 * uses them. The OpenFeature CLI (open-feature/cli, `internal/generators/func.go`) names them with
 * github.com/iancoleman/strcase v0.3.0; {@link toSnake}, {@link toScreamingSnake} and
 * {@link toLowerCamel} port its `ToSnake`, `ToScreamingSnake` and `ToLowerCamel` for ASCII keys
 * (flag keys are `[a-z0-9_]`), digits included: strcase puts a `_` between a letter and a digit, so
 * the Python method of `billing_export_v2_enabled` is `billing_export_v_2_enabled`.
 *
 * Per language (templates `python/python.tmpl`, `nodejs/nodejs.tmpl`):
 * - Python: `FlagKeys.<SCREAMING_SNAKE>`; methods `<snake>`, `<snake>_details`, `<snake>_async`,
 *   `<snake>_details_async` of the `GeneratedClient`;
 * - Node.js: `FlagKeys.<SCREAMING_SNAKE>`; methods `<lowerCamel>` and `<lowerCamel>Details`.
 */

const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isSeparator = (c: number): boolean => c === 32 || c === 95 || c === 45 || c === 46; // ' ' '_' '-' '.'

/** strcase `ToScreamingDelimited(s, '_', "", screaming)`. */
function delimited(input: string, screaming: boolean): string {
  const s = input.trim();
  let out = '';
  for (let i = 0; i < s.length; i++) {
    let v = s.charCodeAt(i);
    const vIsCap = isUpper(v);
    const vIsLow = isLower(v);
    if (vIsLow && screaming) v -= 32;
    else if (vIsCap && !screaming) v += 32;
    if (i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      const vIsNum = isDigit(v);
      const nextIsCap = isUpper(next);
      const nextIsLow = isLower(next);
      const nextIsNum = isDigit(next);
      // a delimiter where the kind of character changes (letter case, letter/digit)
      if ((vIsCap && (nextIsLow || nextIsNum)) || (vIsLow && (nextIsCap || nextIsNum)) || (vIsNum && (nextIsCap || nextIsLow))) {
        if (vIsCap && nextIsLow && i > 0 && isUpper(s.charCodeAt(i - 1))) out += '_';
        out += String.fromCharCode(v);
        if (vIsLow || vIsNum || nextIsNum) out += '_';
        continue;
      }
    }
    out += isSeparator(v) ? '_' : String.fromCharCode(v);
  }
  return out;
}

/** strcase `ToSnake`: the Python method name. */
export const toSnake = (s: string): string => delimited(s, false);

/** strcase `ToScreamingSnake`: the `FlagKeys` constant. */
export const toScreamingSnake = (s: string): string => delimited(s, true);

/** strcase `ToLowerCamel` (the CLI's template function `ToCamel`): the Node.js method name. */
export function toLowerCamel(input: string): string {
  const s = input.trim();
  let out = '';
  let capNext = false;
  let prevIsCap = false;
  for (let i = 0; i < s.length; i++) {
    let v = s.charCodeAt(i);
    const vIsCap = isUpper(v);
    const vIsLow = isLower(v);
    if (capNext) {
      if (vIsLow) v -= 32;
    } else if (i === 0) {
      if (vIsCap) v += 32;
    } else if (prevIsCap && vIsCap) {
      v += 32;
    }
    prevIsCap = vIsCap;
    if (vIsCap || vIsLow) {
      out += String.fromCharCode(v);
      capNext = false;
    } else if (isDigit(v)) {
      out += String.fromCharCode(v);
      capNext = true;
    } else {
      capNext = isSeparator(v);
    }
  }
  return out;
}

/** The identifiers generated code uses for one flag key. */
export interface AccessorNames {
  /** `FlagKeys.<constant>` (Python and Node.js). */
  readonly constant: string;
  /** Every method of the generated client: Python's four, Node.js' two. */
  readonly methods: readonly string[];
}

export function accessorNames(key: string): AccessorNames {
  const snake = toSnake(key);
  const camel = toLowerCamel(key);
  return {
    constant: toScreamingSnake(key),
    methods: [snake, `${snake}_details`, `${snake}_async`, `${snake}_details_async`, camel, `${camel}Details`],
  };
}
