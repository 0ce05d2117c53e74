import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// users, ingestions, events, auditLogs and Case.events: filters, keyset pages, totalCount, roles,
// tenant isolation. Every expectation is computed independently in SQL, as the owner.

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const gid = (type: string, id: string) => encodeGlobalID(type, id);
const ADMIN = { email: 'admin@test-clinic.com' };
const CLINICIAN = { email: 'clinician@test-clinic.com' };
const STAFF = { email: 'staff@test-clinic.com' };

type ListName = 'users' | 'ingestions' | 'events' | 'auditLogs';
const TABLE: Record<ListName, string> = {
  users: 'users',
  ingestions: 'ingestions',
  events: 'events',
  auditLogs: 'audit_logs',
};

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: { uuid: string } }[];
}

let app: TestApp;
let caseIds: string[];

beforeAll(async () => {
  app = await startTestApp();
  caseIds = (
    await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC',
      [A],
    )
  ).map((r) => r.id);
  // The seed writes no audit rows: make some through the API. Each createTask writes a `create`
  // audit row and a `task.created` event; the transition an `update`; reading extractedData as a
  // CLINICIAN one `view` row per case.
  for (const title of ['First', 'Second', 'Third']) {
    const res = await app.gql<{ createTask: { task: { id: string } } }>(
      /* GraphQL */ `mutation ($input: CreateTaskInput!) {
        createTask(input: $input) { ... on CreateTaskPayload { task { id } } }
      }`,
      { input: { caseId: gid('Case', caseIds[0] as string), title } },
    );
    const taskId = res.body.data?.createTask.task.id as string;
    if (title === 'First') {
      await app.gql(
        /* GraphQL */ `mutation ($input: TransitionTaskStatusInput!) {
          transitionTaskStatus(input: $input) { __typename }
        }`,
        { input: { id: taskId, status: 'IN_PROGRESS' } },
      );
    }
  }
  await app.gql(`{ cases(first: 3) { edges { node { extractedData } } } }`, {}, CLINICIAN);
});
afterAll(() => app?.close());

