/**
 * Flag files generated from what they mean, for the semantic property of test/flag-file-fuzz.test.ts:
 * first the meaning of one environment's flag file (its flags in file order, each state with its
 * audit fields: the reference reading), then that meaning written as YAML in one of the many valid
 * ways people write it: plain, single-quoted, double-quoted or escaped strings, folded, literal or
 * continued lines, block or flow collections, indentation, key order, quoted keys, comments, blank
 * lines, document markers. Every rendering means the model under YAML 1.2 and keeps to the flag
 * files' subset (common/yaml/yaml-source.ts: no anchors, aliases, tags or directives; numbers as plain
 * decimal integers; free text as one line of printable characters).
 */
import fc from 'fast-check';
import type { FlagState } from '../../model/flag-schemas.ts';

/** What one environment's flag file means. */
export interface StatesFile {
  readonly environment: string;
  /** In file order. */
  readonly flags: readonly (readonly [name: string, state: FlagState])[];
}

/** The fields of a flag's state, in the order the rendering permutes. */
const FIELDS = ['enabled', 'rollout', 'reason', 'ticket', 'changed_by', 'changed_at', 'approved_by'] as const;
type Field = (typeof FIELDS)[number];
/** Most flags in one generated file (each has a style of its own). */
const MAX_FLAGS = 5;

// ---- the meaning -------------------------------------------------------------------------------

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const flagName = fc
  .array(word, { minLength: 1, maxLength: 4 })
  .map((words) => `${words.join('_')}_enabled`)
  .filter((name) => name.length <= 63);

/** Characters that mean something to YAML somewhere, and letters that are not ASCII (none is unsafe to print). */
const TEXT_UNITS = [...'abcXYZ019 ', ...':#\'"\\,[]{}&*!%@`|>-?~.+/()=<', 'é', 'ß', '日', '😀'];
/** Free text, among it text that YAML would read as something else unquoted. */
const freeText = fc
  .oneof(
    fc.constantFrom(
      'true', 'False', 'NULL', '~', 'yes', 'no', 'on', '25', '-7', '0x19', '0o31', '2.5e1', '+25', '025', '.inf', '.NaN', '2024-01-15', '12:30',
      '- item', '? key', 'a: b', 'key:', 'a #b', '#c', "it's", '"quoted"', '[x, y]', '{x: y}', '&a', '*a', '!t', '%p', '@at', '`b`', '|', '>',
      ' leading space', 'trailing space ', 'two  spaces', 'C:\\temp\\new', 'Gradual rollout - Phase 2 (25% of users)', 'Roll back after the outage',
    ),
    fc.string({ unit: fc.constantFrom(...TEXT_UNITS), minLength: 1, maxLength: 40 }),
    // Sentences, which YAML can write plain, folded or on continued lines
    fc.stringMatching(/^[A-Z][a-z]{0,8}( [a-z0-9()/-]{1,8}){0,6}$/),
  )
  .filter((s) => /\S/.test(s));

const atom = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const email = fc
  .tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), fc.constantFrom('.', '_', '+', '-'), fc.array(atom, { minLength: 2, maxLength: 3 }))
  .map(([local, separator, domain]) => `${local.join(separator)}@${domain.join('.')}`);
