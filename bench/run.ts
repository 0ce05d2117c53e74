// npm run bench [-- options]: builds the data set, starts the production server against it and
// measures the shapes of the performance issues. The options: bench/options.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../src/db/embedded.js';
import { DEFAULT_SCALE, type Scale } from './data.js';
import {
  BENCH_RUNTIME_LOGIN,
  type BenchDatabase,
  openBenchDatabase,
  prepareBenchDatabase,
  removeBenchWrites,
} from './db.js';
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
import { OPERATIONS_PARTS, operationsMarkdown, runOperations } from './operations.js';
import { type Options, parseArgs } from './options.js';
import { rssMB, startServer } from './proc.js';
import { summarizeProfile } from './profile.js';
import { latestRealtimeProfile, REALTIME_SETUPS, type RealtimeResult, runRealtimeSetup } from './realtime.js';
import { exact, realtimeMarkdown, realtimeProfileMarkdown } from './realtime-markdown.js';
import { redisAnswers } from './realtime-servers.js';
import { fmt, writeSection } from './report.js';
import {
  benchServerEnv,
  loadContexts,
  mixedRequests,
  type RequestContext,
  requestsFor,
  SERVER_NODE_FLAGS,
} from './shapes.js';
import { verifyShapes } from './verify.js';
import { prepareWorkTasks, resyncWork } from './work.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DOC = path.join(ROOT, 'docs/benchmarks.md');
// Raw results, logs and profiles: under .data/, which git and biome leave alone.
const RESULTS = path.join(ROOT, '.data/bench-results');

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

/**
 * `--realtime`: the realtime scenario's setups one after the other (bench/realtime.ts), instead of
 * the shapes; section `realtime` (and `profile-realtime` with --realtime-profile).
 */