/** A literal argument list: strings quoted, enum names (UPPER_CASE) bare. */
function literal(args: Record<string, string | number | undefined>): string {
  return Object.entries(args)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'string' && !/^[A-Z_]+$/.test(v) ? JSON.stringify(v) : v}`)
    .join(', ');
}

async function page(
  list: ListName,
  args: Record<string, string | number | undefined>,
  as = ADMIN,
): Promise<Page> {
  const res = await app.gql<Record<string, Page>>(
    `{ ${list}(${literal(args)}) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { uuid } }
      } }`,
    {},
    as,
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data?.[list] as Page;
}

/** The ids SQL lists for `table` in the API's order (created_at DESC, id DESC). */
async function sqlIds(table: string, where = 'TRUE', params: unknown[] = [], tenant = A): Promise<string[]> {
  const rows = await query<{ id: string }>(
    app.db.ownerUrl,
    `SELECT id FROM ${table} WHERE tenant_id = $1 AND (${where}) ORDER BY created_at DESC, id DESC`,
    [tenant, ...params],
  );
  return rows.map((r) => r.id);
}

async function expectList(
  list: ListName,
  args: Record<string, string | undefined>,
  where: string,
  params: unknown[] = [],
) {
  const expected = await sqlIds(TABLE[list], where, params);
  const got = await page(list, { ...args, first: 100 });
  expect(got.edges.map((e) => e.node.uuid)).toEqual(expected);
  expect(got.totalCount).toBe(expected.length);
  return expected;
}

/** SQL statements the server sends while `fn` runs (the test app records them). */
async function statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  app.statements.length = 0;
  const result = await fn();
  return { result, sql: [...app.statements] };
}

// ---- rows inserted behind the API's back, at a chosen instant (millisecond precision) --------

async function insertRow(list: ListName, createdAt: Date, tenant = A): Promise<string> {
  const id = randomUUID();
  const at = createdAt.toISOString();
  const sql: Record<ListName, [string, unknown[]]> = {
    users: [
      `INSERT INTO users (id, tenant_id, email, name, role, created_at, updated_at)
       VALUES ($1, $2, $3, 'Inserted', 'staff', $4, $4)`,
      [id, tenant, `inserted-${id}@example.com`, at],
    ],
    ingestions: [
      `INSERT INTO ingestions (id, tenant_id, source_type, source_metadata, status, created_at, updated_at)
       VALUES ($1, $2, 'email', '{}', 'pending', $3, $3)`,
      [id, tenant, at],
    ],
    events: [
      `INSERT INTO events (id, tenant_id, event_type, entity_type, entity_id, created_at)
       VALUES ($1, $2, 'test.inserted', 'case', $3, $4)`,
      [id, tenant, randomUUID(), at],
    ],
    auditLogs: [
      `INSERT INTO audit_logs (id, tenant_id, action, entity_type, entity_id, created_at)
       VALUES ($1, $2, 'view', 'case', $3, $4)`,
      [id, tenant, randomUUID(), at],
    ],
  };
  const [text, params] = sql[list];
  await query(app.db.ownerUrl, text, params);
  return id;
}

const LISTS: ListName[] = ['users', 'ingestions', 'events', 'auditLogs'];

describe.each(LISTS)('%s: keyset pages', (list) => {
  test('the whole list, newest first, equals SQL; totalCount counts it', async () => {
    const expected = await expectList(list, {}, 'TRUE');
    expect(expected.length).toBeGreaterThan(3);
  });

  test('walked forward with first/after, with inserts between pages: nothing lost or repeated', async () => {
    const size = 2;
    const first = await page(list, { first: size });
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const seen = first.edges.map((e) => e.node.uuid);
    // One row newer than anything listed (it belongs before the cursor: never shown), one older
    // than everything (it belongs after it: must be shown, last).
    const newest = await insertRow(list, new Date(Date.now() + 86_400_000));
    const oldest = await insertRow(list, new Date('2001-01-01T00:00:00.000Z'));
    let after = first.pageInfo.endCursor;
    let last = first;
    for (let i = 0; i < 100 && last.pageInfo.hasNextPage; i++) {
      last = await page(list, { first: size, after: after ?? undefined });
      expect(last.pageInfo.hasPreviousPage).toBe(true);
      expect(last.edges.length).toBeLessThanOrEqual(size);
      seen.push(...last.edges.map((e) => e.node.uuid));
      after = last.pageInfo.endCursor;
    }
    const now = await sqlIds(TABLE[list]);
    const cut = now.indexOf(first.edges.at(-1)?.node.uuid as string);
    expect(seen).toEqual([...now.slice(0, cut + 1).filter((id) => id !== newest), ...now.slice(cut + 1)]);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe(oldest);
    expect(seen).not.toContain(newest);
    expect(last.totalCount).toBe(now.length);
  });

  test('a cursor past the last row gives an empty page', async () => {
    const all = await page(list, { first: 100 });
    const end = await page(list, { first: 5, after: all.pageInfo.endCursor ?? undefined });
    expect(end.edges).toEqual([]);
    expect(end.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true, endCursor: null });
  });

  test('first above 100 or below 0, and an unknown cursor, are BAD_USER_INPUT', async () => {
    for (const args of ['first: 101', 'first: -1', 'after: "bm90IGEgY3Vyc29y"', 'after: "x"']) {
      const res = await app.gql(`{ ${list}(${args}) { totalCount } }`);
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['BAD_USER_INPUT', [list]]]);
    }
  });

  test('totalCount is counted only when selected', async () => {
    const table = TABLE[list];
    // A count of the table: Prisma's own statement, or a subquery of the compiled one (src/compiled).
    const counts = (sql: string[]) =>
      sql.filter(
        (s) =>
          (s.includes(`"public"."${table}"`) && /COUNT\(/i.test(s)) ||
          new RegExp(`count\\(\\*\\) FROM ${table}\\b`, 'i').test(s),
      ).length;
    const without = await statementsDuring(() =>
      app.gql(`{ ${list}(first: 2) { edges { node { uuid } } } }`),
    );
    expect(counts(without.sql)).toBe(0);
    const withCount = await statementsDuring(() => app.gql(`{ ${list}(first: 2) { totalCount } }`));
    expect(counts(withCount.sql)).toBe(1);
  });
});

describe('filters', () => {
  test.each(['ADMIN', 'CLINICIAN', 'STAFF'])('users(role: %s)', async (role) => {
    const ids = await expectList('users', { role }, 'role = $2', [role.toLowerCase()]);
    expect(ids.length).toBeGreaterThan(0);
  });

  test.each(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'])('ingestions(status: %s)', async (status) => {
    await expectList('ingestions', { status }, 'status = $2', [status.toLowerCase()]);
  });

  test('events(entityId), events(eventType), both, and a type nobody wrote', async () => {
    const [task] = await query<{ id: string }>(
      app.db.ownerUrl,
      "SELECT entity_id AS id FROM events WHERE tenant_id = $1 AND event_type = 'task.status_changed' LIMIT 1",
      [A],
    );
    const taskId = task?.id as string;
    expect(await expectList('events', { entityId: taskId }, 'entity_id = $2', [taskId])).toHaveLength(2);
    expect(
      await expectList('events', { eventType: 'task.created' }, 'event_type = $2', ['task.created']),
    ).toHaveLength(3);
    expect(
      await expectList('events', { eventType: 'case.created' }, 'event_type = $2', ['case.created']),
    ).toHaveLength(45);
    expect(
      await expectList(
        'events',
        { entityId: taskId, eventType: 'task.status_changed' },
        'entity_id = $2 AND event_type = $3',
        [taskId, 'task.status_changed'],
      ),
    ).toHaveLength(1);
    expect(await expectList('events', { eventType: 'no.such_type' }, 'FALSE')).toEqual([]);
  });

  test.each(['CREATE', 'UPDATE', 'DELETE', 'VIEW'])('auditLogs(action: %s)', async (action) => {
    await expectList('auditLogs', { action }, 'action = $2', [action.toLowerCase()]);
  });

  test('auditLogs(entityId), and with an action', async () => {
    const [task] = await query<{ id: string }>(
      app.db.ownerUrl,
      "SELECT entity_id AS id FROM audit_logs WHERE tenant_id = $1 AND action = 'update' LIMIT 1",
      [A],
    );
    const taskId = task?.id as string;
    expect(await expectList('auditLogs', { entityId: taskId }, 'entity_id = $2', [taskId])).toHaveLength(2);
    expect(
      await expectList(
        'auditLogs',
        { entityId: taskId, action: 'UPDATE' },
        "entity_id = $2 AND action = 'update'",
        [taskId],
      ),
    ).toHaveLength(1);
    // The extractedData reads of the set-up: one VIEW per case, by the clinician, with no changes.
    // 40 rows: `changes` is JSON, which counts 1,024 in the cost (a page of 100 would be refused).
    const res = await app.gql<{ auditLogs: { edges: { node: Record<string, unknown> }[] } }>(
      `{ auditLogs(action: VIEW, first: 40) { edges { node { entityType changes user { email } } } } }`,
    );
    const byClinician = res.body.data?.auditLogs.edges.filter(
      (e) => (e.node.user as { email: string } | null)?.email === CLINICIAN.email,
    );
    expect(byClinician?.map((e) => e.node)).toEqual(
      Array.from({ length: 3 }, () => ({ entityType: 'case', changes: null, user: CLINICIAN })),
    );
  });
});

describe('Event and AuditLog nodes', () => {
  test('Event: every field, by node(id), equals its row', async () => {
    const [row] = await query(
      app.db.ownerUrl,
      `SELECT e.id, e.event_type, e.entity_type, e.entity_id, e.metadata, e.created_at, u.email
       FROM events e LEFT JOIN users u ON u.id = e.user_id
       WHERE e.tenant_id = $1 AND e.event_type = 'task.status_changed'`,
      [A],
    );
    const res = await app.gql(
      `query ($id: ID!) { node(id: $id) { id ... on Event {
         uuid eventType entityType entityId metadata user { email } createdAt } } }`,
      { id: gid('Event', row?.id) },
      STAFF,
    );
    expect(res.body).toEqual({
      data: {
        node: {
          id: gid('Event', row?.id),
          uuid: row?.id,
          eventType: 'task.status_changed',
          entityType: 'task',
          entityId: row?.entity_id,
          metadata: row?.metadata,
          user: { email: row?.email },
          createdAt: (row?.created_at as Date | undefined)?.toISOString(),
        },
      },
    });
  });

  test('AuditLog: every field, by node(id), for an ADMIN', async () => {
    const [row] = await query(
      app.db.ownerUrl,
      `SELECT a.*, u.email FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
       WHERE a.tenant_id = $1 AND a.action = 'update'`,
      [A],
    );
    const res = await app.gql(
      `query ($id: ID!) { node(id: $id) { id ... on AuditLog {
         uuid action entityType entityId changes user { email } ipAddress userAgent createdAt } } }`,
      { id: gid('AuditLog', row?.id) },
    );
    expect(res.body).toEqual({
      data: {
        node: {
          id: gid('AuditLog', row?.id),
          uuid: row?.id,
          action: 'UPDATE',
          entityType: 'task',
          entityId: row?.entity_id,
          changes: { before: { status: 'PENDING' }, after: { status: 'IN_PROGRESS' } },
          user: { email: 'admin@test-clinic.com' },
          ipAddress: row?.ip_address,
          userAgent: row?.user_agent,
          createdAt: (row?.created_at as Date | undefined)?.toISOString(),
        },
      },
    });
    expect(res.body.data?.node).toMatchObject({ changes: row?.changes });
  });

  test('the list gives the same Event and AuditLog as node(id)', async () => {
    const res = await app.gql<{
      events: { edges: { node: { id: string; uuid: string } }[] };
      auditLogs: { edges: { node: { id: string; uuid: string; action: string } }[] };
    }>(
      `{ events(first: 1) { edges { node { id uuid } } } auditLogs(first: 1) { edges { node { id uuid action } } } }`,
    );
    const event = res.body.data?.events.edges[0]?.node;
    const audit = res.body.data?.auditLogs.edges[0]?.node;
    const nodes = await app.gql(
      `query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on Event { uuid } ... on AuditLog { uuid } } }`,
      { ids: [event?.id, audit?.id] },
    );
    expect(nodes.body).toEqual({
      data: {
        nodes: [
          { id: event?.id, uuid: event?.uuid },
          { id: audit?.id, uuid: audit?.uuid },
        ],
      },
    });
  });
});

describe('auditLogs is ADMIN only', () => {
  const touchesAuditLogs = (sql: string[]) => sql.filter((s) => /audit_logs/i.test(s));

  test.each([
    ['CLINICIAN', CLINICIAN],
    ['STAFF', STAFF],
  ])('%s: FORBIDDEN with the field path, and nothing is read', async (_role, as) => {
    const { result, sql } = await statementsDuring(() =>
      app.gql(`{ auditLogs(first: 5) { totalCount edges { node { uuid } } } }`, {}, as),
    );
    expect(result.body.data).toBeNull();
    expect(result.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['FORBIDDEN', ['auditLogs']],
    ]);
    expect(touchesAuditLogs(sql)).toEqual([]);
  });

  test.each([
    ['CLINICIAN', CLINICIAN],
    ['STAFF', STAFF],
  ])('%s: node(id) of an audit row is FORBIDDEN too, before any read', async (_role, as) => {
    const [row] = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM audit_logs WHERE tenant_id = $1 LIMIT 1',
      [A],
    );
    const { result, sql } = await statementsDuring(() =>
      app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: gid('AuditLog', row?.id as string) }, as),
    );
    expect(result.body.data).toEqual({ node: null });
    expect(result.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', ['node']]]);
    expect(touchesAuditLogs(sql)).toEqual([]);
  });

  test('a CLINICIAN still reads events', async () => {
    const res = await app.gql<{ events: { totalCount: number } }>(`{ events { totalCount } }`, {}, CLINICIAN);
    expect(res.body.data?.events.totalCount).toBe((await sqlIds('events')).length);
  });
});

describe('tenant isolation', () => {
  test("another tenant's rows never appear in any list", async () => {
    await insertRow('auditLogs', new Date(), B);
    for (const list of LISTS) {
      const theirs = new Set(await sqlIds(TABLE[list], 'TRUE', [], B));
      expect(theirs.size).toBeGreaterThan(0);
      const got = await page(list, { first: 100 });
      expect(got.edges.filter((e) => theirs.has(e.node.uuid))).toEqual([]);
      expect(got.totalCount).toBe((await sqlIds(TABLE[list])).length);
    }
  });

  test("the other tenant's admin sees their own rows only", async () => {
    const res = await app.gql<{ users: Page }>(
      `{ users(first: 100) { totalCount edges { node { uuid } } } }`,
      {},
      { email: 'admin@second-clinic.com' },
    );
    const theirs = await sqlIds('users', 'TRUE', [], B);
    expect(res.body.data?.users.edges.map((e) => e.node.uuid)).toEqual(theirs);
  });

  test('their ids behave as unknown: node, nodes, and the entityId filters', async () => {
    const [other] = await query(
      app.db.ownerUrl,
      `SELECT (SELECT id FROM events WHERE tenant_id = $1 LIMIT 1) AS event,
              (SELECT entity_id FROM events WHERE tenant_id = $1 LIMIT 1) AS entity,
              (SELECT id FROM audit_logs WHERE tenant_id = $1 LIMIT 1) AS audit,
              (SELECT entity_id FROM audit_logs WHERE tenant_id = $1 LIMIT 1) AS audited,
              (SELECT id FROM users WHERE tenant_id = $1 LIMIT 1) AS "user",
              (SELECT id FROM ingestions WHERE tenant_id = $1 LIMIT 1) AS ingestion`,
      [B],
    );
    const ids = [
      gid('Event', other?.event),
      gid('AuditLog', other?.audit),
      gid('User', other?.user),
      gid('Ingestion', other?.ingestion),
    ];
    const res = await app.gql(
      `query ($id: ID!, $ids: [ID!]!, $entity: UUID!, $audited: UUID!) {
         node(id: $id) { id }
         nodes(ids: $ids) { id }
         events(entityId: $entity) { totalCount edges { node { uuid } } }
         auditLogs(entityId: $audited) { totalCount edges { node { uuid } } }
       }`,
      { id: ids[0], ids, entity: other?.entity, audited: other?.audited },
    );
    expect(res.body).toEqual({
      data: {
        node: null,
        nodes: [null, null, null, null],
        events: { totalCount: 0, edges: [] },
        auditLogs: { totalCount: 0, edges: [] },
      },
    });
  });
});

describe('Case.events', () => {
  const CASE_EVENTS = /* GraphQL */ `
    query ($id: ID!, $first: Int, $after: String) {
      node(id: $id) { ... on Case { events(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { uuid eventType entityType entityId user { email } } }
      } } }
    }`;
  interface EventsPage {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
    edges: { node: { uuid: string; eventType: string; entityType: string; entityId: string } }[];
  }
  const caseEventIds = (caseId: string) =>
    sqlIds('events', "entity_type = 'case' AND entity_id = $2", [caseId]);

  async function caseEvents(caseId: string, first?: number, after?: string | null) {
    const res = await app.gql<{ node: { events: EventsPage } }>(CASE_EVENTS, {
      id: gid('Case', caseId),
      first,
      after,
    });
    expect(res.body.errors).toBeUndefined();
    return res.body.data?.node.events as EventsPage;
  }

  test('a seeded case: its events, equal to SQL', async () => {
    const caseId = caseIds[10] as string;
    const expected = await caseEventIds(caseId);
    expect(expected).toHaveLength(1);
    const events = await caseEvents(caseId);
    expect(events.edges.map((e) => e.node.uuid)).toEqual(expected);
    expect(events.edges[0]?.node).toMatchObject({
      eventType: 'case.created',
      entityType: 'case',
      entityId: caseId,
    });
    expect(events.totalCount).toBe(1);
  });

  test("walked one by one: newest first, rows sharing a millisecond kept apart, other entities' and tenants' events left out", async () => {
    const caseId = caseIds[11] as string;
    const insert = (id: string, tenant: string, entityType: string, at: string) =>
      query(
        app.db.ownerUrl,
        `INSERT INTO events (id, tenant_id, event_type, entity_type, entity_id, created_at)
         VALUES ($1, $2, 'test.timeline', $3, $4, $5)`,
        [id, tenant, entityType, caseId, at],
      );
    // Written by another tool with PostgreSQL's microsecond timestamps, three within one millisecond.
    for (const us of ['100', '300', '200']) {
      await insert(randomUUID(), A, 'case', `2030-01-01T00:00:00.123${us}Z`);
    }
    await insert(randomUUID(), A, 'case', '2030-01-01T00:00:00.123200Z'); // a tie on created_at
    const foreign = randomUUID();
    await insert(foreign, B, 'case', '2030-01-02T00:00:00.000Z'); // another tenant, same entity id
    const otherType = randomUUID();
    await insert(otherType, A, 'task', '2030-01-02T00:00:00.000Z'); // another kind of entity
    const expected = await caseEventIds(caseId);
    expect(expected).toHaveLength(5);

    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const events: EventsPage = await caseEvents(caseId, 1, after);
      expect(events.totalCount).toBe(5);
      expect(events.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...events.edges.map((e) => e.node.uuid));
      if (!events.pageInfo.hasNextPage) break;
      after = events.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
    expect(seen).not.toContain(foreign);
    expect(seen).not.toContain(otherType);
  });

  test('paged backward with last/before, the same timeline comes out', async () => {
    const caseId = caseIds[11] as string; // the case the walk above gave five events
    const expected = await caseEventIds(caseId);
    const BACKWARD = /* GraphQL */ `query ($id: ID!, $before: String) {
      node(id: $id) { ... on Case { events(last: 2, before: $before) {
        pageInfo { hasPreviousPage hasNextPage startCursor } edges { node { uuid } }
      } } } }`;
    type Backward = {
      node: {
        events: {
          pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean; startCursor: string | null };
          edges: { node: { uuid: string } }[];
        };
      };
    };
    const pages: string[][] = [];
    let before: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res: { body: { data?: Backward | null } } = await app.gql<Backward>(BACKWARD, {
        id: gid('Case', caseId),
        before,
      });
      const events = res.body.data?.node.events;
      pages.unshift(events?.edges.map((e) => e.node.uuid) ?? []);
      expect(events?.pageInfo.hasNextPage).toBe(before !== null);
      if (!events?.pageInfo.hasPreviousPage) break;
      before = events.pageInfo.startCursor;
    }
    expect(pages.map((p) => p.length)).toEqual([1, 2, 2]);
    expect(pages.flat()).toEqual(expected);
  });

  test('first above 100 or below 0, and an unknown cursor, are BAD_USER_INPUT', async () => {
    for (const [first, after] of [
      [101, null],
      [-1, null],
      [2, 'bm90IGEgY3Vyc29y'],
    ] as const) {
      const res = await app.gql(CASE_EVENTS, { id: gid('Case', caseIds[0] as string), first, after });
      expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
        ['BAD_USER_INPUT', ['node', 'events']],
      ]);
    }
  });

  test('a page of cases costs the same few statements however many cases it holds (no N+1)', async () => {
    const LIST = /* GraphQL */ `query ($first: Int) { cases(first: $first) { edges { node { uuid
      events(first: 2) { totalCount edges { node { uuid eventType user { email } } } }
    } } } }`;
    type Cases = {
      cases: {
        edges: {
          node: { uuid: string; events: { totalCount: number; edges: { node: { uuid: string } }[] } };
        }[];
      };
    };
    const onEvents = (sql: string[]) => sql.filter((s) => /\bevents\b/.test(s)).length;
    const few = await statementsDuring(() => app.gql<Cases>(LIST, { first: 3 }));
    const many = await statementsDuring(() => app.gql<Cases>(LIST, { first: 40 }));
    expect(onEvents(few.sql)).toBeLessThanOrEqual(3);
    expect(onEvents(many.sql)).toBe(onEvents(few.sql));
    expect(many.sql.length).toBe(few.sql.length);
    // …and each case's page is the one SQL gives.
    for (const edge of many.result.body.data?.cases.edges ?? []) {
      const expected = await caseEventIds(edge.node.uuid);
      expect(edge.node.events.edges.map((e) => e.node.uuid)).toEqual(expected.slice(0, 2));
      expect(edge.node.events.totalCount).toBe(expected.length);
    }
  });
});
