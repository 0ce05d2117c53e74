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

test('a JSON field counts 1,024 in the cost: 100 cases with their extracted data are refused, 20 are not', async () => {
  const page = (first: number) =>
    app.gql(`{ cases(first: ${first}) { edges { node { extractedData metadata } } } }`, undefined, {
      email: 'clinician@test-clinic.com',
    });
  const refused = await page(100);
  expect(refused.status).toBe(400);
  expect(refused.body.errors?.[0]?.message).toMatch(/^Query too costly: cost 20\d{4}, the limit is 50000/);
  expect((await page(20)).body.errors).toBeUndefined();
});

test('nodes(ids:) aliased: the 100 IDs are per request, not per field', async () => {
  const ids = Array.from({ length: 60 }, (_, i) =>
    encodeGlobalID('Case', `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
  );
  const res = await app.gql(
    'query ($ids: [ID!]!) { a: nodes(ids: $ids) { id } b: nodes(ids: $ids) { id } }',
    {
      ids,
    },
  );
  expect(res.body.errors?.map((e) => [e.path, e.message])).toEqual([
    [['b'], 'At most 100 IDs in all the nodes fields of one request (got 120)'],
  ]);
});

test('a body without a valid token is not parsed: malformed JSON is 401; with a token, 400 without the text', async () => {
  const body = '{"query": "{ me { email } }", "variables": {"memberId": "123-45-6789"';
  const anonymous = await app.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  expect(anonymous.status).toBe(401);
  const signedIn = await app.fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await app.token('staff@test-clinic.com')}`,
    },
    body,
  });
  expect(signedIn.status).toBe(400);
  const text = await signedIn.text();
  expect(text).not.toContain('123-45');
  expect(JSON.parse(text).errors[0].extensions.code).toBe('BAD_REQUEST');
});

test('an operationName the document does not hold is refused, and not logged', async () => {
  const marker = 'OPNAME-MARKER-7731';
  await app.gql('query Real { me { email } }', undefined, { email: 'staff@test-clinic.com' });
  const res = await app.fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await app.token('staff@test-clinic.com')}`,
    },
    body: JSON.stringify({ query: 'query Real { me { email } }', operationName: marker }),
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(
    /Could not determine what operation to execute/,
  );
  expect(lines.filter((line) => JSON.stringify(line).includes(marker))).toEqual([]);
});

test('text inputs are bounded: a task description of 10,001 characters is a ValidationError', async () => {
  const [row] = await query<{ id: string }>(app.db.ownerUrl, 'SELECT id FROM cases LIMIT 1');
  const create = (length: number) =>
    app.gql(
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) {
         __typename ... on ValidationError { fieldErrors { path message } } } }`,
      {
        input: {
          caseId: encodeGlobalID('Case', row?.id as string),
          title: 't',
          description: 'd'.repeat(length),
        },
      },
    );
  expect((await create(10_001)).body.data?.createTask).toEqual({
    __typename: 'ValidationError',
    fieldErrors: [{ path: ['description'], message: 'must be at most 10000 characters' }],
  });
  expect((await create(10_000)).body.data?.createTask).toEqual({ __typename: 'CreateTaskPayload' });
});
