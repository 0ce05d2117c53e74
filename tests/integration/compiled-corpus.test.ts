import { encodeGlobalID } from '@pothos/plugin-relay';
import { beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { file, ROLES, useCompiledPair } from '../helpers/compiled-pair.js';
import { query } from '../helpers/db.js';

// A corpus (bench Q1–Q3, the query operations of docs/examples, every covered field, argument,
// filter and order, fragments, aliases, directives with variables and defaults, nulls and odd
// JSON, errors) as ADMIN, CLINICIAN and STAFF: the same body as the resolvers', byte for byte, and
// each request the compiler covers answered by its one SQL statement.

const pair = useCompiledPair();
// One STAFF member has left the clinic: `isActive: false` and the users(isActive:) filter have a row to show.
beforeAll(() =>
  query(pair.db.ownerUrl, `UPDATE users SET deactivated_at = '2026-11-30T08:00:00Z' WHERE id = $1`, [
    stableUuid('test-clinic', 'user', 'riley'),
  ]),
);

const TASK_FIELDS = `id uuid title description status priority dueDate completedAt isOverdue createdAt updatedAt __typename
  assignee { id uuid name email role createdAt updatedAt } case { id payer status }`;

/** [name, query, variables, covered] */
type Case = [string, string, (() => Record<string, unknown>) | undefined, boolean];

const CORPUS: Case[] = [
  ['bench q1', file('bench/queries/q1.graphql'), undefined, true],
  ['bench q2', file('bench/queries/q2.graphql'), () => ({ caseId: pair.caseIds[3] }), true],
  ['bench q3', file('bench/queries/q3.graphql'), undefined, true],
  ['docs CaseList', file('docs/examples/CaseList.graphql'), undefined, true],
  ['docs CaseList page 2', file('docs/examples/CaseList.graphql'), () => ({ first: 5 }), true],
  ['docs CaseDetail', file('docs/examples/CaseDetail.graphql'), () => ({ id: pair.caseIds[0] }), true],
  [
    'docs CaseDetail odd json',
    file('docs/examples/CaseDetail.graphql'),
    () => ({ id: pair.caseIds[1] }),
    true,
  ],
  ['docs MyTasks', file('docs/examples/MyTasks.graphql'), undefined, true],
  ['docs MyTasks first 3', file('docs/examples/MyTasks.graphql'), () => ({ first: 3 }), true],
  ['docs Me', file('docs/examples/Me.graphql'), undefined, true],
  ['docs Dashboard (not covered)', file('docs/examples/Dashboard.graphql'), undefined, false],
  [
    'docs NodeRefetch (not covered)',
    file('docs/examples/NodeRefetch.graphql'),
    () => ({ id: pair.caseIds[0] }),
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
    () => ({ id: pair.caseIds[2] }),
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
    () => ({ id: pair.caseIds[2] }),
    true,
  ],
  [
    'case of another tenant',
    'query ($id: ID!) { case(id: $id) { uuid payer } }',
    () => ({ id: pair.caseB }),
    true,
  ],
  [
    'case: malformed id (error)',
    'query ($id: ID!) { case(id: $id) { uuid } }',
    () => ({ id: 'nope' }),
    false,
  ],
  [
    'case: a Task id (error)',
    'query ($id: ID!) { case(id: $id) { uuid } }',
    () => ({ id: pair.taskId }),
    false,
  ],
  ['task', `query ($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, () => ({ id: pair.taskId }), true],
  [
    'ruleset',
    'query ($id: ID!) { ruleset(id: $id) { id payer procedure rules { requirements documentation typicalTurnaround notes } isActive } }',
    () => ({ id: pair.rulesetId }),
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
    () => ({ f: { assigneeId: pair.userId } }),
    true,
  ],
  [
    'tasks: bad assignee id (error)',
    `query ($f: TaskFilter) { tasks(filter: $f) { totalCount } }`,
    () => ({ f: { assigneeId: 'abc' } }),
    false,
  ],
  [
    'users by activity, user(id:) and ingestion(id:)',
    `query ($user: ID!, $ingestion: ID!) {
       active: users(first: 3, isActive: true) { totalCount edges { node { id isActive deactivatedAt } } }
       inactive: users(first: 3, isActive: false, role: STAFF) { totalCount edges { node { id isActive } } }
       service: users(first: 3, role: SERVICE) { totalCount edges { node { email role isActive } } }
       user(id: $user) { email isActive deactivatedAt assignedTasks(first: 1) { totalCount } }
       ingestion(id: $ingestion) { status errorMessage cases(first: 1) { totalCount } } }`,
    () => ({
      user: encodeGlobalID('User', stableUuid('test-clinic', 'user', 'jordan')),
      ingestion: encodeGlobalID('Ingestion', stableUuid('test-clinic', 'ingestion', '9')),
    }),
    true,
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
      const result = await pair.same(text, variables?.(), email);
      const expected = covered && !(name.startsWith('auditLogs') && !email.startsWith('admin'));
      expect(result.compiled, 'took the compiled path').toBe(expected);
    });
  }
});