async function benchRealtime(
  db: BenchDatabase,
  options: Options,
  info: Awaited<ReturnType<typeof machine>>,
): Promise<void> {
  if (!options.realtime) return;
  const realtime = { ...options.realtime, pool: options.pool };
  const redis = await redisAnswers();
  const setups = realtime.setups.filter((setup) => redis || REALTIME_SETUPS[setup].fanout !== 'redis');
  if (setups.length < realtime.setups.length) log('Redis does not answer: its setup is left out');
  mkdirSync(RESULTS, { recursive: true });
  const results: RealtimeResult[] = [];
  for (const setup of setups) {
    log(`realtime: ${REALTIME_SETUPS[setup].title}`);
    const r = await runRealtimeSetup(setup, realtime, { db, resultsDir: RESULTS, log });
    results.push(r);
    const e = r.exactness;
    log(
      `  ${setup}: ${e.received}/${e.expected} deliveries, lost ${e.lost}, dup ${e.duplicated}, out of order ` +
        `${e.outOfOrder}, foreign ${e.foreign}, null nodes ${e.nullNodes}, errors ${JSON.stringify(e.errors)}, ` +
        `resumes ${e.resumes}; after answer p50 ` +
        `${fmt(r.latency.fromAnswer.p50)} p99 ${fmt(r.latency.fromAnswer.p99)} max ${fmt(r.latency.fromAnswer.max)} ms; ` +
        `drain ${fmt(r.drainS, 2)} s; server CPU ${fmt(r.cpu.perDeliveryMs, 3)} ms/delivery ` +
        `(net ${fmt(r.cpu.netPerDeliveryMs, 3)}); exact: ${exact(r)}`,
    );
  }
  const date = new Date().toISOString();
  const stamp = date.replace(/[:.]/g, '-').slice(0, 19);
  const jsonFile = path.join(RESULTS, `realtime-${stamp}.json`);
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ date, machine: info, options: realtime, results }, null, 2)}\n`,
  );
  log(`results: ${path.relative(ROOT, jsonFile)}`);
  const args = process.argv.slice(2).join(' ');
  const command = `npm run bench -- ${args}`;
  const machineLine =
    `${info.cpu}, ${info.memGiB} GiB, ${info.os}; Node ${info.node}; ${info.postgres}; ` +
    `load average at start ${info.loadAverageAtStart.join(', ')}`;
  const profile = realtime.profile ? latestRealtimeProfile(RESULTS) : null;
  const md =
    profile && results[0]
      ? realtimeProfileMarkdown(
          summarizeProfile(profile, 25, results[0].windowUs),
          results[0],
          realtime,
          command,
        )
      : realtimeMarkdown(results, realtime, {
          command,
          date,
          machine: machineLine,
          redis,
          tenants: options.scale.tenants,
        });
  console.log(`\n${md}\n`);
  if (options.write) {
    const isDefault = realtime.subscribers === 1000 && realtime.rate === 50 && realtime.durationS === 30;
    const key = isDefault ? 'realtime' : `realtime-${realtime.subscribers}x${realtime.rate}`;
    writeSection(DOC, profile ? 'profile-realtime' : key, md);
    log(`wrote ${path.relative(ROOT, DOC)}`);
  }
}

/** `--operations`: the shapes with trusted documents, metrics and tracing off vs on; section `operations`. */
async function benchOperations(
  db: BenchDatabase,
  options: Options,
  contexts: RequestContext[],
  info: Awaited<ReturnType<typeof machine>>,
): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const result = await runOperations({ ...options, db, contexts, resultsDir: RESULTS, log });
  await removeBenchWrites(db);
  const date = new Date().toISOString();
  writeFileSync(
    path.join(RESULTS, `operations-${date.replace(/[:.]/g, '-').slice(0, 19)}.json`),
    `${JSON.stringify({ date, machine: info, options, result }, null, 2)}\n`,
  );
  const md = operationsMarkdown(result, {
    ...options,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    date,
    machine:
      `${info.cpu}, ${info.memGiB} GiB, ${info.os}; Node ${info.node}; ${info.postgres}; ` +
      `load average at start ${info.loadAverageAtStart.join(', ')}`,
  });
  console.log(`\n${md}\n`);
  if (options.write) {
    const all = options.parts.length === OPERATIONS_PARTS.length;
    writeSection(DOC, all ? 'operations' : `operations-${options.parts.join('-')}`, md);
    log(`wrote ${path.relative(ROOT, DOC)}`);
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
    // M2 and M3's own tasks, each run anew (an earlier run's removed).
    await prepareWorkTasks(db.ownerUrl, contexts);
    if (options.build) build();
    const info = await machine(db.ownerUrl);
    if (options.realtime) {
      await benchRealtime(db, options, info);
      return;
    }
    if (options.operations) {
      await benchOperations(db, options, contexts, info);
      return;
    }

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
      env: { ...benchServerEnv(db.runtimeUrl, options.pool), PORT: String(port) },
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
          afterEachRun: () => resyncWork(db.ownerUrl),
        });
        runs.push(r);
        log(
          `${shape} round ${round}: ${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, ` +
            `errors ${r.errors}/${r.non2xx}/${r.graphqlErrors}, server ${fmt(r.serverCpuMsPerRequest, 2)} ms/req, ` +
            `RSS peak ${fmt(r.rssPeakMB, 0)} MB`,
        );
      }
      if (shape.startsWith('m')) await removeBenchWrites(db);
      results.push({ shape, runs, statements: counts[shape], unloaded });
    }

    let soak: Soak | null = null;
    if (options.soakS > 0) {
      const r = await runLoad({
        url: server.url,
        pid: server.pid,
        // Interleaved: each connection walks through the shapes mixed, over every context.
        requests: mixedRequests(options.shapes, contexts),
        connections: options.connections,
        durationS: options.soakS,
        warmupS: options.warmupS,
        sampleMs: 1000,
        afterEachRun: () => resyncWork(db.ownerUrl),
      });
      soak = soakSummary(r, options.soakS);
      log(
        `soak ${options.soakS} s, shapes mixed: ${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, RSS ${fmt(soak.startMB, 0)} → ${fmt(soak.endMB, 0)} MB ` +
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
          ? `**RSS over ${soak.durationS} s of the shapes mixed** (80% reads, 20% writes when both are measured; ` +
            `${fmt(soak.rps, 0)} req/s, p50 ${fmt(soak.p50Ms)} ms, p99 ${fmt(soak.p99Ms)} ms): ` +
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
