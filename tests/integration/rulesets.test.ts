import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { describe, expect, test } from 'vitest';
import {
  A,
  app,
  B,
  type Connection,
  gid,
  LIST,
  newRuleset,
  RULESET_FIELDS,
  seededRuleset,
  sql,
  useRulesetsApp,
} from '../helpers/rulesets.js';

// Reading rulesets: by id (ruleset, node, nodes), the rulesets list, and Case.matchingRulesets.

useRulesetsApp();

describe('ruleset(id) and node(id)', () => {
  test('shows a seeded ruleset with its rules camelCased from rules_json', async () => {
    const row = await seededRuleset('is_active');
    const [stored] = await sql<{ rules_json: Record<string, unknown>; created_at: Date; updated_at: Date }>(
      'SELECT rules_json, created_at, updated_at FROM rulesets WHERE id = $1',
      [row.id],
    );
    const res = await app.gql(`query ($id: ID!) { ruleset(id: $id) { ${RULESET_FIELDS} } }`, {
      id: gid(row.id),
    });
    expect(res.body).toEqual({
      data: {
        ruleset: {
          id: gid(row.id),
          uuid: row.id,
          payer: row.payer,
          procedure: row.procedure,
          isActive: true,
          createdAt: stored?.created_at.toISOString(),
          updatedAt: stored?.updated_at.toISOString(),
          rules: {
            requirements: stored?.rules_json.requirements,
            documentation: stored?.rules_json.documentation,
            typicalTurnaround: stored?.rules_json.typical_turnaround,
            notes: stored?.rules_json.notes ?? null,
          },
        },
      },
    });
  });

  test('rules_json written by another tool without some keys still reads: [] and ""', async () => {
    const id = randomUUID();
    await sql(
      `INSERT INTO rulesets (id, tenant_id, payer, procedure, rules_json, is_active, updated_at)
       VALUES ($1, $2, $3, 'X1', $4, false, now())`,
      [id, A, `Legacy ${id}`, JSON.stringify({ notes: 42, requirements: ['a', 7, null, 'b'] })],
    );
    const res = await app.gql(
      `query ($id: ID!) { ruleset(id: $id) { rules { requirements documentation typicalTurnaround notes } } }`,
      {
        id: gid(id),
      },
    );
    expect(res.body.data).toEqual({
      ruleset: { rules: { requirements: ['a', 'b'], documentation: [], typicalTurnaround: '', notes: null } },
    });
  });

  test('node(id) resolves a ruleset', async () => {
    const row = await seededRuleset('true');
    const res = await app.gql(`query ($id: ID!) { node(id: $id) { __typename ... on Ruleset { uuid } } }`, {
      id: gid(row.id),
    });
    expect(res.body.data).toEqual({ node: { __typename: 'Ruleset', uuid: row.id } });
  });

  test('a malformed id is BAD_USER_INPUT', async () => {
    for (const id of ['nope', encodeGlobalID('Case', randomUUID())]) {
      const res = await app.gql(`query ($id: ID!) { ruleset(id: $id) { id } }`, { id });
      expect(res.body.data).toEqual({ ruleset: null });
      expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
        ['BAD_USER_INPUT', ['ruleset']],
      ]);
    }
  });

  test("another tenant's ruleset is null for ruleset(id), node(id) and nodes(ids), without an error", async () => {
    const other = await seededRuleset('true', B);
    const res = await app.gql(
      `query ($id: ID!) { ruleset(id: $id) { id } node(id: $id) { id } nodes(ids: [$id]) { id } }`,
      { id: gid(other.id) },
    );
    expect(res.body).toEqual({ data: { ruleset: null, node: null, nodes: [null] } });
  });
});

