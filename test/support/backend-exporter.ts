/**
 * A stand-in for the PMS backend's /metrics: `http_requests_total{status}`,
 * `http_request_duration_seconds` (histogram) and the OpenFeature evaluation counters, with a
 * traffic profile the test controls (requests per second, share of 5xx, latency). Counters
 * advance with wall time at each scrape, like a real server under steady load.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TrafficProfile {
  /** Requests per second. */
  readonly rps: number;
  /** Share of requests answered 500 (0..1). */
  readonly errorRatio: number;
  /** Latency of every request, seconds. */
  readonly latencySeconds: number;
  /** Share of flag evaluations that fail (0..1). */
  readonly flagErrorRatio: number;
}

export const HEALTHY: TrafficProfile = { rps: 200, errorRatio: 0.002, latencySeconds: 0.08, flagErrorRatio: 0 };

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface BackendExporter {
  /** `127.0.0.1:PORT`, for a scrape config. */
  readonly target: string;
  /** Changes the traffic from now on. */
  setProfile(p: TrafficProfile): void;
  /** How many times /metrics was scraped. */
  scrapes(): number;
  close(): Promise<void>;
}

export async function startBackendExporter(flag: string, profile: TrafficProfile = HEALTHY): Promise<BackendExporter> {
  let current = profile;
  let last = Date.now();
  let scrapes = 0;
  const requests = { ok: 0, error: 0 };
  const buckets = BUCKETS.map(() => 0);
  let count = 0;
  let sum = 0;
  const flagEvals = { total: 0, errors: 0 };

  const advance = () => {
    const now = Date.now();
    const n = ((now - last) / 1000) * current.rps;
    last = now;
    requests.error += n * current.errorRatio;
    requests.ok += n * (1 - current.errorRatio);
    BUCKETS.forEach((le, i) => {
      if (current.latencySeconds <= le) buckets[i]! += n;
    });
    count += n;
    sum += n * current.latencySeconds;
    flagEvals.total += n;
    flagEvals.errors += n * current.flagErrorRatio;
  };

  const metrics = (): string =>
    [
      '# TYPE http_requests_total counter',
      `http_requests_total{status="200"} ${requests.ok}`,
      `http_requests_total{status="500"} ${requests.error}`,
      '# TYPE http_request_duration_seconds histogram',
      ...BUCKETS.map((le, i) => `http_request_duration_seconds_bucket{le="${le}"} ${buckets[i]}`),
      `http_request_duration_seconds_bucket{le="+Inf"} ${count}`,
      `http_request_duration_seconds_sum ${sum}`,
      `http_request_duration_seconds_count ${count}`,
      '# TYPE feature_flag_evaluation_requests_total counter',
      `feature_flag_evaluation_requests_total{feature_flag_key="${flag}"} ${flagEvals.total}`,
      '# TYPE feature_flag_evaluation_error_total counter',
      `feature_flag_evaluation_error_total{feature_flag_key="${flag}"} ${flagEvals.errors}`,
      '',
    ].join('\n');

  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrapes++;
    advance();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    target: `127.0.0.1:${port}`,
    setProfile: (p) => {
      advance();
      current = p;
    },
    scrapes: () => scrapes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
