import { describe, expect, test } from 'vitest';
import { query } from '../helpers/db.js';
import {
  A,
  app,
  B,
  CLINICIAN,
  gid,
  insertRow,
  LISTS,
  type Page,
  page,
  STAFF,
  sqlIds,
  statementsDuring,
  TABLE,
  useListsApp,
} from '../helpers/lists.js';

// Who reads what: auditLogs for ADMINs only, and no list shows another tenant's rows.

useListsApp();

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
