import { readFileSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { compiledStats } from '../../src/compiled/index.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity, stableUuid } from '../../src/db/seed.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createLogger } from '../../src/logger.js';
import { createServer } from '../../src/server.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';

// The compiled path (src/compiled) against the resolvers, on the same database: every operation of
// the corpus, as every role, must give the same response body byte for byte (same keys, same
// order), and each one the compiler covers must have been answered by its one SQL statement.

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const ROLES = ['admin@test-clinic.com', 'clinician@test-clinic.com', 'staff@test-clinic.com'];

interface App {
  post(query: string, variables: Record<string, unknown> | undefined, email: string): Promise<string>;
  statements: string[];
  /** Every statement with its values. */
  sent: { text: string; values: unknown[] }[];
  prisma: PrismaClient;
}

let db: TestDatabase;
let owner: PrismaClient;
let compiled: App;
let resolvers: App;

async function app(compiledQueries: boolean): Promise<App> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.runtimeUrl,
    MEMBER_ID_HASH_KEY: TEST_MEMBER_ID_HASH_KEY,
    JWT_SECRET: TEST_JWT_SECRET,
    COMPILED_QUERIES: String(compiledQueries),
  });
  if (!config.jwt.key) throw new Error('no key');
  const statements: string[] = [];
  const sent: App['sent'] = [];
  const prisma = createPrismaClient({
    url: db.runtimeUrl,
    poolMax: 3,
    onStatement: (text, values) => {
      statements.push(text);
      if (sent.length < 1000) sent.push({ text, values });
    },
  });
  const { yoga } = createServer({
    config,
    prisma,
    databaseUrl: db.runtimeUrl,
    logger: createLogger(config),
    verifyToken: await createTokenVerifier({ ...config.jwt, key: config.jwt.key }),
    memberIdHashKey: TEST_MEMBER_ID_HASH_KEY,
  });
  const tokens = new Map<string, string>();
  return {
    statements,
    sent,
    prisma,
    async post(text, variables, email) {
      let token = tokens.get(email);
      if (!token) {
        const identity = seedIdentity(email);
        if (!identity) throw new Error(email);
        token = await signToken(TEST_JWT_SECRET, identity, config.jwt);
        tokens.set(email, token);
      }
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: text, variables }),
      });
      // The compiled path writes PostgreSQL's JSON text as it is (`"key" : value`): compared without
      // whitespace, key order included. Masked errors carry the request's id: the one thing that
      // differs between two requests.
      const body = JSON.stringify(JSON.parse(await response.text())).replace(
        /"requestId":"[^"]*"/g,
        '"requestId":"…"',
      );
      return `${response.status} ${body}`;
    },
  };
}

let caseIds: string[] = [];
let caseB: string;
let taskId: string;
let rulesetId: string;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = createPrismaClient({ url: db.ownerUrl, poolMax: 2 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  // Rows the seed does not make: NULL diagnosis codes, odd JSON, a code with % and _, a ruleset
  // matched without case, a task due exactly like another (ties), events of a case.
  await query(
    db.ownerUrl,
    `UPDATE cases SET diagnosis_codes = NULL, confidence_json = '{"overall": "high"}', metadata_json = 'null'
     WHERE id = (SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1)`,
    [A],
  );
  await query(
    db.ownerUrl,
    `UPDATE cases SET confidence_json = '[1, 2]', metadata_json = '{"b": 1, "a": [1.50, "x\\u00e9"], "c": null}'
     WHERE id = (SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id OFFSET 1 LIMIT 1)`,
    [A],
  );
  await query(
    db.ownerUrl,
    `UPDATE rulesets SET rules_json = '{"requirements": ["a", 1, null, "b"], "typicalTurnaround": "3 days", "notes": 5}'
     WHERE id = (SELECT id FROM rulesets WHERE tenant_id = $1 ORDER BY id LIMIT 1)`,
    [A],
  );
  await query(
    db.ownerUrl,
    `UPDATE case_codes SET code = 'X_1%\\' WHERE id = (SELECT id FROM case_codes WHERE tenant_id = $1 ORDER BY id OFFSET 5 LIMIT 1)`,
    [A],
  );
  const ids = await query<{ id: string }>(
    db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC',
    [A],
  );
  caseIds = ids.map((r) => encodeGlobalID('Case', r.id));
  const [b] = await query<{ id: string }>(db.ownerUrl, 'SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1', [
    B,
  ]);
  caseB = encodeGlobalID('Case', b?.id as string);
  const [t] = await query<{ id: string }>(db.ownerUrl, 'SELECT id FROM tasks WHERE tenant_id = $1 LIMIT 1', [
    A,
  ]);
  taskId = encodeGlobalID('Task', t?.id as string);
  const [r] = await query<{ id: string }>(
    db.ownerUrl,
    'SELECT id FROM rulesets WHERE tenant_id = $1 LIMIT 1',
    [A],
  );
  rulesetId = encodeGlobalID('Ruleset', r?.id as string);
  userId = encodeGlobalID('User', stableUuid('test-clinic', 'user', 'staff'));
  compiled = await app(true);
  resolvers = await app(false);
});

