/**
 * A small client for the Prometheus HTTP API's instant queries (`/api/v1/query`), with basic-auth
 * or bearer-token authentication, a per-request timeout, and retries with exponential backoff on
 * transient failures that give up after a bounded time. Secrets never appear in its messages, in
 * any form (common/text/redact.ts: raw, JSON-escaped, URL-encoded, base64...), whatever the server
 * echoes, and are redacted before a long answer is cut short; an answer of
 * any other shape than the API's, or larger than {@link MAX_BODY_BYTES}, is an error.
 */
import { Redactor, redactUrl } from '../../common/text/redact.ts';

/**
 * The shortest timeout a request gets when a deadline is near: the last poll of a run still gets an
 * answer from a healthy Prometheus; a run ends at most this long after its deadline.
 */
export const MIN_REQUEST_MS = 2_000;

/** Largest answer read: an instant query of flagops' signals returns a few series. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** How to authenticate to Prometheus (or the proxy in front of it). */
export interface PrometheusAuth {
  readonly basic?: { readonly user: string; readonly password: string };
  readonly bearerToken?: string;
}

export interface PrometheusClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:9090` or `https://prometheus.example.com/prom`. Credentials in it become basic auth. */
  readonly url: string;
  readonly auth?: PrometheusAuth;
  /** Per-request timeout. @default 10s */
  readonly timeoutMs?: number;
  /** How long to keep retrying one query after its first transient failure. @default 60s */
  readonly retryForMs?: number;
  /** First backoff delay, doubled on each retry. @default 250ms */
  readonly backoffMs?: number;
  /** Longest backoff delay. @default 5s */
  readonly maxBackoffMs?: number;
  /** Told about each retry (for a progress line). */
  readonly onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  readonly clock?: Clock;
}

/** Time, injectable for tests. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** One series of an instant-query result. `value` may be NaN (no data, e.g. 0/0) or ±Infinity. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Why a query failed for good: `unreachable` (network, timeouts, 5xx, after the retries),
 * `auth` (401/403), `rejected` (Prometheus refused the query or the URL is not a Prometheus API).
 */
export type PrometheusFailure = 'unreachable' | 'auth' | 'rejected';

/** What a failed answer was: its HTTP status (when there was one), and the query it answered. */
export interface FailureDetails {
  readonly status?: number;
  /** The PromQL of the request that failed. */
  readonly query?: string;
}

export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly failure: PrometheusFailure,
    readonly details: FailureDetails = {},
  ) {
    super(message);
  }
}

class Transient extends Error {
  constructor(
    message: string,
    readonly details: FailureDetails,
  ) {
    super(message);
  }
}

/**
 * Longest excerpt of a server's text in a message: one line, this many characters at most. A
 * server that is not Prometheus (a gateway, a login page) can answer kilobytes.
 */
