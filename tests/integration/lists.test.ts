import { describe, expect, test } from 'vitest';
import { query } from '../helpers/db.js';
import {
  A,
  app,
  CLINICIAN,
  expectList,
  gid,
  insertRow,
  LISTS,
  page,
  STAFF,
  sqlIds,
  statementsDuring,
  TABLE,
  useListsApp,
} from '../helpers/lists.js';

// users, ingestions, events and auditLogs: keyset pages, totalCount, filters, and their rows by node(id).

useListsApp();

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
