import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

// The change feed's per-tenant write serialization (migration 20261205000000): a tenant's writers
// take turns on its change_cursors row, which every write locks before any other row (lockRow in
// src/services/audited-statements.ts). Review found two deadlocks when it was locked last.

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

test('a two-mutation operation and a single mutation on the same tasks take turns: both succeed, no deadlock', async () => {
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
  // X: task A, then task B; each locks the cursor row first (X waits there).
  const x = app.gql(`mutation ($a: ID!, $b: ID!) { ${UPDATE('x1', 'a')} ${UPDATE('x2', 'b')} }`, { a, b });
  await sleep(300);
  // Y: task B: waits for the cursor row too, holding nothing.
  const y = app.gql(`mutation ($b: ID!) { ${UPDATE('y', 'b')} }`, { b });
  await sleep(300);
  // Both wait for the cursor row before locking any task: X goes first, then Y.
  await holder.query('ROLLBACK');
  await holder.end();
  const results = await Promise.all([x, y]);
  const codes = results.flatMap((r) => (r.body.errors ?? []).map((e) => e.extensions?.code));
  expect(codes, JSON.stringify(results.map((r) => r.body))).toEqual([]);
  expect(results.filter((r) => r.body.data != null)).toHaveLength(2);
});

test('createTask on a case and updateCase of it, concurrently: no deadlock', async () => {
  const deadlocks = async () =>
    (
      await app.owner.$queryRawUnsafe<{ n: number }[]>(
        'SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()',
      )
    )[0]?.n;
  const before = await deadlocks();
  const cases = await app.gql<{ cases: { edges: { node: { id: string } }[] } }>(
    '{ cases(first: 1) { edges { node { id } } } }',
  );
  const caseId = cases.body.data?.cases.edges[0]?.node.id;
  const create =
    'mutation ($caseId: ID!) { createTask(input: { caseId: $caseId, title: "t" }) { __typename } }';
  const update =
    'mutation ($id: ID!, $payer: String!) { updateCase(input: { id: $id, payer: $payer }) { __typename } }';
  const errors: unknown[] = [];
  // Before: the update held the case and waited for the cursor row; the insert held the cursor
  // row and its foreign key waited for the case (30 of 80 requests were TRANSACTION_CONFLICT).
  for (let round = 0; round < 10; round++) {
    const results = await Promise.all([
      app.gql(create, { caseId }),
      app.gql(update, { id: caseId, payer: `Payer ${round}` }),
      app.gql(create, { caseId }),
      app.gql(update, { id: caseId, payer: `Payer ${round}b` }),
    ]);
    errors.push(...results.flatMap((r) => r.body.errors ?? []));
  }
  expect(errors).toEqual([]);
  expect(await deadlocks()).toBe(before);
});
