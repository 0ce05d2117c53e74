import { readdirSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BenchDatabase, removeBenchWrites } from './db.js';
import { cpuMs, type StartedServer } from './proc.js';
import {
  checkExactness,
  type Exactness,
  type Latency,
  measureLatency,
  type Subscriber,
} from './realtime-check.js';
import {
  CpuMeter,
  committedChanges,
  exitOf,
  heads,
  memoryAfterGc,
  REDIS_URL,
  startInstance,
  transactions,
} from './realtime-servers.js';
import { Subscriptions } from './realtime-subscribers.js';
import { writeAtRate } from './realtime-writes.js';
import { loadContexts, type RequestContext } from './shapes.js';
import { prepareWorkTasks } from './work.js';

/**
 * The realtime scenario (npm run bench -- --realtime): subscribers of Subscription.changes over
 * SSE on the production build, mutations at a fixed rate meanwhile; what arrived, how late, at
 * what cost (docs/benchmarks.md, "Realtime", says what each figure is).
 */

export const REALTIME_SETUPS = {
  one: { title: '1 instance', instances: 1, fanout: 'postgres' },
  two: { title: '2 instances, LISTEN/NOTIFY', instances: 2, fanout: 'postgres' },
  'two-redis': { title: '2 instances, Redis', instances: 2, fanout: 'redis' },
} as const;
export type RealtimeSetup = keyof typeof REALTIME_SETUPS;

export interface RealtimeOptions {
  subscribers: number;
  /** Mutations a second, and for how long. */
  rate: number;
  durationS: number;
  setups: RealtimeSetup[];
  /** node --cpu-prof on the (first) instance. */
  profile: boolean;
  pool: number;
}

/** How long the writes go on before any subscriber (JIT, pool, caches), then with the CPU measured. */
const WARMUP_S = 3;
const BASELINE_S = 10;
/** The wait for the last deliveries gives up after this long without a new one, or this long after the writes began. */
const STALL_MS = 30_000;
const DRAIN_MAX_MS = 300_000;

export interface RealtimeResult {
  setup: RealtimeSetup;
  /** Instances that ended before the bench stopped them, and why (their log's FATAL ERROR). */
  exits: string[];
  env: Record<string, string>;
  subscribers: { opened: number; refused: number; openS: number; perUser: number };
  /** After a full GC: RSS, and the V8 heap in use, before the subscribers and with them idle. */
  rss: {
    beforeMB: number[];
    idleMB: number[];
    kbPerIdleSubscriber: number | null;
    heapKbPerIdleSubscriber: number | null;
  };
  /** Server CPU of the writes alone, before any subscriber (all instances). */
  baselineCpuMsPerMutation: number | null;
  writes: { sent: number; ok: number; skipped: number; durationS: number; failures: Record<string, number> };
  exactness: Exactness;
  latency: Latency;
  /** Every expected change arrived (else the wait gave up after STALL_MS without progress). */
  complete: boolean;
  /** From the last mutation's answer to the last delivery. */
  drainS: number | null;
  cpu: {
    windowS: number;
    serverMs: number | null;
    perDeliveryMs: number | null;
    /** Less the writes' own CPU (their baseline per mutation × the mutations sent). */
    netPerDeliveryMs: number | null;
    postgresMs: number;
    postgresPerDeliveryMs: number | null;
    /** The runner's own (writes and subscribers' client), every other process's, the machine's busy time. */
    runnerMs: number;
    othersMs: number;
    machineMs: number;
  };
  clientLoopDelayP99Ms: number;
  /** The measured run, from the first write to the last delivery, in µs of process.hrtime's clock. */
  windowUs: { fromUs: number; toUs: number };
  /** Transactions the bench database committed or rolled back in the run, less one per mutation, per delivery. */
  transactionsPerDelivery: number | null;
}

/** The request contexts sorted so that consecutive ones are of other tenants: the writes spread. */
function interleaveTenants(contexts: RequestContext[]): RequestContext[] {
  const slot = new Map<string, number>();
  const ranked = contexts.map((ctx) => {
    const n = slot.get(ctx.tenantId) ?? 0;
    slot.set(ctx.tenantId, n + 1);
    return { ctx, n };
  });
  return ranked.sort((a, b) => a.n - b.n || a.ctx.slug.localeCompare(b.ctx.slug)).map((r) => r.ctx);
}

const cpuOf = (servers: StartedServer[]): number | null => {
  const values = servers.map((s) => cpuMs(s.pid));
  return values.some((v) => v === null) ? null : (values as number[]).reduce((a, b) => a + b, 0);
};

const countBy = (values: string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
};

const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);

/**
 * Waits until every subscriber received its tenant's changes of the run; gives up after STALL_MS
 * without a new one, or DRAIN_MAX_MS after the writes began.
 */