afterAll(async () => {
  await compiled?.prisma.$disconnect();
  await resolvers?.prisma.$disconnect();
  await owner?.$disconnect();
  await db?.drop();
});

/** Runs `text` on both apps as `email`: the bodies must be identical; returns whether it compiled. */
async function same(text: string, variables: Record<string, unknown> | undefined, email: string) {
  const before = compiledStats.executed;
  const fallbacksBefore = compiledStats.fallbacks;
  const fast = await compiled.post(text, variables, email);
  const took = compiledStats.executed - before;
  const fellBack = compiledStats.fallbacks - fallbacksBefore;
  const slow = await resolvers.post(text, variables, email);
  expect(fast, `${email}: ${text} ${JSON.stringify(variables)}`).toBe(slow);
  return { compiled: took === 1, fellBack: fellBack === 1, body: JSON.parse(fast.slice(4)) };
}

const file = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

const TASK_FIELDS = `id uuid title description status priority dueDate completedAt isOverdue createdAt updatedAt __typename
  assignee { id uuid name email role createdAt updatedAt } case { id payer status }`;

/** [name, query, variables, covered] */
type Case = [string, string, (() => Record<string, unknown>) | undefined, boolean];

const CORPUS: Case[] = [
  ['bench q1', file('bench/queries/q1.graphql'), undefined, true],
  ['bench q2', file('bench/queries/q2.graphql'), () => ({ caseId: caseIds[3] }), true],
  ['bench q3', file('bench/queries/q3.graphql'), undefined, true],
  ['docs CaseList', file('docs/examples/CaseList.graphql'), undefined, true],
  ['docs CaseList page 2', file('docs/examples/CaseList.graphql'), () => ({ first: 5 }), true],
  ['docs CaseDetail', file('docs/examples/CaseDetail.graphql'), () => ({ id: caseIds[0] }), true],
  ['docs CaseDetail odd json', file('docs/examples/CaseDetail.graphql'), () => ({ id: caseIds[1] }), true],
  ['docs MyTasks', file('docs/examples/MyTasks.graphql'), undefined, true],
  ['docs MyTasks first 3', file('docs/examples/MyTasks.graphql'), () => ({ first: 3 }), true],
  ['docs Me', file('docs/examples/Me.graphql'), undefined, true],
  ['docs Dashboard (not covered)', file('docs/examples/Dashboard.graphql'), undefined, false],
  [
    'docs NodeRefetch (not covered)',
    file('docs/examples/NodeRefetch.graphql'),
    () => ({ id: caseIds[0] }),
    false,
  ],
  [
    'aliases, typename, fragments, directives',
    `query Q($yes: Boolean = true, $no: Boolean!) {
      __typename
      list: cases(first: 4, orderBy: PRIORITY_DESC) {
        __typename
        totalCount
        ...Page
        edges { __typename cursor node { ...CaseBits ... on Case { p: payer } ... on Node { id } } }
        more: edges { node { uuid payer @include(if: $no) status @skip(if: $yes) } }
      }
      again: cases(first: 2) @include(if: $yes) { edges { node { uuid } } }
      gone: cases(first: 2) @skip(if: $yes) { edges { node { uuid } } }
    }
    fragment Page on CaseConnection { pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor } }
    fragment CaseBits on Case { uuid priority createdAt codes { __typename uuid code } codes { codeType createdAt } }`,
    () => ({ no: false }),
    true,
  ],
  [
    'aliases everywhere, on every kind of key',
    `query ($id: ID!) { __typename t: __typename c: case(id: $id) { T: __typename i: id u: uuid conf: confidence { o: overall f: fields k: __typename }
      ts: tasks(first: 2) { n: totalCount p: pageInfo { h: hasNextPage s: startCursor t: __typename } e: edges { c: cursor k: __typename x: node { id: uuid } } }
      uuid payer p2: payer codes { id: code code } } r: rulesets(first: 2) { edges { node { rules { r: requirements n: notes } } } } }`,
    () => ({ id: caseIds[2] }),
    true,
  ],
  [
    'enum lists in another order, with repetitions',
    `query ($f: CaseFilter, $g: TaskFilter) { cases(filter: $f, first: 30) { totalCount edges { node { uuid status priority } } }
      tasks(filter: $g, first: 30) { totalCount edges { node { uuid status priority } } } }`,
    () => ({
      f: { status: ['APPROVED', 'PENDING', 'APPROVED'], priority: ['URGENT', 'NORMAL', 'HIGH', 'NORMAL'] },
      g: {
        status: ['IN_PROGRESS', 'PENDING', 'PENDING'],
        priority: ['LOW', 'URGENT', 'HIGH', 'NORMAL', 'LOW'],
      },
    }),
    true,
  ],
  [
    'every Case field',
    `query ($id: ID!) { case(id: $id) {
      __typename id uuid memberIdHash payer status priority diagnosisCodes
      confidence { __typename overall fields } extractedData metadata createdAt updatedAt
      createdBy { id email name role } ingestion { id uuid sourceType sourceMetadata storagePath status errorMessage createdAt updatedAt }
      codes { id uuid codeType code description confidence createdAt }
      tasks { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${TASK_FIELDS} } } }
      matchingRulesets { __typename id uuid payer procedure isActive createdAt updatedAt rules { __typename requirements documentation typicalTurnaround notes } }
      events(first: 3) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id eventType entityType entityId metadata createdAt user { name } } } }
    } }`,
    () => ({ id: caseIds[2] }),
    true,
  ],
  [
    'case of another tenant',
    'query ($id: ID!) { case(id: $id) { uuid payer } }',
    () => ({ id: caseB }),
    true,
  ],
  [
    'case: malformed id (error)',
    'query ($id: ID!) { case(id: $id) { uuid } }',
    () => ({ id: 'nope' }),
    false,
  ],
  ['case: a Task id (error)', 'query ($id: ID!) { case(id: $id) { uuid } }', () => ({ id: taskId }), false],
  ['task', `query ($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, () => ({ id: taskId }), true],
  [
    'ruleset',
    'query ($id: ID!) { ruleset(id: $id) { id payer procedure rules { requirements documentation typicalTurnaround notes } isActive } }',
    () => ({ id: rulesetId }),
    true,
  ],
  [
    'tenant and me',
    '{ tenant { id uuid slug name createdAt updatedAt } me { id uuid email name role } }',
    undefined,
    true,
  ],
  [
    'Case.tasks: filters and orders',
    `query ($o: TaskOrderBy, $f: TaskFilter, $last: Int) { cases(first: 6) { edges { node { uuid
      a: tasks(orderBy: $o, filter: $f) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { uuid dueDate priority } } }
      b: tasks(last: $last, orderBy: $o) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { uuid dueDate } } }
      c: tasks(first: 0) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor } }
      d: tasks(first: 1, filter: { overdue: false, unassigned: false }) { totalCount edges { node { uuid } } }
    } } } }`,
    () => ({ o: 'DUE_DATE_ASC', f: { status: ['PENDING', 'COMPLETED'] }, last: 2 }),
    true,
  ],
  [
    'Case.tasks: other orders',
    `query ($o: TaskOrderBy) { cases(first: 10, orderBy: CREATED_AT_ASC) { edges { node {
      tasks(orderBy: $o, last: 2) { edges { node { uuid } } pageInfo { hasPreviousPage } } } } } }`,
    () => ({ o: 'PRIORITY_DESC' }),
    true,
  ],
  [
    'Case.tasks after a cursor (not covered)',
    `query ($after: String) { cases(first: 2) { edges { node { tasks(first: 1, after: $after) { edges { node { uuid } } } } } } }`,
    () => ({ after: Buffer.from('GPC:S:00000000-0000-8000-8000-000000000000').toString('base64') }),
    false,
  ],
  ['first over 100 (error)', '{ cases(first: 101) { edges { node { uuid } } } }', undefined, false],
  ['first and last (error)', '{ myTasks(first: 1, last: 1) { edges { node { uuid } } } }', undefined, false],
  ['bad cursor (error)', '{ tasks(first: 1, after: "xyz") { edges { node { uuid } } } }', undefined, false],
  [
    'cases filters',
    `query ($f: CaseFilter, $o: CaseOrderBy) { cases(filter: $f, orderBy: $o, first: 30) { totalCount edges { cursor node { uuid payer status priority } } pageInfo { hasNextPage endCursor } } }`,
    () => ({
      f: { status: ['PENDING', 'APPROVED'], priority: ['NORMAL', 'HIGH', 'URGENT'] },
      o: 'UPDATED_AT_DESC',
    }),
    true,
  ],
  [
    'cases search',
    `query ($f: CaseFilter) { cases(filter: $f, first: 50) { totalCount edges { node { uuid payer codes { code } } } } }`,
    () => ({ f: { search: ' cigna ' } }),
    true,
  ],
  [
    'cases search by code',
    `query ($f: CaseFilter) { cases(filter: $f, first: 50) { totalCount edges { node { uuid } } } }`,
    () => ({ f: { search: 'e0601' } }),
    true,
  ],
  [
    'cases search: wildcards are literal',
    `query ($f: CaseFilter) { cases(filter: $f, first: 50) { totalCount edges { node { uuid } } } }`,
    () => ({ f: { search: 'e06_1' } }),
    true,
  ],
  [
    'cases search: a code with _, % and a backslash, without case',
    `query ($f: CaseFilter) { cases(filter: $f, first: 50) { totalCount edges { node { uuid codes { code } } } } }`,
    () => ({ f: { search: 'x_1%\\' } }),
    true,
  ],
  [
    'cases: payer, dates, member id',
    `query ($f: CaseFilter) { cases(filter: $f, first: 50, orderBy: CREATED_AT_ASC) { totalCount edges { node { uuid } } } }`,
    () => ({
      f: {
        payer: 'Aetna',
        createdAfter: '2000-01-01T00:00:00Z',
        createdBefore: '2100-01-01T00:00:00.000+02:00',
      },
    }),
    true,
  ],
  [
    'cases: member id and hash',
    `query ($f: CaseFilter, $g: CaseFilter) { a: cases(filter: $f) { totalCount } b: cases(filter: $g) { totalCount edges { node { uuid } } } }`,
    () => ({ f: { memberId: ' m-1001 ' }, g: { memberIdHash: 'nope' } }),
    true,
  ],
  [
    'tasks: every filter',
    `query ($f: TaskFilter, $o: TaskOrderBy) { tasks(filter: $f, orderBy: $o, first: 40) { totalCount edges { cursor node { uuid isOverdue } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
    () => ({
      f: {
        status: ['PENDING', 'IN_PROGRESS'],
        priority: ['HIGH', 'NORMAL', 'URGENT', 'LOW'],
        overdue: false,
      },
      o: 'PRIORITY_DESC',
    }),
    true,
  ],
  [
    'tasks: assignee, unassigned, due before',
    `query ($f: TaskFilter, $g: TaskFilter) { a: tasks(filter: $f) { totalCount edges { node { uuid } } } b: tasks(filter: $g, orderBy: UPDATED_AT_DESC) { totalCount edges { node { uuid } } } }`,
    () => ({
      f: {
        assigneeId: encodeGlobalID('User', stableUuid('test-clinic', 'user', 'jordan')),
        dueBefore: '2100-01-01T00:00:00Z',
      },
      g: { unassigned: true, overdue: true },
    }),
    true,
  ],
  [
    'myTasks: a page of another assignee (none)',
    `query ($f: TaskFilter) { myTasks(filter: $f, last: 3) { totalCount edges { node { uuid } } pageInfo { hasPreviousPage } } }`,
    () => ({ f: { assigneeId: userId } }),
    true,
  ],
  [
    'tasks: bad assignee id (error)',
    `query ($f: TaskFilter) { tasks(filter: $f) { totalCount } }`,
    () => ({ f: { assigneeId: 'abc' } }),
    false,
  ],
  [
    'users, ingestions, rulesets, events',
    `{ users(first: 3, role: STAFF) { totalCount edges { cursor node { id email role assignedTasks(first: 2, orderBy: DUE_DATE_ASC) { totalCount edges { node { uuid dueDate } } } } } pageInfo { hasNextPage endCursor } }
       ingestions(last: 3, status: COMPLETED) { totalCount edges { cursor node { id sourceType status sourceMetadata cases(first: 2) { totalCount edges { cursor node { uuid } } } } } pageInfo { hasPreviousPage startCursor } }
       rulesets(first: 5, filter: { isActive: true, procedure: "e0601" }) { totalCount edges { node { id payer procedure isActive rules { requirements notes } } } }
       events(first: 4) { totalCount edges { node { eventType entityType entityId metadata user { email } } } } }`,
    undefined,
    true,
  ],
  [
    'ruleset filter by payer',
    `{ rulesets(filter: { payer: "Cigna" }) { totalCount edges { node { procedure } } } }`,
    undefined,
    true,
  ],
  [
    'auditLogs (admin only)',
    `{ auditLogs(first: 5) { totalCount edges { node { action entityType entityId changes ipAddress userAgent user { email } } } } }`,
    undefined,
    true,
  ],
];

describe('the same response as the resolvers', () => {
  for (const [name, text, variables, covered] of CORPUS) {
    test.each(ROLES)(`${name}: %s`, async (email) => {
      const result = await same(text, variables?.(), email);
      const expected = covered && !(name.startsWith('auditLogs') && !email.startsWith('admin'));
      expect(result.compiled, 'took the compiled path').toBe(expected);
    });
  }
});

describe('paging walks', () => {
  const WALKS: [string, string, Record<string, unknown>][] = [
    ['cases', 'cases', {}],
    ['cases', 'cases', { orderBy: 'PRIORITY_DESC' }],
    ['cases', 'cases', { orderBy: 'CREATED_AT_ASC', filter: { status: ['PENDING'] } }],
    ['cases', 'cases', { orderBy: 'UPDATED_AT_DESC' }],
    ['tasks', 'tasks', { orderBy: 'DUE_DATE_ASC' }],
    ['tasks', 'tasks', { orderBy: 'PRIORITY_DESC' }],
    ['tasks', 'tasks', {}],
    ['tasks', 'myTasks', { orderBy: 'DUE_DATE_ASC' }],
    ['tasks', 'tasks', { orderBy: 'UPDATED_AT_DESC', filter: { overdue: false } }],
  ];
  const page = (field: string, argTypes: string) => /* GraphQL */ `
    query ($first: Int, $after: String, $last: Int, $before: String ${argTypes}) {
      list: ${field}(first: $first, after: $after, last: $last, before: $before ${argTypes ? ', orderBy: $orderBy, filter: $filter' : ''}) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { uuid } }
      }
    }`;
  test.each(WALKS)('%s: %s %j, forward then backward', async (kind, field, extra) => {
    const argTypes = `, $orderBy: ${kind === 'cases' ? 'CaseOrderBy' : 'TaskOrderBy'}, $filter: ${kind === 'cases' ? 'CaseFilter' : 'TaskFilter'}`;
    const text = page(field, argTypes);
    const email = field === 'myTasks' ? 'staff@test-clinic.com' : 'clinician@test-clinic.com';
    let after: string | null = null;
    let pages = 0;
    const forward: string[] = [];
    for (;;) {
      const { compiled: took, body } = await same(text, { first: 4, after, ...extra }, email);
      expect(took).toBe(true);
      const list = body.data.list;
      forward.push(...list.edges.map((e: { node: { uuid: string } }) => e.node.uuid));
      pages += 1;
      if (!list.pageInfo.hasNextPage || pages > 40) break;
      after = list.pageInfo.endCursor;
    }
    expect(forward.length).toBeGreaterThan(8);
    let before: string | null = null;
    const backward: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { compiled: took, body } = await same(text, { last: 5, before, ...extra }, email);
      expect(took).toBe(true);
      const list = body.data.list;
      backward.unshift(...list.edges.map((e: { node: { uuid: string } }) => e.node.uuid));
      if (!list.pageInfo.hasPreviousPage) break;
      before = list.pageInfo.startCursor;
    }
    expect(backward).toEqual(forward);
  });
});

