// npm run bench [-- options]: builds the data set, starts the production server against it and
// measures the four shapes of the performance issue. Options (defaults in brackets):
//   --tenants N            tenants [20]
//   --cases N              cases per tenant, at most 1,000,000 [5000]
//   --shapes q1,q2,q3,m1   shapes to measure [all]
//   --rounds N             measured runs per shape; the table shows the median [2]
//   --duration S           measured seconds per run [10]
//   --warmup S             warm-up seconds before each run [3]
//   --connections N        concurrent keep-alive connections [16]
//   --soak S               a run of S seconds over all shapes mixed, for RSS growth; 0 = none [60]
//   --pool N               DB_POOL_MAX of the server [10]
//   --explain              no load: EXPLAIN ANALYZE of each shape's statements and the latency of
//                          sequential requests (section explain-<scale>)
//   --profile SHAPE        CPU profile (node --cpu-prof) of the server under SHAPE's load
//   --no-build             use dist/ as it is (default: npm run build first)
//   --regenerate           rebuild the data set even when it is unchanged
//   --prepare-only         database and data only (e.g. for the peer harness), then stop
//   --no-write             print, but leave docs/benchmarks.md alone
// Environment: BENCH_DATABASE_URL, an owner URL (default: postgresql://postgres@127.0.0.1:5432/
// bench_prior_auth, or an embedded PostgreSQL when nothing listens there or BENCH_EMBEDDED=1).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../src/db/embedded.js';
import { DEFAULT_SCALE, MAX_CASES_PER_TENANT, type Scale } from './data.js';
import { BENCH_RUNTIME_LOGIN, openBenchDatabase, prepareBenchDatabase, removeBenchWrites } from './db.js';
import { type ExplainedStatement, explainStatements } from './explain.js';
import { captureStatements, countStatements, summarizeSql } from './inprocess.js';
import { type LoadResult, runLoad, sequentialLatency } from './load.js';
import {
  explainMarkdown,
  profileMarkdown,
  runTable,
  type ShapeResult,
  type Soak,
  soakSummary,
  statementList,
} from './markdown.js';
import { rssMB, startServer } from './proc.js';
import { summarizeProfile } from './profile.js';
import { fmt, writeSection } from './report.js';
import {
  BENCH_JWT,
  BENCH_MEMBER_ID_HASH_KEY,
  loadContexts,
  type RequestContext,
  requestsFor,
  SERVER_NODE_FLAGS,
  SHAPES,
  type Shape,
} from './shapes.js';
import { verifyShapes } from './verify.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DOC = path.join(ROOT, 'docs/benchmarks.md');
// Raw results, logs and profiles: under .data/, which git and biome leave alone.
const RESULTS = path.join(ROOT, '.data/bench-results');