describe('rulesets', () => {
  const all = () =>
    sql<{ id: string }>('SELECT id FROM rulesets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC', [
      A,
    ]).then((rows) => rows.map((r) => r.id));

  test('newest first, keyset pages that walk every ruleset of the tenant exactly once', async () => {
    const expected = await all();
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await app.gql<{ rulesets: Connection }>(LIST, { first: 7, after });
      expect(res.body.errors).toBeUndefined();
      const list = res.body.data?.rulesets as Connection;
      expect(list.totalCount).toBe(expected.length);
      expect(list.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...list.edges.map((e) => e.node.uuid));
      if (!list.pageInfo.hasNextPage) break;
      after = list.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  test('a cursor stays valid when rulesets are added before it', async () => {
    const first = await app.gql<{ rulesets: Connection }>(LIST, { first: 3 });
    const cursor = first.body.data?.rulesets.pageInfo.endCursor;
    const next = await app.gql<{ rulesets: Connection }>(LIST, { first: 3, after: cursor });
    await newRuleset();
    const again = await app.gql<{ rulesets: Connection }>(LIST, { first: 3, after: cursor });
    expect(again.body.data?.rulesets.edges).toEqual(next.body.data?.rulesets.edges);
  });

  test('defaults to 20; more than 100, a negative size or an unknown cursor is BAD_USER_INPUT', async () => {
    const page = await app.gql<{ rulesets: Connection }>(LIST, {});
    expect(page.body.data?.rulesets.edges).toHaveLength(20);
    for (const variables of [{ first: 101 }, { first: -1 }, { after: 'bm9wZQ' }]) {
      const res = await app.gql(LIST, variables);
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
        ['BAD_USER_INPUT', ['rulesets']],
      ]);
    }
  });

  test.each([
    ['payer (exact)', { payer: 'Aetna' }, "payer = 'Aetna'", true],
    ['payer (exact: another spelling matches nothing)', { payer: 'aetna' }, "payer = 'aetna'", false],
    ['procedure (case-insensitive)', { procedure: 'e0601' }, "upper(procedure) = 'E0601'", true],
    ['isActive: false', { isActive: false }, 'NOT is_active', true],
    ['isActive: true', { isActive: true }, 'is_active', true],
    [
      'all three',
      { payer: 'Cigna', procedure: 'l3960', isActive: true },
      "payer = 'Cigna' AND procedure = 'L3960' AND is_active",
      true,
    ],
    [
      'a procedure with LIKE wildcards, taken literally',
      { procedure: '7214_' },
      "procedure = '7214_'",
      false,
    ],
  ])('filter by %s', async (_name, filter, where, nonEmpty) => {
    const expected = await sql<{ id: string }>(
      `SELECT id FROM rulesets WHERE tenant_id = $1 AND ${where} ORDER BY created_at DESC, id DESC`,
      [A],
    );
    const res = await app.gql<{ rulesets: Connection }>(LIST, { first: 100, filter });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.rulesets.edges.map((e) => e.node.uuid)).toEqual(expected.map((r) => r.id));
    expect(res.body.data?.rulesets.totalCount).toBe(expected.length);
    expect(expected.length > 0).toBe(nonEmpty);
  });

  test('a procedure holding _, % and \\ is matched literally, without case', async () => {
    const created = await newRuleset({ procedure: 'Ab_%\\1' });
    for (const [procedure, found] of [
      ['aB_%\\1', true],
      ['Ab_%\\', false],
      ['Ab__\\1', false],
      ['A%', false],
    ] as const) {
      const res = await app.gql<{ rulesets: Connection }>(LIST, { first: 100, filter: { procedure } });
      expect(res.body.data?.rulesets.edges.map((e) => e.node.uuid)).toEqual(found ? [created.uuid] : []);
    }
  });

  test("another tenant's rulesets never appear", async () => {
    const res = await app.gql<{ rulesets: Connection }>(LIST, { first: 100 });
    const theirs = await sql<{ id: string }>('SELECT id FROM rulesets WHERE tenant_id = $1', [B]);
    const ids = new Set(res.body.data?.rulesets.edges.map((e) => e.node.uuid));
    expect(theirs.some((r) => ids.has(r.id))).toBe(false);
  });
});