describe('side effects and isolation', () => {
  const VIEW =
    'SELECT user_id, action, entity_type, entity_id, changes, ip_address, user_agent FROM audit_logs WHERE action = $1 ORDER BY entity_id';

  test('extractedData: one view row per case read, as the resolvers write them; none for STAFF', async () => {
    const text = `query ($id: ID!) { a: case(id: $id) { extractedData uuid } b: cases(first: 3) { edges { node { x: extractedData y: extractedData } } } }`;
    for (const email of ROLES) {
      await query(db.ownerUrl, 'DELETE FROM audit_logs WHERE action = $1', ['view']);
      const before = compiledStats.executed;
      const fast = await compiled.post(text, { id: caseIds[1] }, email);
      expect(compiledStats.executed - before).toBe(1);
      const fastRows = await query(db.ownerUrl, VIEW, ['view']);
      await query(db.ownerUrl, 'DELETE FROM audit_logs WHERE action = $1', ['view']);
      const slow = await resolvers.post(text, { id: caseIds[1] }, email);
      const slowRows = await query(db.ownerUrl, VIEW, ['view']);
      expect(fast).toBe(slow);
      expect(fastRows).toEqual(slowRows);
      expect(fastRows.length).toBe(email.startsWith('staff') ? 0 : 3);
    }
  });

  test("another tenant's case is null in the compiled path", async () => {
    const { compiled: took, body } = await same(
      'query ($id: ID!) { case(id: $id) { uuid } }',
      { id: caseB },
      ROLES[0] as string,
    );
    expect(took).toBe(true);
    expect(body).toEqual({ data: { case: null } });
  });

  test('a row the SQL cannot render exactly sends the request to the resolvers', async () => {
    const [row] = await query<{ id: string }>(
      db.ownerUrl,
      `UPDATE cases SET diagnosis_codes = ARRAY['A', NULL] WHERE id = (SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1) RETURNING id`,
      [A],
    );
    const id = encodeGlobalID('Case', row?.id as string);
    try {
      const before = compiledStats.fallbacks;
      const result = await same(
        'query ($id: ID!) { case(id: $id) { uuid diagnosisCodes } }',
        { id },
        ROLES[0] as string,
      );
      expect(compiledStats.fallbacks - before).toBe(1);
      expect(result.compiled).toBe(false);
      expect(result.body.errors).toBeDefined();
    } finally {
      // Prisma cannot read such a row at all, whatever the query selects of it.
      await query(db.ownerUrl, `UPDATE cases SET diagnosis_codes = '{}' WHERE id = $1`, [row?.id]);
    }
  });

  test('matchingRulesets: a code that is not ASCII falls back', async () => {
    const [row] = await query<{ case_id: string }>(
      db.ownerUrl,
      `UPDATE case_codes SET code = 'ſ1' WHERE id = (SELECT id FROM case_codes WHERE tenant_id = $1 ORDER BY id LIMIT 1) RETURNING case_id`,
      [A],
    );
    const id = encodeGlobalID('Case', row?.case_id as string);
    const before = compiledStats.fallbacks;
    const result = await same(
      'query ($id: ID!) { case(id: $id) { matchingRulesets { procedure } } }',
      { id },
      ROLES[0] as string,
    );
    expect(compiledStats.fallbacks - before).toBe(1);
    expect(result.body.data.case).not.toBeNull();
  });

  test('the same document is compiled once', async () => {
    const text = file('bench/queries/q3.graphql');
    await same(text, undefined, ROLES[2] as string);
    const { skeletons, variants } = compiledStats;
    await same(text, undefined, ROLES[2] as string);
    await same(text, undefined, 'jordan@test-clinic.com');
    expect(compiledStats.skeletons).toBe(skeletons);
    expect(compiledStats.variants).toBe(variants);
  });

  test('statements per request: BEGIN, begin_request, the data statement, COMMIT (+ the view row)', async () => {
    const counts: Record<string, number> = {};
    for (const [name, variables] of [
      ['q1', undefined],
      ['q2', { caseId: caseIds[5] }],
      ['q3', undefined],
    ] as const) {
      for (const email of ['staff@test-clinic.com', 'clinician@test-clinic.com']) {
        compiled.statements.length = 0;
        const body = await compiled.post(file(`bench/queries/${name}.graphql`), variables, email);
        expect(body.startsWith('200 {"data"')).toBe(true);
        counts[`${name} ${email.split('@')[0]}`] = compiled.statements.length;
      }
    }
    console.info('compiled statements per request', counts);
    expect(counts).toEqual({
      'q1 staff': 4,
      'q1 clinician': 4,
      'q2 staff': 4,
      'q2 clinician': 5,
      'q3 staff': 4,
      'q3 clinician': 4,
    });
  });
});

