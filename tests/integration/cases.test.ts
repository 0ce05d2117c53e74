import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CASES_PER_TENANT, stableUuid } from '../../src/db/seed.js';
import { type GraphQLResponse, startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

const TEST_CLINIC = stableUuid('tenant', 'test-clinic');

interface CaseNode {
  id: string;
  uuid: string;
  payer: string;
  status: string;
  createdAt: string;
  codes: { code: string; codeType: string }[];
  tasks: {
    totalCount: number;
    edges: { node: { uuid: string; title: string; assignee: { email: string } | null } }[];
  };
  createdBy: { email: string };
}
interface CasePage {
  cases: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: CaseNode }[];
  };
}

const CASE_PAGE = /* GraphQL */ `
  query CasePage($first: Int, $after: String) {
    cases(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        cursor
        node {
          id uuid payer status createdAt
          codes { code codeType }
          tasks(first: 10) { totalCount edges { node { uuid title assignee { email } } } }
          createdBy { email }
        }
      }
    }
  }`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

test('me and tenant describe the viewer', async () => {
  const res = await app.gql(
    `{ me { email role uuid } tenant { slug name uuid } }`,
    {},
    { email: 'clinician@test-clinic.com' },
  );
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    data: {
      me: {
        email: 'clinician@test-clinic.com',
        role: 'CLINICIAN',
        uuid: stableUuid('test-clinic', 'user', 'clinician'),
      },
      tenant: { slug: 'test-clinic', name: 'Test Clinic', uuid: TEST_CLINIC },
    },
  });
});