describe('Case.matchingRulesets', () => {
  const CASES = /* GraphQL */ `{
    cases(first: 100) { edges { node { uuid matchingRulesets { uuid payer procedure isActive } } } }
  }`;
  type CasesResult = {
    cases: { edges: { node: { uuid: string; matchingRulesets: { uuid: string }[] } }[] };
  };

  /** The rule of API.md, written independently in SQL. */
  const expectedMatches = async () => {
    const rows = await sql<{ case_id: string; ids: string[] | null }>(
      `SELECT c.id AS case_id,
              (SELECT array_agg(r.id ORDER BY r.payer COLLATE "C", r.procedure COLLATE "C", r.id)
                 FROM rulesets r
                WHERE r.tenant_id = c.tenant_id AND r.is_active AND r.payer = c.payer
                  AND upper(r.procedure) IN (SELECT upper(cc.code) FROM case_codes cc WHERE cc.case_id = c.id)) AS ids
         FROM cases c WHERE c.tenant_id = $1`,
      [A],
    );
    return Object.fromEntries(rows.map((r) => [r.case_id, r.ids ?? []]));
  };

  test('every case of a page: active rulesets of its exact payer for its codes, case-insensitive', async () => {
    // A lower-case procedure matches an upper-case code: activate one where the seed left it inactive.
    const [gap] = await sql<{ case_id: string; payer: string; code: string }>(
      `SELECT c.id AS case_id, c.payer, cc.code FROM cases c JOIN case_codes cc ON cc.case_id = c.id
        WHERE c.tenant_id = $1 AND NOT EXISTS (
          SELECT 1 FROM rulesets r WHERE r.tenant_id = c.tenant_id AND r.payer = c.payer
             AND upper(r.procedure) = upper(cc.code) AND r.is_active)
        ORDER BY c.id LIMIT 1`,
      [A],
    );
    expect(gap).toBeDefined();
    const lower = randomUUID();
    await sql(
      `INSERT INTO rulesets (id, tenant_id, payer, procedure, rules_json, updated_at)
       VALUES ($1, $2, $3, lower($4), '{}', now())`,
      [lower, A, gap?.payer, gap?.code],
    );
    // Same code, other payer spelling: no match (payers compare exactly).
    await sql(
      `INSERT INTO rulesets (id, tenant_id, payer, procedure, rules_json, updated_at)
       VALUES ($1, $2, upper($3), $4, '{}', now())`,
      [randomUUID(), A, gap?.payer, gap?.code],
    );

    const expected = await expectedMatches();
    expect(expected[gap?.case_id as string]).toContain(lower);
    expect(Object.values(expected).some((ids) => ids.length > 1)).toBe(true);
    expect(Object.values(expected).some((ids) => ids.length === 0)).toBe(true);
    const res = await app.gql<CasesResult>(CASES);
    expect(res.body.errors).toBeUndefined();
    const actual = Object.fromEntries(
      (res.body.data?.cases.edges ?? []).map((e) => [
        e.node.uuid,
        e.node.matchingRulesets.map((r) => r.uuid),
      ]),
    );
    expect(actual).toEqual(expected);
  });

  test('case(id) shows the same list', async () => {
    const expected = await expectedMatches();
    const [caseId, ids] = Object.entries(expected).find(([, list]) => list.length > 1) ?? [];
    const res = await app.gql<{ case: { matchingRulesets: { uuid: string; isActive: boolean }[] } }>(
      `query ($id: ID!) { case(id: $id) { matchingRulesets { uuid isActive } } }`,
      { id: encodeGlobalID('Case', caseId as string) },
    );
    expect(res.body.data?.case.matchingRulesets).toEqual(ids?.map((uuid) => ({ uuid, isActive: true })));
  });

  test('a page of cases reads rulesets in one query, not one per case', async () => {
    app.statements.length = 0;
    const res = await app.gql<CasesResult>(CASES);
    expect(res.body.data?.cases.edges.length).toBeGreaterThan(40);
    const texts = [...app.statements];
    expect(texts.filter((text) => /\brulesets\b/.test(text))).toHaveLength(1);
    // The cases' codes come with the cases (a planned selection), not one query per case either.
    expect(texts.filter((text) => /\bcase_codes\b/.test(text)).length).toBeLessThanOrEqual(1);
  });
});
