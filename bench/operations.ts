import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort } from '../src/db/embedded.js';
import { BENCH_RUNTIME_LOGIN, type BenchDatabase } from './db.js';
import { type LoadResult, runLoad } from './load.js';
import { startServer } from './proc.js';
import { fmt, median, table } from './report.js';
import {
  benchServerEnv,
  type HttpRequest,
  operation,
  type RequestContext,
  requestsFor,
  SERVER_NODE_FLAGS,
  SHAPE_TITLES,
  type Shape,
} from './shapes.js';
import { resyncWork } from './work.js';

// `npm run bench -- --operations`: what trusted documents, metrics and tracing cost (issue 15).
// Two servers run side by side on the bench database: "off" as the shapes run otherwise, "on" with
// all three: TRUSTED_DOCUMENTS (a manifest of the bench's operations) with TRUSTED_DOCUMENTS_ONLY,
// every request by `documentId`; METRICS_TOKEN, /metrics scraped every 5 s as Prometheus would;
// OTEL_EXPORTER_OTLP_ENDPOINT at a local OTLP/HTTP receiver, traces sampled at 10%. Each round runs
// a shape on "off", then on "on", so that drift of the machine falls on both alike.

export interface OperationsRun {
  shape: Shape;
  off: LoadResult[];
  on: LoadResult[];
}

export interface OperationsResult {
  runs: OperationsRun[];
  parts: readonly OperationsPart[];
  scrapes: { count: number; bytes: number; failed: number };
  traces: { exports: number; bytes: number };
}

const METRICS_TOKEN = 'bench-only-metrics-token-0123456789abcdef';
const SCRAPE_MS = 5_000;
const SAMPLE_RATIO = '0.1';

/** The manifest `npm run codegen` would write for the bench's operations: sha256 of the text → text. */
export function writeManifest(shapes: readonly Shape[], file: string): Map<string, string> {
  const ids = new Map<string, string>();
  const manifest: Record<string, string> = {};
  for (const shape of shapes) {
    const text = operation(shape);
    const hash = createHash('sha256').update(text).digest('hex');
    manifest[hash] = text;
    ids.set(text, hash);
  }
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return ids;
}

/** The request with its document sent by id (`documentId: "sha256:<hex>"`) instead of its text. */
function byDocumentId(request: HttpRequest, ids: Map<string, string>): HttpRequest {
  const rewrite = (sent: HttpRequest): HttpRequest => {
    const { query, ...rest } = JSON.parse(sent.body) as { query: string };
    const id = ids.get(query);
    if (!id) throw new Error('a bench operation is not in the manifest');
    return { ...sent, body: JSON.stringify({ documentId: `sha256:${id}`, ...rest }) };
  };
  if (!request.setupRequest) return rewrite(request);
  const setup = request.setupRequest;
  return { ...request, setupRequest: (defaults) => rewrite(setup(defaults)) };
}

/** What the "on" server turns on: all three unless --operations-parts names fewer. */
export const OPERATIONS_PARTS = ['trusted', 'metrics', 'tracing'] as const;
export type OperationsPart = (typeof OPERATIONS_PARTS)[number];

/** The server's configuration with `parts` on. */
export function operationsEnv(
  manifestFile: string,
  traceSinkUrl: string,
  parts: readonly OperationsPart[] = OPERATIONS_PARTS,
): Record<string, string> {
  return {
    ...(parts.includes('trusted') ? { TRUSTED_DOCUMENTS: manifestFile, TRUSTED_DOCUMENTS_ONLY: 'true' } : {}),
    ...(parts.includes('metrics') ? { METRICS_TOKEN } : {}),
    ...(parts.includes('tracing')
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: traceSinkUrl,
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: SAMPLE_RATIO,
        }
      : {}),
  };
}

/** GET /metrics every SCRAPE_MS, as Prometheus would; `stop()` ends it. */
export function scrapeMetrics(graphqlUrl: string): { stats: OperationsResult['scrapes']; stop: () => void } {
  const stats = { count: 0, bytes: 0, failed: 0 };
  const metricsUrl = new URL('/metrics', graphqlUrl).href;
  const timer = setInterval(() => {
    fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      .then(async (response) => {
        const text = await response.text();
        if (response.ok) {
          stats.count++;
          stats.bytes += text.length;
        } else stats.failed++;
      })
      .catch(() => stats.failed++);
  }, SCRAPE_MS);
  return { stats, stop: () => clearInterval(timer) };
}

