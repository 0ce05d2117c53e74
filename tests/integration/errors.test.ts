import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { databaseFailure, RequestTimeLimitError } from '../../src/db/errors.js';
import { stableUuid } from '../../src/db/seed.js';
import { withTenant } from '../../src/db/tenant.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// The errors nobody asked for: a statement that runs past the timeout, and a failure the API does
// not know. The client gets a clear code and a request id, never internals; the log has the rest.

const lines: Record<string, unknown>[] = [];
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    env: { DB_STATEMENT_TIMEOUT_MS: '300' },
    logStream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
});
afterAll(() => app?.close());

test('a statement past DB_STATEMENT_TIMEOUT_MS is a TIMEOUT error, with the request id', async () => {
  // Another session holds the cases table: the API's read waits, then is cancelled.
  const blocker = new pg.Client({ connectionString: app.db.ownerUrl });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE cases IN ACCESS EXCLUSIVE MODE');
    const res = await app.gql('{ cases(first: 1) { edges { node { id } } } }');
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['TIMEOUT']);
    expect(res.body.errors?.[0]?.message).toBe('The database took too long to answer; nothing was written');
    expect(res.body.errors?.[0]?.extensions?.requestId).toEqual(expect.any(String));
  } finally {
    await blocker.query('ROLLBACK');
    await blocker.end();
  }
  expect((await app.gql('{ cases(first: 1) { edges { node { id } } } }')).status).toBe(200);
});

test("the request's first statement (begin_request) is under the statement timeout too", async () => {
  // The users table is where begin_request looks up the token's user: held, that lookup waits.
  const blocker = new pg.Client({ connectionString: app.db.ownerUrl });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const res = await app.gql('{ me { email } }');
    // The server cancels it (TIMEOUT); without the timeout it would wait for the client-side
    // deadline, twice as long, and be a 503 SERVICE_UNAVAILABLE.
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['TIMEOUT']);
  } finally {
    await blocker.query('ROLLBACK');
    await blocker.end();
  }
});

test('a request whose statements together outlast twice the statement timeout is a TIMEOUT, not an outage', async () => {
  // Three statements of 250 ms each under a 300 ms statement timeout: none is cancelled by
  // PostgreSQL, but the third starts with 100 ms of the request's 600 left. The database is fine.
  const outcome = await withTenant(
    app.prisma,
    stableUuid('tenant', 'test-clinic'),
    async (db) => {
      for (let i = 0; i < 3; i++) await db.$queryRawUnsafe('SELECT pg_sleep(0.25)::text AS slept');
      return 'finished';
    },
    { statementTimeoutMs: 300 },
  ).catch((error: unknown) => error);
  expect(outcome).toBeInstanceOf(RequestTimeLimitError);
  expect(databaseFailure(outcome)).toBe('timeout');
  // The connection it was cut from is replaced; the next request is served.
  expect((await app.gql('{ me { email } }')).body.errors).toBeUndefined();
});

test('an unexpected failure is masked: "Unexpected error" and a request id; the log has the stack under that id', async () => {
  // A rule of the database the API does not know about: its violation is unexpected to the API.
  await query(app.db.ownerUrl, "ALTER TABLE tasks ADD CONSTRAINT test_only_no_boom CHECK (title <> 'boom')");
  const [row] = await query<{ id: string }>(
    app.db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1',
    [stableUuid('tenant', 'test-clinic')],
  );
  const res = await app.gql(
    `mutation ($input: CreateTaskInput!) { createTask(input: $input) { __typename } }`,
    { input: { caseId: encodeGlobalID('Case', row?.id as string), title: 'boom' } },
    { email: 'admin@test-clinic.com' },
  );
  const error = res.body.errors?.[0];
  expect(res.body.errors).toHaveLength(1);
  expect(error?.message).toBe('Unexpected error');
  expect(error?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/test_only_no_boom|constraint|prisma/i);
  const logged = lines.find(
    (l) => l.msg === 'unexpected error' && l.requestId === error?.extensions?.requestId,
  );
  expect(JSON.stringify(logged?.err)).toMatch(/test_only_no_boom/);
  expect((logged?.err as { stack?: string })?.stack).toEqual(expect.any(String));
  // Nothing of the failed mutation was written.
  expect(await query(app.db.ownerUrl, "SELECT count(*)::int AS n FROM tasks WHERE title = 'boom'")).toEqual([
    { n: 0 },
  ]);
});

test('a variable that does not coerce is BAD_USER_INPUT naming the variable, and runs nothing', async () => {
  const caseId = encodeGlobalID('Case', stableUuid('test-clinic', 'case', '1'));
  for (const [query, variables] of [
    [
      'query ($p: [Priority!]) { cases(first: 1, filter: { priority: $p }) { totalCount } }',
      { p: ['SUPER'] },
    ],
    [
      'mutation ($i: CreateTaskInput!) { createTask(input: $i) { __typename } }',
      { i: { caseId, title: 'x', priority: 'NORMAL', dueDate: 'yesterday' } },
    ],
  ] as const) {
    app.statements.length = 0;
    const res = await app.gql(query, variables);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors?.[0]?.message).toMatch(/^Variable "\$[pi]" got invalid value/);
    expect(app.statements.filter((s) => /INSERT|UPDATE|DELETE/.test(s))).toEqual([]);
  }
});

test('a body of a type the server does not read is a 415 that says what it reads', async () => {
  const res = await app.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', accept: 'application/json' },
    body: '{"query":"{ me { email } }"}',
  });
  expect(res.status).toBe(415);
  const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
  expect(body.errors.map((e) => e.extensions.code)).toEqual(['BAD_REQUEST']);
  expect(body.errors[0]?.message).toMatch(/Content-Type: application\/json/);
});
