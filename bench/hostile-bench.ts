/**
 * Times `flagops check` (a real process, as a user runs it) on the hostile flag files of
 * test/support/hostile-inputs.ts (broken and unknown entries, invalid names, numbers and escapes,
 * duplicate keys, deep nesting, a 10 MB line, catalog flags no environment has), each at two sizes
 * parsed in full, the largest still parsed (just under the `yaml-size` limit, or 10 MB) and a tenth
 * of it, and at 10 MB (most refused unread as `yaml-size`). Parsing and the rules run in time
 * linear in the size of the files: ten times the input takes at most about ten times as long. The
 * peak memory of each run (getrusage, reported by the process itself) stays under 500 MiB, which
 * test/memory-bound.test.ts asserts; the times are only measured here, never in a test.
 *
 * Run standalone: `node --import tsx bench/hostile-bench.ts` (also part of `npm run bench`).
 * Prints one line per input; exits 1 when a run is not judged (exit 1 with a summary), grows worse
 * than linearly (more than 20x the time for 10x the input), or passes 500 MiB.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countValues, MAX_VALUES } from '../common/yaml/yaml-source.ts';
import { HOSTILE_INPUTS, type HostileInput } from '../test/support/hostile-inputs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'flagops.cjs');
const PRELOAD = join(ROOT, 'test', 'support', 'max-rss.cjs');
const TEN_MB = 10 * 1024 * 1024;
const LARGEST = Math.floor(MAX_VALUES * 0.98);
const BOUND_MIB = 500;
/** 10x the input in more than this many times the time is not linear. */
const MAX_RATIO = 20;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Run {
  /** The hostile file's size and values (common/yaml/yaml-source.ts' estimate). */
  readonly size: string;
  readonly ms: number;
  readonly mib: number;
  readonly ok: boolean;
  readonly summary: string;
}

function check(input: HostileInput, bytes: number, values?: number): Run {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-hostile-bench-'));
  const report = join(dir, 'max-rss');
  try {
    cpSync(join(ROOT, 'environments'), join(dir, 'environments'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    input.make(dir, bytes, values);
    const text = readFileSync(join(dir, input.file), 'utf8');
    const size = `${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1)} MB, ${fmt(countValues(text).count)} values`;
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-r', PRELOAD, BIN, 'check'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, NO_COLOR: '1', FLAGOPS_TEST_MAX_RSS: report },
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const summary = (r.stdout.trim().split('\n').at(-1) ?? '').replace(/^flagops check \([^)]*\): /, '');
    const mib = Number(readFileSync(report, 'utf8')) / 1024;
    return { size, ms, mib, ok: r.status === 1 && /\d+ errors?/.test(summary) && mib < BOUND_MIB, summary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let failed = false;
for (const input of HOSTILE_INPUTS) {
  const small = check(input, TEN_MB / 10, Math.floor(LARGEST / 10));
  const large = check(input, TEN_MB, LARGEST);
  const ten = check(input, TEN_MB);
  const ratio = large.ms / small.ms;
  const ok = small.ok && large.ok && ten.ok && ratio <= MAX_RATIO;
  if (!ok) failed = true;
  console.log(
    `flagops check: ${input.name}: ${fmt(small.ms)} ms (${small.size}), ${fmt(large.ms)} ms (${large.size}: ${large.summary}): x${ratio.toFixed(1)} for x10, ` +
      `peak ${fmt(large.mib)} MiB; 10 MB: ${fmt(ten.ms)} ms, peak ${fmt(ten.mib)} MiB (${ten.summary})${ok ? '' : ' FAILED'}`,
  );
}
if (failed) process.exitCode = 1;