test('search matches a code literally and without case, as Prisma does (ILIKE, escaped)', async () => {
  const text = `query ($f: CaseFilter) { cases(filter: $f) { totalCount } }`;
  const { compiled: took, body } = await same(text, { f: { search: 'x_1%\\' } }, ROLES[0] as string);
  expect(took).toBe(true);
  expect(body.data.cases.totalCount).toBe(1);
});

describe('statements that plan well as prepared statements', () => {
  /** The data statement of one compiled request of `name` (bench/queries), with its values. */
  async function dataStatement(name: string, variables?: Record<string, unknown>) {
    compiled.sent.length = 0;
    const body = await compiled.post(
      file(`bench/queries/${name}.graphql`),
      variables,
      'staff@test-clinic.com',
    );
    expect(body.startsWith('200 {"data"')).toBe(true);
    const statement = compiled.sent.find((s) => s.text.startsWith('SELECT json_build_object'));
    if (!statement) throw new Error('no data statement');
    return statement;
  }

  test('page sizes and enum filter values are literals of the text; ids and tenants are parameters', async () => {
    const q1 = await dataStatement('q1');
    expect(q1.text).toContain('LIMIT 50)');
    expect(q1.text).toContain('LIMIT 10)');
    expect(q1.text).not.toMatch(/LIMIT \$/);
    // A forward page that reads no pageInfo: no numbering window.
    expect(q1.text).not.toContain('row_number()');
    const q3 = await dataStatement('q3');
    // Sorted: the order a client lists enum values in makes no new text.
    expect(q3.text).toContain(`x.status = ANY('{"in_progress","pending"}'::text[])`);
    // Aliases (`myOpenTasks:`, `id:`) are parameters too: a client cannot make new texts with them.
    expect(q3.text).not.toMatch(/myOpenTasks|'id'/);
    expect(q3.values).toEqual(['myOpenTasks', 'id', A, stableUuid('test-clinic', 'user', 'staff')]);
    const q2 = await dataStatement('q2', { caseId: caseIds[3] });
    expect(q2.values.filter((v) => v !== 'id')).toHaveLength(2);
  });

  test('aliases and the order or repetition of enum values do not change the statement text', async () => {
    const texts = new Set<string>();
    for (const [alias, status, priority] of [
      ['a', 'PENDING, COMPLETED', 'HIGH'],
      ['b', 'COMPLETED, PENDING', 'HIGH, HIGH'],
      ['zz', 'COMPLETED, PENDING, COMPLETED', 'HIGH'],
    ]) {
      compiled.sent.length = 0;
      const body = await compiled.post(
        `{ ${alias}: tasks(first: 3, filter: { status: [${status}], priority: [${priority}] }) { ${alias}1: edges { n: node { uuid } } } }`,
        undefined,
        'staff@test-clinic.com',
      );
      expect(body).toMatch(new RegExp(`^200 \\{"data":\\{"${alias}":\\{"${alias}1":\\[`));
      const statement = compiled.sent.find((s) => s.text.startsWith('SELECT json_build_object'));
      texts.add(statement?.text ?? '');
    }
    expect(texts.size).toBe(1);
  });

  test("Q3's generic plan can use the partial index of open tasks", async () => {
    const q3 = await dataStatement('q3');
    const client = new pg.Client({ connectionString: db.runtimeUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [A]);
      // Other paths off: what is left is the partial index, if its predicate is provable without values.
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query('SET LOCAL enable_bitmapscan = off');
      await client.query(`PREPARE q3 AS ${q3.text}`);
      const args = q3.values.map((v) => `'${String(v).replaceAll("'", "''")}'`).join(', ');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE q3(${args})`);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('tasks_open_tenant_id_assigned_to_due_date_id_idx');
      expect(plan).not.toMatch(/\bSort\b/);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  test('odd rules JSON renders as the resolvers render it', async () => {
    const [row] = await query<{ id: string; rules_json: unknown }>(
      db.ownerUrl,
      'SELECT id, rules_json FROM rulesets WHERE tenant_id = $1 ORDER BY id OFFSET 1 LIMIT 1',
      [A],
    );
    const id = row?.id as string;
    const text = `query ($id: ID!) { ruleset(id: $id) { rules { requirements documentation typicalTurnaround notes } } }`;
    try {
      for (const rules of [
        '{"typical_turnaround": null, "typicalTurnaround": "x", "requirements": [["a"], "b", {"c": "d"}, "e\\u00e9"]}',
        '{"typical_turnaround": 5, "typicalTurnaround": "x", "documentation": "abc", "notes": null}',
        '{"typical_turnaround": "y", "typicalTurnaround": "x", "requirements": {"a": "b"}, "notes": "n"}',
        '{"typicalTurnaround": 7, "requirements": []}',
        '[1, "a"]',
        '"s"',
        'null',
        '{}',
      ]) {
        await query(db.ownerUrl, 'UPDATE rulesets SET rules_json = $2::jsonb WHERE id = $1', [id, rules]);
        const result = await same(text, { id: encodeGlobalID('Ruleset', id) }, ROLES[0] as string);
        expect(result.compiled, rules).toBe(true);
      }
    } finally {
      await query(db.ownerUrl, 'UPDATE rulesets SET rules_json = $2::jsonb WHERE id = $1', [
        id,
        JSON.stringify(row?.rules_json),
      ]);
    }
  });
});
