import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { query } from '../helpers/db.js';
import { A, app, B, caseIds, gid, sqlIds, statementsDuring, useListsApp } from '../helpers/lists.js';

// Case.events: a case's timeline, paged both ways, equal to SQL, without N+1.

useListsApp();

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
  // A decided case has a second seeded event (its decision): these use pending ones, created only.
  const pendingCaseIds = async () =>
    (
      await query<{ id: string }>(
        app.db.ownerUrl,
        "SELECT id FROM cases WHERE tenant_id = $1 AND status = 'pending' ORDER BY created_at DESC, id DESC",
        [A],
      )
    ).map((r) => r.id);
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
    const caseId = (await pendingCaseIds())[2] as string;
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
    const caseId = (await pendingCaseIds())[3] as string;
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
    const caseId = (await pendingCaseIds())[3] as string; // the case the walk above gave five events
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
