/**
 * A scripted stand-in for the Prometheus HTTP API's /api/v1/query, for fast tests of
 * `flagops monitor`'s decisions (thresholds, retries, auth, reports) without a real server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SignalName = 'errorRatio' | 'p95' | 'p99' | 'flagEvaluationErrorRatio';

/** Which signal a monitor query asks for, from its PromQL. */
export function signalOf(query: string): SignalName {
  if (query.startsWith('histogram_quantile(0.95')) return 'p95';
  if (query.startsWith('histogram_quantile(0.99')) return 'p99';
  if (query.includes('feature_flag_evaluation')) return 'flagEvaluationErrorRatio';
  return 'errorRatio';
}

export interface Received {
  readonly query: string;
  readonly authorization?: string;
  /** Every request header as received (a misbehaving proxy may echo them). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Answers: a value string per signal (`"0.01"`, `"NaN"`, `"+Inf"`), `null` for an empty vector, or a raw HTTP reply. */
export type Answer = string | null | { status: number; body: string };

export interface FakePrometheus {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

export async function startFakePrometheus(answer: (signal: SignalName, n: number, req: Received) => Answer): Promise<FakePrometheus> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== '/api/v1/query') {
        res.writeHead(404).end('not found');
        return;
      }
      const query = new URLSearchParams(body).get('query') ?? url.searchParams.get('query') ?? '';
      const r: Received = { query, authorization: req.headers.authorization, headers: req.headers };
      received.push(r);
      const signal = signalOf(query);
      const a = answer(signal, received.filter((x) => signalOf(x.query) === signal).length, r);
      if (a !== null && typeof a === 'object') {
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
        return;
      }
      const result = a === null ? [] : [{ metric: {}, value: [Date.now() / 1000, a] }];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }) };
}

/** Healthy figures for every signal. */
export const healthy = (signal: SignalName): string => ({ errorRatio: '0.002', p95: '0.12', p99: '0.4', flagEvaluationErrorRatio: '0' })[signal];
