import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

// Review of the change feed's per-tenant write serialization (migration 20261205000000): a
// tenant's writers take turns from their event insert to COMMIT, on its change_cursors row.

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const UPDATE = (alias: string, variable: string) =>
  `${alias}: updateTask(input: { id: $${variable}, title: "${alias}" }) { __typename }`;

test('a two-mutation operation deadlocking on the cursor row with a single mutation: TRANSACTION_CONFLICT, one of them kept', async () => {
  const tasks = await app.gql<{ tasks: { edges: { node: { id: string } }[] } }>(
    '{ tasks(first: 2) { edges { node { id } } } }',
  );
  const [a, b] = (tasks.body.data?.tasks.edges ?? []).map((edge) => edge.node.id);
  // The tenant's cursor row held, as a long writer would: both operations queue behind it.
  const holder = new pg.Client({ connectionString: app.db.ownerUrl });
  await holder.connect();
  const tenant = stableUuid('tenant', 'test-clinic');
  await holder.query('BEGIN');
  await holder.query("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
  await holder.query('SELECT * FROM change_cursors WHERE tenant_id = $1 FOR UPDATE', [tenant]);
  // X: task A (its row, then the cursor row: waits), then task B.
  const x = app.gql(`mutation ($a: ID!, $b: ID!) { ${UPDATE('x1', 'a')} ${UPDATE('x2', 'b')} }`, { a, b });
  await sleep(300);
  // Y: task B's row, then the cursor row: waits behind X.
  const y = app.gql(`mutation ($b: ID!) { ${UPDATE('y', 'b')} }`, { b });
  await sleep(300);
  // X takes the cursor row and waits for B's row, which Y holds while it waits for the cursor row.
  await holder.query('ROLLBACK');
  await holder.end();
  const results = await Promise.all([x, y]);
  const codes = results.flatMap((r) => (r.body.errors ?? []).map((e) => e.extensions?.code));
  expect(codes, JSON.stringify(results.map((r) => r.body))).toEqual(['TRANSACTION_CONFLICT']);
  expect(results.filter((r) => r.body.data != null)).toHaveLength(1);
});
