import http from 'node:http';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity, stableUuid } from '../../src/db/seed.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// Shutdown always ends, and ends cleanly: the server is a process of its own, stopped with
// SIGTERM in the two situations that used to go wrong.

const GRACE_MS = 1_000;
const DEADLINE_MS = 1_000;
let db: TestDatabase;
let token: string;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  token = await signToken(TEST_JWT_SECRET, seedIdentity('admin@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
  });
}, 60_000);

afterAll(async () => {
  for (const server of servers) server.kill();
  await db?.drop();
});

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServerProcess(db.runtimeUrl, {
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    SHUTDOWN_DEADLINE_MS: String(DEADLINE_MS),
    ...env,
  });
  servers.push(server);
  return server;
}

/** The runtime login's backends in this database, by state, and how many wait on a lock. */
async function runtimeBackends(): Promise<{ idleInTransaction: number; waiting: number; all: number }> {
  const [row] = await query<{ idle_in_transaction: number; waiting: number; all: number }>(
    db.ownerUrl,
    `SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS idle_in_transaction,
            count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting,
            count(*)::int AS all
     FROM pg_stat_activity WHERE usename = 'prior_auth_test_runtime' AND datname = current_database()`,
  );
  return { idleInTransaction: row?.idle_in_transaction ?? 0, waiting: row?.waiting ?? 0, all: row?.all ?? 0 };
}

test('SIGTERM while mutations wait on a lock and their clients are gone: exits within grace + deadline, no transaction left', async () => {
  // A statement timeout far beyond the test: only the shutdown's own deadline can end these waits.
  const server = await start({ DB_STATEMENT_TIMEOUT_MS: '120000' });
  const [task] = await query<{ id: string; title: string }>(
    db.ownerUrl,
    'SELECT id, title FROM tasks WHERE tenant_id = $1 ORDER BY id LIMIT 1',
    [stableUuid('tenant', 'test-clinic')],
  );
  const locker = new pg.Client({ connectionString: db.ownerUrl });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE', [task?.id]);
  try {
    const clients = Array.from({ length: 8 }, (_, n) => {
      const abort = new AbortController();
      const sent = fetch(server.url, {
        method: 'POST',
        signal: abort.signal,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'mutation ($input: UpdateTaskInput!) { updateTask(input: $input) { __typename } }',
          variables: { input: { id: encodeGlobalID('Task', task?.id as string), title: `never-${n}` } },
        }),
      }).catch(() => undefined);
      return { abort, sent };
    });
    await until(async () => (await runtimeBackends()).waiting === 8, 10_000);
    for (const client of clients) client.abort.abort(); // the clients are gone
    await Promise.all(clients.map((c) => c.sent));

    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code, at } = await server.exited;
    const tookMs = at - signalled;
    await until(async () => (await runtimeBackends()).all === 0, 2_000);
    const left = await runtimeBackends();
    const abandoned = server.lines.find((l) => String(l.msg).startsWith('shutdown deadline over'));
    console.info(
      `shutdown: 8 mutations waiting on a lock, clients gone: exited ${code} ${tookMs} ms after SIGTERM ` +
        `(grace ${GRACE_MS} + deadline ${DEADLINE_MS}); ${abandoned?.transactions} transactions cancelled; ` +
        `backends left: ${JSON.stringify(left)}`,
    );
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(GRACE_MS + DEADLINE_MS + 1_500);
    expect(abandoned?.transactions).toBe(8);
    expect(left).toEqual({ idleInTransaction: 0, waiting: 0, all: 0 });
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
  const titles = await query<{ n: number }>(
    db.ownerUrl,
    "SELECT count(*)::int AS n FROM tasks WHERE title LIKE 'never-%'",
  );
  expect(titles[0]?.n).toBe(0);
}, 60_000);

test('keep-alive clients during a drain, back to back or once a second: every request answered or refused, never reset', async () => {
  const server = await start({});
  const target = new URL(server.url);
  const outcomes: string[] = [];
  // Each worker is a client with one keep-alive connection. Some send their next request as soon
  // as the previous answer arrives, others about once a second: the two patterns that met closed
  // connections under their requests.
  const worker = async (pauseMs: () => number) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (;;) {
      const outcome = await post(agent, target, '{ cases(first: 3) { edges { node { id } } } }');
      outcomes.push(outcome);
      if (outcome !== '200') break;
      const pause = pauseMs();
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
    agent.destroy();
  };
  const workers = [
    ...Array.from({ length: 4 }, () => worker(() => 0)),
    ...Array.from({ length: 6 }, () => worker(() => 950 + Math.random() * 100)),
  ];
  await until(async () => outcomes.length >= 60, 20_000);
  // Let the once-a-second clients go idle in the middle of their pause.
  await new Promise((r) => setTimeout(r, 400));
  // Twice, as a terminal's Ctrl-C reaches the process both directly and through a parent that
  // passes signals on: the second must not cut the drain short.
  server.child.kill('SIGTERM');
  setTimeout(() => server.child.kill('SIGTERM'), 100);
  await Promise.all(workers);
  const { code } = await server.exited;
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  console.info(`shutdown: keep-alive clients during a drain: ${JSON.stringify(counts)}`);
  expect(code).toBe(0);
  expect(server.lines.at(-1)?.msg).toBe('stopped');
  expect(Object.keys(counts).sort()).toEqual(['200', 'ECONNREFUSED']);
  expect(counts.ECONNREFUSED).toBe(10);
}, 60_000);

/** "200", another status, or the network error's code. */
function post(agent: http.Agent, url: URL, query: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(JSON.stringify({ query }));
  });
}

async function until(condition: () => Promise<boolean>, limitMs: number): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > limitMs) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
