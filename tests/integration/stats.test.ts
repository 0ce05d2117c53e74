import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { hashMemberId } from '../../src/domain/member-id.js';
import { startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// caseStats and taskStats against counts the test computes itself, in SQL, as the owner.

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const STATUSES = ['PENDING', 'APPROVED', 'DENIED', 'MORE_INFO_NEEDED'];
const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface CaseStats {
  total: number;
  byStatus: { status: string; count: number }[];
  byPriority: { priority: string; count: number }[];
  topPayers: { payer: string; count: number }[];
}
interface TaskStats {
  open: number;
  overdue: number;
  dueWithin24h: number;
  completedLast7Days: number;
}

const CASE_STATS = /* GraphQL */ `
  query ($filter: CaseFilter, $limit: Int) {
    caseStats(filter: $filter) {
      total
      byStatus { status count }
      byPriority { priority count }
      topPayers(limit: $limit) { payer count }
    }
  }`;
const TASK_STATS = /* GraphQL */ `{ taskStats { open overdue dueWithin24h completedLast7Days } }`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

async function caseStats(filter?: Record<string, unknown>, limit?: number, as = 'admin@test-clinic.com') {
  const res = await app.gql<{ caseStats: CaseStats }>(CASE_STATS, { filter, limit }, { email: as });
  expect(res.body.errors).toBeUndefined();
  return res.body.data?.caseStats as CaseStats;
}

/** The same numbers, in SQL: `where` over `cases c`, parameters from $2 ($1 is the tenant). */
async function expectedCaseStats(where = 'TRUE', params: unknown[] = [], limit = 10, tenant = A) {
  const run = <R extends Record<string, unknown>>(sql: string, extra: unknown[] = []) =>
    query<R>(app.db.ownerUrl, sql, [tenant, ...params, ...extra]);
  const scope = `FROM cases c WHERE c.tenant_id = $1 AND (${where})`;
  const [total] = await run<{ n: number }>(`SELECT count(*)::int AS n ${scope}`);
  const byStatus = await run<{ k: string; n: number }>(
    `SELECT status AS k, count(*)::int AS n ${scope} GROUP BY status`,
  );
  const byPriority = await run<{ k: string; n: number }>(
    `SELECT priority AS k, count(*)::int AS n ${scope} GROUP BY priority`,
  );
  const topPayers = await run<{ payer: string; count: number }>(
    `SELECT payer, count(*)::int AS count ${scope} GROUP BY payer
     ORDER BY count(*) DESC, payer COLLATE "C" ASC LIMIT $${params.length + 2}`,
    [limit],
  );
  const count = (rows: { k: string; n: number }[], name: string) =>
    rows.find((r) => r.k === name.toLowerCase())?.n ?? 0;
  return {
    total: total?.n ?? 0,
    byStatus: STATUSES.map((status) => ({ status, count: count(byStatus, status) })),
    byPriority: PRIORITIES.map((priority) => ({ priority, count: count(byPriority, priority) })),
    topPayers,
  };
}

async function insertCase(fields: { payer: string; status?: string; priority?: string; tenant?: string }) {
  const tenant = fields.tenant ?? A;
  const local = tenant === A ? 'test-clinic' : 'second-clinic';
  await query(
    app.db.ownerUrl,
    `INSERT INTO cases (id, tenant_id, created_by, member_id_hash, payer, status, priority,
                        diagnosis_codes, confidence_json, extracted_data, created_at, updated_at)
     VALUES ($1, $2, $3, 'h', $4, $5, $6, '{}', '{}', '{}', now(), now())`,
    [
      randomUUID(),
      tenant,
      stableUuid(local, 'user', 'admin'),
      fields.payer,
      fields.status ?? 'pending',
      fields.priority ?? 'normal',
    ],
  );
}

/** SQL statements the server sends while `fn` runs (the test app records them). */
async function statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  app.statements.length = 0;
  const result = await fn();
  return { result, sql: [...app.statements] };
}

