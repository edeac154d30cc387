/**
 * Times `flagops audit --json` (a real process, as a user runs it) on a generated history of
 * 10,000 commits touching the flag files (AUDIT_COMMITS to change it), interleaved with one
 * unrelated commit for every four. The history is
 * written with `git fast-import` (seconds instead of minutes) into a temp dir removed afterwards.
 *
 * Run standalone: `node --import tsx bench/audit-bench.ts` (also part of `npm run bench`).
 * Prints one line with the median time; exits 1 when the audit gives the wrong number of entries
 * or takes longer than its budget (2 s for 1,000 commits, 5 s for 10,000).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { setFields } from '../common/yaml/yaml-edit.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'flagops.cjs');
/** Commits touching the flag files (AUDIT_COMMITS); the budget grows with them (issue 14: 10,000 in < 5 s). */
const FLAG_COMMITS = Number(process.env.AUDIT_COMMITS ?? 10_000);
const UNRELATED_EVERY = 4;
const BUDGET_MS = FLAG_COMMITS <= 1000 ? 2000 : 5000;
const ENVS = ['dev', 'staging', 'production'] as const;

function git(cwd: string, args: readonly string[], input?: string): string {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Builds the repository; returns the number of entries the audit must find. */
export function generateHistory(dir: string): number {
  cpSync(join(ROOT, 'environments'), join(dir, 'environments'), { recursive: true });
  // environment.ts files are ES modules, like in the repository itself
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['-c', 'user.name=Bench', '-c', 'user.email=bench@pms.example.com', 'add', '-A']);
  git(dir, ['-c', 'user.name=Bench', '-c', 'user.email=bench@pms.example.com', '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'import']);
  const texts = Object.fromEntries(ENVS.map((e) => [e, readFileSync(join(dir, 'environments', e, 'flags.yaml'), 'utf8')])) as Record<(typeof ENVS)[number], string>;
  const flags = [...texts.dev.matchAll(/^ {2}([a-z0-9_]+_enabled):$/gm)].map((m) => m[1]!);
  const chunks: string[] = [];
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  let t = Date.parse('2026-01-01T00:00:00Z') / 1000;
  let from = 'refs/heads/main^0';
  let mark = 0;
  const commit = (message: string, path: string, content: string) => {
    mark++;
    t += 60;
    chunks.push(`commit refs/heads/main\nmark :${mark}\nauthor Bench <bench@pms.example.com> ${t} +0000\ncommitter Bench <bench@pms.example.com> ${t} +0000\n${data(message)}from ${from}\nM 100644 inline ${path}\n${data(content)}`);
    from = `:${mark}`;
  };
  const enabled = new Map<string, boolean>();
  for (const env of ENVS) {
    const states = (parse(texts[env]) as { flags: Record<string, { enabled: boolean }> }).flags;
    for (const flag of flags) enabled.set(`${env}/${flag}`, states[flag]!.enabled);
  }
  for (let i = 0; i < FLAG_COMMITS; i++) {
    const env = ENVS[i % ENVS.length]!;
    const flag = flags[Math.floor(i / ENVS.length) % flags.length]!;
    const on = !enabled.get(`${env}/${flag}`);
    enabled.set(`${env}/${flag}`, on);
    texts[env] = setFields(texts[env], ['flags', flag], {
      enabled: on,
      changed_at: new Date((t + 60) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      changed_by: 'bench@pms.example.com',
      reason: `bench change ${i}`,
    });
    commit(`bench change ${i}`, `environments/${env}/flags.yaml`, texts[env]);
    if (i % UNRELATED_EVERY === 0) commit(`unrelated ${i}`, 'NOTES.md', `note ${i}\n`);
  }
  git(dir, ['fast-import', '--quiet'], chunks.join(''));
  git(dir, ['reset', '-q', '--hard', 'main']);
  // the import adds every flag in every environment; then every flag commit flips one flag's `enabled`
  return flags.length * ENVS.length + FLAG_COMMITS;
}

function run(dir: string): { ms: number; lines: number; code: number; stderr: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'audit', '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, lines: r.stdout.split('\n').filter(Boolean).length, code: r.status ?? -1, stderr: r.stderr };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.env.AUDIT_BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'flagops-audit-bench-'));
  try {
    const expected = generateHistory(dir);
    run(dir); // warm-up: builds the compiled CLI if needed
    const runs = [run(dir), run(dir), run(dir)].sort((a, b) => a.ms - b.ms);
    const median = runs[1]!;
    const ok = median.code === 0 && median.lines === expected;
    const inBudget = median.ms < BUDGET_MS;
    console.log(
      `flagops audit: ${FLAG_COMMITS} commits touching the flag files (+${Math.ceil(FLAG_COMMITS / UNRELATED_EVERY)} unrelated), ${median.lines} entries in ${median.ms.toFixed(0)} ms (median of 3, budget ${BUDGET_MS} ms: ${inBudget ? 'ok' : 'OVER'})`,
    );
    if (!ok) console.log(`  expected ${expected} entries, exit 0; got ${median.lines}, exit ${median.code}\n${median.stderr}`);
    if (!ok || !inBudget) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