export const MAX_EXCERPT = 160;
/** How much of a body is looked at for its first line of text. */
const EXCERPT_WINDOW = 64 * 1024;

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export class PrometheusClient {
  /** The base URL without credentials: safe to print. */
  readonly displayUrl: string;
  private readonly endpoint: URL;
  private readonly headers: Record<string, string>;
  /** Every form of the credentials sent, for {@link redact}. */
  readonly secrets = new Redactor();
  private readonly clock: Clock;

  constructor(private readonly options: PrometheusClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new PrometheusError(`--prometheus must be an http(s) URL, got '${redactUrl(options.url)}'`, 'rejected');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new PrometheusError(`--prometheus must be an http(s) URL, got '${redactUrl(options.url)}'`, 'rejected');
    }
    let auth = options.auth ?? {};
    if (base.username || base.password) {
      this.secrets.addUrlCredentials(options.url);
      if (!auth.basic && !auth.bearerToken) {
        auth = { basic: { user: safeDecode(base.username), password: safeDecode(base.password) } };
      }
      base.username = '';
      base.password = '';
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.displayUrl = base.href.replace(/\/$/, '');
    this.endpoint = new URL('api/v1/query', base);
    this.headers = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'flagops-monitor' };
    if (auth.bearerToken) {
      this.headers.authorization = `Bearer ${auth.bearerToken}`;
      this.secrets.add(auth.bearerToken);
    } else if (auth.basic) {
      this.headers.authorization = `Basic ${Buffer.from(`${auth.basic.user}:${auth.basic.password}`).toString('base64')}`;
      this.secrets.addBasic(auth.basic.user, auth.basic.password);
    }
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Runs an instant query ("now"), retrying transient failures with exponential backoff for at
   * most `retryForMs`, and never past `deadline` (see {@link queryAll}).
   *
   * @throws PrometheusError when the query cannot be answered.
   */
  async query(promql: string, deadline?: number): Promise<Sample[]> {
    return (await this.queryAll([promql], deadline))[0]!;
  }

  /**
   * Runs instant queries at once. Transient failures are retried together, as one round: one
   * {@link PrometheusClientOptions.onRetry} call per retry, whichever and however many queries
   * failed. Retries stop after `retryForMs`, and at `deadline` (a clock time, e.g. the end of
   * `monitor --duration`): no back-off runs past it, and each request's timeout is cut to the time
   * left, but never below {@link MIN_REQUEST_MS} (or the timeout, when shorter).
   *
   * @throws PrometheusError when a query cannot be answered.
   */
  async queryAll(promqls: readonly string[], deadline?: number): Promise<Sample[][]> {
    const retryFor = this.options.retryForMs ?? 60_000;
    const maxBackoff = this.options.maxBackoffMs ?? 5_000;
    const timeout = this.options.timeoutMs ?? 10_000;
    let delay = this.options.backoffMs ?? 250;
    let firstFailure: number | undefined;
    const results: (Sample[] | undefined)[] = promqls.map(() => undefined);
    for (let attempt = 1; ; attempt++) {
      const left = deadline === undefined ? Infinity : deadline - this.clock.now();
      const requestTimeout = Math.min(timeout, Math.max(left, MIN_REQUEST_MS));
      const pending = results.flatMap((r, i) => (r === undefined ? [i] : []));
      const settled = await Promise.allSettled(pending.map((i) => this.once(promqls[i]!, requestTimeout)));
      let transient: Transient | undefined;
      for (const [k, s] of settled.entries()) {
        if (s.status === 'fulfilled') results[pending[k]!] = s.value;
        else if (s.reason instanceof Transient) transient ??= s.reason;
        else if (s.reason instanceof PrometheusError) throw new PrometheusError(s.reason.message, s.reason.failure, { ...s.reason.details, query: promqls[pending[k]!] });
        else throw s.reason;
      }
      if (!transient) return results as Sample[][];
      const now = this.clock.now();
      firstFailure ??= now;
      const reason = this.redact(transient.message);
      const outOfTime = deadline !== undefined && now + delay >= deadline;
      if (now - firstFailure + delay > retryFor || outOfTime) {
        const over = `${attempt} attempt${attempt === 1 ? '' : 's'} over ${Math.round((now - firstFailure) / 100) / 10}s`;
        throw new PrometheusError(`cannot query Prometheus at ${this.displayUrl}: ${reason} (gave up after ${over}${outOfTime ? ', at the end of the run' : ''})`, 'unreachable', transient.details);
      }
      this.options.onRetry?.({ attempt, delayMs: delay, reason });
      await this.clock.sleep(delay);
      delay = Math.min(maxBackoff, delay * 2);
    }
  }

  /** Replaces every secret in `text` with `***`. */
  redact(text: string): string {
    return this.secrets.redact(text);
  }

  private async once(promql: string, timeoutMs: number): Promise<Sample[]> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: this.headers,
        body: new URLSearchParams({ query: promql }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (e) {
      throw new Transient(networkReason(e), { query: promql });
    }
    const status = response.status;
    const details = { status, query: promql };
    const body = await readBody(response);
    if (body === undefined) {
      throw new PrometheusError(`the answer from Prometheus is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB (HTTP ${status}); is --prometheus the Prometheus base URL?`, 'rejected', details);
    }
    if (status === 401 || status === 403) {
      throw new PrometheusError(`Prometheus at ${this.displayUrl} refused the credentials (HTTP ${status}); check --user/--password-file or --bearer-token-file`, 'auth', details);
    }
    let parsed: ApiResponse | undefined;
    try {
      parsed = JSON.parse(body) as ApiResponse;
    } catch {
      parsed = undefined;
    }
    const api = parsed && typeof parsed === 'object' && !Array.isArray(parsed) && (parsed.status === 'success' || parsed.status === 'error') ? parsed : undefined;
    if (TRANSIENT_STATUS.has(status)) {
      // The API's own error as it says it; anything else is another server's page: one line of it, quoted.
      const why = api ? (api.error ? `: ${text(api.error, this.secrets)}` : '') : quotedExcerpt(body, this.secrets);
      throw new Transient(this.redact(`HTTP ${status}${why}`), details);
    }
    if (!api) {
      const type = contentType(response, this.secrets);
      throw new PrometheusError(
        `${this.endpoint.href} answered HTTP ${status}${type ? ` (${type})` : ''}, not like the Prometheus HTTP API${quotedExcerpt(body, this.secrets)}; is --prometheus the Prometheus base URL?`,
        'rejected',
        details,
      );
    }
    if (api.status === 'error') {
      throw new PrometheusError(this.redact(`Prometheus rejected the query (HTTP ${status}, ${text(api.errorType, this.secrets)}: ${text(api.error, this.secrets)}): ${promql}`), 'rejected', details);
    }
    try {
      return samples(api.data, this.secrets);
    } catch (e) {
      if (e instanceof PrometheusError) throw new PrometheusError(this.redact(e.message), e.failure, details);
      throw e;
    }
  }
}