describe('caseStats', () => {
  test('without a filter: every enum value in enum order, zeros included, equal to SQL', async () => {
    const stats = await caseStats();
    expect(stats).toEqual(await expectedCaseStats());
    expect(stats.byStatus.map((s) => s.status)).toEqual(STATUSES);
    expect(stats.byPriority.map((p) => p.priority)).toEqual(PRIORITIES);
    expect(stats.byStatus.reduce((n, s) => n + s.count, 0)).toBe(stats.total);
  });

  test.each([
    ['status', { status: ['APPROVED'] }, "c.status = 'approved'", []],
    ['several statuses', { status: ['PENDING', 'DENIED'] }, "c.status IN ('pending', 'denied')", []],
    ['priority', { priority: ['URGENT', 'LOW'] }, "c.priority IN ('urgent', 'low')", []],
    ['payer (exact)', { payer: 'Cigna' }, 'c.payer = $2', ['Cigna']],
    ['payer of nobody', { payer: 'cigna' }, 'FALSE', []],
    [
      'search: payer substring, any case',
      { search: 'CROSS' },
      "c.payer ILIKE '%cross%' OR EXISTS (SELECT 1 FROM case_codes cc WHERE cc.case_id = c.id AND upper(cc.code) = 'CROSS')",
      [],
    ],
    [
      'search: exact procedure code, any case',
      { search: 'j1745' },
      "c.payer ILIKE '%j1745%' OR EXISTS (SELECT 1 FROM case_codes cc WHERE cc.case_id = c.id AND upper(cc.code) = 'J1745')",
      [],
    ],
    ['search: a part of a code is no match', { search: '7214' }, 'FALSE', []],
    [
      'created between',
      {
        createdAfter: new Date(Date.now() - 30 * DAY).toISOString(),
        createdBefore: new Date().toISOString(),
      },
      'c.created_at > $2 AND c.created_at < $3',
      [new Date(Date.now() - 30 * DAY).toISOString(), new Date().toISOString()],
    ],
    [
      'all at once',
      { status: ['PENDING', 'MORE_INFO_NEEDED'], priority: ['NORMAL', 'HIGH'], search: 'a' },
      "c.status IN ('pending', 'more_info_needed') AND c.priority IN ('normal', 'high') AND (c.payer ILIKE '%a%' OR EXISTS (SELECT 1 FROM case_codes cc WHERE cc.case_id = c.id AND upper(cc.code) = 'A'))",
      [],
    ],
  ] as const)('filter: %s', async (_name, filter, where, params) => {
    const stats = await caseStats(filter as Record<string, unknown>);
    const expected = await expectedCaseStats(where, [...params]);
    expect(stats).toEqual(expected);
    if (where !== 'FALSE') expect(stats.total).toBeGreaterThan(0);
  });

  test('filter: a member, by raw id (hashed on the server) and by hash', async () => {
    const hash = hashMemberId(TEST_MEMBER_ID_HASH_KEY, A, 'MBR100007');
    const expected = await expectedCaseStats('c.member_id_hash = $2', [hash]);
    expect(expected.total).toBe(1);
    expect(await caseStats({ memberId: ' mbr100007 ' })).toEqual(expected);
    expect(await caseStats({ memberIdHash: hash })).toEqual(expected);
  });

  test('topPayers: count descending, then payer ascending; limit from 1 to 100', async () => {
    await insertCase({ payer: 'Zeta Health' });
    await insertCase({ payer: 'Zeta Health' });
    for (let i = 0; i < 10; i++) await insertCase({ payer: 'Aardvark Care' });
    await insertCase({ payer: 'Aetna' });
    const all = await caseStats(undefined, 100);
    expect(all.topPayers).toEqual((await expectedCaseStats('TRUE', [], 100)).topPayers);
    expect(all.topPayers.map((p) => p.payer)).toEqual([
      'Aardvark Care',
      'Aetna',
      'Blue Cross Blue Shield',
      'Cigna',
      'Humana',
      'UnitedHealthcare',
      'Zeta Health',
    ]);
    expect(all.topPayers[0]).toEqual({ payer: 'Aardvark Care', count: 10 });
    expect((await caseStats(undefined, 2)).topPayers).toEqual(all.topPayers.slice(0, 2));
    expect((await caseStats()).topPayers).toEqual(all.topPayers.slice(0, 10));
    expect((await caseStats({ payer: 'Zeta Health' })).topPayers).toEqual([
      { payer: 'Zeta Health', count: 2 },
    ]);
  });

  test.each([0, -1, 101])('topPayers(limit: %s) is BAD_USER_INPUT', async (limit) => {
    const res = await app.gql(`query ($l: Int) { caseStats { total topPayers(limit: $l) { payer } } }`, {
      l: limit,
    });
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['BAD_USER_INPUT', ['caseStats', 'topPayers']],
    ]);
  });

  test('another tenant: its cases never count, and it sees only its own', async () => {
    const before = await caseStats(undefined, 100);
    for (let i = 0; i < 3; i++) await insertCase({ payer: 'Second Only', status: 'denied', tenant: B });
    expect(await caseStats(undefined, 100)).toEqual(before);
    expect(before.topPayers.map((p) => p.payer)).not.toContain('Second Only');
    const theirs = await caseStats(undefined, 100, 'staff@second-clinic.com');
    expect(theirs).toEqual(await expectedCaseStats('TRUE', [], 100, B));
    expect(theirs.topPayers).toContainEqual({ payer: 'Second Only', count: 3 });
  });

  test('counted in SQL by grouped counts; an unselected part costs nothing', async () => {
    const onCases = (sql: string[]) => sql.filter((s) => s.includes('"public"."cases"'));
    const all = await statementsDuring(() => app.gql(CASE_STATS, {}));
    const statements = onCases(all.sql);
    expect(statements).toHaveLength(4);
    for (const s of statements) expect(s).toMatch(/COUNT\(/);
    expect(statements.filter((s) => /GROUP BY/.test(s))).toHaveLength(3);
    const totalOnly = await statementsDuring(() => app.gql(`{ caseStats { total } }`));
    expect(onCases(totalOnly.sql)).toHaveLength(1);
  });
});

