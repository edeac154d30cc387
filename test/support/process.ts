/**
 * The real `flagops` executable run asynchronously, so servers in the test process (a fake or
 * a scraped exporter) keep answering while it runs, and the test can signal it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, NOW } from '../helpers.ts';

export interface RunningFlagops {
  readonly child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  readonly done: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `flagops ...args` in `cwd`, "now" fixed to NOW, with `env` added to the test's environment. */
export function startFlagops(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningFlagops {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FLAGOPS_NOW: NOW, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr })),
  );
  return { child, stdout: () => stdout, done };
}

/** Waits until `predicate` holds, polling every 50 ms, failing after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
