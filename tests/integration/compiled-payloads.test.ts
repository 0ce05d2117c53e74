import { expect, test } from 'vitest';
import { compiledStats } from '../../src/compiled/index.js';
import { ROLES, useCompiledPair } from '../helpers/compiled-pair.js';
import { query } from '../helpers/db.js';

// A mutation's payload rows read by a compiled query (src/compiled/payloads.ts), against the
// resolvers: the payload the compiled server answers is, byte for byte, what the resolvers' server
// reads for the same row with the same selection right after; the read is one compiled statement.

const pair = useCompiledPair();

/** A body as `post` returns it, after its status: `200 {"data":…}`. */
const parse = (response: string) => JSON.parse(response.slice(response.indexOf(' ') + 1));

/** The selections the payloads are read with: nested lists, relations, aliases, a fragment, a variable. */
const TASK = `id uuid title status priority dueDate completedAt isOverdue createdAt
  assignee { name role } theCase: case { payer status codes { code codeType } ...CaseBits
    tasks(first: $first) { totalCount edges { node { title } } } }`;
const CASE = `id payer status priority diagnosisCodes confidence { overall } metadata extractedData createdAt
  creator: createdBy { name } codes { code } ...CaseBits tasks(first: $first) { edges { node { title assignee { name } } } }
  matchingRulesets { payer procedure }`;
const RULESET = 'id payer procedure isActive rules { requirements documentation typicalTurnaround notes }';
const USER =
  'id uuid email name role isActive deactivatedAt createdAt assignedTasks(first: $first) { totalCount edges { node { title } } }';
const INGESTION =
  'id sourceType sourceMetadata storagePath status errorMessage updatedAt cases(first: $first) { totalCount edges { node { payer } } }';
const FRAGMENT = 'fragment CaseBits on Case { priority ingestion { id } }';

/** What a selection needs declared beside it: `$first`, the fragment. */
const needs = (selection: string) => ({
  first: selection.includes('$first') ? ', $first: Int!' : '',
  fragment: selection.includes('...CaseBits') ? FRAGMENT : '',
});

function mutation(name: string, key: string, selection: string) {
  const upper = `${name[0]?.toUpperCase()}${name.slice(1)}`;
  const { first, fragment } = needs(selection);
  return `mutation ($i: ${upper}Input!${first}) { out: ${name}(input: $i) { __typename
    ... on ${upper}Payload { ${key} { ${selection} } } } } ${fragment}`;
}

/** Runs `name` on the compiled server; the payload's row must equal the resolvers' read of it. */
async function same(
  name: string,
  key: string,
  root: string,
  selection: string,
  input: object,
  email: string,
) {
  const before = compiledStats.executed;
  pair.compiled.statements.length = 0;
  const body = parse(await pair.compiled.post(mutation(name, key, selection), { i: input, first: 3 }, email));
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  expect(body.data.out.__typename).toMatch(/Payload$/);
  expect(compiledStats.executed - before).toBe(1);
  expect(pair.compiled.statements.filter((s) => s.startsWith('SELECT json_build_object'))).toHaveLength(1);
  const row = body.data.out[key];
  const read = parse(
    await pair.resolvers.post(
      `query ($id: ID!${needs(selection).first}) { ${key}: ${root}(id: $id) { ${selection} } } ${needs(selection).fragment}`,
      { id: row.id, first: 3 },
      email,
    ),
  );
  expect(read.errors).toBeUndefined();
  // createdAt/updatedAt are the same row's: the whole JSON is compared.
  expect(JSON.stringify(row)).toBe(JSON.stringify(read.data[key]));
  return row;
}

const caseInput = {
  memberId: 'M-PAYLOAD',
  payer: 'Aetna',
  priority: 'HIGH',
  diagnosisCodes: ['M54.5'],
  codes: [{ codeType: 'CPT', code: '72148' }],
  confidence: { overall: 0.8, fields: { payer: 0.9 } },
  extractedData: { note: 'payload' },
  metadata: { b: 1, a: 2 },
};

test.each(ROLES.filter((email) => !email.startsWith('staff')))(
  'case payloads as %s: create, update, transition, add a code',
  async (email) => {
    const created = await same('createCase', 'case', 'case', CASE, caseInput, email);
    await same('updateCase', 'case', 'case', CASE, { id: created.id, payer: 'Cigna', metadata: null }, email);
    await same('transitionCaseStatus', 'case', 'case', CASE, { id: created.id, status: 'APPROVED' }, email);
    await same(
      'addCaseCode',
      'case',
      'case',
      CASE,
      { caseId: created.id, code: { codeType: 'HCPCS', code: 'E0601' } },
      email,
    );
  },
);

