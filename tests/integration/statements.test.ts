import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { firstCaseId } from '../helpers/db.js';

// The statement budget (counted, never timed): a request's SQL statements, the RLS transaction
// included, do not grow with the page size or with one more level of nesting.

const Q1 = (first: number, nested: string) => /* GraphQL */ `{
  cases(first: ${first}) { edges { node { id payer status codes { code } createdBy { name }
    tasks(first: 10) { edges { node { title assignee { name ${nested} } } } } } } } }`;
const Q2 = (first: number, nested: string) => /* GraphQL */ `query ($id: ID!) {
  case(id: $id) { id payer status priority diagnosisCodes createdAt createdBy { name } ingestion { id sourceType }
    codes { code codeType description } matchingRulesets { payer procedure rules { requirements } }
    tasks(first: ${first}) { totalCount edges { node { title status dueDate assignee { name ${nested} } } } }
    events(first: ${first}) { edges { node { eventType createdAt user { name } } } } } }`;
const Q3 = (first: number, nested: string) => /* GraphQL */ `{
  myTasks(first: ${first}, filter: { status: [PENDING, IN_PROGRESS] }, orderBy: DUE_DATE_ASC) {
    edges { node { id title status dueDate isOverdue case { id payer status createdBy { name ${nested} } } } } } }`;
/** One more level of nesting under the deepest list's node. */
const DEEPER = 'assignedTasks(first: 3) { edges { node { title } } }';

let app: TestApp;
let caseId: string;
beforeAll(async () => {
  app = await startTestApp();
  caseId = await firstCaseId(app.db.ownerUrl, stableUuid('tenant', 'test-clinic'));
});
afterAll(() => app?.close());

async function count(
  query: string,
  variables: Record<string, unknown> = {},
  email = 'staff@test-clinic.com',
) {
  app.statements.length = 0;
  const res = await app.gql(query, variables, { email });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return app.statements.length;
}

// The budget per read shape, BEGIN and COMMIT included: each is compiled into one data statement
// (src/compiled), plus the `view` audit row when a CLINICIAN or ADMIN reads extractedData. The
// mutations' budget is tests/integration/mutation-statements.test.ts.
const BUDGET = { Q1: 4, Q2: 4, Q3: 4 } as const;

test.each([
  ['Q1 newest cases with codes, tasks + assignee, creator', Q1, {}],
  ['Q2 one case with everything and matching rulesets', Q2, 'case'],
  ['Q3 my open tasks by due date, with their case', Q3, {}],
])('%s: the same count for 5, 50 and one level deeper, within budget', async (_name, shape, vars) => {
  const variables = vars === 'case' ? { id: caseId } : {};
  const small = await count(shape(5, ''), variables);
  const large = await count(shape(50, ''), variables);
  const deeper = await count(shape(50, DEEPER), variables);
  console.info(
    `${_name.slice(0, 2)}: ${small} statements (first 5), ${large} (first 50), ${deeper} (one level deeper)`,
  );
  expect(large).toBe(small);
  expect(deeper).toBe(small);
  expect(small).toBeLessThanOrEqual(BUDGET[_name.slice(0, 2) as keyof typeof BUDGET]);
});

test('the request log line counts the same statements', async () => {
  const lines: Record<string, unknown>[] = [];
  const logged = await startTestApp({
    logStream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  try {
    logged.statements.length = 0;
    const res = await logged.gql(Q1(5, ''));
    expect(res.status).toBe(200);
    const requestLine = lines.find((l) => l.msg === 'request');
    expect(logged.statements.length).toBeGreaterThan(0);
    expect(requestLine?.statementCount).toBe(logged.statements.length);
  } finally {
    await logged.close();
  }
});