describe('cases', () => {
  test('pages newest first through every case of the tenant, each exactly once', async () => {
    const seen: CaseNode[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: GraphQLResponse<CasePage> = await app.gql<CasePage>(CASE_PAGE, { first: 10, after });
      expect(res.body.errors).toBeUndefined();
      const page: CasePage['cases'] | undefined = res.body.data?.cases;
      if (!page) throw new Error('no data');
      expect(page.totalCount).toBe(CASES_PER_TENANT);
      seen.push(...page.edges.map((e) => e.node));
      pages++;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).toBe(Math.ceil(CASES_PER_TENANT / 10));
    expect(new Set(seen.map((c) => c.id)).size).toBe(CASES_PER_TENANT);
    const expectedOrder = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC',
      [TEST_CLINIC],
    );
    expect(seen.map((c) => c.uuid)).toEqual(expectedOrder.map((r) => r.id));
  });

  test('nested codes, tasks and creator are the rows of the database', async () => {
    const res = await app.gql<CasePage>(CASE_PAGE, { first: 5 });
    for (const { node } of res.body.data?.cases.edges ?? []) {
      const codes = await query(
        app.db.ownerUrl,
        'SELECT code, code_type AS "codeType" FROM case_codes WHERE case_id = $1 ORDER BY created_at, id',
        [node.uuid],
      );
      expect(node.codes).toEqual(codes);
      const tasks = await query<{ uuid: string; title: string; email: string | null }>(
        app.db.ownerUrl,
        `SELECT t.id AS uuid, t.title, u.email FROM tasks t LEFT JOIN users u ON u.id = t.assigned_to
         WHERE t.case_id = $1 ORDER BY t.created_at DESC, t.id DESC`,
        [node.uuid],
      );
      expect(node.tasks.totalCount).toBe(tasks.length);
      expect(node.tasks.edges.map((e) => e.node)).toEqual(
        tasks.map((t) => ({ uuid: t.uuid, title: t.title, assignee: t.email ? { email: t.email } : null })),
      );
      const [creator] = await query(
        app.db.ownerUrl,
        'SELECT u.email FROM cases c JOIN users u ON u.id = c.created_by WHERE c.id = $1',
        [node.uuid],
      );
      expect(node.createdBy).toEqual(creator);
    }
  });

  test('case(id) and node(id) return the case; an unknown id is null', async () => {
    const [row] = await query<{ id: string; payer: string }>(
      app.db.ownerUrl,
      'SELECT id, payer FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1',
      [TEST_CLINIC],
    );
    const id = encodeGlobalID('Case', row?.id ?? '');
    const missing = encodeGlobalID('Case', '00000000-0000-4000-8000-000000000000');
    const res = await app.gql(
      `query ($id: ID!, $missing: ID!) {
        case(id: $id) { id uuid payer }
        node(id: $id) { id ... on Case { payer } }
        unknown: case(id: $missing) { id }
        unknownNode: node(id: $missing) { id }
      }`,
      { id, missing },
    );
    expect(res.body).toEqual({
      data: {
        case: { id, uuid: row?.id, payer: row?.payer },
        node: { id, payer: row?.payer },
        unknown: null,
        unknownNode: null,
      },
    });
  });

  test('node and nodes resolve every type by its global id', async () => {
    const [ids] = await query(
      app.db.ownerUrl,
      `SELECT (SELECT id FROM tasks WHERE tenant_id = $1 LIMIT 1) AS task,
              (SELECT id FROM case_codes WHERE tenant_id = $1 LIMIT 1) AS code,
              (SELECT id FROM users WHERE tenant_id = $1 LIMIT 1) AS "user",
              (SELECT id FROM ingestions WHERE tenant_id = $1 LIMIT 1) AS ingestion`,
      [TEST_CLINIC],
    );
    const globalIds = [
      encodeGlobalID('Task', ids?.task),
      encodeGlobalID('CaseCode', ids?.code),
      encodeGlobalID('User', ids?.user),
      encodeGlobalID('Ingestion', ids?.ingestion),
      encodeGlobalID('Tenant', TEST_CLINIC),
    ];
    const res = await app.gql(`query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, {
      ids: globalIds,
    });
    expect(res.body.data).toEqual({
      nodes: ['Task', 'CaseCode', 'User', 'Ingestion', 'Tenant'].map((__typename, i) => ({
        __typename,
        id: globalIds[i],
      })),
    });
  });

  test('a malformed id or one of another type is BAD_USER_INPUT', async () => {
    for (const id of ['not-an-id', encodeGlobalID('Task', '00000000-0000-4000-8000-000000000000')]) {
      const res = await app.gql(`query ($id: ID!) { case(id: $id) { id } }`, { id });
      expect(res.body.data).toEqual({ case: null });
      expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
  });
});

describe('Case.extractedData', () => {
  const READ = `query ($first: Int) { cases(first: $first) { edges { node { uuid extractedData again: extractedData } } } }`;

  test('is null for STAFF, and nothing is audited', async () => {
    const res = await app.gql<{ cases: { edges: { node: { extractedData: unknown } }[] } }>(
      READ,
      { first: 3 },
      { email: 'staff@test-clinic.com' },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.cases.edges.map((e) => e.node.extractedData)).toEqual([null, null, null]);
    expect(await query(app.db.ownerUrl, "SELECT 1 FROM audit_logs WHERE action = 'view'")).toEqual([]);
  });

  test('clinicians read it, and each case read writes one VIEW audit row per request', async () => {
    const eventsBefore = await query(app.db.ownerUrl, 'SELECT id FROM events ORDER BY id');
    const res = await app.gql<{ cases: { edges: { node: { uuid: string; extractedData: unknown } }[] } }>(
      READ,
      { first: 3 },
      { email: 'clinician@test-clinic.com' },
    );
    const nodes = res.body.data?.cases.edges.map((e) => e.node) ?? [];
    expect(nodes).toHaveLength(3);
    for (const node of nodes) expect(node.extractedData).toMatchObject({ patientName: expect.any(String) });
    const audits = await query(
      app.db.ownerUrl,
      `SELECT a.entity_id AS "entityId", a.entity_type AS "entityType", u.email FROM audit_logs a JOIN users u ON u.id = a.user_id
       WHERE a.action = 'view' ORDER BY a.entity_id`,
    );
    expect(audits).toEqual(
      nodes
        .map((n) => ({ entityId: n.uuid, entityType: 'case', email: 'clinician@test-clinic.com' }))
        .sort((a, b) => a.entityId.localeCompare(b.entityId)),
    );
    // A read writes no event.
    expect(await query(app.db.ownerUrl, 'SELECT id FROM events ORDER BY id')).toEqual(eventsBefore);
  });
});
