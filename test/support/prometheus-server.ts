/**
 * Debian's `prometheus` binary, started by a test on a free loopback port with a temporary config
 * and storage directory, scraping the given targets every second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { onFreePort } from './ports.ts';
import { onPath } from './requirements.ts';

/** The `prometheus` binary on PATH (Debian installs it in /usr/bin). */
export const findPrometheus = (): string | undefined => onPath('prometheus');


export interface ScrapeJob {
  readonly job: string;
  readonly target: string;
  /** Static labels on every series of the job (e.g. the namespace). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusServer {
  readonly url: string;
  /** Everything the server logged, for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(binary: string, jobs: readonly ScrapeJob[], timeoutMs = 20_000): Promise<PrometheusServer> {
  return onFreePort((port) => startOn(port, binary, jobs, timeoutMs));
}

async function startOn(port: number, binary: string, jobs: readonly ScrapeJob[], timeoutMs: number): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flagops-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: [j.target], labels: j.labels }] })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with code ${child.exitCode} before it was ready:\n${log}`);
    }
    try {
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready after ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, log: () => log, stop };
}

/** Instant query, for the test's own waiting (not the code under test). */
export async function instantQuery(url: string, query: string): Promise<number | undefined> {
  const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await r.json()) as { data?: { result?: { value: [number, string] }[] } };
  const v = body.data?.result?.[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}
