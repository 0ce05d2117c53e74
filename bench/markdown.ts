// The sections `npm run bench` writes into docs/benchmarks.md, as markdown (bench/run.ts runs them).
import type { Scale } from './data.js';
import type { ExplainedStatement } from './explain.js';
import { type StatementCount, summarizeSql } from './inprocess.js';
import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profile.js';
import { fmt, median, table } from './report.js';
import { SERVER_NODE_FLAGS, SHAPE_TITLES, type Shape } from './shapes.js';

/** A count per request: whole, or with the fraction (Q2's audit row is written for some viewers only). */
const count = (x: number | undefined) =>
  x === undefined ? 'n/a' : Number.isInteger(x) ? String(x) : x.toFixed(2);

export interface ShapeResult {
  shape: Shape;
  runs: LoadResult[];
  statements: StatementCount | undefined;
  unloaded: { p50Ms: number | null; p90Ms: number | null };
}

export function runTable(results: ShapeResult[]): string {
  return table(
    [
      'shape',
      'req/s median (min–max)',
      'p50 ms',
      'p99 ms',
      'errors / non-2xx / GraphQL errors',
      'SQL stmts/req',
      'server CPU ms/req',
      'PG CPU ms/req',
      'server RSS peak MB',
      'resp KB',
      'unloaded p50 / p90 ms',
    ],
    results.map(({ shape, runs, statements, unloaded }) => {
      const rps = runs.map((r) => r.rps);
      return [
        SHAPE_TITLES[shape],
        `**${fmt(median(rps), 0)}** (${fmt(Math.min(...rps), 0)}–${fmt(Math.max(...rps), 0)})`,
        fmt(median(runs.map((r) => r.p50Ms))),
        fmt(median(runs.map((r) => r.p99Ms))),
        `${runs.reduce((a, r) => a + r.errors, 0)} / ${runs.reduce((a, r) => a + r.non2xx, 0)} / ${runs.reduce((a, r) => a + r.graphqlErrors, 0)}`,
        count(statements?.perRequest),
        fmt(median(runs.map((r) => r.serverCpuMsPerRequest)), 2),
        fmt(median(runs.map((r) => r.postgresCpuMsPerRequest)), 2),
        fmt(Math.max(...runs.map((r) => r.rssPeakMB ?? 0)), 0),
        fmt(median(runs.map((r) => (r.bytesPerRequest === null ? null : r.bytesPerRequest / 1024)))),
        `${fmt(unloaded.p50Ms)} / ${fmt(unloaded.p90Ms)}`,
      ];
    }),
  );
}

