import autocannon from 'autocannon';
import { cpuMs, postgresCpu, postgresCpuSince, rssMB } from './proc.js';
import { type HttpRequest, sendable } from './shapes.js';

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** Socket errors and timeouts, HTTP status other than 2xx, 200 bodies with "errors". */
  errors: number;
  non2xx: number;
  graphqlErrors: number;
  bytesPerRequest: number | null;
  serverCpuMsPerRequest: number | null;
  postgresCpuMsPerRequest: number | null;
  rssPeakMB: number | null;
  /** RSS samples (MB), one per `sampleMs`, over the measured window. */
  rssSamples: number[];
}

function cannon(options: autocannon.Options, latencies?: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    if (latencies) instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

/**
 * A warm-up, then `durationS` measured seconds of closed-loop load at `connections` keep-alive
 * connections, each cycling through `requests`. Meanwhile the server's RSS is sampled and its CPU
 * time (and that of every postgres process) taken before and after, from /proc.
 */
export async function runLoad(options: {
  url: string;
  pid: number;
  requests: HttpRequest[];
  connections: number;
  durationS: number;
  warmupS: number;
  sampleMs?: number;
  /** After the warm-up and after the measured run: M2 and M3 read their tasks' state anew. */
  afterEachRun?: () => Promise<void>;
}): Promise<LoadResult> {
  const base: autocannon.Options = {
    url: new URL(options.url).origin,
    connections: options.connections,
    pipelining: 1,
    timeout: 10,
    requests: options.requests,
    // GraphQL reports failures in HTTP 200 bodies: autocannon counts those as mismatches.
    verifyBody: (body) => !String(body).includes('"errors"'),
  };
  if (options.warmupS > 0) {
    await cannon({ ...base, duration: options.warmupS });
    await options.afterEachRun?.();
  }

  const rss: number[] = [];
  const sample = () => {
    const mb = rssMB(options.pid);
    if (mb !== null) rss.push(mb);
  };
  sample();
  const timer = setInterval(sample, options.sampleMs ?? 250);
  const cpu0 = cpuMs(options.pid);
  const pg0 = postgresCpu();
  const latencies: number[] = [];
  const result = await cannon({ ...base, duration: options.durationS }, latencies);
  const pgMs = postgresCpuSince(pg0);
  const cpu1 = cpuMs(options.pid);
  clearInterval(timer);
  sample();
  await options.afterEachRun?.();

  const total = result.requests.total;
  const perRequest = (ms: number | null) => (total > 0 && ms !== null ? ms / total : null);
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: total,
    durationS: result.duration,
    rps: total / result.duration,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    graphqlErrors: result.mismatches,
    bytesPerRequest: total > 0 ? result.throughput.total / total : null,
    serverCpuMsPerRequest: perRequest(cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null),
    postgresCpuMsPerRequest: perRequest(pgMs),
    rssPeakMB: rss.length ? Math.max(...rss) : null,
    rssSamples: rss,
  };
}

/** One request at a time: latency without queueing (includes fetch's own overhead). */
export async function sequentialLatency(
  url: string,
  requests: HttpRequest[],
  n: number,
): Promise<{ p50Ms: number | null; p90Ms: number | null }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const request = sendable(requests[i % requests.length] as HttpRequest);
    const started = process.hrtime.bigint();
    const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body });
    const body = await response.text();
    request.onResponse?.(response.status, body);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const sorted = Float64Array.from(times).sort();
  return { p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90) };
}