test('a CLINICIAN reading the payload case’s extractedData gets its view audit row, as from a query', async () => {
  const email = 'clinician@test-clinic.com';
  const created = await same('createCase', 'case', 'case', CASE, caseInput, email);
  const uuid = Buffer.from(created.id, 'base64').toString().split(':')[1];
  const views = await query<{ n: number }>(
    pair.db.ownerUrl,
    "SELECT count(*)::int AS n FROM audit_logs WHERE entity_id = $1 AND action = 'view'",
    [uuid],
  );
  // One for the payload read of the compiled server, one for the resolvers' read of it.
  expect(views).toEqual([{ n: 2 }]);
});

test.each(ROLES)('task payloads as %s: create, update, assign, transition', async (email) => {
  const staff = email.startsWith('staff');
  const created = await same(
    'createTask',
    'task',
    'task',
    TASK,
    {
      caseId: pair.caseIds[0],
      title: 'Payload',
      dueDate: '2027-02-03T04:05:06.789Z',
      assigneeId: staff ? pair.userId : null,
    },
    email,
  );
  await same(
    'updateTask',
    'task',
    'task',
    TASK,
    { id: created.id, title: 'Renamed', description: 'x' },
    email,
  );
  if (!staff)
    await same('assignTask', 'task', 'task', TASK, { id: created.id, assigneeId: pair.userId }, email);
  await same('transitionTaskStatus', 'task', 'task', TASK, { id: created.id, status: 'COMPLETED' }, email);
});

test('ruleset payloads: create, update, deactivate', async () => {
  const email = 'admin@test-clinic.com';
  const created = await same(
    'createRuleset',
    'ruleset',
    'ruleset',
    RULESET,
    {
      payer: 'Payload Health',
      procedure: '72148',
      rules: { requirements: ['a'], documentation: [], typicalTurnaround: '1 day' },
    },
    email,
  );
  await same('updateRuleset', 'ruleset', 'ruleset', RULESET, { id: created.id, procedure: '72149' }, email);
  await same('setRulesetActive', 'ruleset', 'ruleset', RULESET, { id: created.id, isActive: false }, email);
});

test('user payloads: create, update, deactivate, reactivate', async () => {
  const email = 'admin@test-clinic.com';
  const input = { email: 'payload@test-clinic.com', name: 'Payload', role: 'STAFF', authId: 'payload|1' };
  const created = await same('createUser', 'user', 'user', USER, input, email);
  await same('updateUser', 'user', 'user', USER, { id: created.id, role: 'CLINICIAN', name: null }, email);
  for (const isActive of [false, true]) {
    await same('setUserActive', 'user', 'user', USER, { id: created.id, isActive }, email);
  }
});

test('ingestion payloads as the intake SERVICE: create, then through its workflow', async () => {
  const email = 'intake@test-clinic.com';
  const input = {
    sourceType: 'PDF',
    sourceMetadata: { pages: 2, filename: 'a.pdf' },
    storagePath: 'in/a.pdf',
  };
  const created = await same('createIngestion', 'ingestion', 'ingestion', INGESTION, input, email);
  for (const [status, errorMessage] of [['PROCESSING'], ['FAILED', 'unreadable'], ['PENDING']]) {
    await same(
      'transitionIngestionStatus',
      'ingestion',
      'ingestion',
      INGESTION,
      { id: created.id, status, errorMessage },
      email,
    );
  }
});

test('an error member, and two mutations in one operation, answer as without the payload read', async () => {
  const email = 'admin@test-clinic.com';
  const missing = parse(
    await pair.compiled.post(
      mutation('transitionTaskStatus', 'task', 'id'),
      { i: { id: pair.caseIds[0]?.replace(/./, 'V'), status: 'COMPLETED' }, first: 1 },
      email,
    ),
  );
  expect(missing.data?.out?.__typename ?? missing.errors?.[0]?.extensions?.code).toMatch(
    /NotFoundError|ValidationError|BAD_USER_INPUT/,
  );
  const two = parse(
    await pair.compiled.post(
      `mutation ($c: ID!) {
        a: createTask(input: { caseId: $c, title: "one" }) { ... on CreateTaskPayload { task { title } } }
        b: createTask(input: { caseId: $c, title: "two" }) { ... on CreateTaskPayload { task { title } } } }`,
      { c: pair.caseIds[0] },
      email,
    ),
  );
  expect(two).toEqual({ data: { a: { task: { title: 'one' } }, b: { task: { title: 'two' } } } });
});

