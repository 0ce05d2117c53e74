import { afterAll, beforeAll, expect, test } from 'vitest';
import { query } from '../helpers/db.js';
import { type ListeningServer, listen } from '../helpers/listening.js';
import { type OwnPostgres, startOwnPostgres } from '../helpers/own-postgres.js';

// The database goes away under a running server, listening on a real port as in production:
// every request is answered, with 200 or with a 503
// SERVICE_UNAVAILABLE that carries Retry-After, never "Unexpected error"; no request outlives
// twice the statement timeout; /readyz says why; when the database is back the server serves
// again without a restart. A PostgreSQL of this file's own, so that no other test is disturbed.

const STATEMENT_TIMEOUT_MS = 1_000;
let pg: OwnPostgres;
let server: ListeningServer;
let caseId: string;

beforeAll(async () => {
  pg = await startOwnPostgres();
  server = await listen(pg.runtimeUrl, { DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) });
  const [row] = await query<{ id: string }>(pg.ownerUrl, 'SELECT id FROM cases LIMIT 1');
  caseId = Buffer.from(`Case:${row?.id}`).toString('base64');
}, 120_000);

afterAll(async () => {
  await server?.close();
  await pg?.close();
});

const CASES = '{ cases(first: 5) { totalCount edges { node { id payer status codes { code } } } } }';
const STATS = '{ caseStats { total byStatus { status count } } }';

/** A few shapes: a compiled read, a resolver read, a write. */
async function mixedRequest(n: number) {
  if (n % 3 === 0) return server.post(CASES);
  if (n % 3 === 1) return server.post(STATS);
  return server.post('mutation ($input: CreateTaskInput!) { createTask(input: $input) { __typename } }', {
    input: { caseId, title: `fault-${n}` },
  });
}

type Outcome = Awaited<ReturnType<ListeningServer['post']>>;

/** Every outcome is a success or a retryable 503; anything else is listed. */
function misreported(outcomes: Outcome[]): string[] {
  return outcomes
    .filter((o) => !(o.status === 200 && o.code === undefined))
    .filter((o) => !(o.status === 503 && o.code === 'SERVICE_UNAVAILABLE' && o.retryAfter !== null))
    .map((o) => `${o.status} ${o.code}: ${o.body.slice(0, 200)}`);
}