const ticket = fc.stringMatching(/^[A-Z][A-Z0-9]{0,5}-[0-9]{1,6}$/);
const timestamp = fc
  .tuple(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2030, 11, 31) }), fc.boolean())
  .map(([ms, fraction]) => (fraction ? new Date(ms).toISOString() : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')));

const state = fc.record(
  {
    enabled: fc.boolean(),
    // The production steps often, so that a parser mistaking one step for another is found quickly.
    rollout: fc.oneof(fc.constantFrom(0, 5, 25, 50, 100), fc.integer({ min: 0, max: 100 })),
    reason: freeText,
    ticket,
    changed_by: email,
    changed_at: timestamp,
    approved_by: email,
  },
  { requiredKeys: ['enabled', 'rollout', 'reason', 'changed_by', 'changed_at'] },
).map((s): FlagState => ({ ...s })); // a plain object, as a parser makes (fast-check's has no prototype)

export const statesFile: fc.Arbitrary<StatesFile> = fc.record({
  environment: fc.constantFrom('dev', 'staging', 'production'),
  flags: fc.uniqueArray(fc.tuple(flagName, state), { minLength: 1, maxLength: MAX_FLAGS, selector: ([name]) => name }),
});

// ---- how it is written -------------------------------------------------------------------------

/** How a scalar is written; one that does not fit a value or a place falls back to double quotes. */
type ScalarStyle = 'plain' | 'single' | 'double' | 'escaped' | 'folded' | 'literal' | 'continued';
type KeyStyle = 'plain' | 'single' | 'double';

interface EntryStyle {
  readonly flow: boolean;
  readonly order: readonly Field[];
  /** Per field, in {@link FIELDS} order. */
  readonly values: readonly ScalarStyle[];
  /** Per field, then the flag's name. */
  readonly keys: readonly KeyStyle[];
  /** A comment after each field's value (block style), in {@link FIELDS} order. */
  readonly comments: readonly (string | undefined)[];
  readonly commentAbove: string | undefined;
  readonly blankBefore: boolean;
}

interface FileStyle {
  readonly schemaLine: boolean;
  readonly documentStart: boolean;
  readonly documentEnd: boolean;
  readonly environmentFirst: boolean;
  /** The whole document one flow mapping; the flags mapping in flow style, on one line or one entry a line; or block style. */
  readonly layout: 'flow-document' | 'flow-line' | 'flow-lines' | 'block';
  readonly indent: number;
  readonly fieldIndent: number;
  readonly environment: ScalarStyle;
  readonly entries: readonly EntryStyle[];
}

const scalarStyle = fc.constantFrom<ScalarStyle>('plain', 'single', 'double', 'escaped', 'folded', 'literal', 'continued');
const keyStyle = fc.oneof({ weight: 4, arbitrary: fc.constant<KeyStyle>('plain') }, fc.constantFrom<KeyStyle>('single', 'double'));
const commentText = fc.string({ unit: fc.constantFrom(...TEXT_UNITS), maxLength: 20 });
const maybeComment = fc.option(commentText, { nil: undefined, freq: 3 });

const entryStyle: fc.Arbitrary<EntryStyle> = fc.record({
  flow: fc.boolean(),
  order: fc.shuffledSubarray([...FIELDS], { minLength: FIELDS.length, maxLength: FIELDS.length }),
  values: fc.array(scalarStyle, { minLength: FIELDS.length, maxLength: FIELDS.length }),
  keys: fc.array(keyStyle, { minLength: FIELDS.length + 1, maxLength: FIELDS.length + 1 }),
  comments: fc.array(maybeComment, { minLength: FIELDS.length, maxLength: FIELDS.length }),
  commentAbove: maybeComment,
  blankBefore: fc.boolean(),
});

export const fileStyle: fc.Arbitrary<FileStyle> = fc.record({
  schemaLine: fc.boolean(),
  documentStart: fc.boolean(),
  documentEnd: fc.boolean(),
  environmentFirst: fc.boolean(),
  layout: fc.oneof({ weight: 3, arbitrary: fc.constant('block' as const) }, fc.constantFrom('flow-document' as const, 'flow-line' as const, 'flow-lines' as const)),
  indent: fc.constantFrom(1, 2, 4),
  fieldIndent: fc.constantFrom(1, 2, 3, 4),
  environment: scalarStyle,
  entries: fc.array(entryStyle, { minLength: MAX_FLAGS, maxLength: MAX_FLAGS }),
});

/** Words YAML reads as something other than a string (1.2 core schema, and 1.1's booleans for good measure). */
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;
/** Text that is the same string written plain, in block and flow context alike (a conservative reading of YAML's rules). */
const PLAIN = /^[A-Za-z_][A-Za-z0-9 _.@/()+-]*(?<! )$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const plainSafe = (s: string): boolean => !RESERVED.test(s) && (PLAIN.test(s) || TIMESTAMP.test(s));
/** Text a folded or literal block scalar keeps as it is: no whitespace at either end. */
const blockSafe = (s: string): boolean => /^\S(.*\S)?$/u.test(s);
/** Where a line may be broken so that folding gives back one space: a single space between two non-spaces. */
const foldAt = (s: string): number => s.search(/(?<=\S) (?=[A-Za-z0-9])/);

/** `s` in double quotes with every character but letters and digits escaped (`\xXX`, `\uXXXX`, `\UXXXXXXXX`). */
function escaped(s: string): string {
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  const body = [...s].map((c) => {
    const code = c.codePointAt(0)!;
    if (/[A-Za-z0-9]/.test(c)) return c;
    return code < 0x100 ? `\\x${hex(code, 2)}` : code < 0x10000 ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`;
  });
  return `"${body.join('')}"`;
}

/**
 * `value` written in `style` (a style that cannot write it here falls back to double quotes);
 * `inner`: the indentation of continuation lines, undefined in flow context (one line only).
 */
function scalar(value: string | number | boolean, style: ScalarStyle, inner: string | undefined): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') {
    const forms = value ? ['true', 'True', 'TRUE'] : ['false', 'False', 'FALSE'];
    return forms[['single', 'double', 'escaped'].indexOf(style) + 1] ?? forms[0]!;
  }
  const split = foldAt(value);
  switch (style) {
    case 'plain':
      if (plainSafe(value)) return value;
      break;
    case 'single':
      return `'${value.replace(/'/g, "''")}'`;
    case 'escaped':
      return escaped(value);
    case 'folded':
      if (inner !== undefined && blockSafe(value)) return split < 0 ? `>-\n${inner}${value}` : `>-\n${inner}${value.slice(0, split)}\n${inner}${value.slice(split + 1)}`;
      break;
    case 'literal':
      if (inner !== undefined && blockSafe(value)) return `|-\n${inner}${value}`;
      break;
    case 'continued':
      if (inner !== undefined && plainSafe(value) && split > 0) return `${value.slice(0, split)}\n${inner}${value.slice(split + 1)}`;
      break;
    case 'double':
      break;
  }
  return JSON.stringify(value);
}

const key = (name: string, style: KeyStyle): string => (style === 'single' ? `'${name}'` : style === 'double' ? `"${name}"` : name);
const fieldsOf = (state: FlagState, style: EntryStyle): Field[] => style.order.filter((f) => state[f] !== undefined);

/** One flag's state as a flow mapping on one line. */
function flowEntry(state: FlagState, style: EntryStyle): string {
  return `{${fieldsOf(state, style)
    .map((f) => `${key(f, style.keys[FIELDS.indexOf(f)]!)}: ${scalar(state[f]!, style.values[FIELDS.indexOf(f)]!, undefined)}`)
    .join(', ')}}`;
}

/** The flags mapping in flow style: on one line, or one entry a line. */
function flowFlags(model: StatesFile, style: FileStyle, lines: boolean): string {
  const entries = model.flags.map(([name, s], i) => `${key(name, style.entries[i]!.keys[FIELDS.length]!)}: ${flowEntry(s, style.entries[i]!)}`);
  if (!lines) return `{${entries.join(', ')}}`;
  const pad = ' '.repeat(style.indent);
  return `{\n${entries.map((e) => `${pad}${e},\n`).join('')}${pad}}`;
}

/** The flags mapping in block style (an entry may still be a flow mapping), as lines after `flags:`. */
function blockFlags(model: StatesFile, style: FileStyle): string[] {
  const outer = ' '.repeat(style.indent);
  const inner = ' '.repeat(style.indent + style.fieldIndent);
  const lines: string[] = [];
  model.flags.forEach(([name, s], i) => {
    const entry = style.entries[i]!;
    if (entry.blankBefore) lines.push('');
    if (entry.commentAbove !== undefined) lines.push(`${outer}#${entry.commentAbove}`);
    const flagKey = `${outer}${key(name, entry.keys[FIELDS.length]!)}:`;
    if (entry.flow) {
      lines.push(`${flagKey} ${flowEntry(s, entry)}`);
      return;
    }
    lines.push(flagKey);
    for (const f of fieldsOf(s, entry)) {
      const at = FIELDS.indexOf(f);
      const value = scalar(s[f]!, entry.values[at]!, `${inner}  `);
      const comment = entry.comments[at] !== undefined && !value.includes('\n') ? ` #${entry.comments[at]}` : '';
      lines.push(`${inner}${key(f, entry.keys[at]!)}: ${value}${comment}`);
    }
  });
  return lines;
}

/** `model` written as a flag file in `style`. */
export function render(model: StatesFile, style: FileStyle): string {
  const environment = scalar(model.environment, style.environment, style.layout === 'flow-document' ? undefined : '  ');
  const lines: string[] = [];
  if (style.schemaLine) lines.push('# yaml-language-server: $schema=../../policies/flag-states.schema.json');
  if (style.documentStart) lines.push('---');
  if (style.layout === 'flow-document') {
    const parts = [`environment: ${environment}`, `flags: ${flowFlags(model, style, false)}`];
    lines.push(`{${(style.environmentFirst ? parts : parts.reverse()).join(', ')}}`);
  } else {
    const flags = style.layout === 'block' ? ['flags:', ...blockFlags(model, style)] : [`flags: ${flowFlags(model, style, style.layout === 'flow-lines')}`];
    const env = [`environment: ${environment}`];
    lines.push(...(style.environmentFirst ? [...env, ...flags] : [...flags, ...env]));
  }
  if (style.documentEnd) lines.push('...');
  return `${lines.join('\n')}\n`;
}

/** A flag file's meaning and one way of writing it. */
export const writtenStatesFile: fc.Arbitrary<{ readonly meaning: StatesFile; readonly text: string }> = fc
  .tuple(statesFile, fileStyle)
  .map(([meaning, style]) => ({ meaning, text: render(meaning, style) }));