interface ApiResponse {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

/** The body as text, or undefined when it is larger than {@link MAX_BODY_BYTES} (reading stops there). */
async function readBody(response: Response): Promise<string | undefined> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    // A connection cut mid-answer: what arrived is judged like any other answer.
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A server-provided field for a message: strings as they are, anything else as JSON; its first
 * line, redacted, then cut short (see {@link excerpt}).
 */
function text(v: unknown, secrets: Redactor): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    s = Array.isArray(v) ? '(a list nested too deeply to show)' : '(an object nested too deeply to show)';
  }
  return excerpt(s, secrets) ?? '';
}

/**
 * The one line of a server's text a message shows: its first line that is not blank (of an HTML
 * page, its first text outside the tags), spaces collapsed, cut to {@link MAX_EXCERPT} characters.
 * Redacted before anything is cut or taken apart, so a secret is never printed in part; undefined
 * when there is no text. Only the start of a long text is looked at, up to its last whole line.
 */
export function excerpt(text: string, secrets: Redactor, html = false): string | undefined {
  let head = text;
  if (head.length > EXCERPT_WINDOW) head = head.slice(0, head.lastIndexOf('\n', EXCERPT_WINDOW) + 1) || head.slice(0, EXCERPT_WINDOW);
  let safe = secrets.redact(head);
  if (html) safe = safe.replace(/<[^<>]*>/g, '\n');
  const line = safe.split('\n').map((l) => l.replace(/\s+/g, ' ').trim()).find((l) => l !== '');
  if (line === undefined) return undefined;
  return line.length > MAX_EXCERPT ? `${line.slice(0, MAX_EXCERPT)}...` : line;
}

/** `: "400 Bad Request"`: one line of a body that is not the API's, quoted; nothing for an empty body. */
function quotedExcerpt(body: string, secrets: Redactor): string {
  const line = excerpt(body, secrets, /^\s*</.test(body));
  return line === undefined ? '' : `: "${line}"`;
}

/** The media type of an answer (`text/html`), when it says one. */
function contentType(response: Response, secrets: Redactor): string | undefined {
  const type = response.headers.get('content-type')?.split(';')[0]?.trim();
  return type ? secrets.truncate(type, 60) : undefined;
}

function networkReason(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'the request timed out';
  const cause = err.cause;
  return cause?.message || cause?.code || err.message || String(e);
}

/** Prometheus sample values are strings: `"0.5"`, `"NaN"`, `"+Inf"`; undefined for anything else. */
export function sampleValue(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}

const unexpected = (what: string): PrometheusError => new PrometheusError(`unexpected answer from Prometheus: ${what}`, 'rejected');

function sampleOf(pair: unknown, labels: Readonly<Record<string, string>>, secrets: Redactor): Sample {
  if (!Array.isArray(pair) || pair.length !== 2) throw unexpected('a sample has no [time, value]');
  const value = sampleValue(pair[1]);
  if (value === undefined) throw unexpected(`a sample value is not a number: ${typeof pair[1] === 'string' ? `'${text(pair[1], secrets)}'` : text(pair[1], secrets)}`);
  return { labels, value };
}

function samples(data: unknown, secrets: Redactor): Sample[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw unexpected('data is missing');
  const { resultType, result } = data as { resultType?: unknown; result?: unknown };
  if (resultType === 'scalar') return [sampleOf(result, {}, secrets)];
  if (resultType === 'vector') {
    if (!Array.isArray(result)) throw unexpected('data.result is not a list');
    return result.map((r: unknown) => {
      if (typeof r !== 'object' || r === null) throw unexpected('a series is not an object');
      const { metric, value } = r as { metric?: unknown; value?: unknown };
      const labels = typeof metric === 'object' && metric !== null && !Array.isArray(metric) ? (metric as Record<string, string>) : {};
      return sampleOf(value, labels, secrets);
    });
  }
  throw new PrometheusError(`expected an instant vector or scalar from Prometheus, got a ${text(resultType, secrets)}`, 'rejected');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