async function untilServing(limitMs: number): Promise<{ ms: number; failed: number }> {
  const started = Date.now();
  let failed = 0;
  while (Date.now() - started < limitMs) {
    if ((await server.post('{ me { email } }')).status === 200) return { ms: Date.now() - started, failed };
    failed++;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not serving again after ${limitMs} ms`);
}

test('every backend terminated three times under load: each request succeeds or is a 503 with Retry-After', async () => {
  const outcomes: Outcome[] = [];
  let stop = false;
  let sent = 0;
  const worker = async () => {
    while (!stop) outcomes.push(await mixedRequest(sent++));
  };
  const workers = Array.from({ length: 8 }, worker);
  let terminated = 0;
  for (let round = 0; round < 3; round++) {
    await new Promise((r) => setTimeout(r, 400));
    const [row] = await query<{ n: number }>(
      pg.ownerUrl,
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = 'prior_auth_runtime'",
    );
    terminated += row?.n ?? 0;
  }
  await new Promise((r) => setTimeout(r, 400));
  stop = true;
  await Promise.all(workers);
  const unavailable = outcomes.filter((o) => o.status === 503).length;
  console.info(
    `faults: ${terminated} backends terminated in 3 rounds under load: ${outcomes.length} requests, ` +
      `${outcomes.length - unavailable} succeeded, ${unavailable} were 503 with Retry-After`,
  );
  expect(terminated).toBeGreaterThan(3);
  expect(misreported(outcomes)).toEqual([]);
  expect((await untilServing(5_000)).failed).toBe(0);
}, 60_000);

test('PostgreSQL stopped and started: fast 503s while it is gone, /readyz names the cause, serving again', async () => {
  expect((await server.post('{ me { email } }')).status).toBe(200);
  await pg.stop();
  const logged = server.lines.length;
  const down = await Promise.all([0, 1, 2, 3, 4, 5].map(mixedRequest));
  const again = await Promise.all([0, 1, 2, 3, 4, 5].map(mixedRequest));
  expect(misreported([...down, ...again])).toEqual([]);
  expect([...down, ...again].every((o) => o.status === 503)).toBe(true);
  // One line per request (the request line) and one per cause for the failure, not one per request.
  const failureLines = server.lines.slice(logged).filter((l) => l.msg === 'database unavailable');
  expect(failureLines.length).toBeGreaterThan(0);
  expect(failureLines.length).toBeLessThanOrEqual(2);
  const slowest = Math.max(...down.map((o) => o.ms));
  expect(slowest).toBeLessThan(2 * STATEMENT_TIMEOUT_MS);
  const ready = await fetch(`${server.url}/readyz`);
  const reason = ((await ready.json()) as { reason: string }).reason;
  expect(ready.status).toBe(503);
  expect(reason).toMatch(/^database: \S/);
  await pg.start();
  const back = await untilServing(5_000);
  console.info(
    `faults: PostgreSQL stopped: 12 requests answered 503 (the first 6 in at most ${slowest} ms), ` +
      `${failureLines.length} failure log line(s); /readyz "${reason}"; after the restart serving again in ${back.ms} ms (${back.failed} failed meanwhile)`,
  );
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
}, 60_000);

test('PostgreSQL frozen (SIGSTOP): every request ends within twice the statement timeout, as a 503; /readyz too', async () => {
  // Warm connections in the pool: frozen under an open connection is the case no connect timeout covers.
  await Promise.all([0, 1, 2, 3].map(() => server.post(CASES)));
  pg.freeze();
  try {
    const started = Date.now();
    const [frozen, ready] = await Promise.all([
      Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(mixedRequest)),
      fetch(`${server.url}/readyz`).then(async (res) => ({
        status: res.status,
        reason: ((await res.json()) as { reason?: string }).reason,
        ms: Date.now() - started,
      })),
    ]);
    const slowest = Math.max(...frozen.map((o) => o.ms));
    console.info(
      `faults: PostgreSQL frozen: 8 requests answered ${[...new Set(frozen.map((o) => o.status))].join('/')} ` +
        `in ${Math.min(...frozen.map((o) => o.ms))}-${slowest} ms (bound ${2 * STATEMENT_TIMEOUT_MS} ms + 500); ` +
        `/readyz ${ready.status} "${ready.reason}" in ${ready.ms} ms`,
    );
    expect(misreported(frozen)).toEqual([]);
    expect(frozen.every((o) => o.status === 503)).toBe(true);
    expect(slowest).toBeLessThan(2 * STATEMENT_TIMEOUT_MS + 500);
    expect(ready.status).toBe(503);
    expect(ready.reason).toMatch(/^database: (no answer|could not connect) within/);
    expect(ready.ms).toBeLessThan(3_000);
  } finally {
    pg.thaw();
  }
  const back = await untilServing(5_000);
  console.info(`faults: after SIGCONT serving again in ${back.ms} ms (${back.failed} failed meanwhile)`);
}, 60_000);

test('a lock storm fills the request pool: requests time out, /readyz on its own connection stays 200', async () => {
  const locker = await import('pg').then(
    ({ default: pg_ }) => new pg_.Client({ connectionString: pg.ownerUrl }),
  );
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE cases IN ACCESS EXCLUSIVE MODE');
    const blocked = Promise.all([0, 1, 2, 3, 4, 5].map(() => server.post(CASES)));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const ready = await fetch(`${server.url}/readyz`);
    const readyMs = Date.now() - started;
    const outcomes = await blocked;
    console.info(
      `faults: lock storm: /readyz ${ready.status} in ${readyMs} ms while ${outcomes.length} requests waited; ` +
        `they ended ${[...new Set(outcomes.map((o) => `${o.status} ${o.code}`))].join(', ')}`,
    );
    expect(ready.status).toBe(200);
    expect(readyMs).toBeLessThan(1_000);
    expect(outcomes.every((o) => o.code === 'TIMEOUT' || o.code === 'SERVICE_UNAVAILABLE')).toBe(true);
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
}, 60_000);
