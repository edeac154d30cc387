/**
 * Notes about many flags, as a reader wants them: notes that say the same thing of different flags
 * (the same rule, the same words once the flag's own name and its percentages are set aside) are one
 * line naming every flag, with what differs per flag in parentheses; a note of its own stays as it is.
 *
 *   12 flags: flag '<flag>' is on <N%> in staging while dev has it off; it must be on 100% in dev first [promotion-order]:
 *     telehealth_appointments_enabled (100%), appointment_waitlist_enabled (25%), ...
 */

/** One note: what it is about (a flag), its text, and the rule id it comes from. */
export interface Note {
  readonly subject: string;
  readonly message: string;
  readonly rule: string;
}

const PERCENT = /\b\d+(?:\.\d+)?%/g;
const FLAG = '<flag>';
const VARYING = '<N%>';

/** `message` with every whole-word occurrence of `subject` as {@link FLAG}. */
function ownNameSetAside(message: string, subject: string): string {
  const escaped = subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'g'), FLAG);
}

/** `items` joined by ", " into lines of at most `width` characters (one item longer than that stays whole), each indented. */
function wrapped(items: readonly string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [i, item] of items.entries()) {
    const piece = i < items.length - 1 ? `${item},` : item;
    if (line !== '' && indent.length + line.length + 1 + piece.length > width) {
      lines.push(`${indent}${line}`);
      line = piece;
    } else line = line === '' ? piece : `${line} ${piece}`;
  }
  if (line !== '') lines.push(`${indent}${line}`);
  return lines;
}

/** The notes as lines (two-space indent), grouped as described above, in the order they first appear. */
export function groupedNotes(notes: readonly Note[], width = 120): string[] {
  const groups = new Map<string, { rule: string; template: string; members: { note: Note; values: string[] }[] }>();
  for (const note of notes) {
    const own = ownNameSetAside(note.message, note.subject);
    const template = own.replace(PERCENT, VARYING);
    const key = `${note.rule}\0${template}`;
    const group = groups.get(key) ?? { rule: note.rule, template, members: [] };
    group.members.push({ note, values: own.match(PERCENT) ?? [] });
    groups.set(key, group);
  }
  const lines: string[] = [];
  for (const { rule, template, members } of groups.values()) {
    if (members.length === 1) {
      const { note } = members[0]!;
      lines.push(`  ${note.subject}: ${note.message} [${rule}]`);
      continue;
    }
    const first = members[0]!.values;
    const varying = first.map((_, i) => i).filter((i) => members.some((m) => m.values[i] !== first[i]));
    let at = 0;
    const text = template.replace(new RegExp(VARYING, 'g'), () => {
      const i = at++;
      return varying.includes(i) ? VARYING : first[i]!;
    });
    lines.push(`  ${members.length} flags: ${text} [${rule}]:`);
    const items = members.map((m) => (varying.length === 0 ? m.note.subject : `${m.note.subject} (${varying.map((i) => m.values[i]).join(', ')})`));
    lines.push(...wrapped(items, '    ', width));
  }
  return lines;
}