async function drained(
  live: Subscriber[],
  range: Map<string, { start: number; end: number }>,
  runStarted: number,
): Promise<boolean> {
  const expected = (s: Subscriber) => {
    const r = range.get(s.tenantId);
    return r ? r.end - r.start : 0;
  };
  let lastCount = -1;
  let lastProgress = performance.now();
  for (;;) {
    if (live.every((s) => s.cursors.length >= expected(s))) return true;
    const count = live.reduce((a, s) => a + s.cursors.length, 0);
    const now = performance.now();
    if (count !== lastCount) {
      lastCount = count;
      lastProgress = now;
    }
    if (now - lastProgress > STALL_MS || now - runStarted > DRAIN_MAX_MS) return false;
    await sleep(20);
  }
}

export async function runRealtimeSetup(
  setup: RealtimeSetup,
  options: RealtimeOptions,
  context: { db: BenchDatabase; resultsDir: string; log: (line: string) => void },
): Promise<RealtimeResult> {
  const { db, log } = context;
  const spec = REALTIME_SETUPS[setup];
  await removeBenchWrites(db);
  const readers = await loadContexts(db.ownerUrl, 25);
  // Every user writes too, with a task of their own per shape: with 500 tasks, the writes keep
  // their rate until answers take 20 s (a task's next request waits for its last answer).
  const writers = interleaveTenants(readers);
  await prepareWorkTasks(db.ownerUrl, writers);
  const tenants = [...new Set(readers.map((r) => r.tenantId))];
  const perUser = Math.ceil(options.subscribers / readers.length / spec.instances);
  const env: Record<string, string> = {
    // Streams, the writer's connections and the probes: the default 1,000 is one short.
    MAX_CONNECTIONS: String(options.subscribers + 500),
    ...(perUser > 10 ? { MAX_SUBSCRIPTIONS_PER_USER: String(perUser) } : {}),
    ...(spec.fanout === 'redis' ? { REDIS_URL } : {}),
  };

  const servers: StartedServer[] = [];
  // Each run's logs kept: they tell why deliveries and writes failed.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const logFiles: string[] = [];
  let subscriptions: Subscriptions | undefined;
  let profileDir: string | null = null;
  try {
    for (let instance = 0; instance < spec.instances; instance++) {
      logFiles.push(path.join(context.resultsDir, `realtime-${setup}-${instance}-${stamp}.log`));
      if (options.profile && instance === 0)
        profileDir = path.join(context.resultsDir, `profile-realtime-${Date.now()}`);
      servers.push(
        await startInstance({
          env: { ...env, DATABASE_URL: db.runtimeUrl, DB_POOL_MAX: String(options.pool) },
          logFile: logFiles[instance] as string,
          profileDir: instance === 0 ? profileDir : null,
        }),
      );
    }
    const writeUrl = new URL((servers[0] as StartedServer).url);
    const write = (durationS: number) =>
      writeAtRate({ url: writeUrl, contexts: writers, rate: options.rate, durationS });

    // The writes alone: warm-up, then their CPU per mutation.
    await write(WARMUP_S);
    const baseline0 = cpuOf(servers);
    const baseline = await write(BASELINE_S);
    const baselineCpu = minus(cpuOf(servers), baseline0);
    const baselineCpuMsPerMutation = baselineCpu === null ? null : baselineCpu / baseline.mutations.length;
    log(
      `  ${setup}: writes alone ${baseline.mutations.filter((m) => m.ok).length}/${baseline.mutations.length} ok, ` +
        `server CPU ${baselineCpuMsPerMutation?.toFixed(2)} ms/mutation`,
    );

    const pids = servers.map((s) => s.pid);
    const memory = () =>
      Promise.all(servers.map((server, i) => memoryAfterGc(server, logFiles[i] as string)));
    await sleep(2_000);
    const before = await memory();

    // The subscribers.
    const openStarted = performance.now();
    subscriptions = new Subscriptions(options.subscribers);
    await subscriptions.open({ servers, readers, tenants, count: options.subscribers });
    const openS = (performance.now() - openStarted) / 1000;
    await sleep(3_000);
    const idle = await memory();
    const beforeMB = before.map((m) => m.rssMB);
    const idleMB = idle.map((m) => m.rssMB);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    // A refusal inside the stream (TOO_MANY_SUBSCRIPTIONS) is an error result, then the end.
    const live = subscriptions.listeners.filter(
      (s) => Object.keys(s.errors).length === 0 && s.stream?.status === 200,
    );
    const refused = options.subscribers - live.length;
    const perSubscriberKB = (mb: number) => (live.length > 0 ? (mb * 1024) / live.length : null);
    const kbPerIdleSubscriber = perSubscriberKB(sum(idleMB) - sum(beforeMB));
    const heapKbPerIdleSubscriber = perSubscriberKB(
      sum(idle.map((m) => m.heapUsedMB)) - sum(before.map((m) => m.heapUsedMB)),
    );
    log(
      `  ${setup}: ${live.length} subscribers open in ${openS.toFixed(1)} s (${refused} refused), RSS ` +
        `${beforeMB.map((x) => x.toFixed(0)).join('+')} → ${idleMB.map((x) => x.toFixed(0)).join('+')} MB, ` +
        `${kbPerIdleSubscriber?.toFixed(1)} KB per idle subscriber (heap ${heapKbPerIdleSubscriber?.toFixed(1)} KB)`,
    );

    // The measured run: writes at the rate, then the wait for the last deliveries.
    const start = await heads(db.ownerUrl);
    for (const s of live) {
      s.resumable = true;
      s.start = start.get(s.tenantId) ?? 0;
    }
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const meter = new CpuMeter(pids, db.ownerUrl);
    await meter.start();
    const runStarted = performance.now();
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const transactions0 = await transactions(db.ownerUrl);
    const run = await write(options.durationS);
    const end = await heads(db.ownerUrl);
    const range = new Map(tenants.map((t) => [t, { start: start.get(t) ?? 0, end: end.get(t) ?? 0 }]));
    const complete = await drained(live, range, runStarted);
    const { serverMs, postgresMs, runnerMs, machineMs } = await meter.stop();
    const toUs = Number(process.hrtime.bigint() / 1000n);
    // The statistics of a backend reach pg_stat_database within a second of its transactions.
    await sleep(1_500);
    const transactionsRun = (await transactions(db.ownerUrl)) - transactions0;
    loopDelay.disable();
    const windowS = (performance.now() - runStarted) / 1000;
    const lastDelivery = Math.max(...live.map((s) => s.receivedAt.at(-1) ?? 0));
    const lastAnswer = Math.max(...run.mutations.map((m) => m.answeredAt));
    const exits = servers.flatMap((server, i) => {
      const cause = exitOf(server, logFiles[i] as string);
      return cause ? [`instance ${i + 1}: ${cause}`] : [];
    });

    const committed = await committedChanges(db.ownerUrl, range);
    const exactness = checkExactness(live, range, committed);
    const latency = measureLatency(live, run.mutations, committed);
    const deliveries = exactness.received;
    const perDelivery = (ms: number | null) => (ms === null || deliveries === 0 ? null : ms / deliveries);
    const writesCpu =
      baselineCpuMsPerMutation === null ? null : baselineCpuMsPerMutation * run.mutations.length;

    subscriptions.close();
    return {
      setup,
      env,
      subscribers: { opened: live.length, refused, openS, perUser },
      exits,
      rss: { beforeMB, idleMB, kbPerIdleSubscriber, heapKbPerIdleSubscriber },
      baselineCpuMsPerMutation,
      writes: {
        sent: run.mutations.length,
        ok: run.mutations.filter((m) => m.ok).length,
        skipped: run.skipped,
        durationS: run.durationS,
        failures: countBy(run.mutations.flatMap((m) => (m.failure ? [m.failure] : []))),
      },
      exactness,
      latency,
      complete,
      drainS: deliveries > 0 ? (lastDelivery - lastAnswer) / 1000 : null,
      cpu: {
        windowS,
        serverMs,
        perDeliveryMs: perDelivery(serverMs),
        netPerDeliveryMs: perDelivery(minus(serverMs, writesCpu)),
        postgresMs,
        postgresPerDeliveryMs: perDelivery(postgresMs),
        runnerMs,
        othersMs: machineMs - serverMs - postgresMs - runnerMs,
        machineMs,
      },
      clientLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      windowUs: { fromUs, toUs },
      transactionsPerDelivery: perDelivery(transactionsRun - run.mutations.length),
    };
  } finally {
    subscriptions?.close();
    // The profile is written when the process exits.
    await Promise.all(servers.map((s) => s.stop()));
    await removeBenchWrites(db).catch(() => 0);
    if (profileDir) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) log(`  ${setup}: profile ${path.join(profileDir, file)}`);
    }
  }
}

/** The .cpuprofile a profiled setup left in `resultsDir` (the newest). */
export function latestRealtimeProfile(resultsDir: string): string | null {
  const dirs = readdirSync(resultsDir)
    .filter((d) => d.startsWith('profile-realtime-'))
    .sort();
  const dir = dirs.at(-1);
  if (!dir) return null;
  const file = readdirSync(path.join(resultsDir, dir)).find((f) => f.endsWith('.cpuprofile'));
  return file ? path.join(resultsDir, dir, file) : null;
}
