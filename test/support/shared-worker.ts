/**
 * Run before every test file (vitest.config.ts `setupFiles`). Test files of the 'shared' project run
 * one after another in the same process (`isolate: false`), so whatever a file leaves behind in the
 * process would be the next file's starting point. After each file this puts back what the worker
 * started with: its environment variables, its working directory, real timers, and any stubbed
 * variable, global or spied-on function.
 */
import { afterAll, vi } from 'vitest';

interface Start {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

// Taken once per worker process, by the first file it runs, before that file's tests.
const key = Symbol.for('flagops.test.worker-start');
const holder = globalThis as { [key]?: Start };
const start: Start = (holder[key] ??= { env: { ...process.env }, cwd: process.cwd() });

afterAll(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  for (const name of Object.keys(process.env)) if (!(name in start.env)) delete process.env[name];
  for (const [name, value] of Object.entries(start.env)) if (process.env[name] !== value) process.env[name] = value;
  if (process.cwd() !== start.cwd) process.chdir(start.cwd);
  process.exitCode = undefined;
});
