import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// Inputs that are valid one by one and harmful in bulk, and request shapes that used to reach
// code that never expected them: each is refused with a specific error, or answered right, and
// the server goes on. Found by trying the production build as an attacker.

const lines: Record<string, unknown>[] = [];
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    logStream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
});
afterAll(() => app?.close());

const codesOf = (response: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) => [
  ...new Set(response.body.errors?.map((e) => e.extensions?.code)),
];

test('50,000 wrong values in a list variable: refused after 50 errors, not 50,000', async () => {
  const res = await app.gql('query ($s: [TaskStatus!]) { tasks(filter: { status: $s }) { totalCount } }', {
    s: Array.from({ length: 50_000 }, () => 'X'),
  });
  expect(res.status).toBe(400);
  expect(res.body.errors?.length).toBeLessThanOrEqual(51);
  expect(res.body.errors?.at(-1)?.message).toMatch(/Too many errors processing variables/);
});

test('40,000 repeats of one enum value in a filter: counted as the value once, on every path', async () => {
  const pending = Array.from({ length: 40_000 }, () => 'PENDING');
  const [row] = await query<{ cases: number; tasks: number }>(
    app.db.ownerUrl,
    `SELECT (SELECT count(*) FROM cases c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = 'test-clinic' AND c.status = 'pending')::int AS cases,
            (SELECT count(*) FROM tasks k JOIN tenants t ON t.id = k.tenant_id WHERE t.slug = 'test-clinic' AND k.status = 'pending')::int AS tasks`,
  );
  const stats = await app.gql('query ($s: [CaseStatus!]) { caseStats(filter: { status: $s }) { total } }', {
    s: pending,
  });
  expect(stats.body).toEqual({ data: { caseStats: { total: row?.cases } } });
  const cases = await app.gql(
    'query ($s: [CaseStatus!]) { cases(first: 0, filter: { status: $s }) { totalCount } }',
    { s: pending },
  );
  expect(cases.body).toEqual({ data: { cases: { totalCount: row?.cases } } });
  const tasks = await app.gql(
    'query ($s: [TaskStatus!]) { tasks(first: 0, filter: { status: $s }) { totalCount } }',
    { s: pending },
  );
  expect(tasks.body).toEqual({ data: { tasks: { totalCount: row?.tasks } } });
});

test('nodes(ids:) takes at most 100 IDs', async () => {
  const ids = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      encodeGlobalID('Case', `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
    );
  const ok = await app.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(100) });
  expect(ok.body.errors).toBeUndefined();
  const refused = await app.gql('query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids(101) });
  expect(codesOf(refused)).toEqual(['BAD_USER_INPUT']);
  expect(refused.body.errors?.[0]?.message).toBe('Argument "ids" must hold at most 100 IDs (got 101)');
});

test('createCase with 101 codes or 51 diagnosis codes: a ValidationError naming the list, nothing written', async () => {
  const create = (codes: number, diagnosisCodes: number) =>
    app.gql(
      `mutation ($input: CreateCaseInput!) { createCase(input: $input) {
         __typename ... on ValidationError { fieldErrors { path message } } } }`,
      {
        input: {
          memberId: 'MBR-LIST-1',
          payer: 'List Payer',
          confidence: { overall: 0.5 },
          extractedData: {},
          codes: Array.from({ length: codes }, (_, i) => ({ codeType: 'CPT', code: `C${i}` })),
          diagnosisCodes: Array.from({ length: diagnosisCodes }, (_, i) => `D${i}`),
        },
      },
      { email: 'clinician@test-clinic.com' },
    );
  const tooMany = await create(101, 51);
  expect(tooMany.body.data?.createCase).toEqual({
    __typename: 'ValidationError',
    fieldErrors: [
      { path: ['diagnosisCodes'], message: 'must hold at most 50 codes' },
      { path: ['codes'], message: 'must hold at most 100 codes' },
    ],
  });
  expect(await query(app.db.ownerUrl, "SELECT 1 FROM cases WHERE payer = 'List Payer'")).toEqual([]);
  expect((await create(100, 50)).body.data?.createCase).toEqual({ __typename: 'CreateCasePayload' });
});

test('a fragment spread twice in each of 28 nested fragments: refused by the cost limit at once', async () => {
  const fragments = Array.from(
    { length: 28 },
    (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
  );
  const bomb = `query { ...F0 } ${fragments.join(' ')} fragment F28 on Query { __typename }`;
  const res = await app.gql(bomb);
  expect(res.status).toBe(400);
  expect(res.body.errors?.map((e) => e.message)).toEqual([
    'Query too costly: cost over 50000, the limit is 50000 (MAX_QUERY_COST); ask for smaller pages (first/last)',
  ]);
});

test('malformed JSON in a query string or a form body: 400 BAD_REQUEST, and the text is not logged', async () => {
  const marker = 'MBR-ZQX-778899';
  const token = await app.token('staff@test-clinic.com');
  const get = await app.fetch(
    `/graphql?query=${encodeURIComponent('{ me { email } }')}&variables=${encodeURIComponent(`{"filter":{"memberId":${marker}}}`)}`,
    { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
  );
  expect(get.status).toBe(400);
  expect(
    ((await get.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
  ).toBe('BAD_REQUEST');
  const form = await app.fetch('/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `query=${encodeURIComponent('{ me { email } }')}&variables=${encodeURIComponent(`{${marker}`)}`,
  });
  expect(form.status).toBe(400);
  expect(lines.filter((line) => JSON.stringify(line).includes(marker.slice(0, 8)))).toEqual([]);
});

test('text PostgreSQL cannot store as sent (an unpaired surrogate) is a ValidationError at its path', async () => {
  const res = await app.gql(
    `mutation ($input: CreateCaseInput!) { createCase(input: $input) {
       __typename ... on ValidationError { fieldErrors { path message } } } }`,
    {
      input: {
        memberId: 'MBR-SURROGATE',
        payer: 'Surrogate Payer',
        confidence: { overall: 0.5, fields: { '\udc00': 0.5 } },
        extractedData: { note: 'x\ud800y' },
      },
    },
    { email: 'clinician@test-clinic.com' },
  );
  expect(res.body.data?.createCase).toEqual({
    __typename: 'ValidationError',
    fieldErrors: [
      { path: ['confidence', 'fields'], message: expect.stringMatching(/unpaired UTF-16 surrogates/) },
      { path: ['extractedData', 'note'], message: expect.stringMatching(/unpaired UTF-16 surrogates/) },
    ],
  });
  expect(
    lines.filter((line) => line.level === 40 && line.msg === 'the database refused a value of the request'),
  ).toEqual([]);
});

test('a multipart body (no uploads here) is refused as an unsupported media type', async () => {
  const form = new FormData();
  form.set('operations', 'notjson');
  const res = await app.fetch('/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${await app.token('staff@test-clinic.com')}` },
    body: form,
  });
  expect(res.status).toBe(415);
});
