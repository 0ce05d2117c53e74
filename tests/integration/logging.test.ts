import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { useRequestLog } from '../../src/plugins/request-log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

// One line per request, with what an operator needs and nothing a log must never hold: no token,
// no raw member id, no extracted clinical text (API.md, "Validation and errors").

const TENANT = stableUuid('tenant', 'test-clinic');
const MEMBER_ID = 'MBR-SECRET-1';
const EXTRACTED = 'EXTRACTED-SECRET-diagnosis text';
const CREATE_CASE = readFileSync(join(import.meta.dirname, '../../docs/examples/CreateCase.graphql'), 'utf8');

/** Every line the server logged, parsed. */
const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
const logStream = {
  write(line: string) {
    raw.push(line);
    lines.push(JSON.parse(line) as Record<string, unknown>);
  },
};
const requestLines = () => lines.filter((line) => line.msg === 'request');

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ logStream });
});
afterAll(() => app?.close());
beforeEach(() => {
  lines.length = 0;
  raw.length = 0;
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  app.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
  });

test('no token, raw member id or extracted data reaches the log, whatever the request does', async () => {
  const token = await app.token('clinician@test-clinic.com');
  const authorization = `Bearer ${token}`;
  const input = {
    payer: 'Aetna',
    memberId: MEMBER_ID,
    confidence: { overall: 0.9 },
    extractedData: { note: EXTRACTED },
  };
  const created = await post({ query: CREATE_CASE, variables: { input } }, { authorization });
  expect(created.status).toBe(200);
  const { data } = (await created.json()) as { data: { createCase: { case: { id: string } } } };

  // Reads of extracted data, a filter on the raw member id, a refused input that graphql-js
  // echoes back to the client, an invalid token, and an error raised during execution.
  const requests: [unknown, Record<string, string>][] = [
    [
      {
        query: 'query Detail($id: ID!) { case(id: $id) { extractedData } }',
        variables: { id: data.createCase.case.id },
      },
      { authorization },
    ],
    [
      {
        query: 'query ByMember($m: String) { cases(filter: { memberId: $m }) { totalCount } }',
        variables: { m: MEMBER_ID },
      },
      { authorization },
    ],
    [{ query: CREATE_CASE, variables: { input: { ...input, bogus: 1 } } }, { authorization }],
    [{ query: '{ me { id } }' }, { authorization: `Bearer ${token.slice(0, -2)}xx` }],
    [{ query: '{ cases(first: 101) { totalCount } }' }, { authorization }],
  ];
  for (const [body, headers] of requests) await post(body, headers);

  const output = raw.join('');
  expect(requestLines()).toHaveLength(1 + requests.length);
  expect(output).not.toContain(token);
  expect(output).not.toContain(token.split('.')[2]); // the signature alone
  expect(output).not.toContain(MEMBER_ID);
  expect(output).not.toMatch(/mbr-secret-1/i);
  expect(output).not.toContain('EXTRACTED-SECRET');

  const [create] = requestLines();
  expect(create).toEqual({
    level: 30,
    time: expect.any(Number),
    pid: expect.any(Number),
    hostname: expect.any(String),
    msg: 'request',
    requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    method: 'POST',
    path: '/graphql',
    status: 200,
    durationMs: expect.any(Number),
    tenantId: TENANT,
    userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    operationName: 'CreateCase',
    operationType: 'mutation',
    statementCount: expect.any(Number),
  });
  expect(requestLines().map((line) => [line.operationName, line.operationType, line.status])).toEqual([
    ['CreateCase', 'mutation', 200],
    ['Detail', 'query', 200],
    ['ByMember', 'query', 200],
    ['CreateCase', 'mutation', 400], // the variables failed coercion: nothing ran
    [undefined, undefined, 401],
    [undefined, 'query', 200],
  ]);
});

describe('x-request-id', () => {
  const me = (requestId?: string) =>
    post({ query: '{ me { id } }' }, requestId === undefined ? {} : { 'x-request-id': requestId });

  test('a valid one is kept, returned and logged', async () => {
    const res = await me('client-id_42:abc');
    expect(res.headers.get('x-request-id')).toBe('client-id_42:abc');
    expect(requestLines()[0]?.requestId).toBe('client-id_42:abc');
  });

  test.each([
    ['longer than 128 characters', 'x'.repeat(129)],
    ['not printable ASCII', 'caf\u00e9'],
    ['blank', ' '],
  ])('one %s is replaced by a generated id', async (_name, requestId) => {
    const res = await me(requestId);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(requestLines()[0]?.requestId).toBe(id);
  });

  test('128 printable characters are kept', async () => {
    const requestId = `${'a'.repeat(64)} ${'~'.repeat(63)}`;
    expect((await me(requestId)).headers.get('x-request-id')).toBe(requestId);
  });

  test('every response carries one: 401, 413, health checks, GraphiQL', async () => {
    const responses = [
      await me(),
      await app.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) },
        body: 'x'.repeat(2 * 1024 * 1024),
      }),
      await app.fetch('/healthz'),
      await app.fetch('/readyz'),
      await app.fetch('/graphql', { headers: { accept: 'text/html' } }),
    ];
    expect(responses.map((res) => res.status)).toEqual([401, 413, 200, 200, 200]);
    for (const res of responses) expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Probes log at debug, the rest at info.
    expect(requestLines().map((line) => [line.path, line.level])).toEqual([
      ['/graphql', 30],
      ['/graphql', 30],
      ['/healthz', 20],
      ['/readyz', 20],
      ['/graphql', 30],
    ]);
  });
});

test('the SQL statement count is logged when the context carries one', async () => {
  const logged: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line)) });
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { hello: String }',
      resolvers: { Query: { hello: () => 'hi' } },
    }),
    logging: false,
    plugins: [
      useRequestLog(logger),
      // Stands in for the executor (src/plugins/executor.ts), which leaves the statement count on
      // the request's context.
      {
        onExecute({ args }) {
          Object.assign(args.contextValue as object, { statementCount: 3 });
        },
      } satisfies Plugin,
    ],
  });
  const res = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query Hello { hello }' }),
  });
  expect(res.status).toBe(200);
  expect(logged).toEqual([
    expect.objectContaining({
      msg: 'request',
      operationName: 'Hello',
      operationType: 'query',
      statementCount: 3,
    }),
  ]);
});
