import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { firstCaseId, query } from '../helpers/db.js';

// The write path's statement budget (issue 13), counted, never timed: every mutation, with a
// payload that reads a relation, is at most 5 statements, BEGIN and COMMIT and its audit and
// event rows included: the opening (BEGIN with begin_request), the row read an update or delete
// checks, the write with its audit and event rows, the payload, COMMIT.

const BUDGET = 5;
const TENANT = stableUuid('tenant', 'test-clinic');
const STAFF = encodeGlobalID('User', stableUuid('test-clinic', 'user', 'staff'));

let app: TestApp;
let caseId: string;
beforeAll(async () => {
  app = await startTestApp();
  caseId = await firstCaseId(app.db.ownerUrl, TENANT);
});
afterAll(() => app?.close());

/** Runs `mutation` as the ADMIN; returns its payload and the kinds of the statements it sent. */
async function run(mutation: string, variables: Record<string, unknown>) {
  app.statements.length = 0;
  const res = await app.gql<Record<string, Record<string, unknown>>>(mutation, variables, {
    email: 'admin@test-clinic.com',
  });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  const payload = Object.values(res.body.data ?? {})[0] ?? {};
  expect(payload.__typename, JSON.stringify(payload)).toMatch(/Payload$/);
  const kinds = app.statements.map((s) => /^\s*(?:WITH \w+ AS \(\s*)?(\w+)/.exec(s)?.[1] ?? '?');
  return { payload, count: app.statements.length, kinds };
}

const TASK = 'task { id title status case { id payer } }';
const CASE = 'case { id status codes { code } }';
const RULESET = 'ruleset { id payer isActive }';
const INGESTION =
  'ingestion { id status errorMessage cases(first: 5) { totalCount edges { node { id payer } } } }';

async function newTask(): Promise<string> {
  const { payload } = await run(
    `mutation ($i: CreateTaskInput!) { createTask(input: $i) { __typename ... on CreateTaskPayload { task { id } } } }`,
    { i: { caseId, title: 'counted' } },
  );
  return (payload.task as { id: string }).id;
}

async function newCase(): Promise<string> {
  const { payload } = await run(
    `mutation ($i: CreateCaseInput!) { createCase(input: $i) { __typename ... on CreateCasePayload { case { id } } } }`,
    {
      i: {
        memberId: 'M-COUNTED',
        payer: 'Aetna',
        codes: [{ codeType: 'CPT', code: '72148' }],
        confidence: { overall: 0.9 },
        extractedData: {},
      },
    },
  );
  return (payload.case as { id: string }).id;
}

async function newRuleset(): Promise<string> {
  const { payload } = await run(
    `mutation ($i: CreateRulesetInput!) { createRuleset(input: $i) { __typename ... on CreateRulesetPayload { ruleset { id } } } }`,
    {
      i: {
        payer: `Counted ${Math.random()}`,
        procedure: '72148',
        rules: { requirements: [], documentation: [], typicalTurnaround: '1 day' },
      },
    },
  );
  return (payload.ruleset as { id: string }).id;
}

const USER = 'user { id role isActive assignedTasks(first: 1) { totalCount } }';
let users = 0;
const newUserInput = () => {
  users += 1;
  return { email: `counted-${users}@test-clinic.com`, role: 'STAFF', authId: `counted|${users}` };
};

async function newUser(): Promise<string> {
  const { payload } = await run(
    `mutation ($i: CreateUserInput!) { createUser(input: $i) { __typename ... on CreateUserPayload { user { id } } } }`,
    { i: newUserInput() },
  );
  return (payload.user as { id: string }).id;
}

async function newIngestion(): Promise<string> {
  const { payload } = await run(
    `mutation ($i: CreateIngestionInput!) { createIngestion(input: $i) { __typename ... on CreateIngestionPayload { ingestion { id } } } }`,
    { i: { sourceType: 'PDF', sourceMetadata: { filename: 'counted.pdf' } } },
  );
  return (payload.ingestion as { id: string }).id;
}

const on = (name: string, selection: string) =>
  `mutation ($i: ${name[0]?.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $i) { __typename ... on ${name[0]?.toUpperCase()}${name.slice(1)}Payload { ${selection} } } }`;

const MUTATIONS: [string, string, () => Promise<Record<string, unknown>>][] = [
  [
    'createCase',
    CASE,
    async () => ({
      memberId: 'M-1',
      payer: 'Aetna',
      codes: [
        { codeType: 'CPT', code: '72148' },
        { codeType: 'HCPCS', code: 'E0601' },
      ],
      confidence: { overall: 0.9 },
      extractedData: { note: 'x' },
    }),
  ],
  ['updateCase', CASE, async () => ({ id: await newCase(), payer: 'Cigna' })],
  ['transitionCaseStatus', CASE, async () => ({ id: await newCase(), status: 'APPROVED' })],
  [
    'addCaseCode',
    `${CASE} caseCode { id code }`,
    async () => ({ caseId: await newCase(), code: { codeType: 'HCPCS', code: 'E0601' } }),
  ],
  [
    'removeCaseCode',
    `removedId ${CASE}`,
    async () => {
      const id = await newCase();
      const [code] = await query<{ id: string }>(
        app.db.ownerUrl,
        'SELECT id FROM case_codes WHERE case_id = $1',
        [Buffer.from(id, 'base64').toString().split(':')[1]],
      );
      return { id: encodeGlobalID('CaseCode', code?.id as string) };
    },
  ],
  ['deleteCase', 'deletedId', async () => ({ id: await newCase() })],
  ['createTask', TASK, async () => ({ caseId, title: 'counted', assigneeId: STAFF })],
  ['updateTask', TASK, async () => ({ id: await newTask(), title: 'renamed' })],
  ['assignTask', TASK, async () => ({ id: await newTask(), assigneeId: STAFF })],
  ['transitionTaskStatus', TASK, async () => ({ id: await newTask(), status: 'IN_PROGRESS' })],
  ['deleteTask', 'deletedId', async () => ({ id: await newTask() })],
  [
    'createRuleset',
    RULESET,
    async () => ({
      payer: `Counted ${Math.random()}`,
      procedure: '72148',
      rules: { requirements: ['a'], documentation: [], typicalTurnaround: '1 day' },
    }),
  ],
  ['updateRuleset', RULESET, async () => ({ id: await newRuleset(), procedure: '72149' })],
  ['setRulesetActive', RULESET, async () => ({ id: await newRuleset(), isActive: false })],
  ['createUser', USER, async () => newUserInput()],
  ['updateUser', USER, async () => ({ id: await newUser(), name: 'Renamed', role: 'CLINICIAN' })],
  ['setUserActive', USER, async () => ({ id: await newUser(), isActive: false })],
  [
    'createIngestion',
    INGESTION,
    async () => ({ sourceType: 'EMAIL', sourceMetadata: { subject: 'counted' }, storagePath: 's3://x' }),
  ],
  [
    'transitionIngestionStatus',
    INGESTION,
    async () => ({ id: await newIngestion(), status: 'FAILED', errorMessage: 'unreadable' }),
  ],
];

test('every mutation is covered here', async () => {
  const { schema } = await import('../../src/schema/index.js');
  expect(Object.keys(schema.getMutationType()?.getFields() ?? {}).sort()).toEqual(
    MUTATIONS.map(([name]) => name).sort(),
  );
});

test.each(MUTATIONS)('%s: at most 5 statements, the same each time', async (name, selection, input) => {
  const first = await run(on(name, selection), { i: await input() });
  const second = await run(on(name, selection), { i: await input() });
  console.info(`${name}: ${first.count} statements: ${first.kinds.join(' ')}`);
  expect(second.count).toBe(first.count);
  expect(first.count).toBeLessThanOrEqual(BUDGET);
});