// Found by a review: selections of a payload's row that the compiled read must answer exactly as
// the resolvers do (the same status and body), or leave to them. Each updates the same task to the
// same title on both servers, so both read the same row.
const SHAPES: [string, string, Record<string, unknown>?][] = [
  [
    'nested inline same type',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title } ... on UpdateTaskPayload { task { priority } } } } }`,
  ],
  [
    'named fragment after',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title } ...P } } } fragment P on UpdateTaskPayload { task { priority } }`,
  ],
  [
    'named fragment before',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { ...P task { title } } } } fragment P on UpdateTaskPayload { task { priority } }`,
  ],
  [
    'two inline fragments',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title } } ... on UpdateTaskPayload { task { priority } } } }`,
  ],
  [
    'field twice same fragment',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title } task { priority } } } }`,
  ],
  [
    'client var payloadRow0',
    `mutation($i: UpdateTaskInput!, $payloadRow0: Boolean!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title @include(if: $payloadRow0) priority } } } }`,
    { payloadRow0: true },
  ],
  [
    'skip inside',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title @skip(if: true) priority } } } }`,
  ],
  [
    'include on fragment false',
    `mutation($i: UpdateTaskInput!, $x: Boolean!) { updateTask(input: $i) { __typename ... on UpdateTaskPayload @include(if: $x) { task { title } } } }`,
    { x: false },
  ],
  [
    'include on fragment true',
    `mutation($i: UpdateTaskInput!, $x: Boolean!) { updateTask(input: $i) { __typename ... on UpdateTaskPayload @include(if: $x) { task { title } } } }`,
    { x: true },
  ],
  [
    'aliases',
    `mutation($i: UpdateTaskInput!) { u: updateTask(input: $i) { ... on UpdateTaskPayload { a: task { title } b: task { priority } __typename } } }`,
  ],
  [
    'typename',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { __typename ... on UpdateTaskPayload { __typename task { __typename title } } } }`,
  ],
  [
    'interface fragment',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { ... on Node { __typename } ... on Task { title } } } } }`,
  ],
  [
    'default var',
    `mutation($i: UpdateTaskInput!, $f: Int = 1) { updateTask(input: $i) { ... on UpdateTaskPayload { task { case { tasks(first: $f) { totalCount edges { node { title } } } } } } } }`,
  ],
  [
    'var in fragment',
    `mutation($i: UpdateTaskInput!, $f: Int!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { ...T } } } } fragment T on Task { case { tasks(first: $f) { totalCount } } }`,
    { f: 2 },
  ],
  [
    'var undefined default null',
    `mutation($i: UpdateTaskInput!, $f: Int) { updateTask(input: $i) { ... on UpdateTaskPayload { task { case { tasks(first: $f) { totalCount } } } } } }`,
  ],
  [
    'bad var in payload',
    `mutation($i: UpdateTaskInput!, $f: Int!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { case { tasks(first: $f) { totalCount } } } } } }`,
    { f: -5 },
  ],
  [
    'huge first',
    `mutation($i: UpdateTaskInput!, $f: Int!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { case { tasks(first: $f) { totalCount } } } } } }`,
    { f: 100000 },
  ],
  [
    'extractedData staff',
    `mutation($i: UpdateTaskInput!) { updateTask(input: $i) { ... on UpdateTaskPayload { task { title case { extractedData } } } } }`,
  ],
];

test.each(SHAPES)('payload shape: %s', async (name, text, variables) => {
  const email = name.includes('staff') ? 'clinician@test-clinic.com' : 'admin@test-clinic.com';
  const input = { i: { id: pair.taskId, title: 'Same title' }, ...variables };
  const compiled = await pair.compiled.post(text, input, email);
  const resolvers = await pair.resolvers.post(text, input, email);
  expect(compiled).toBe(resolvers);
});

test('a payload read that fails leaves no data, and the mutation is rolled back', async () => {
  const text = `mutation ($i: CreateTaskInput!, $f: Int!) { createTask(input: $i) {
    ... on CreateTaskPayload { task { title case { tasks(first: $f) { totalCount } } } } } }`;
  const count = async () =>
    (
      await query<{ n: number }>(
        pair.db.ownerUrl,
        "SELECT count(*)::int AS n FROM tasks WHERE title = 'Rolled back'",
      )
    )[0]?.n;
  for (const app of [pair.compiled, pair.resolvers]) {
    const body = parse(
      await app.post(
        text,
        { i: { caseId: pair.caseIds[0], title: 'Rolled back' }, f: -5 },
        'admin@test-clinic.com',
      ),
    );
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.locations).toBeDefined();
  }
  expect(await count()).toBe(0);
});
