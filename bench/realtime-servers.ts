import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { freePort } from '../src/db/embedded.js';
import { withClient } from './db.js';
import { cpuMs, rssMB, type StartedServer, startServer } from './proc.js';
import type { Committed } from './realtime-check.js';
import { median } from './report.js';
import { BENCH_JWT, BENCH_MEMBER_ID_HASH_KEY, SERVER_ENV, SERVER_NODE_FLAGS } from './shapes.js';

/** The realtime scenario's server processes, and what it reads of them and of the bench database. */

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The production build as the other shapes run it (bench/run.ts), on a free port, with `env`
 * (the database, the pool, the scenario's limits); `profileDir`: node --cpu-prof into it. With the
 * inspector on loopback, idle until `memoryAfterGc` asks it for a full garbage collection.
 */
export async function startInstance(options: {
  env: Record<string, string>;
  logFile: string;
  profileDir: string | null;
}): Promise<StartedServer> {
  const port = await freePort();
  return startServer({
    nodeArgs: [
      ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []),
      '--inspect=127.0.0.1:0',
      ...SERVER_NODE_FLAGS,
      path.resolve(import.meta.dirname, '../dist/index.js'),
    ],
    env: {
      ...SERVER_ENV,
      ...options.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET: BENCH_JWT.secret,
      JWT_ISSUER: BENCH_JWT.issuer,
      JWT_AUDIENCE: BENCH_JWT.audience,
      MEMBER_ID_HASH_KEY: BENCH_MEMBER_ID_HASH_KEY,
    },
    port,
    logFile: options.logFile,
  });
}

/** Whether Redis answers a PING within a second. */
export async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * The server's memory with its garbage collected (the inspector's HeapProfiler.collectGarbage):
 * the V8 heap in use, and RSS once it settled: V8 and malloc give pages back to the system some
 * time after a collection, so collections and 2 s of samples (their median) are repeated until
 * two medians agree within 1 MB (5 rounds at most). Without this, whether the garbage of the
 * writes before was collected (and given back) decides the figure more than the subscribers do.
 */
export async function memoryAfterGc(
  server: StartedServer,
  logFile: string,
): Promise<{ rssMB: number; heapUsedMB: number }> {
  const url = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(readFileSync(logFile, 'utf8'))?.[0];
  if (!url) throw new Error(`no inspector URL in ${logFile}`);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string) =>
    new Promise<{ usedSize?: number }>((resolve) => {
      const mine = ++id;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: { usedSize?: number } };
        if (message.id !== mine) return;
        socket.off('message', onMessage);
        resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method }));
    });
  try {
    let last = Number.NaN;
    let heapUsedMB = Number.NaN;
    for (let round = 0; round < 5; round++) {
      await call('HeapProfiler.collectGarbage');
      heapUsedMB = ((await call('Runtime.getHeapUsage')).usedSize ?? Number.NaN) / 2 ** 20;
      await sleep(1_000);
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        samples.push(rssMB(server.pid) ?? Number.NaN);
        await sleep(400);
      }
      const rss = median(samples) ?? Number.NaN;
      if (Math.abs(rss - last) < 1) return { rssMB: rss, heapUsedMB };
      last = rss;
    }
    return { rssMB: last, heapUsedMB };
  } finally {
    socket.close();
  }
}

/**
 * CPU time of the server processes and of the PostgreSQL backends connected to the bench database
 * (the shared cluster's other databases, other test runs, are not the bench's cost), sampled
 * every second so that a process that dies (or a backend the pool closes) keeps what it spent
 * until its last sample.
 */
