import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { CREATE_TASK, post as postAs, tokenFor } from '../helpers/realtime.js';
import { type SseSubscription, subscribeSse } from '../helpers/sse.js';

// Review of the change feed through a database outage (issue 14). It stops and starts the
// PostgreSQL the run uses, so it runs only against a server of its own: REVIEW_PGDATA (its data
// directory, pg_ctl run as REVIEW_PG_USER, default postgres) with TEST_DATABASE_URL pointing at it.
//   su postgres -c "initdb -D /tmp/pgreview/data -A trust -U postgres"
//   su postgres -c "pg_ctl -D /tmp/pgreview/data -o '-p 5544 -k /tmp/pgreview' -l /tmp/pgreview/log start"
//   REVIEW_PGDATA=/tmp/pgreview/data TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5544/postgres \
//     npx vitest run tests/integration/review-outage

const PGDATA = process.env.REVIEW_PGDATA;
const ADMIN = 'admin@test-clinic.com';
const STAFF = 'staff@test-clinic.com';

function pgCtl(...args: string[]): void {
  const command = ['pg_ctl', '-D', PGDATA as string, ...args].map((a) => `'${a}'`).join(' ');
  execFileSync('su', [process.env.REVIEW_PG_USER ?? 'postgres', '-c', command], { stdio: 'ignore' });
}
const stopDatabase = () => pgCtl('stop', '-m', 'fast', '-w');
const startDatabase = () => pgCtl('start', '-w', '-l', `${PGDATA}/../log`, '-o', `-p 5544 -k ${PGDATA}/..`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!PGDATA)('database outage', () => {
  let app: TestApp;
  let url: string;
  const open: SseSubscription[] = [];
  beforeAll(async () => {
    app = await startTestApp({ env: { DB_STATEMENT_TIMEOUT_MS: '1000' } });
    url = `${await listenLocally(app)}/graphql`;
  });
  afterAll(async () => {
    for (const subscription of open) subscription.close();
    await new Promise((resolve) => app?.http.close(resolve));
    await app?.close();
  });
  const subscribe = async (email: string, query: string, variables: Record<string, unknown> = {}) => {
    const subscription = await subscribeSse(url, await tokenFor(email), query, variables);
    open.push(subscription);
    return subscription;
  };
  const codesOf = (subscription: SseSubscription) =>
    subscription.results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));

  test('subscribing while the database is down: SERVICE_UNAVAILABLE; a replaying subscriber carries on after it', async () => {
    const cases = await postAs<{ cases: { edges: { node: { id: string } }[] } }>(
      url,
      ADMIN,
      '{ cases(first: 1) { edges { node { id } } } }',
    );
    const caseId = cases.data?.cases.edges[0]?.node.id;
    const createTask = async () => {
      const result = await postAs(url, ADMIN, CREATE_TASK, { input: { caseId, title: 'outage' } });
      expect(result.errors).toBeUndefined();
    };
    const live = await subscribe(STAFF, 'subscription { changes { cursor } }');
    await createTask();
    const [seen] = await live.waitFor(1);
    const after = (seen?.data as { changes: { cursor: string } } | undefined)?.changes.cursor;
    // No subscriber of the tenant left: the replay's changes are not in memory, it reads them.
    live.close();
    await sleep(300);
    await createTask();
    // A replay whose first read waits on a lock; the outage then breaks its connection.
    const locker = new pg.Client({ connectionString: app.db.ownerUrl });
    locker.on('error', () => {});
    await locker.connect();
    await locker.query('BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
    const replay = await subscribe(
      STAFF,
      'subscription ($after: String) { changes(after: $after) { cursor } }',
      {
        after,
      },
    );
    // Its read is waiting for the lock when the database stops.
    for (let waiting = 0; waiting === 0; await sleep(50)) {
      const [row] = await locker
        .query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM events WHERE tenant_id%'",
        )
        .then((r) => r.rows);
      waiting = row?.n ?? 0;
    }
    stopDatabase();
    try {
      const refused = await subscribe(STAFF, 'subscription { changes { cursor } }');
      const [first] = await refused.waitFor(1);
      expect(first?.errors?.[0]?.extensions?.code, JSON.stringify(first)).toBe('SERVICE_UNAVAILABLE');
      await sleep(3_000);
    } finally {
      startDatabase();
    }
    // Before the fix of feed.ts, the replay streamed "Unexpected error." as fast as it was read.
    expect(replay.results.length, JSON.stringify(replay.results.slice(0, 3))).toBeLessThanOrEqual(1);
    const fresh = await subscribe(STAFF, 'subscription { changes { cursor } }');
    await createTask();
    await fresh.waitFor(1, 15_000);
    await replay.waitFor(2, 15_000);
    expect(codesOf(fresh)).toEqual([]);
    expect(codesOf(replay)).toEqual([]);
  }, 60_000);
});