/** An OTLP/HTTP receiver that counts what it is sent and keeps nothing. */
export async function traceSink(): Promise<{
  server: Server;
  url: string;
  stats: OperationsResult['traces'];
}> {
  const stats = { exports: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      stats.bytes += chunk.length;
    });
    request.on('end', () => {
      stats.exports++;
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/json' });
      response.end(request.headers['content-type']?.includes('protobuf') ? '' : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats };
}

export async function runOperations(options: {
  db: BenchDatabase;
  shapes: readonly Shape[];
  contexts: RequestContext[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  pool: number;
  parts: readonly OperationsPart[];
  resultsDir: string;
  log: (line: string) => void;
}): Promise<OperationsResult> {
  const { db, log } = options;
  const manifestFile = path.join(options.resultsDir, 'operations-manifest.json');
  const ids = writeManifest(options.shapes, manifestFile);
  const sink = await traceSink();
  const baseEnv = benchServerEnv(db.runtimeUrl, options.pool);
  const start = async (name: 'off' | 'on', env: Record<string, string>) => {
    const port = await freePort();
    const server = await startServer({
      nodeArgs: [...SERVER_NODE_FLAGS, path.join(import.meta.dirname, '../dist/index.js')],
      env: { ...baseEnv, ...env, PORT: String(port) },
      port,
      logFile: path.join(options.resultsDir, `operations-${name}.log`),
    });
    log(`operations: server "${name}" pid ${server.pid} ready in ${server.startMs} ms`);
    return server;
  };
  const off = await start('off', {});
  const on = await start('on', operationsEnv(manifestFile, sink.url, options.parts));
  const scraper = options.parts.includes('metrics') ? scrapeMetrics(on.url) : null;
  try {
    const runs: OperationsRun[] = [];
    for (const shape of options.shapes) {
      const plain = requestsFor(shape, options.contexts);
      const run: OperationsRun = { shape, off: [], on: [] };
      for (let round = 1; round <= options.rounds; round++) {
        for (const [name, server, requests] of [
          ['off', off, plain],
          [
            'on',
            on,
            options.parts.includes('trusted') ? plain.map((request) => byDocumentId(request, ids)) : plain,
          ],
        ] as const) {
          const r = await runLoad({
            url: server.url,
            pid: server.pid,
            requests,
            connections: options.connections,
            durationS: options.durationS,
            warmupS: options.warmupS,
            afterEachRun: () => resyncWork(db.ownerUrl),
          });
          run[name].push(r);
          log(
            `  ${shape} round ${round} ${name}: ${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, ` +
              `server ${fmt(r.serverCpuMsPerRequest, 3)} ms/req, errors ${r.errors}/${r.non2xx}/${r.graphqlErrors}`,
          );
        }
      }
      runs.push(run);
    }
    return {
      runs,
      parts: options.parts,
      scrapes: scraper?.stats ?? { count: 0, bytes: 0, failed: 0 },
      traces: sink.stats,
    };
  } finally {
    scraper?.stop();
    await Promise.all([off.stop(), on.stop()]);
    await new Promise((resolve) => sink.server.close(resolve));
  }
}

export function operationsMarkdown(
  result: OperationsResult,
  options: {
    command: string;
    date: string;
    machine: string;
    rounds: number;
    durationS: number;
    connections: number;
  },
): string {
  const m = (runs: LoadResult[], pick: (r: LoadResult) => number | null) => median(runs.map(pick));
  const rows = result.runs.map(({ shape, off, on }) => {
    const [rpsOff, rpsOn] = [m(off, (r) => r.rps), m(on, (r) => r.rps)];
    const [cpuOff, cpuOn] = [m(off, (r) => r.serverCpuMsPerRequest), m(on, (r) => r.serverCpuMsPerRequest)];
    const errors = [...off, ...on].reduce((n, r) => n + r.errors + r.non2xx + r.graphqlErrors, 0);
    return [
      SHAPE_TITLES[shape],
      `${fmt(rpsOff, 0)} → ${fmt(rpsOn, 0)}`,
      rpsOff && rpsOn ? `${fmt((rpsOn / rpsOff - 1) * 100)}%` : 'n/a',
      `${fmt(m(off, (r) => r.p50Ms))} → ${fmt(m(on, (r) => r.p50Ms))}`,
      `${fmt(m(off, (r) => r.p99Ms))} → ${fmt(m(on, (r) => r.p99Ms))}`,
      `${fmt(cpuOff, 3)} → ${fmt(cpuOn, 3)}`,
      cpuOff && cpuOn ? `${fmt((cpuOn / cpuOff - 1) * 100)}%` : 'n/a',
      String(errors),
    ];
  });
  const all = result.parts.length === OPERATIONS_PARTS.length;
  const described: Record<OperationsPart, string> = {
    trusted:
      'TRUSTED_DOCUMENTS (a manifest of the bench operations) and TRUSTED_DOCUMENTS_ONLY, each request sending `documentId` instead of the text',
    metrics: `METRICS_TOKEN with /metrics scraped every ${SCRAPE_MS / 1000} s`,
    tracing: `OTLP/HTTP traces to a local receiver sampled at ${Number(SAMPLE_RATIO) * 100}% (parentbased_traceidratio)`,
  };
  return [
    all
      ? '### Trusted documents, metrics and tracing: off vs on'
      : `### Only ${result.parts.join(' and ')}: off vs on`,
    '',
    `\`${options.command}\` on ${options.date.slice(0, 16).replace('T', ' ')} UTC. ${options.machine}.`,
    `Two servers side by side (\`node ${SERVER_NODE_FLAGS.join(' ')} dist/index.js\`, NODE_ENV=production, as ` +
      `\`${BENCH_RUNTIME_LOGIN.user}\`): "off" as configured for the other tables; "on" with ` +
      `${result.parts.map((part) => described[part]).join('; ')}. Each round runs a shape on ` +
      `"off", then on "on"; medians of ${options.rounds} round(s) of ${options.durationS} s at ${options.connections} connections.`,
    '',
    table(
      ['shape', 'req/s off → on', 'change', 'p50 ms', 'p99 ms', 'server CPU ms/req', 'change', 'errors'],
      rows,
    ),
    '',
    `During the "on" runs: ${result.scrapes.count} scrapes of /metrics (${fmt(result.scrapes.bytes / Math.max(1, result.scrapes.count) / 1024)} KB each, ` +
      `${result.scrapes.failed} failed); ${result.traces.exports} trace exports, ${fmt(result.traces.bytes / 1024, 0)} KB in all.`,
  ].join('\n');
}
