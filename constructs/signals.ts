/**
 * The PromQL of every signal, in one place: alert rules, dashboards and `flagops monitor` all
 * build their queries from these functions, so a threshold and the query it applies to can never
 * disagree between them.
 */

/** Label matchers selecting one environment's backend. */
export interface SignalScope {
  /** Kubernetes namespace (`namespace` label). */
  readonly namespace: string;
  /** Scrape job (`job` label). */
  readonly job: string;
}

/** A range window in PromQL syntax (`5m`) or Grafana's `$__rate_interval`. */
export type Window = string;

const selector = (s: SignalScope, extra = ''): string => `job="${s.job}", namespace="${s.namespace}"${extra ? `, ${extra}` : ''}`;

/** Requests per second. */
export function requestRate(s: SignalScope, window: Window = '5m'): string {
  return `sum(rate(http_requests_total{${selector(s)}}[${window}]))`;
}

/** Share of requests answered with a 5xx status (0..1). */
export function errorRatio(s: SignalScope, window: Window = '5m'): string {
  return `sum(rate(http_requests_total{${selector(s, 'status=~"5.."')}}[${window}])) / sum(rate(http_requests_total{${selector(s)}}[${window}]))`;
}

/** Request latency quantile in seconds (0.95 for p95). */
export function latencyQuantile(s: SignalScope, quantile: number, window: Window = '5m'): string {
  return `histogram_quantile(${quantile}, sum by (le) (rate(http_request_duration_seconds_bucket{${selector(s)}}[${window}])))`;
}

/**
 * Share of OpenFeature flag evaluations that ended in an error (0..1), per flag, from the
 * OpenFeature MetricsHook counters. `flag` narrows it to one flag.
 */
export function flagEvaluationErrorRatio(s: SignalScope, window: Window = '5m', flag?: string): string {
  const f = flag ? `feature_flag_key="${flag}"` : '';
  return (
    `sum by (feature_flag_key) (rate(feature_flag_evaluation_error_total{${selector(s, f)}}[${window}]))` +
    ` / sum by (feature_flag_key) (rate(feature_flag_evaluation_requests_total{${selector(s, f)}}[${window}]))`
  );
}
