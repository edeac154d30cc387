/**
 * Times `flagops refs --src DIR --format json` (a real process, as a user runs it) on a generated
 * backend of 100,000 source files (Python and TypeScript, about 1.5 KB each, in 2,000 folders), one
 * in a hundred using a flag in one of the supported forms, plus a `.gitignore`d `node_modules/` of
 * 10,000 more files that must not be read. Written into a temp dir removed afterwards.
 *
 * Run standalone: `node --import tsx bench/refs-bench.ts` (also part of `npm run bench`).
 * Prints one line with the median of 3 runs (after a warm-up); exits 1 when the result is wrong or
 * the median is over the 10-second budget.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'flagops.cjs');
const FILES = 100_000;
const PER_FOLDER = 50;
const IGNORED = 10_000;
const USE_EVERY = 100;
const BUDGET_MS = 10_000;

/** Filler that looks like code and mentions values, details and enabled-ish words, as real code does. */
const PYTHON = `"""Module of the PMS backend."""
from app.db import session
from app.models import Appointment, Patient


def load(patient_id: int) -> Patient:
    row = session.get(Patient, patient_id)
    if row is None:
        raise LookupError(f"no patient {patient_id}")
    return row


def upcoming(patient: Patient) -> list[Appointment]:
    return [a for a in patient.appointments if a.starts_at > session.now() and not a.cancelled]


def details(appointment: Appointment) -> dict:
    value = {"id": appointment.id, "provider": appointment.provider_id, "room": appointment.room}
    return value
`.repeat(2);
const TYPESCRIPT = `// Component of the PMS web portal.
import { api } from '../api';

export interface Statement { id: string; total: number; dueAt: string }

export async function loadStatements(accountId: string): Promise<Statement[]> {
  const res = await api.get(\`/accounts/\${accountId}/statements\`);
  if (!res.ok) throw new Error('statements unavailable');
  return (await res.json()) as Statement[];
}

export function total(statements: readonly Statement[]): number {
  return statements.reduce((sum, s) => sum + s.total, 0);
}
`.repeat(2);

const USES = [
  (i: number) => `if client.get_boolean_value("telehealth_appointments_enabled", False, ctx):  # ${i}\n    pass\n`,
  (i: number) => `flag = flags.e_prescribing_enabled_details(ctx)  # ${i}\n`,
  (i: number) => `key = FlagKeys.BILLING_EXPORT_V_2_ENABLED  # ${i}\n`,
  (i: number) => `const on${i} = await flags.patientPortalMessagingEnabled(context);\n`,
];

/** Writes the backend; returns the number of references `refs` must find. */
export function generateBackend(dir: string): number {
  let refs = 0;
  for (let i = 0; i < FILES; i++) {
    const folder = join(dir, 'src', `pkg${Math.floor(i / PER_FOLDER / 50)}`, `mod${Math.floor(i / PER_FOLDER)}`);
    if (i % PER_FOLDER === 0) mkdirSync(folder, { recursive: true });
    const python = i % 2 === 0;
    let text = python ? PYTHON : TYPESCRIPT;
    if (i % USE_EVERY === 0) {
      text += USES[(i / USE_EVERY) % USES.length]!(i);
      refs++;
    }
    writeFileSync(join(folder, `file${i}.${python ? 'py' : 'ts'}`), text);
  }
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
  for (let i = 0; i < IGNORED; i++) {
    const folder = join(dir, 'node_modules', `dep${Math.floor(i / PER_FOLDER)}`);
    if (i % PER_FOLDER === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `index${i}.js`), `module.exports = "telehealth_appointments_enabled";\n`);
  }
  return refs;
}

interface Run {
  readonly ms: number;
  readonly code: number;
  readonly files: number;
  readonly refs: number;
  readonly ignored: number;
  readonly stderr: string;
}

function run(project: string, backend: string): Run {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'refs', '--src', backend, '--format', 'json'], { cwd: project, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  try {
    const json = JSON.parse(r.stdout) as { files: number; flags: { references: number }[]; skipped: { ignored: number } };
    return { ms, code: r.status ?? -1, files: json.files, refs: json.flags.reduce((n, f) => n + f.references, 0), ignored: json.skipped.ignored, stderr: r.stderr };
  } catch {
    return { ms, code: r.status ?? -1, files: -1, refs: -1, ignored: -1, stderr: r.stderr };
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const work = mkdtempSync(join(tmpdir(), 'flagops-refs-bench-'));
  try {
    const project = join(work, 'flagops');
    cpSync(join(ROOT, 'environments'), join(project, 'environments'), { recursive: true });
    const backend = join(work, 'backend');
    const expected = generateBackend(backend);
    run(project, backend); // warm-up: primes tsx's transform cache and the page cache
    const runs = [run(project, backend), run(project, backend), run(project, backend)].sort((a, b) => a.ms - b.ms);
    const median = runs[1]!;
    // exit 1: the flags the backend does not use are findings (warnings) and that is fine; exit 0 too
    const ok = (median.code === 0 || median.code === 1) && median.files === FILES + 1 && median.refs === expected && median.ignored === 1;
    const inBudget = median.ms < BUDGET_MS;
    console.log(
      `flagops refs: ${FILES} files (+${IGNORED} .gitignore'd), ${median.refs} references in ${median.ms.toFixed(0)} ms (median of 3, budget ${BUDGET_MS} ms: ${inBudget ? 'ok' : 'OVER'})`,
    );
    if (!ok) console.log(`  expected ${FILES + 1} files (with the .gitignore), ${expected} references, 1 ignored folder; got ${median.files}, ${median.refs}, ${median.ignored} (exit ${median.code})\n${median.stderr}`);
    if (!ok || !inBudget) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