describe('taskStats', () => {
  /** The definitions of API.md, in SQL, at the instant `now`. */
  async function expectedTaskStats(now: Date, tenant = A): Promise<TaskStats> {
    const [row] = await query<TaskStats>(
      app.db.ownerUrl,
      `SELECT
         (SELECT count(*) FROM tasks WHERE tenant_id = $1 AND status IN ('pending', 'in_progress'))::int AS open,
         (SELECT count(*) FROM tasks WHERE tenant_id = $1 AND status IN ('pending', 'in_progress')
            AND due_date < $2)::int AS overdue,
         (SELECT count(*) FROM tasks WHERE tenant_id = $1 AND status IN ('pending', 'in_progress')
            AND due_date BETWEEN $2 AND $3)::int AS "dueWithin24h",
         (SELECT count(*) FROM tasks WHERE tenant_id = $1 AND completed_at >= $4)::int AS "completedLast7Days"`,
      [tenant, now, new Date(now.getTime() + DAY), new Date(now.getTime() - 7 * DAY)],
    );
    return row as TaskStats;
  }

  async function taskStats(as = 'admin@test-clinic.com') {
    const res = await app.gql<{ taskStats: TaskStats }>(TASK_STATS, {}, { email: as });
    expect(res.body.errors).toBeUndefined();
    return res.body.data?.taskStats as TaskStats;
  }

  const CREATE = /* GraphQL */ `
    mutation ($input: CreateTaskInput!) {
      createTask(input: $input) { ... on CreateTaskPayload { task { id } } ... on Error { code } }
    }`;
  const TRANSITION = /* GraphQL */ `
    mutation ($input: TransitionTaskStatusInput!) {
      transitionTaskStatus(input: $input) { __typename }
    }`;

  async function createTask(dueDate: Date | null): Promise<string> {
    const [c] = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1',
      [A],
    );
    const res = await app.gql<{ createTask: { task: { id: string } } }>(CREATE, {
      input: {
        caseId: encodeGlobalID('Case', c?.id as string),
        title: 'Stats',
        dueDate: dueDate?.toISOString(),
      },
    });
    const id = res.body.data?.createTask.task?.id;
    expect(id).toBeDefined();
    return id as string;
  }

  test('equals the counts SQL gives, for each tenant', async () => {
    const stats = await taskStats();
    expect(stats).toEqual(await expectedTaskStats(new Date()));
    expect(stats.open).toBeGreaterThan(0);
    expect(stats.overdue).toBeGreaterThan(0);
    expect(stats.completedLast7Days).toBeGreaterThan(0);
    expect(await taskStats('clinician@second-clinic.com')).toEqual(await expectedTaskStats(new Date(), B));
  });

  test('follows tasks created and moved through the API', async () => {
    const before = await taskStats();
    const now = Date.now();
    const soon = await createTask(new Date(now + 2 * HOUR)); // open, due within 24 h
    await createTask(new Date(now - HOUR)); // open, overdue (not "due within 24 h")
    await createTask(new Date(now + 3 * DAY)); // open, due later
    await createTask(null); // open, no due date
    let stats = await taskStats();
    expect(stats).toEqual({
      open: before.open + 4,
      overdue: before.overdue + 1,
      dueWithin24h: before.dueWithin24h + 1,
      completedLast7Days: before.completedLast7Days,
    });
    expect(stats).toEqual(await expectedTaskStats(new Date()));

    const done = await app.gql(TRANSITION, { input: { id: soon, status: 'COMPLETED' } });
    expect(done.body.data).toEqual({ transitionTaskStatus: { __typename: 'TransitionTaskStatusPayload' } });
    stats = await taskStats();
    expect(stats).toEqual({
      open: before.open + 3,
      overdue: before.overdue + 1,
      dueWithin24h: before.dueWithin24h,
      completedLast7Days: before.completedLast7Days + 1,
    });
    expect(stats).toEqual(await expectedTaskStats(new Date()));
  });

  test("another tenant's tasks never count", async () => {
    const before = await taskStats();
    await query(
      app.db.ownerUrl,
      `UPDATE tasks SET status = 'pending', due_date = now() - interval '1 hour', completed_at = NULL
       WHERE tenant_id = $1`,
      [B],
    );
    expect(await taskStats()).toEqual(before);
    const theirs = await taskStats('admin@second-clinic.com');
    expect(theirs).toEqual(await expectedTaskStats(new Date(), B));
    expect(theirs).toMatchObject({ overdue: theirs.open, dueWithin24h: 0, completedLast7Days: 0 });
  });

  test('one SQL statement, scoped to the tenant', async () => {
    const { sql } = await statementsDuring(() => app.gql(TASK_STATS));
    const onTasks = sql.filter((s) => /\btasks\b/.test(s));
    expect(onTasks).toHaveLength(1);
    expect(onTasks[0]).toMatch(/tenant_id = \$\d+::uuid/);
  });
});
