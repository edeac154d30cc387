/**
 * common/yaml/yaml-entry.ts: one entry of a flag file found by its lines, whatever the rest of the
 * file holds; an edit of it put back with every other byte kept; and a precise "uncertain" instead
 * of a guess when the lines do not say where the entry is.
 */
import { describe, expect, it } from 'vitest';
import { crossCheck, findEntry, projectEntry, spliceEntry, type EntryLookup } from '../common/yaml/yaml-entry.ts';
import { setFields } from '../common/yaml/yaml-edit.ts';
import { read, REPO_ROOT } from './helpers.ts';

const FILE = 'environments/production/flags.yaml';
const find = (text: string, key: string): EntryLookup => findEntry(text, 'flags', key, FILE);

function found(text: string, key: string) {
  const r = find(text, key);
  if (!('found' in r)) throw new Error(`expected the entry ${key}: ${JSON.stringify(r)}`);
  return r.found;
}

function uncertain(text: string, key: string) {
  const r = find(text, key);
  if (!('uncertain' in r)) throw new Error(`expected an uncertain entry ${key}: ${JSON.stringify(r)}`);
  return r.uncertain;
}

describe('findEntry', () => {
  it('finds an entry from its key line to its last field, its own comments in, the comments after it out', () => {
    const text = read(REPO_ROOT, FILE);
    // sms_appointment_reminders_enabled opens with a comment line
    expect(found(text, 'sms_appointment_reminders_enabled')).toEqual({ parentLine: 7, keyLine: 23, lastLine: 30, indent: 2 });
    const catalog = read(REPO_ROOT, 'environments/catalog.yaml');
    // followed by a blank line and the `# --- Clinical` comment, which belong to the gap
    expect(findEntry(catalog, 'flags', 'sms_appointment_reminders_enabled', 'environments/catalog.yaml')).toEqual({ found: { parentLine: 6, keyLine: 21, lastLine: 26, indent: 2 } });
  });

  it('is not fooled by a line of another entry that looks like the key: a block scalar, a deeper quoted line', () => {
    const text = ['flags:', '  a_enabled:', '    reason: |', '      b_enabled:', '    ticket: "x', '      b_enabled: y"', '  b_enabled:', '    enabled: true', ''].join('\n');
    expect(found(text, 'b_enabled')).toMatchObject({ keyLine: 7, lastLine: 8 });
  });

  it('reads a quoted key, CRLF line endings and a byte-order mark, and an edit goes back with every other byte kept', () => {
    const text = '\uFEFF# states\r\nenvironment: production\r\nflags:\r\n  "a_enabled":\r\n    enabled: true   # on\r\n    rollout: 5\r\n  b_enabled: {\r\n';
    const entry = found(text, 'a_enabled');
    expect(entry).toEqual({ parentLine: 3, keyLine: 4, lastLine: 6, indent: 2 });
    const projected = projectEntry(text, 'flags', entry);
    expect(projected).toBe('\r\n\r\nflags:\r\n  "a_enabled":\r\n    enabled: true   # on\r\n    rollout: 5\r\n\r\n');
    const edited = setFields(projected, ['flags', 'a_enabled'], { enabled: false, reason: 'off' });
    const spliced = spliceEntry(text, entry, projected, edited);
    expect(spliced.text).toBe('\uFEFF# states\r\nenvironment: production\r\nflags:\r\n  "a_enabled":\r\n    enabled: false  # on\r\n    rollout: 5\r\n    reason: off\r\n  b_enabled: {\r\n');
    expect(spliced.entry).toEqual({ ...entry, lastLine: 7 });
  });

  it('lists the names its lines show when the entry is absent', () => {
    expect(find('flags:\n  a_enabled:\n    enabled: true\n  b_enabled: {}\n', 'c_enabled')).toEqual({ absent: true, names: ['a_enabled', 'b_enabled'] });
  });

  it('says what makes the entry uncertain, where, and what to do, instead of guessing', () => {
    const entry = ['  a_enabled:', '    enabled: true', '    rollout: 5'];
    const cases: [string[], number, string][] = [
      [['flags:', ...entry, ...entry], 5, "'a_enabled' has 2 entries (lines 2, 5): keep one, delete the others"],
      [['flags:', '  a_enabled:', '<<<<<<< HEAD', '    enabled: true', '=======', '    enabled: false', '>>>>>>> b', '    rollout: 5'], 3, "a git merge conflict (lines 3-7) runs through the entry 'a_enabled' (lines 2-8)"],
      [['<<<<<<< HEAD', 'flags:', '=======', 'flag:', '>>>>>>> b', ...entry], 1, "a git merge conflict (lines 1-5) lies between 'flags:' (line 2) and the entry 'a_enabled' (line 6); resolve it"],
      [['<<<<<<< HEAD', 'flags:', '=======', 'flags:', '>>>>>>> b', ...entry], 1, "a git merge conflict (lines 1-5) holds 'flags:' (line 4), above the entry 'a_enabled' (line 6); resolve it"],
      [['flags:', '  b_enabled:', '    enabled: true', '\ta_enabled:', '    enabled: true'], 4, "the entry 'a_enabled' is indented with a tab"],
      [['flags:', '    b_enabled: {}', '  a_enabled:', '    enabled: true'], 3, "the entry 'a_enabled' is indented by 2 spaces, the entries of 'flags:' by 4"],
      [['flags:', '  b_enabled: {}', 'stray', ...entry], 3, `line 3 ("stray") starts at column 1 between 'flags:' (line 1) and the entry 'a_enabled' (line 4)`],
      [['flags:', '  a_enabled:', '    enabled: true', ' stray: [', '    rollout: 5', '  b_enabled: {}'], 4, `line 4 (" stray: [") is indented less than the entries of 'flags:', and the lines after it (from line 5) are indented like the fields of 'a_enabled'`],
    ];
    for (const [lines, line, message] of cases) {
      const u = uncertain(lines.join('\n'), 'a_enabled');
      expect(u.message, lines.join('\n')).toContain(message);
      expect(u.line, lines.join('\n')).toBe(line);
      expect(u.file).toBe(FILE);
    }
  });

  it('is checked against YAML when the file is valid YAML: an entry inside a flow mapping is no block entry', () => {
    const text = 'flags: {\n  a_enabled: {enabled: true, rollout: 5}\n  }\n';
    expect(find(text, 'a_enabled')).toMatchObject({ absent: true });
    expect(crossCheck(text, 'flags', 'a_enabled', FILE, undefined)).toMatchObject({ line: 2, col: 3, message: "the entry 'a_enabled' is not written as a block entry under 'flags:' (its key on a line of its own, one field per line, as the other entries); write it that way" });
    // and agrees with YAML on a sound entry, or says nothing about a file that is not valid YAML
    const sound = 'flags:\n  a_enabled:\n    enabled: true\n';
    expect(crossCheck(sound, 'flags', 'a_enabled', FILE, found(sound, 'a_enabled'))).toBeUndefined();
    const broken = 'flags:\n  a_enabled:\n    enabled: true\n  b_enabled: [\n';
    expect(crossCheck(broken, 'flags', 'a_enabled', FILE, found(broken, 'a_enabled'))).toBeUndefined();
  });
});
