import { afterAll, beforeAll, expect, test } from 'vitest';
import { LISTEN_APPLICATION_NAME } from '../../src/realtime/fanout.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// Review: the LISTEN connection of the PostgreSQL fan-out (src/realtime/fanout.ts), re-established
// after it is lost: one connection per instance, before and after.

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

const listeners = async () =>
  (
    await query<{ pid: number }>(
      app.db.ownerUrl,
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [LISTEN_APPLICATION_NAME],
    )
  ).map((row) => row.pid);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a lost LISTEN connection is replaced by one connection, not two', async () => {
  for (let waited = 0; (await listeners()).length === 0 && waited < 5_000; waited += 100) await sleep(100);
  expect(await listeners()).toHaveLength(1);
  for (let round = 1; round <= 3; round++) {
    const before = await listeners();
    await query(app.db.ownerUrl, 'SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
    await sleep(3_000);
    expect(await listeners(), `after losing it ${round} time(s)`).toHaveLength(1);
  }
}, 30_000);
