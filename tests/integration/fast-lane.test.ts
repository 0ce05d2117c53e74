import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js';
import { query as ownerQuery } from '../helpers/db.js';

// The fast lane (src/fast-lane.ts) over a real socket: a compiled query yoga has accepted once is
// then answered from node:http directly, with yoga's own response; anything else still gets
// yoga's answer, the body the lane has read included.

const bench = (name: string) =>
  readFileSync(new URL(`../../bench/queries/${name}.graphql`, import.meta.url), 'utf8');
const Q1 = bench('q1');
const Q2 = bench('q2');
const Q3 = bench('q3');
const M1 = bench('m1');
const TENANT = stableUuid('tenant', 'test-clinic');

let app: TestApp;
let url: string;
let caseId: string;

beforeAll(async () => {
  app = await startTestApp({ env: { CORS_ORIGINS: 'http://app.example' } });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(app.http.address() as AddressInfo).port}/graphql`;
  const [row] = await ownerQuery<{ id: string }>(
    app.db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at LIMIT 1',
    [TENANT],
  );
  caseId = encodeGlobalID('Case', row?.id ?? '');
});
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

async function post(
  body: unknown,
  { email = 'admin@test-clinic.com', headers = {} as Record<string, string> } = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${await app.token(email)}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Runs `body` twice: yoga answers the first (and admits the operation), then the lane or yoga. */
async function twice(body: unknown, options?: Parameters<typeof post>[1]) {
  const first = await post(body, options);
  const lane = app.fastLane?.served ?? 0;
  app.statements.length = 0;
  const second = await post(body, options);
  return { first, second, byLane: (app.fastLane?.served ?? 0) > lane, statements: app.statements.length };
}

test.each([
  ['Q1', { query: Q1 }],
  ['Q2', { query: Q2, variables: { caseId: '' } }],
  ['Q3', { query: Q3 }],
])('%s: the lane answers the second time, with the same response yoga gave', async (_name, body) => {
  const request = 'variables' in body ? { ...body, variables: { caseId } } : body;
  const { first, second, byLane, statements } = await twice(request, { email: 'clinician@test-clinic.com' });
  expect(first.status).toBe(200);
  expect(JSON.parse(first.text).errors).toBeUndefined();
  expect(byLane).toBe(true);
  expect(second.status).toBe(200);
  expect(JSON.parse(second.text)).toEqual(JSON.parse(first.text));
  expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
  expect(second.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  // BEGIN, begin_request, the data statement, COMMIT; Q2 as a CLINICIAN also writes its view row.
  expect(statements).toBe(_name === 'Q2' ? 5 : 4);
});

test('every content type yoga would choose, and x-request-id kept', async () => {
  for (const accept of ['application/json', '*/*', 'application/graphql-response+json']) {
    const { first, second, byLane } = await twice(
      { query: Q3 },
      { headers: { accept, 'x-request-id': 'req-1' } },
    );
    expect(byLane).toBe(true);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(second.headers.get('x-request-id')).toBe('req-1');
  }
});

test('a CLINICIAN reading extractedData through the lane writes one view row per request', async () => {
  const body = { query: Q2, variables: { caseId } };
  const count = async () =>
    (
      await ownerQuery<{ n: number }>(
        app.db.ownerUrl,
        "SELECT count(*)::int AS n FROM audit_logs WHERE action = 'view' AND tenant_id = $1",
        [TENANT],
      )
    )[0]?.n ?? 0;
  await post(body, { email: 'clinician@test-clinic.com' });
  const before = await count();
  const { byLane } = await twice(body, { email: 'clinician@test-clinic.com' });
  expect(byLane).toBe(true);
  expect((await count()) - before).toBe(2);
});

test('what the lane does not serve gets yoga’s answer: errors, CORS, other Accept, mutations', async () => {
  await post({ query: Q3 });
  const served = () => app.fastLane?.served ?? 0;
  const before = served();

  // A token yoga refuses, for an admitted document: 401 as yoga says it.
  const unknown = await signToken(
    TEST_JWT_SECRET,
    { authId: 'nobody', tenantId: TENANT },
    { tenantClaim: 'tenant_id' },
  );
  const refused = await post({ query: Q3 }, { headers: { authorization: `Bearer ${unknown}` } });
  expect(refused.status).toBe(401);
  expect(JSON.parse(refused.text).errors[0].message).toMatch(/no user with this subject/);
  const forged = await post({ query: Q3 }, { headers: { authorization: 'Bearer not.a.jwt' } });
  expect(forged.status).toBe(401);

  // CORS is yoga's.
  const cors = await post({ query: Q3 }, { headers: { origin: 'http://app.example' } });
  expect(cors.headers.get('access-control-allow-origin')).toBe('http://app.example');

  // An Accept the lane does not know: yoga answers (406 for text/html, or for a name that an
  // object literal would have answered from its prototype).
  expect((await post({ query: Q3 }, { headers: { accept: 'text/html' } })).status).toBe(406);
  for (const accept of ['constructor', '__proto__', 'toString']) {
    const odd = await post({ query: Q3 }, { headers: { accept } });
    expect([odd.status, odd.headers.get('content-type')]).toEqual([406, null]);
  }

  // Arguments the resolvers refuse, in an admitted document with variables.
  const paged = 'query Paged($first: Int) { cases(first: $first) { edges { node { payer } } } }';
  expect((await post({ query: paged, variables: { first: 5 } })).status).toBe(200);
  const tooMany = JSON.parse((await post({ query: paged, variables: { first: 500 } })).text);
  expect(tooMany.errors[0].extensions.code).toBe('BAD_USER_INPUT');

  // A mutation: its body was read by the lane, yoga still gets it whole.
  const created = JSON.parse(
    (await post({ query: M1, variables: { caseId, title: 'through the lane' } })).text,
  );
  expect(created.data.createTask.task.title).toBe('through the lane');

  expect(served()).toBe(before);
});

test('a statement that times out in the lane is reported as yoga reports it, not run again', async () => {
  const slow = await startTestApp({ env: { DB_STATEMENT_TIMEOUT_MS: '300' } });
  await new Promise<void>((resolve) => slow.http.listen(0, '127.0.0.1', resolve));
  const slowUrl = `http://127.0.0.1:${(slow.http.address() as AddressInfo).port}/graphql`;
  const send = async () =>
    fetch(slowUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${await slow.token('staff@test-clinic.com')}`,
      },
      body: JSON.stringify({ query: Q3 }),
    });
  const locker = new pg.Client({ connectionString: slow.db.ownerUrl });
  try {
    expect((await send()).status).toBe(200); // admitted
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE');
    slow.statements.length = 0;
    const response = await send();
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
    // The lane's attempt is the only data statement: yoga reported its failure without a second.
    expect(slow.statements.filter((s) => s.includes('json_build_object')).length).toBe(1);
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
    await new Promise((resolve) => slow.http.close(resolve));
    await slow.close();
  }
});

test('an operation admitted for an ADMIN is still refused to STAFF: the role decides in the lane too', async () => {
  const body = { query: '{ auditLogs(first: 1) { edges { node { action } } } }' };
  const { byLane } = await twice(body, { email: 'admin@test-clinic.com' });
  expect(byLane).toBe(true);
  const served = app.fastLane?.served ?? 0;
  const staff = JSON.parse((await post(body, { email: 'staff@test-clinic.com' })).text);
  expect(staff.errors[0].extensions.code).toBe('FORBIDDEN');
  expect(app.fastLane?.served).toBe(served);
});
