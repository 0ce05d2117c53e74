import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { hashMemberId } from '../../src/domain/member-id.js';
import { startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

const A = stableUuid('tenant', 'test-clinic');

interface Page {
  cases: {
    totalCount: number;
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
    edges: { node: { uuid: string } }[];
  };
}
const PAGE = /* GraphQL */ `
  query ($first: Int, $after: String, $last: Int, $before: String, $filter: CaseFilter, $orderBy: CaseOrderBy) {
    cases(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { uuid } }
    }
  }`;

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

async function ids(variables: Record<string, unknown>): Promise<string[]> {
  const res = await app.gql<Page>(PAGE, { first: 100, ...variables });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data?.cases.edges.map((e) => e.node.uuid) ?? [];
}
async function sqlIds(
  where: string,
  params: unknown[] = [],
  order = 'created_at DESC, id DESC',
): Promise<string[]> {
  const rows = await query<{ id: string }>(
    app.db.ownerUrl,
    `SELECT c.id FROM cases c WHERE c.tenant_id = $1 AND (${where}) ORDER BY ${order}`,
    [A, ...params],
  );
  return rows.map((r) => r.id);
}

describe('CaseFilter: each field against the same filter in SQL', () => {
  test.each([
    ['status', { status: ['APPROVED', 'DENIED'] }, "c.status IN ('approved', 'denied')", []],
    ['priority', { priority: ['URGENT'] }, "c.priority = 'urgent'", []],
    ['payer (exact)', { payer: 'Cigna' }, "c.payer = 'Cigna'", []],
    [
      'createdAfter/Before',
      { createdAfter: '2000-01-01T00:00:00.000Z', createdBefore: '2999-01-01T00:00:00.000Z' },
      'true',
      [],
    ],
    [
      'search: payer substring, any case',
      { search: 'CROSS' },
      "c.payer ILIKE '%cross%' OR EXISTS (SELECT 1 FROM case_codes k WHERE k.case_id = c.id AND upper(k.code) = 'CROSS')",
      [],
    ],
    [
      'search: exact procedure code, any case',
      { search: 'e0601' },
      "c.payer ILIKE '%e0601%' OR EXISTS (SELECT 1 FROM case_codes k WHERE k.case_id = c.id AND upper(k.code) = 'E0601')",
      [],
    ],
    ['search: a partial code matches nothing by code', { search: '7214' }, 'false', []],
    ['search: % and _ are literal', { search: '%' }, 'false', []],
    ['search: _ is literal', { search: 'A_tna' }, 'false', []],
  ] as const)('%s', async (_name, filter, where, params) => {
    expect(await ids({ filter })).toEqual(await sqlIds(where, [...params]));
  });

  test('search finds a payer that literally contains % and _', async () => {
    await app.gql(`mutation ($input: CreateCaseInput!) { createCase(input: $input) { __typename } }`, {
      input: {
        memberIdHash: 'literal',
        payer: 'Pay_er 50% Co',
        confidence: { overall: 1 },
        extractedData: {},
      },
    });
    const found = await ids({ filter: { search: 'y_ER 50%' } });
    expect(found).toEqual(await sqlIds("c.payer = 'Pay_er 50% Co'"));
    expect(found).toHaveLength(1);
  });

  test('memberId is hashed like on write; memberIdHash matches as given', async () => {
    const hash = hashMemberId(TEST_MEMBER_ID_HASH_KEY, A, 'MBR100007');
    const expected = await sqlIds('c.member_id_hash = $2', [hash]);
    expect(expected).toHaveLength(1);
    expect(await ids({ filter: { memberId: '  mbr100007 ' } })).toEqual(expected);
    expect(await ids({ filter: { memberIdHash: hash } })).toEqual(expected);
  });

  test('totalCount counts the filter, not the page', async () => {
    const res = await app.gql<Page>(PAGE, { first: 2, filter: { status: ['PENDING'] } });
    expect(res.body.data?.cases.totalCount).toBe((await sqlIds("c.status = 'pending'")).length);
    expect(res.body.data?.cases.edges).toHaveLength(2);
  });
});

describe('CaseOrderBy: each order, id as tie-breaker in its direction', () => {
  test.each([
    ['CREATED_AT_DESC', 'created_at DESC, id DESC'],
    ['CREATED_AT_ASC', 'created_at ASC, id ASC'],
    ['UPDATED_AT_DESC', 'updated_at DESC, id DESC'],
    [
      'PRIORITY_DESC',
      "array_position(ARRAY['low','normal','high','urgent']::varchar[], priority) DESC, id DESC",
    ],
  ])('%s', async (orderBy, order) => {
    expect(await ids({ orderBy })).toEqual(await sqlIds('true', [], order));
  });
});

describe('pagination', () => {
  test('forward and backward walks see every case once, in order, with inserts between pages', async () => {
    const walk = async (direction: 'forward' | 'backward') => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 20; page++) {
        const res: { body: { data?: Page | null } } = await app.gql<Page>(
          PAGE,
          direction === 'forward' ? { first: 7, after: cursor } : { last: 7, before: cursor },
        );
        const cases = res.body.data?.cases;
        if (!cases) throw new Error('no data');
        const pageIds = cases.edges.map((e) => e.node.uuid);
        seen.push(...(direction === 'forward' ? pageIds : pageIds.reverse()));
        // A new case arrives between pages: it sorts first (newest), so it never enters the walk.
        await app.gql(`mutation ($input: CreateCaseInput!) { createCase(input: $input) { __typename } }`, {
          input: {
            memberIdHash: `walk-${direction}-${page}`,
            payer: 'Walk',
            confidence: { overall: 1 },
            extractedData: {},
          },
        });
        const more = direction === 'forward' ? cases.pageInfo.hasNextPage : cases.pageInfo.hasPreviousPage;
        if (!more) break;
        cursor = direction === 'forward' ? cases.pageInfo.endCursor : cases.pageInfo.startCursor;
      }
      return seen;
    };
    const before = await sqlIds("c.payer <> 'Walk'");
    const forward = await walk('forward');
    expect(forward.filter((id) => before.includes(id))).toEqual(before);
    expect(new Set(forward).size).toBe(forward.length);
    // Backward from the oldest: the walk heads towards the newest, so the cases inserted meanwhile
    // show up in it too; the ones there before come exactly once, in reverse order.
    const existing = await sqlIds('true');
    const backward = await walk('backward');
    expect(backward.filter((id) => existing.includes(id))).toEqual([...existing].reverse());
    expect(new Set(backward).size).toBe(backward.length);
  });

  test('a cursor stays valid after its own row is deleted', async () => {
    const first = await app.gql<Page>(PAGE, { first: 3 });
    const edges = first.body.data?.cases.edges ?? [];
    const cursor = first.body.data?.cases.pageInfo.endCursor;
    await query(app.db.ownerUrl, 'DELETE FROM cases WHERE id = $1', [edges[2]?.node.uuid]);
    const next = await ids({ first: 3, after: cursor });
    const all = await sqlIds('true');
    const position = all.indexOf(edges[1]?.node.uuid ?? '');
    expect(next).toEqual(all.slice(position + 1, position + 4));
  });

  test('rows written with microseconds by another tool are all walked (stored at millisecond precision)', async () => {
    await query(
      app.db.ownerUrl,
      `INSERT INTO cases (id, tenant_id, created_by, member_id_hash, payer, status, confidence_json, extracted_data, created_at, updated_at)
       SELECT gen_random_uuid(), $1, $2, 'micro-' || n, 'Micro', 'pending', '{}', '{}', timestamptz '2030-01-01 00:00:00.000100' + n * interval '1 microsecond', now()
       FROM generate_series(1, 3) n`,
      [A, stableUuid('test-clinic', 'user', 'admin')],
    );
    const walked: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res: { body: { data?: Page | null } } = await app.gql<Page>(PAGE, {
        first: 1,
        after,
        filter: { payer: 'Micro' },
      });
      walked.push(...(res.body.data?.cases.edges.map((e) => e.node.uuid) ?? []));
      if (!res.body.data?.cases.pageInfo.hasNextPage) break;
      after = res.body.data.cases.pageInfo.endCursor;
    }
    expect(walked.sort()).toEqual((await sqlIds("c.payer = 'Micro'")).sort());
  });

  test.each([
    [{ first: 101 }, 'must be at most 100'],
    [{ first: -1 }, 'must not be negative'],
    [{ last: 101 }, 'must be at most 100'],
    [{ first: 5, after: 'not-a-cursor' }, 'Unknown cursor'],
    [{ first: 5, before: 'x' }, 'use it with "after"'],
  ])('%o is BAD_USER_INPUT naming the problem', async (variables, message) => {
    const res = await app.gql(PAGE, { first: undefined, ...variables });
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors?.[0]?.message).toContain(message);
  });

  test('a cursor of another order is refused, and nested lists are checked too', async () => {
    const res = await app.gql<Page>(PAGE, { first: 1 });
    const cursor = res.body.data?.cases.pageInfo.endCursor;
    const other = await app.gql(PAGE, { first: 1, after: cursor, orderBy: 'PRIORITY_DESC' });
    expect(other.body.errors?.[0]?.message).toContain('Unknown cursor for order PRIORITY_DESC');
    const nested = await app.gql(
      '{ cases(first: 1) { edges { node { tasks(first: 500) { totalCount } } } } }',
    );
    expect(nested.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  test('Case.tasks takes a filter and an order', async () => {
    const [row] = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT case_id AS id FROM tasks WHERE tenant_id = $1 GROUP BY case_id HAVING count(*) >= 3 LIMIT 1',
      [A],
    );
    const res = await app.gql<{ case: { tasks: { edges: { node: { uuid: string } }[] } } }>(
      `query ($id: ID!) { case(id: $id) { tasks(orderBy: DUE_DATE_ASC, filter: { unassigned: false }) { edges { node { uuid } } } } }`,
      { id: encodeGlobalID('Case', row?.id as string) },
    );
    const expected = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM tasks WHERE case_id = $1 AND assigned_to IS NOT NULL ORDER BY due_date ASC NULLS LAST, id ASC',
      [row?.id],
    );
    expect(res.body.data?.case.tasks.edges.map((e) => e.node.uuid)).toEqual(expected.map((r) => r.id));
  });
});
