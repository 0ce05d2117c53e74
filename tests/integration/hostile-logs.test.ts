import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';
import type { Expected, HostileRequest } from '../hostile/requests.js';
import { roleTokens, sendAll, type Tokens } from '../hostile/run.js';
import { base64, globalId, keysetCursor } from '../hostile/values.js';

// No log line holds a filter value, a search string, a cursor or an input: hostile requests carry
// a marker everywhere a client can put text, and no captured line may contain it. Database errors
// whose message quotes the value (as PostgreSQL and Prisma do) are logged without it.

const MARKER = `MARKER${randomUUID().replaceAll('-', '')}`;
const raw: string[] = [];
const lines: Record<string, unknown>[] = [];
let app: TestApp;
let tokens: Tokens;
beforeAll(async () => {
  app = await startTestApp({
    logStream: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  tokens = await roleTokens(app);
});
afterAll(() => app?.close());

const badInput = (root: string): Expected => ({ status: 200, code: 'BAD_USER_INPUT', root });
const validation = (...fieldPath: string[]): Expected => ({ status: 200, code: 'VALIDATION', fieldPath });
const request = (
  name: string,
  text: string,
  variables: Record<string, unknown>,
  expected: Expected,
): HostileRequest => ({ name, as: 'ADMIN', body: { query: text, variables }, expected, mutation: false });

const NUL = `${MARKER}\u0000`;
const LONG = MARKER.repeat(20);
const DATE = { d: '2026-01-01T00:00:00.000Z' };
const CASES = 'query ($f: CaseFilter, $a: String) { cases(filter: $f, after: $a) { edges { cursor } } }';
const CREATE_CASE =
  'mutation ($i: CreateCaseInput!) { createCase(input: $i) { __typename ... on ValidationError { code fieldErrors { path } } } }';
const CASE_INPUT = { payer: 'Aetna', memberIdHash: 'h', confidence: { overall: 0.5 }, extractedData: {} };

const MARKED: HostileRequest[] = [
  request('search with a NUL', CASES, { f: { search: NUL } }, badInput('cases')),
  request('search too long', CASES, { f: { search: LONG } }, badInput('cases')),
  request('payer with a NUL', CASES, { f: { payer: NUL } }, badInput('cases')),
  request('memberId with a NUL', CASES, { f: { memberId: NUL } }, badInput('cases')),
  request('memberIdHash too long', CASES, { f: { memberIdHash: LONG } }, badInput('cases')),
  // The reported leak: a forged cursor beside a valid search, whose Prisma error rendered the where.
  request(
    'a forged cursor beside a search',
    CASES,
    { f: { search: MARKER }, a: keysetCursor(['CREATED_AT_DESC', DATE, MARKER]) },
    badInput('cases'),
  ),
  request(
    'a cursor whose date is the marker',
    CASES,
    { a: keysetCursor(['CREATED_AT_DESC', { d: MARKER }, MARKER]) },
    badInput('cases'),
  ),
  request(
    'caseStats memberIdHash with a NUL',
    'query ($f: CaseFilter) { caseStats(filter: $f) { total } }',
    { f: { memberIdHash: NUL } },
    badInput('caseStats'),
  ),
  request(
    'eventType too long',
    'query ($t: String) { events(eventType: $t) { edges { cursor } } }',
    { t: LONG },
    badInput('events'),
  ),
  request(
    'procedure with a NUL',
    'query ($f: RulesetFilter) { rulesets(filter: $f) { edges { cursor } } }',
    { f: { procedure: NUL } },
    badInput('rulesets'),
  ),
  request(
    'Case.tasks cursor',
    'query ($a: String) { cases(first: 1) { edges { node { tasks(after: $a) { edges { cursor } } } } } }',
    { a: base64(`GPC:S:${MARKER}`) },
    badInput('cases'),
  ),
  request(
    'Case.events cursor',
    'query ($a: String) { cases(first: 1) { edges { node { events(after: $a) { edges { cursor } } } } } }',
    { a: keysetCursor(['CaseEvents', MARKER, MARKER]) },
    badInput('cases'),
  ),
  request(
    'node id',
    'query ($id: ID!) { node(id: $id) { id } }',
    { id: globalId('Case', MARKER) },
    badInput('node'),
  ),
  request(
    'case id',
    'query ($id: ID!) { case(id: $id) { id } }',
    { id: globalId('Case', MARKER) },
    badInput('case'),
  ),
  request(
    'assigneeId',
    'query ($f: TaskFilter) { tasks(filter: $f) { edges { cursor } } }',
    { f: { assigneeId: globalId('User', MARKER) } },
    badInput('tasks'),
  ),
  request(
    'a DateTime',
    'query ($f: CaseFilter) { cases(filter: $f) { edges { cursor } } }',
    { f: { createdAfter: MARKER } },
    { status: 400, code: 'BAD_USER_INPUT' },
  ),
  request(
    'createCase payer with a NUL',
    CREATE_CASE,
    { i: { ...CASE_INPUT, payer: NUL } },
    validation('payer'),
  ),
  request(
    'createCase memberId with a NUL',
    CREATE_CASE,
    { i: { ...CASE_INPUT, memberIdHash: null, memberId: NUL } },
    validation('memberId'),
  ),
  request(
    'createCase extractedData with a NUL',
    CREATE_CASE,
    { i: { ...CASE_INPUT, extractedData: { note: NUL } } },
    validation('extractedData', 'note'),
  ),
  request(
    'createTask title with a NUL',
    'mutation ($i: CreateTaskInput!) { createTask(input: $i) { __typename ... on ValidationError { code fieldErrors { path } } } }',
    { i: { caseId: globalId('Case'), title: NUL } },
    validation('title'),
  ),
];

test('hostile requests carrying a marker in every filter, cursor, ID and input: no log line holds it', async () => {
  expect(await sendAll(app.fetch, tokens, MARKED)).toEqual([]);
  expect(raw.filter((line) => line.includes(MARKER))).toEqual([]);
  expect(lines.filter((line) => line.msg === 'unexpected error')).toEqual([]);
});

test('a database error quoting the value is logged with its codes and stack frames, never its message', async () => {
  // A rule of the database that the API does not know, which quotes the value it refuses: as
  // PostgreSQL's own messages do (`invalid input syntax for type uuid: "…"`).
  await query(
    app.db.ownerUrl,
    `CREATE FUNCTION test_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.title LIKE 'REFUSE%' THEN RAISE EXCEPTION 'refused title %', NEW.title; END IF;
       IF NEW.title LIKE 'DATA%' THEN RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'bad value ' || NEW.title; END IF;
       RETURN NEW;
     END $$`,
  );
  await query(
    app.db.ownerUrl,
    'CREATE TRIGGER test_only_refuse BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION test_only_refuse()',
  );
  const [row] = await query<{ id: string }>(
    app.db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1',
    [stableUuid('tenant', 'test-clinic')],
  );
  const createTask = (title: string) =>
    app.gql('mutation ($i: CreateTaskInput!) { createTask(input: $i) { __typename } }', {
      i: { caseId: globalId('Case', row?.id), title },
    });

  // Not the client's: masked, and logged as unexpected, with what names the failure.
  const refused = await createTask(`REFUSE ${MARKER}`);
  expect(refused.body.errors?.map((e) => e.message)).toEqual(['Unexpected error']);
  const logged = lines.find(
    (l) => l.msg === 'unexpected error' && l.requestId === refused.body.errors?.[0]?.extensions?.requestId,
  );
  expect(logged?.err).toMatchObject({ type: 'DatabaseError', sqlState: 'P0001', model: 'Task' });
  expect((logged?.err as { stack?: string } | undefined)?.stack).toMatch(/^DatabaseError: .*\n\s+at /);

  // A data exception the API's checks did not catch: the last net, BAD_USER_INPUT, no value echoed.
  const data = await createTask(`DATA ${MARKER}`);
  expect(data.body.errors?.map((e) => [e.extensions?.code, e.path, e.message])).toEqual([
    ['BAD_USER_INPUT', ['createTask'], 'A value of the request cannot be used by the database'],
  ]);
  expect(lines.filter((l) => l.msg === 'the database refused a value of the request')).toEqual([
    expect.objectContaining({ sqlState: '22023', path: ['createTask'] }),
  ]);
  expect(raw.filter((line) => line.includes(MARKER))).toEqual([]);
  expect(await query(app.db.ownerUrl, "SELECT id FROM tasks WHERE title LIKE '%MARKER%'")).toEqual([]);
});
