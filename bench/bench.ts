/**
 * `npm run bench`: times `flagops check` and `flagops synth` (real processes, as a user runs them)
 * on the sample project and on generated catalogs of 1,000 and 5,000 flags across the three
 * environments, against a bare cdk8s synth of the same flags as the baseline. Generated projects
 * live in a temp dir and are removed afterwards. Prints a markdown table, then runs
 * bench/audit-bench.ts (audit over 1,000 commits), bench/refs-bench.ts (refs over 100,000 source
 * files) and bench/hostile-bench.ts, one line each.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProject } from './generate.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'flagops.mjs');

interface Timing {
  ms: number;
  code: number;
  output: string;
}

function time(args: readonly string[], cwd: string): Timing {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** Median of `runs` timings (after one warm-up run that primes tsx's transform cache). */
function median(runs: number, args: readonly string[], cwd: string): Timing {
  time(args, cwd);
  const all = Array.from({ length: runs }, () => time(args, cwd)).sort((a, b) => a.ms - b.ms);
  return all[Math.floor(all.length / 2)]!;
}

interface Row {
  name: string;
  flags: number;
  /** Bare cdk8s synth of a plain flag ConfigMap only. */
  bareConfigMap: Timing;
  /** Bare cdk8s synth of the same EnvironmentChart flagops synthesizes: the baseline. */
  bare: Timing;
  synth: Timing;
  check: Timing;
}

function measure(name: string, flags: number, dir: string, runs: number): Row {
  const bareConfigMap = median(runs, ['--import', 'tsx', join(ROOT, 'bench', 'bare-synth.ts'), dir, 'configmap'], ROOT);
  const bare = median(runs, ['--import', 'tsx', join(ROOT, 'bench', 'bare-synth.ts'), dir, 'chart'], ROOT);
  const synth = median(runs, [BIN, 'synth'], dir);
  const check = median(runs, [BIN, 'check'], dir);
  return { name, flags, bareConfigMap, bare, synth, check };
}

const lastLine = (t: Timing) => t.output.trim().split('\n').filter((l) => !l.startsWith('created') && !l.startsWith('updated')).at(-1) ?? '';

const work = mkdtempSync(join(tmpdir(), 'flagops-bench-'));
try {
  const rows: Row[] = [];
  const sample = join(work, 'sample');
  cpSync(join(ROOT, 'environments'), join(sample, 'environments'), { recursive: true });
  rows.push(measure('sample', 15, sample, 5));
  for (const n of [1000, 5000]) {
    const dir = join(work, `gen-${n}`);
    generateProject(dir, n, ROOT);
    rows.push(measure(`generated`, n, dir, 3));
  }
  const fmt = (t: Timing) => `${t.ms.toFixed(0)} ms${t.code === 0 ? '' : ` (exit ${t.code})`}`;
  console.log(`flagops bench, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, median of runs\n`);
  console.log('| project | flags x envs | bare synth, flag ConfigMap only | bare synth, same chart (baseline) | flagops synth | flagops check | check / baseline |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.flags} x 3 | ${fmt(r.bareConfigMap)} | ${fmt(r.bare)} | ${fmt(r.synth)} | ${fmt(r.check)} | ${(r.check.ms / r.bare.ms).toFixed(2)}x |`,
    );
  }
  console.log('');
  for (const r of rows) if (r.check.code !== 0 || r.synth.code !== 0) console.log(`${r.flags} flags: ${lastLine(r.check)}\n  ${r.check.output.split('\n').find((l) => l.includes('[configmap-size]')) ?? ''}`);
  for (const name of ['audit-bench.ts', 'refs-bench.ts', 'hostile-bench.ts']) {
    const script = join(ROOT, 'bench', name);
    if (!existsSync(script)) continue;
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
