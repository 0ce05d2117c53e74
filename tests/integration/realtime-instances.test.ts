import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { LISTEN_APPLICATION_NAME } from '../../src/realtime/fanout.js';
import { createSeededTestDatabase } from '../helpers/app.js';
import { firstCaseId, query, type TestDatabase } from '../helpers/db.js';
import {
  CHANGES,
  type ChangeResult,
  CREATE_TASK,
  cursorNumber,
  post,
  tokenFor,
} from '../helpers/realtime.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { type SseSubscription, subscribeSse } from '../helpers/sse.js';

// Several server instances on one database, as deployed: a change committed through one reaches
// the subscribers of the other, through PostgreSQL LISTEN/NOTIFY and through Redis; a lost
// fan-out connection loses nothing; SIGTERM completes open streams (API.md, "Realtime").

const ADMIN = 'admin@test-clinic.com';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let db: TestDatabase;
let caseId: string;
const servers: ServerProcess[] = [];
const open: SseSubscription[] = [];

beforeAll(async () => {
  db = await createSeededTestDatabase();
  caseId = await firstCaseId(db.ownerUrl, stableUuid('tenant', 'test-clinic'));
}, 60_000);
afterEach(async () => {
  for (const subscription of open.splice(0)) subscription.close();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});
afterAll(() => db?.drop());

async function start(env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess(db.runtimeUrl, env);
  servers.push(server);
  return server;
}

async function subscribe(server: ServerProcess, variables: Record<string, unknown> = {}) {
  const subscription = await subscribeSse(server.url, await tokenFor(ADMIN), CHANGES, variables);
  expect(subscription.status).toBe(200);
  open.push(subscription);
  return subscription;
}

const changesOf = (subscription: SseSubscription) =>
  subscription.results.map((result) => {
    expect(result.errors).toBeUndefined();
    return (result.data as { changes: ChangeResult }).changes;
  });

async function createTasks(server: ServerProcess, count: number, clients: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        next++;
        const result = await post(server.url, ADMIN, CREATE_TASK, {
          input: { caseId, title: `task ${next}` },
        });
        expect(result.errors).toBeUndefined();
      }
    }),
  );
}

/** Waits until `condition` holds (checked every 50 ms), or fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Cursor numbers strictly increasing by one: in order, none missed, none twice. */
function expectDense(cursors: number[], count: number): void {
  expect(cursors).toHaveLength(count);
  expect(cursors).toEqual(cursors.map((_, i) => (cursors[0] as number) + i));
}

const redisAnswers = await (async () => {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
})();
if (!redisAnswers) console.warn(`Redis does not answer at ${REDIS_URL}: the Redis fan-out tests are skipped`);

describe.each([
  ['PostgreSQL LISTEN/NOTIFY', {}, true],
  ['Redis', { REDIS_URL }, redisAnswers],
] as const)('fan-out through %s', (_name, env, runs) => {
  test.runIf(runs)(
    '200 mutations from 8 clients on one instance reach subscribers of the other exactly once, in order, across a disconnect and resume',
    async () => {
      const [reader, writer] = [await start(env), await start(env)];
      const steady = await subscribe(reader);
      const resuming = await subscribe(writer);
      const writing = createTasks(writer, 200, 8);
      await until(() => resuming.results.length >= 40);
      resuming.close();
      const seen = changesOf(resuming);
      // Back on the other instance, from the last cursor it saw, while the writes go on.
      const resumed = await subscribe(reader, { after: seen.at(-1)?.cursor });
      await writing;
      await until(() => steady.results.length >= 200 && seen.length + resumed.results.length >= 200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expectDense(
        changesOf(steady).map((c) => cursorNumber(c.cursor)),
        200,
      );
      expectDense(
        [...seen, ...changesOf(resumed)].map((c) => cursorNumber(c.cursor)),
        200,
      );
      expect(changesOf(steady).every((c) => c.entity === 'TASK' && c.kind === 'CREATED')).toBe(true);
    },
    90_000,
  );

  test.runIf(runs)(
    'a lost fan-out connection is re-established and its subscribers caught up',
    async () => {
      const [reader, writer] = [await start(env), await start(env)];
      const subscription = await subscribe(reader);
      await createTasks(writer, 1, 1);
      await until(() => subscription.results.length === 1);
      if ('REDIS_URL' in env) {
        const redis = new Redis(REDIS_URL);
        await redis.client('KILL', 'TYPE', 'pubsub');
        redis.disconnect();
      } else {
        await query(
          db.ownerUrl,
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [LISTEN_APPLICATION_NAME],
        );
      }
      // Committed while the reader may not listen: it reads them when it listens again.
      await createTasks(writer, 5, 1);
      await until(() => subscription.results.length === 6);
      expectDense(
        changesOf(subscription).map((c) => cursorNumber(c.cursor)),
        6,
      );
    },
    60_000,
  );
});

test('SIGTERM completes open streams: the client sees the end, not a cut connection', async () => {
  const server = await start();
  const subscription = await subscribe(server);
  await createTasks(server, 1, 1);
  await until(() => subscription.results.length === 1);
  await server.stop();
  expect(await subscription.ended).toBe('complete');
}, 60_000);