interface Options {
  scale: Scale;
  shapes: Shape[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  soakS: number;
  pool: number;
  explain: boolean;
  profile: Shape | null;
  build: boolean;
  regenerate: boolean;
  prepareOnly: boolean;
  write: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    scale: { ...DEFAULT_SCALE },
    shapes: [...SHAPES],
    rounds: 2,
    durationS: 10,
    warmupS: 3,
    connections: 16,
    soakS: 60,
    pool: 10,
    explain: false,
    profile: null,
    build: true,
    regenerate: false,
    prepareOnly: false,
    write: true,
  };
  const int = (name: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: an integer ${min}..${max}`);
    return n;
  };
  const shape = (value: string | undefined): Shape => {
    if (!SHAPES.includes(value as Shape)) throw new Error(`unknown shape ${value} (${SHAPES.join(', ')})`);
    return value as Shape;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    switch (arg) {
      case '--tenants':
        o.scale.tenants = int(arg, next(), 1, 100);
        break;
      case '--cases':
        o.scale.casesPerTenant = int(arg, next(), 200, MAX_CASES_PER_TENANT);
        break;
      case '--shapes':
        o.shapes = (next() ?? '').split(',').filter(Boolean).map(shape);
        break;
      case '--rounds':
        o.rounds = int(arg, next(), 1, 10);
        break;
      case '--duration':
        o.durationS = int(arg, next(), 1, 600);
        break;
      case '--warmup':
        o.warmupS = int(arg, next(), 0, 120);
        break;
      case '--connections':
        o.connections = int(arg, next(), 1, 256);
        break;
      case '--soak':
        o.soakS = int(arg, next(), 0, 3600);
        break;
      case '--pool':
        o.pool = int(arg, next(), 1, 100);
        break;
      case '--explain':
        o.explain = true;
        break;
      case '--profile':
        o.profile = shape(next());
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--regenerate':
        o.regenerate = true;
        break;
      case '--prepare-only':
        o.prepareOnly = true;
        break;
      case '--no-write':
        o.write = false;
        break;
      default:
        throw new Error(`unknown option ${arg} (the options are listed at the top of bench/run.ts)`);
    }
  }
  if (o.explain) {
    o.rounds = 0;
    o.soakS = 0;
  }
  if (o.profile) {
    o.shapes = [o.profile];
    o.rounds = 1;
    o.soakS = 0;
  }
  return o;
}

const t0 = Date.now();
const log = (line: string) =>
  console.log(`[bench +${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`);
const scaleKey = (s: Scale) => `${s.tenants}x${s.casesPerTenant}`;
const isDefaultScale = (s: Scale) =>
  s.tenants === DEFAULT_SCALE.tenants && s.casesPerTenant === DEFAULT_SCALE.casesPerTenant;

async function machine(ownerUrl: string) {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const {
      rows: [row],
    } = await client.query<{ version: string; shared_buffers: string }>(
      "SELECT version(), current_setting('shared_buffers') AS shared_buffers",
    );
    const cpus = os.cpus();
    return {
      cpu: `${cpus.length} × ${cpus[0]?.model.trim()}`,
      memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      postgres: `${row?.version.split(' on ')[0]} (shared_buffers ${row?.shared_buffers})`,
      loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
  } finally {
    await client.end();
  }
}

function build(): void {
  log('npm run build');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { scale } = options;
  const db = await openBenchDatabase(scale, log);
  let stopServer: (() => Promise<void>) | null = null;
  try {
    await prepareBenchDatabase(db, scale, { log, regenerate: options.regenerate });
    const removed = await removeBenchWrites(db);
    if (removed) log(`removed ${removed} rows an earlier run wrote`);
    if (options.prepareOnly) {
      log(`ready: ${db.name} (runtime login ${BENCH_RUNTIME_LOGIN.user})`);
      return;
    }
    const contexts: RequestContext[] = await loadContexts(db.ownerUrl);
    log(`${contexts.length} request contexts over ${new Set(contexts.map((c) => c.tenantId)).size} tenants`);
    if (options.build) build();
    const info = await machine(db.ownerUrl);

    log('counting statements per request (in-process, src/db/client.ts onStatement)');
    const counts = await countStatements(db.runtimeUrl, options.shapes, contexts);
    for (const [shape, c] of Object.entries(counts)) log(`  ${shape}: ${c.perRequest} statements/request`);

    let explained: Record<string, ExplainedStatement[]> | null = null;
    if (options.explain) {
      log('EXPLAIN ANALYZE of each shape’s statements');
      const ctx = contexts[0] as RequestContext;
      const captured = await captureStatements(db.runtimeUrl, options.shapes, ctx);
      await removeBenchWrites(db); // M1's INSERTs run again under EXPLAIN, with the same ids
      explained = {};
      for (const shape of options.shapes) {
        explained[shape] = await explainStatements(db.runtimeUrl, ctx.tenantId, captured[shape] ?? []);
        for (const s of explained[shape]) {
          log(
            `  ${shape} ${fmt(s.executionMs, 3)} ms ${summarizeSql(s.sql).slice(0, 50)} ${s.problems.join('; ')}`,
          );
        }
      }
      await removeBenchWrites(db);
    }

    const port = await freePort();
    mkdirSync(RESULTS, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const profileDir = path.join(RESULTS, `profile-${stamp}`);
    const server = await startServer({
      nodeArgs: [
        ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
        ...SERVER_NODE_FLAGS,
        path.join(ROOT, 'dist/index.js'),
      ],
      env: {
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: db.runtimeUrl,
        DB_POOL_MAX: String(options.pool),
        JWT_SECRET: BENCH_JWT.secret,
        JWT_ISSUER: BENCH_JWT.issuer,
        JWT_AUDIENCE: BENCH_JWT.audience,
        MEMBER_ID_HASH_KEY: BENCH_MEMBER_ID_HASH_KEY,
      },
      port,
      logFile: path.join(RESULTS, 'server.log'),
    });
    stopServer = server.stop;
    const rssAfterStart = rssMB(server.pid);
    log(`server pid ${server.pid} ready in ${server.startMs} ms, RSS ${fmt(rssAfterStart, 0)} MB`);

    const checks = await verifyShapes(server.url, db.ownerUrl, contexts, options.shapes);
    log(`verified: ${checks.length} checks passed`);
    await removeBenchWrites(db);

    const results: ShapeResult[] = [];
    for (const shape of options.shapes) {
      const requests = requestsFor(shape, contexts);
      const unloaded = await sequentialLatency(server.url, requests, options.explain ? 200 : 100);
      const runs: LoadResult[] = [];
      for (let round = 1; round <= options.rounds; round++) {
        const r = await runLoad({
          url: server.url,
          pid: server.pid,
          requests,
          connections: options.connections,
          durationS: options.durationS,
          warmupS: options.warmupS,
        });
        runs.push(r);
        log(
          `${shape} round ${round}: ${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, ` +
            `errors ${r.errors}/${r.non2xx}/${r.graphqlErrors}, server ${fmt(r.serverCpuMsPerRequest, 2)} ms/req, ` +
            `RSS peak ${fmt(r.rssPeakMB, 0)} MB`,
        );
      }
      if (shape === 'm1') await removeBenchWrites(db);
      results.push({ shape, runs, statements: counts[shape], unloaded });
    }

    let soak: Soak | null = null;
    if (options.soakS > 0) {
      const r = await runLoad({
        url: server.url,
        pid: server.pid,
        // Interleaved: each connection walks through every shape, over every context.
        requests: contexts.flatMap((ctx) => options.shapes.flatMap((shape) => requestsFor(shape, [ctx]))),
        connections: options.connections,
        durationS: options.soakS,
        warmupS: options.warmupS,
        sampleMs: 1000,
      });
      soak = soakSummary(r, options.soakS);
      log(
        `soak ${options.soakS} s, shapes mixed: ${fmt(r.rps, 0)} req/s, RSS ${fmt(soak.startMB, 0)} → ${fmt(soak.endMB, 0)} MB ` +
          `(peak ${fmt(soak.peakMB, 0)}, growth ${fmt((soak.growth ?? 0) * 100)}%), errors ${r.errors}/${r.non2xx}/${r.graphqlErrors}`,
      );
      await removeBenchWrites(db);
    }
    const rssAfterRun = rssMB(server.pid);
    await server.stop();
    stopServer = null;

    const result = {
      date: new Date().toISOString(),
      machine: info,
      options,
      checks,
      counts,
      results,
      soak,
      explained,
    };
    const jsonFile = path.join(RESULTS, `run-${stamp}.json`);
    writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results: ${path.relative(ROOT, jsonFile)}`);

    const args = process.argv.slice(2).join(' ');
    const command = `npm run bench${args ? ` -- ${args}` : ''}`;
    if (options.profile) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no .cpuprofile in ${profileDir}`);
      const summary = summarizeProfile(path.join(profileDir, file));
      const md = profileMarkdown(options.profile, summary, results[0]?.runs[0]?.rps ?? 0, options);
      console.log(`\n${md}\n`);
      if (options.write) writeSection(DOC, `profile-${options.profile}`, md);
      log(`profile: ${path.relative(ROOT, path.join(profileDir, file))}`);
    } else if (explained) {
      const md = explainMarkdown(scale, explained, results);
      console.log(`\n${md.split('<details>')[0]}\n`);
      if (options.write) writeSection(DOC, `explain-${scaleKey(scale)}`, md);
    } else {
      const md = [
        `### Our server, ${scale.tenants} tenants × ${scale.casesPerTenant.toLocaleString('en-US')} cases`,
        '',
        `\`${command}\` on ${result.date.slice(0, 16).replace('T', ' ')} UTC. ${info.cpu}, ${info.memGiB} GiB, ` +
          `${info.os}; Node ${info.node}; ${info.postgres}; load average at start ${info.loadAverageAtStart.join(', ')}.`,
        `\`node ${SERVER_NODE_FLAGS.join(' ')} dist/index.js\` with NODE_ENV=production as \`${BENCH_RUNTIME_LOGIN.user}\` (member of prior_auth_app, ` +
          `RLS on), DB_POOL_MAX ${options.pool}; autocannon in the runner's process, ${options.connections} connections, ` +
          `${options.rounds} round(s) per shape of ${options.warmupS} s warm-up + ${options.durationS} s measured; ` +
          `requests rotate over ${contexts.length} users of ${new Set(contexts.map((c) => c.tenantId)).size} tenants.`,
        `Server RSS after start ${fmt(rssAfterStart, 0)} MB, after the run ${fmt(rssAfterRun, 0)} MB. ` +
          `Checks passed before the load: ${checks.length}.`,
        '',
        runTable(results),
        '',
        soak
          ? `**RSS over ${soak.durationS} s of all shapes mixed** (${fmt(soak.rps, 0)} req/s): ` +
            `${fmt(soak.startMB, 0)} MB at the start, ${fmt(soak.endMB, 0)} MB at the end ` +
            `(growth ${fmt((soak.growth ?? 0) * 100)}%), peak ${fmt(soak.peakMB, 0)} MB.`
          : '',
        '',
        '<details><summary>Statements per request (onStatement hook, 20 sequential requests per shape)</summary>',
        '',
        statementList(counts),
        '',
        '</details>',
      ].join('\n');
      console.log(`\n${md}\n`);
      if (options.write) {
        writeSection(DOC, isDefaultScale(scale) ? 'run' : `run-${scaleKey(scale)}`, md);
        log(`wrote ${path.relative(ROOT, DOC)}`);
      }
    }
  } finally {
    if (stopServer) await stopServer();
    await removeBenchWrites(db).catch(() => 0);
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
