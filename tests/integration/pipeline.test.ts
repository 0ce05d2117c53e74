import { readFileSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { compiledStats } from '../../src/compiled/index.js';
import { stableUuid } from '../../src/db/seed.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { query as ownerQuery } from '../helpers/db.js';

// One pipeline (src/server.ts): every request goes through yoga and every plugin of the server,
// whether the compiler or the resolvers execute it, over a real socket. Nothing is remembered
// across requests that could make one client's answer depend on another's history.

const bench = (name: string) =>
  readFileSync(new URL(`../../bench/queries/${name}.graphql`, import.meta.url), 'utf8');
const Q1 = bench('q1');
const Q2 = bench('q2');
const Q3 = bench('q3');
const M1 = bench('m1');
const TENANT = stableUuid('tenant', 'test-clinic');

/** The plugins whose hooks ran for the last request, by the names src/server.ts gives them. */
const applied = new Set<string>();
const pluginNames = new Set<string>();

/** Wraps every hook of a plugin so that calling it records the plugin's name. */
function observe(name: string, plugin: object): object {
  pluginNames.add(name);
  return Object.fromEntries(
    Object.entries(plugin).map(([hook, value]) => [
      hook,
      typeof value === 'function'
        ? (...args: unknown[]) => {
            applied.add(name);
            return value(...args);
          }
        : value,
    ]),
  );
}

let app: TestApp;
let url: string;
let caseId: string;

beforeAll(async () => {
  app = await startTestApp({
    env: {
      CORS_ORIGINS: 'http://app.example',
      GRAPHQL_INTROSPECTION: 'false',
      METRICS_TOKEN: 'pipeline-metrics-token',
    },
    observePlugin: observe,
  });
  url = `${await listenLocally(app)}/graphql`;
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

test.each([
  ['a compiled query', () => ({ query: Q3 }), 1],
  // The mutation by its resolver, its payload's task by a compiled query (src/compiled/payloads.ts).
  ['a mutation', () => ({ query: M1, variables: { caseId, title: 'pipeline' } }), 1],
])('every plugin of the server applies to %s', async (_kind, body, compiled) => {
  const before = compiledStats.executed;
  applied.clear();
  const response = await post(body(), { headers: { origin: 'http://app.example' } });
  expect(response.status).toBe(200);
  expect(JSON.parse(response.text).errors).toBeUndefined();
  expect(compiledStats.executed - before).toBe(compiled);
  expect(pluginNames.size).toBeGreaterThanOrEqual(14);
  expect(pluginNames.has('metrics')).toBe(true);
  expect([...pluginNames].filter((name) => !applied.has(name))).toEqual([]);
});

test.each([
  ['Q1', { query: Q1 }, 3],
  ['Q2', { query: Q2 }, 4],
  ['Q3', { query: Q3 }, 3],
])(
  '%s runs compiled, in its statements, with yoga’s content types and x-request-id',
  async (name, body, count) => {
    const request = name === 'Q2' ? { ...body, variables: { caseId } } : body;
    for (const accept of ['application/json', '*/*', 'application/graphql-response+json']) {
      const before = compiledStats.executed;
      app.statements.length = 0;
      // A CLINICIAN reads Q2's extractedData: its view row is the fourth statement.
      const response = await post(request, {
        email: 'clinician@test-clinic.com',
        headers: { accept, 'x-request-id': 'req-1' },
      });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text).errors).toBeUndefined();
      expect(compiledStats.executed - before).toBe(1);
      // The statement's JSON text as PostgreSQL wrote it: not parsed and serialized again (Q2's is
      // parsed, to find the cases whose extractedData the CLINICIAN read and audit them).
      if (name !== 'Q2') expect(response.text).toMatch(/^\{"data":\{"\w+" : /);
      expect(app.statements.length).toBe(count);
      expect(response.headers.get('content-type')).toBe(
        accept === 'application/graphql-response+json'
          ? 'application/graphql-response+json; charset=utf-8'
          : 'application/json; charset=utf-8',
      );
      expect(response.headers.get('x-request-id')).toBe('req-1');
    }
  },
);

test('a CLINICIAN reading extractedData writes one view row per request', async () => {
  const count = async () =>
    (
      await ownerQuery<{ n: number }>(
        app.db.ownerUrl,
        "SELECT count(*)::int AS n FROM audit_logs WHERE action = 'view' AND tenant_id = $1",
        [TENANT],
      )
    )[0]?.n ?? 0;
  const before = await count();
  for (let i = 0; i < 2; i++)
    await post({ query: Q2, variables: { caseId } }, { email: 'clinician@test-clinic.com' });
  expect((await count()) - before).toBe(2);
});

test('an answer does not depend on what another tenant ran before', async () => {
  const probe = { query: '{ cases(filter: { memberId: "M-PROBE-1" }) { totalCount } }' };
  const first = await post(probe, { email: 'admin@test-clinic.com' });
  await post(probe, { email: 'admin@second-clinic.com' });
  const again = await post(probe, { email: 'admin@test-clinic.com' });
  expect(again.text).toBe(first.text);
  expect(again.headers.get('content-length')).toBe(first.headers.get('content-length'));
});

test('the operation name is yoga’s to check, every time: "" for an anonymous query is a 400', async () => {
  for (let i = 0; i < 2; i++) {
    const response = await post({ query: Q3.replace(/query \w+/, 'query'), operationName: '' });
    expect(response.status).toBe(400);
  }
});

test('the role decides for a compiled query: auditLogs is FORBIDDEN to STAFF after an ADMIN read it', async () => {
  const body = { query: '{ auditLogs(first: 1) { edges { node { action } } } }' };
  const before = compiledStats.executed;
  expect(JSON.parse((await post(body, { email: 'admin@test-clinic.com' })).text).errors).toBeUndefined();
  expect(compiledStats.executed - before).toBe(1);
  const staff = JSON.parse((await post(body, { email: 'staff@test-clinic.com' })).text);
  expect(staff.errors[0].extensions.code).toBe('FORBIDDEN');
});

test('a compiled statement that times out is a TIMEOUT, sent once', async () => {
  const slow = await startTestApp({ env: { DB_STATEMENT_TIMEOUT_MS: '300' } });
  const locker = new pg.Client({ connectionString: slow.db.ownerUrl });
  try {
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE');
    slow.statements.length = 0;
    const { body } = await slow.gql(Q3, {}, { email: 'staff@test-clinic.com' });
    expect(body.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
    expect(slow.statements.filter((s) => s.includes('json_build_object')).length).toBe(1);
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
    await slow.close();
  }
});