export function statementList(counts: Record<string, StatementCount>): string {
  return Object.entries(counts)
    .map(
      ([shape, c]) =>
        `- **${shape}: ${count(c.perRequest)} statements per request**\n` +
        c.statements.map((s) => `  - ${count(s.perRequest)}× \`${s.text.replaceAll('`', "'")}\``).join('\n'),
    )
    .join('\n');
}

export interface Soak {
  durationS: number;
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  startMB: number | null;
  endMB: number | null;
  peakMB: number | null;
  growth: number | null;
}

export function soakSummary(result: LoadResult, durationS: number): Soak {
  const samples = result.rssSamples;
  const window = Math.max(1, Math.min(5, Math.floor(samples.length / 4)));
  const startMB = median(samples.slice(0, window));
  const endMB = median(samples.slice(-window));
  return {
    durationS,
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    startMB,
    endMB,
    peakMB: result.rssPeakMB,
    growth: startMB && endMB ? endMB / startMB - 1 : null,
  };
}

export function explainMarkdown(
  scale: Scale,
  explained: Record<string, ExplainedStatement[]>,
  results: ShapeResult[],
): string {
  const lines = [
    `### EXPLAIN at ${scale.tenants} tenant(s) × ${scale.casesPerTenant.toLocaleString('en-US')} cases`,
    '',
    `Written by \`npm run bench -- --tenants ${scale.tenants} --cases ${scale.casesPerTenant} --explain\` on ` +
      `${new Date().toISOString().slice(0, 10)}. Each data statement of one request of the shape, as the ` +
      'runtime role with the tenant set (RLS in the plan), EXPLAIN (ANALYZE, BUFFERS) inside a transaction ' +
      'that is rolled back. A statement the server prepares (the compiled queries) is explained as its 7th ' +
      'execution on the connection (`EXPLAIN EXECUTE`), so with the plan the server then uses, generic or not, ' +
      'and its small planning time; the others as unnamed statements. Execution and planning times are medians ' +
      'over 15 EXPLAIN ANALYZE runs without per-node timing. ' +
      'Requests one at a time over HTTP to the production server (200 per shape, after the checks):',
    '',
    table(
      ['shape', 'SQL stmts/req', 'request p50 ms', 'request p90 ms'],
      results.map((r) => [
        SHAPE_TITLES[r.shape],
        fmt(r.statements?.perRequest, 2),
        fmt(r.unloaded.p50Ms, 2),
        fmt(r.unloaded.p90Ms, 2),
      ]),
    ),
    '',
  ];
  const rows: string[][] = [];
  for (const [shape, statements] of Object.entries(explained)) {
    for (const s of statements) {
      rows.push([
        shape,
        `\`${summarizeSql(s.sql).slice(0, 60).replaceAll('`', "'")}\``,
        fmt(s.executionMs, 3),
        fmt(s.planningMs, 3),
        s.indexes.join(', ') || '–',
        s.problems.join('; ') || 'none',
      ]);
    }
  }
  lines.push(
    table(
      [
        'shape',
        'statement',
        'execution ms',
        'planning ms',
        'indexes used',
        'seq scans / sorts over > 1,000 rows',
      ],
      rows,
    ),
  );
  for (const [shape, statements] of Object.entries(explained)) {
    lines.push('', `<details><summary>${shape}: plans</summary>`, '');
    for (const s of statements) lines.push('```', s.sql.trim(), '', s.plan, '```', '');
    lines.push('</details>');
  }
  return lines.join('\n');
}

export function profileMarkdown(
  shape: Shape,
  summary: ProfileSummary,
  rps: number,
  options: { connections: number; durationS: number; warmupS: number },
): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `### CPU profile of the server under ${shape.toUpperCase()} load`,
    '',
    `\`npm run bench -- --profile ${shape}\` on ${new Date().toISOString().slice(0, 10)}: \`node --cpu-prof ${SERVER_NODE_FLAGS.join(' ')} dist/index.js\`, ` +
      `${options.connections} connections, ${options.durationS} s measured after ${options.warmupS} s warm-up ` +
      `(${fmt(rps, 0)} req/s with the profiler on). ${fmt(summary.busyMs / 1000)} s of the server's ` +
      `${fmt(summary.totalMs / 1000)} s sampled were busy; shares below are of the busy time.`,
    '',
    '**Self time by package**',
    '',
    table(
      ['package', 'self ms', 'share'],
      summary.byPackage.slice(0, 15).map((e) => [e.name, fmt(e.selfMs, 0), pct(e.share)]),
    ),
    '',
    '**Inclusive time of parts of the request** (a sample counts for a part when one of its frames is on the stack; parts nest, so they do not add up; after an `await` the stack restarts at the microtask queue, so these are lower bounds)',
    '',
    table(
      ['part', 'ms', 'share'],
      summary.byPhase.map((e) => [e.name, fmt(e.selfMs, 0), pct(e.share)]),
    ),
    '',
    '**Top functions by self time**',
    '',
    table(
      ['function', 'self ms', 'share'],
      summary.byFunction.map((e) => [`\`${e.name.replaceAll('|', '\\|')}\``, fmt(e.selfMs, 0), pct(e.share)]),
    ),
  ].join('\n');
}
