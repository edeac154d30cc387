/**
 * Times `flagops check` (a real process, as a user runs it) on flag files of 100,000 entries, the
 * sizes issue 11 named: 100,000 unknown flags in production's flags.yaml, and 100,000 flags in the
 * catalog that no environment has. Every entry is a complete one (in block style, about 14 MB
 * per file, under the 16 MiB limit), so each reports exactly one finding per rule (unknown-flag;
 * missing-flag-state in each environment). Parsing and the rules
 * run in time linear in the size of the files: this is seconds (it was hours, quadratic).
 *
 * Run standalone: `node --import tsx bench/hostile-bench.ts` (also part of `npm run bench`).
 * Prints one line per case; exits 1 when a case gives the wrong findings or exceeds its budget.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'flagops.cjs');
const N = 100_000;
const BUDGET_MS = 60_000;

const names = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix}_${i}_enabled`);

const CASES = [
  {
    name: `${N} unknown flags in production/flags.yaml`,
    expect: `${N + 15} errors`,
    prepare: (dir: string) =>
      writeFileSync(
        join(dir, 'environments/production/flags.yaml'),
        `environment: production\nflags:\n${names('ghost')
          .map((n) => `  ${n}:\n    enabled: false\n    rollout: 0\n    reason: Unknown\n    ticket: T-1\n    changed_by: a@pms.io\n    changed_at: 2026-01-01T00:00:00Z\n`)
          .join('')}`,
      ),
  },
  {
    name: `${N} catalog flags missing from every environment`,
    expect: `${3 * N} errors`,
    prepare: (dir: string) =>
      appendFileSync(
        join(dir, 'environments/catalog.yaml'),
        names('extra')
          .map((n) => `  ${n}:\n    description: A flag no environment has.\n    owner: team-platform\n    type: ops\n    created: 2026-01-01\n`)
          .join(''),
      ),
  },
];

let failed = false;
for (const c of CASES) {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-hostile-bench-'));
  try {
    cpSync(join(ROOT, 'environments'), join(dir, 'environments'), { recursive: true });
    c.prepare(dir);
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, 'check'], { cwd: dir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const summary = r.stdout.trim().split('\n').at(-1) ?? '';
    const ok = r.status === 1 && summary.includes(c.expect) && ms < BUDGET_MS;
    if (!ok) failed = true;
    console.log(`flagops check: ${c.name}: ${summary.replace(/^flagops check: /, '')} in ${ms.toFixed(0)} ms (budget ${BUDGET_MS / 1000} s)${ok ? '' : ' FAILED'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (failed) process.exitCode = 1;
