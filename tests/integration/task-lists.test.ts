import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

const A = stableUuid('tenant', 'test-clinic');
const staff = stableUuid('test-clinic', 'user', 'staff');

const LIST = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: TaskFilter, $orderBy: TaskOrderBy) {
    tasks(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { uuid isOverdue } }
    }
  }`;
interface List {
  tasks: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string };
    edges: { node: { uuid: string; isOverdue: boolean } }[];
  };
}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

async function all(
  variables: Record<string, unknown>,
  field = 'tasks',
  email = 'admin@test-clinic.com',
): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: { body: { data?: Record<string, List['tasks']> | null; errors?: unknown } } = await app.gql(
      LIST.replace('tasks(first', `${field}(first`),
      { first: 17, after, ...variables },
      { email },
    );
    expect(res.body.errors).toBeUndefined();
    const list = res.body.data?.[field];
    if (!list) throw new Error('no data');
    seen.push(...list.edges.map((e) => e.node.uuid));
    if (!list.pageInfo.hasNextPage) break;
    after = list.pageInfo.endCursor;
  }
  return seen;
}
async function sqlIds(
  where: string,
  order = 'created_at DESC, id DESC',
  params: unknown[] = [],
): Promise<string[]> {
  const rows = await query<{ id: string }>(
    app.db.ownerUrl,
    `SELECT id FROM tasks WHERE tenant_id = $1 AND (${where}) ORDER BY ${order}`,
    [A, ...params],
  );
  return rows.map((r) => r.id);
}

describe('TaskFilter: each field against the same filter in SQL', () => {
  test.each([
    ['status', { status: ['IN_PROGRESS', 'CANCELLED'] }, "status IN ('in_progress', 'cancelled')"],
    ['priority', { priority: ['HIGH', 'URGENT'] }, "priority IN ('high', 'urgent')"],
    ['assigneeId', { assigneeId: encodeGlobalID('User', staff) }, `assigned_to = '${staff}'`],
    ['unassigned: true', { unassigned: true }, 'assigned_to IS NULL'],
    ['unassigned: false', { unassigned: false }, 'assigned_to IS NOT NULL'],
    ['overdue: true', { overdue: true }, "due_date < now() AND status IN ('pending', 'in_progress')"],
    [
      'overdue: false',
      { overdue: false },
      "NOT (due_date < now() AND status IN ('pending', 'in_progress')) OR due_date IS NULL",
    ],
    [
      'dueBefore',
      { dueBefore: new Date(Date.now() + 3 * 86_400_000).toISOString() },
      "due_date < now() + interval '3 days'",
    ],
  ] as const)('%s', async (_name, filter, where) => {
    const expected = await sqlIds(where);
    expect(expected.length).toBeGreaterThan(0);
    expect(await all({ filter })).toEqual(expected);
  });

  test('isOverdue agrees with the overdue filter', async () => {
    const res = await app.gql<List>(LIST, { first: 100, filter: { overdue: true } });
    expect(res.body.data?.tasks.edges.every((e) => e.node.isOverdue)).toBe(true);
  });
});

describe('TaskOrderBy', () => {
  test.each([
    ['DUE_DATE_ASC', 'due_date ASC NULLS LAST, id ASC'],
    ['CREATED_AT_DESC', 'created_at DESC, id DESC'],
    [
      'PRIORITY_DESC',
      "array_position(ARRAY['low','normal','high','urgent']::varchar[], priority) DESC, id DESC",
    ],
    ['UPDATED_AT_DESC', 'updated_at DESC, id DESC'],
  ])('%s, walked 17 at a time', async (orderBy, order) => {
    expect(await all({ orderBy })).toEqual(await sqlIds('true', order));
  });
});

test('myTasks is the viewer’s assigned tasks, with the same filters and orders', async () => {
  const mine = await all(
    { orderBy: 'DUE_DATE_ASC', filter: { status: ['PENDING', 'IN_PROGRESS'] } },
    'myTasks',
    'staff@test-clinic.com',
  );
  const expected = await sqlIds(
    `assigned_to = '${staff}' AND status IN ('pending', 'in_progress')`,
    'due_date ASC NULLS LAST, id ASC',
  );
  expect(expected.length).toBeGreaterThan(0);
  expect(mine).toEqual(expected);
});

test('User.assignedTasks and a malformed assigneeId', async () => {
  const res = await app.gql<{ me: { assignedTasks: { totalCount: number } } }>(
    '{ me { assignedTasks(first: 1) { totalCount } } }',
    {},
    { email: 'staff@test-clinic.com' },
  );
  expect(res.body.data?.me.assignedTasks.totalCount).toBe((await sqlIds(`assigned_to = '${staff}'`)).length);
  const bad = await app.gql(LIST, { first: 1, filter: { assigneeId: 'nope' } });
  expect(bad.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
});
