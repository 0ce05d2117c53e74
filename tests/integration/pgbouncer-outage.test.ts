import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ListeningServer, listen } from '../helpers/listening.js';
import { type OwnPostgres, startOwnPostgres } from '../helpers/own-postgres.js';
import { findPgbouncer, type Pgbouncer, startPgbouncer } from '../helpers/pgbouncer.js';

// Behind PgBouncer a request that finds PostgreSQL down does not fail at connect: PgBouncer takes
// the connection and queues the request while it tries PostgreSQL (15 s by its defaults, its
// timeouts left as they come). The server bounds the wait on its own side: a 503 within twice the
// statement timeout, and /readyz says so within its 2 s.

const PGBOUNCER = findPgbouncer();
const STATEMENT_TIMEOUT_MS = 1_000;

if (!PGBOUNCER) console.warn('pgbouncer-outage.test.ts skipped: no pgbouncer binary on PATH or in /usr/sbin');

describe.skipIf(!PGBOUNCER)(
  'PostgreSQL down behind PgBouncer, with its default connect and wait timeouts',
  () => {
    let pg: OwnPostgres;
    let pgbouncer: Pgbouncer;
    let server: ListeningServer;

    beforeAll(async () => {
      pg = await startOwnPostgres();
      // server_login_retry: after a failed login PgBouncer waits this long (15 s by default) before
      // it tries PostgreSQL again, however soon PostgreSQL is back (docs/operations.md).
      pgbouncer = await startPgbouncer(PGBOUNCER as string, pg.runtimeUrl, {
        default_pool_size: 4,
        server_login_retry: 1,
      });
      server = await listen(pgbouncer.pooled(pg.runtimeUrl), {
        DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        DB_PREPARED_STATEMENTS: 'false',
      });
    }, 120_000);

    afterAll(async () => {
      await server?.close();
      await pgbouncer?.stop();
      await pg?.close();
    });

    test('stopped: every request is a 503 within twice the statement timeout, /readyz within 2 s; then serving again', async () => {
      expect((await server.post('{ me { email } }')).status).toBe(200);
      await pg.stop();
      try {
        const started = Date.now();
        const [outcomes, ready] = await Promise.all([
          Promise.all(
            [0, 1, 2, 3, 4, 5].map((n) =>
              server.post(n % 2 ? '{ me { email } }' : '{ cases(first: 2) { totalCount } }'),
            ),
          ),
          fetch(`${server.url}/readyz`).then(async (res) => ({
            status: res.status,
            reason: ((await res.json()) as { reason?: string }).reason,
            ms: Date.now() - started,
          })),
        ]);
        const slowest = Math.max(...outcomes.map((o) => o.ms));
        console.info(
          `pgbouncer outage: 6 requests answered ${[...new Set(outcomes.map((o) => `${o.status} ${o.code}`))].join(', ')} ` +
            `in at most ${slowest} ms; /readyz ${ready.status} "${ready.reason}" in ${ready.ms} ms`,
        );
        expect(outcomes.map((o) => [o.status, o.code, o.retryAfter !== null])).toEqual(
          outcomes.map(() => [503, 'SERVICE_UNAVAILABLE', true]),
        );
        expect(slowest).toBeLessThan(2 * STATEMENT_TIMEOUT_MS + 500);
        expect(ready.status).toBe(503);
        expect(ready.ms).toBeLessThan(3_000);
      } finally {
        await pg.start();
      }
      const back = Date.now();
      for (let tries = 0; tries < 100; tries++) {
        if ((await server.post('{ me { email } }')).status === 200) {
          console.info(`pgbouncer outage: serving again ${Date.now() - back} ms after PostgreSQL came back`);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('not serving again 10 s after PostgreSQL came back');
    }, 60_000);
  },
);