export class CpuMeter {
  private readonly servers = new Map<number, { first: number; last: number }>();
  private readonly backends = new Map<number, { first: number; last: number }>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly pids: number[],
    private readonly ownerUrl: string,
  ) {}

  private machine0 = 0;
  private runner0 = 0;

  async start(): Promise<void> {
    this.client = new pg.Client({ connectionString: this.ownerUrl });
    await this.client.connect();
    this.machine0 = machineBusyMs();
    this.runner0 = runnerMs();
    await this.sample();
    this.started = true;
    this.timer = setInterval(() => void this.sample().catch(() => undefined), 1_000);
  }

  /**
   * CPU ms since start(): the servers', the bench database's backends', this runner's, and the
   * whole machine's (every core, busy time), which shows what the other processes took.
   */
  async stop(): Promise<{ serverMs: number; postgresMs: number; runnerMs: number; machineMs: number }> {
    clearInterval(this.timer);
    await this.sample().catch(() => undefined);
    await this.client?.end();
    const spent = (map: Map<number, { first: number; last: number }>) =>
      [...map.values()].reduce((total, { first, last }) => total + last - first, 0);
    return {
      serverMs: spent(this.servers),
      postgresMs: spent(this.backends),
      runnerMs: runnerMs() - this.runner0,
      machineMs: machineBusyMs() - this.machine0,
    };
  }

  private async sample(): Promise<void> {
    for (const pid of this.pids) record(this.servers, pid, cpuMs(pid), this.started);
    const { rows } = await (this.client as pg.Client).query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    for (const { pid } of rows) record(this.backends, pid, cpuMs(pid), this.started);
  }
}

/** Busy CPU ms of the machine, all cores (/proc/stat: all but idle and iowait; USER_HZ is 100). */
function machineBusyMs(): number {
  const [, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
}

/** This process's CPU ms (the load generator and the subscribers' client). */
function runnerMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A process first seen after the start counts from zero: all of its time was spent meanwhile. */
function record(
  map: Map<number, { first: number; last: number }>,
  pid: number,
  ms: number | null,
  started: boolean,
): void {
  if (ms === null) return;
  const entry = map.get(pid);
  if (entry) entry.last = ms;
  else map.set(pid, { first: started ? 0 : ms, last: ms });
}

/** Transactions the bench database has committed and rolled back (pg_stat_database). */
export async function transactions(ownerUrl: string): Promise<number> {
  return withClient(ownerUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT (xact_commit + xact_rollback)::float8 AS n FROM pg_stat_database WHERE datname = current_database()`,
    );
    return rows[0]?.n ?? 0;
  });
}

/** Each tenant's last cursor (change_cursors, as the owner: every tenant). */
export async function heads(ownerUrl: string): Promise<Map<string, number>> {
  return withClient(ownerUrl, async (client) => {
    const { rows } = await client.query<{ tenant_id: string; last: number }>(
      'SELECT tenant_id::text, last::float8 AS last FROM change_cursors',
    );
    return new Map(rows.map((r) => [r.tenant_id, r.last]));
  });
}

/** The events rows of the run, per tenant: cursor → global ID of the task (the change's entityId). */
export async function committedChanges(
  ownerUrl: string,
  range: Map<string, { start: number; end: number }>,
): Promise<Committed> {
  const committed: Committed = new Map();
  await withClient(ownerUrl, async (client) => {
    for (const [tenantId, { start, end }] of range) {
      const { rows } = await client.query<{ cursor: number; entity_id: string }>(
        `SELECT cursor::float8 AS cursor, entity_id::text FROM events
         WHERE tenant_id = $1 AND cursor > $2 AND cursor <= $3`,
        [tenantId, start, end],
      );
      committed.set(tenantId, new Map(rows.map((r) => [r.cursor, encodeGlobalID('Task', r.entity_id)])));
    }
  });
  return committed;
}

/** Why a server process ended before the bench stopped it (null: it runs), from its log. */
export function exitOf(server: StartedServer, logFile: string): string | null {
  const { exitCode, signalCode } = server.child;
  if (exitCode === null && signalCode === null) return null;
  const log = readFileSync(logFile, 'utf8');
  const cause = /FATAL ERROR: ([^\n]+)/.exec(log)?.[1] ?? `exit code ${exitCode}, signal ${signalCode}`;
  return cause;
}
