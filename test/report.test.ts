/**
 * Free text is one printable line: `check` rejects control characters, escape sequences and
 * invisible bidi/zero-width characters in the flag files, and every printer shows what comes from
 * files, git or servers visibly escaped, so nothing reaches the terminal raw and a newline cannot
 * forge a row.
 */
import { describe, expect, it } from 'vitest';
import { printable, safeJson } from '../cli/report.ts';
import { flagops, flagopsProcess, git, read, replaceIn, tempProject, write } from './helpers.ts';

const PROD = 'environments/production/flags.yaml';
const CATALOG = 'environments/catalog.yaml';
const TELE_REASON = 'reason: Gradual rollout - Phase 2 (25% of users)';
const ESC = '\x1b';
/** A raw control character, C1 or bidi override anywhere in the output. */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f]/;

describe('printable()', () => {
  it('shows control characters, escape sequences and invisible characters escaped, on one line', () => {
    expect(printable(`a${ESC}[31mb\nc\td\r\x7f\x9b\u202e\u200be`)).toBe('a\\x1b[31mb\\nc\\td\\r\\x7f\\x9b\\u202e\\u200be');
  });

  it('leaves ordinary text, accents and emoji alone', () => {
    expect(printable('Phase 2 (25% of users) — café ✓ 🚀')).toBe('Phase 2 (25% of users) — café ✓ 🚀');
  });

  it('safeJson escapes what JSON.stringify leaves raw (DEL, C1, bidi) and stays valid JSON', () => {
    const value = { reason: `x\x7f\x9b\u202ey${ESC}` };
    const text = safeJson(value);
    expect(text).not.toMatch(RAW);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('check rejects free text that is not one printable line', () => {
  const cases: readonly [string, string][] = [
    ['an escape sequence', '"Phase 2\\e[2J"'],
    ['a newline in a quoted reason', '"Phase 2\\n| forged | row |"'],
    ['a bell', '"Phase\\a 2"'],
    ['DEL', '"Phase\\x7f 2"'],
    ['a C1 control (CSI)', '"Phase\\x9b2J"'],
    ['a right-to-left override', '"Phase \u202e2"'],
    ['a zero-width space', '"Phase\u200b 2"'],
  ];
  for (const [what, written] of cases) {
    it(`reports ${what} in a reason at the value`, async () => {
      const dir = tempProject();
      replaceIn(dir, PROD, TELE_REASON, `reason: ${written}`);
      const r = await flagops(dir, 'check');
      expect(r.code).toBe(1);
      const lineNo = read(dir, PROD).split('\n').findIndex((l) => l.includes(`reason: ${written}`)) + 1;
      expect(r.stdout).toMatch(new RegExp(`^environments/production/flags\\.yaml:${lineNo}:13: error: flag 'telehealth_appointments_enabled' field 'reason' contains .*: free text must be one line of printable characters \\[unsafe-character\\]$`, 'm'));
      expect(r.stdout).not.toMatch(RAW);
    });
  }

  it('reports a description with a tab (no C0 exceptions) and a block scalar of two lines', async () => {
    const dir = tempProject();
    replaceIn(dir, CATALOG, 'description: Patients pay statements online by card or ACH.', 'description: "Patients pay\\tonline"');
    replaceIn(dir, CATALOG, 'description: Claims export uses the v2 clearing-house format.', 'description: |\n      Claims export\n      uses v2');
    const r = await flagops(dir, 'check');
    expect(r.stdout).toMatch(/flag 'online_bill_pay_enabled' field 'description' contains a tab \(\\t\).*\[unsafe-character\]/);
    expect(r.stdout).toMatch(/flag 'billing_export_v2_enabled' field 'description' contains a line break \(\\n\).*\[unsafe-character\]/);
  });
});

describe('every printer escapes what it prints from files, git and servers', () => {
  it('check escapes a flag name holding an escape sequence in its message', async () => {
    const dir = tempProject();
    replaceIn(dir, CATALOG, '  maintenance_mode_enabled:', '  "maintenance\\e[8m_enabled":');
    const r = await flagops(dir, 'check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("invalid flag name 'maintenance\\x1b[8m_enabled'");
    expect(r.stdout).not.toMatch(RAW);
  });

  it('status shows a reason with an escape sequence escaped', async () => {
    const dir = tempProject();
    replaceIn(dir, PROD, TELE_REASON, 'reason: "Phase 2\\e]0;owned\\a\\e[2J"');
    const r = await flagops(dir, 'status', '--env', 'production');
    expect(r.stdout).toContain('Phase 2\\x1b]0;owned\\x07\\x1b[2J');
    expect(r.stdout + r.stderr).not.toMatch(RAW);
  });

  it('diff (text, markdown, json) shows a newline and an escape sequence in a reason escaped', async () => {
    const dir = tempProject({ git: true });
    replaceIn(dir, PROD, 'rollout: 25 ', 'rollout: 50 ');
    replaceIn(dir, PROD, TELE_REASON, 'reason: "Phase 3\\n| `evil_enabled` | off | on 100% |\\e[2J"');
    replaceIn(dir, PROD, 'changed_at: 2026-11-16T10:30:00Z', 'changed_at: 2026-11-20T10:30:00Z');
    for (const format of ['text', 'markdown', 'json']) {
      const r = await flagops(dir, 'diff', '--base', 'HEAD', '--format', format);
      expect(r.stdout, format).not.toMatch(RAW);
      expect(r.stdout.split('\n').filter((l) => l.includes('evil_enabled')), format).toHaveLength(1);
    }
    const text = await flagops(dir, 'diff', '--base', 'HEAD');
    expect(text.stdout).toContain('reason: Phase 3\\n| `evil_enabled` | off | on 100% |\\x1b[2J');
  });

  it('audit cannot be forged: a newline in a quoted reason stays in its row, escapes and commit authors are escaped', async () => {
    const dir = tempProject({ git: true });
    replaceIn(dir, PROD, 'rollout: 25 ', 'rollout: 50 ');
    replaceIn(dir, PROD, TELE_REASON, 'reason: "Phase 3\\n2026-11-20T00:00:00Z  production  evil_enabled  toggled  off -> on 100%\\e[2J"');
    replaceIn(dir, PROD, 'changed_at: 2026-11-16T10:30:00Z', 'changed_at: 2026-11-20T10:30:00Z');
    git(dir, 'add', '-A');
    git(dir, '-c', `user.name=Mallory${ESC}[8m`, 'commit', '-q', '-m', `Phase 3${ESC}[2J`);
    const r = await flagops(dir, 'audit', '--env', 'production', '--flag', 'telehealth_appointments_enabled');
    expect(r.stdout).not.toMatch(RAW);
    const rows = r.stdout.split('\n');
    expect(rows.filter((l) => l.includes('evil_enabled'))).toHaveLength(1);
    expect(rows.filter((l) => /^\d{4}-/.test(l))).toHaveLength(2);
    const json = await flagops(dir, 'audit', '--json');
    expect(json.stdout).not.toMatch(RAW);
    expect(json.stdout).toContain('Mallory\\u001b[8m');
  });

  it('a removal shows the commit subject escaped', async () => {
    const dir = tempProject({ git: true });
    for (const file of ['environments/dev/flags.yaml', 'environments/staging/flags.yaml', PROD]) {
      const text = read(dir, file);
      const start = text.indexOf('  maintenance_mode_enabled:');
      const end = text.indexOf('\n  read_replica_reporting_enabled:');
      write(dir, file, text.slice(0, start) + text.slice(end + 1));
    }
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `Remove TICKET-1 ${ESC}]8;;http://evil${ESC}\\link`);
    const r = await flagops(dir, 'audit', '--flag', 'maintenance_mode_enabled');
    expect(r.stdout).toContain('\\x1b]8;;http://evil\\x1b\\link');
    expect(r.stdout).not.toMatch(RAW);
  });

  it('a usage error shows the option value escaped (real process)', () => {
    const r = flagopsProcess(tempProject({ git: true }), ['audit', '--since', `${ESC}[2J${ESC}]0;x\x07`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--since expects a date (YYYY-MM-DD) or an RFC 3339 time, got '\\x1b[2J\\x1b]0;x\\x07'");
    expect(r.stderr).not.toMatch(RAW);
  });
});
