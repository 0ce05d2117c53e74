import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const userId = (local: string, slug = 'test-clinic') => stableUuid(slug, 'user', local);
const gid = (id: string) => encodeGlobalID('Ruleset', id);

interface RulesetRow {
  id: string;
  uuid: string;
  payer: string;
  procedure: string;
  isActive: boolean;
  rules: { requirements: string[]; documentation: string[]; typicalTurnaround: string; notes: string | null };
  createdAt: string;
  updatedAt: string;
}

const RULESET_FIELDS = /* GraphQL */ `
  id uuid payer procedure isActive createdAt updatedAt
  rules { requirements documentation typicalTurnaround notes }
`;
const CREATE = /* GraphQL */ `
  mutation ($input: CreateRulesetInput!) {
    createRuleset(input: $input) {
      __typename
      ... on CreateRulesetPayload { ruleset { ${RULESET_FIELDS} } }
      ... on Error { message code }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;
const UPDATE = /* GraphQL */ `
  mutation ($input: UpdateRulesetInput!) {
    updateRuleset(input: $input) {
      __typename
      ... on UpdateRulesetPayload { ruleset { ${RULESET_FIELDS} } }
      ... on Error { message code }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;
const SET_ACTIVE = /* GraphQL */ `
  mutation ($input: SetRulesetActiveInput!) {
    setRulesetActive(input: $input) {
      __typename
      ... on SetRulesetActivePayload { ruleset { ${RULESET_FIELDS} } }
      ... on Error { message code }
    }
  }`;
const LIST = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: RulesetFilter) {
    rulesets(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { uuid payer procedure isActive } }
    }
  }`;

type Connection = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: { uuid: string; payer: string; procedure: string; isActive: boolean } }[];
};

const RULES = {
  requirements: ['Physician order'],
  documentation: ['Clinical notes'],
  typicalTurnaround: '5 business days',
  notes: null,
};

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const sql = <R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  query<R>(app.db.ownerUrl, text, params);

/** Rows of every table a ruleset mutation writes: a failed one must leave all three as they were. */
const written = async () =>
  (
    await sql<{ rulesets: string; audits: number; events: number }>(
      `SELECT (SELECT md5(string_agg(r::text, ',' ORDER BY id)) FROM rulesets r) AS rulesets,
              (SELECT count(*)::int FROM audit_logs) AS audits,
              (SELECT count(*)::int FROM events) AS events`,
    )
  )[0];

/** A new ruleset of tenant A with a payer of its own (no other ruleset can conflict with it). */
async function newRuleset(input: Record<string, unknown> = {}) {
  const res = await app.gql<{ createRuleset: { __typename: string; ruleset: RulesetRow } }>(CREATE, {
    input: { payer: `Payer ${randomUUID()}`, procedure: '72148', rules: RULES, ...input },
  });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.createRuleset.__typename).toBe('CreateRulesetPayload');
  return res.body.data?.createRuleset.ruleset as RulesetRow;
}

async function seededRuleset(where: string, tenant = A) {
  const [row] = await sql<{ id: string; payer: string; procedure: string; is_active: boolean }>(
    `SELECT id, payer, procedure, is_active FROM rulesets WHERE tenant_id = $1 AND ${where} ORDER BY id LIMIT 1`,
    [tenant],
  );
  if (!row) throw new Error(`no seeded ruleset where ${where}`);
  return row;
}

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

describe('createRuleset', () => {
  test('creates the ruleset (trimmed, rules_json in snake_case) with one audit row and one event', async () => {
    const payer = `Payer ${randomUUID()}`;
    const res = await app.gql<{ createRuleset: { __typename: string; ruleset: RulesetRow } }>(CREATE, {
      input: {
        payer: `  ${payer} `,
        procedure: ' 27447 ',
        rules: {
          requirements: [' Physician order ', 'BMI documented'],
          documentation: ['X-ray'],
          typicalTurnaround: ' 10 business days ',
          notes: '  ',
        },
      },
    });
    const ruleset = res.body.data?.createRuleset.ruleset as RulesetRow;
    expect(res.body.data?.createRuleset.__typename).toBe('CreateRulesetPayload');
    expect(ruleset).toMatchObject({
      payer,
      procedure: '27447',
      isActive: true,
      rules: {
        requirements: ['Physician order', 'BMI documented'],
        documentation: ['X-ray'],
        typicalTurnaround: '10 business days',
        notes: null,
      },
    });
    expect(ruleset.id).toBe(gid(ruleset.uuid));
    const stored = await sql('SELECT tenant_id, rules_json, is_active FROM rulesets WHERE id = $1', [
      ruleset.uuid,
    ]);
    expect(stored).toEqual([
      {
        tenant_id: A,
        is_active: true,
        rules_json: {
          requirements: ['Physician order', 'BMI documented'],
          documentation: ['X-ray'],
          typical_turnaround: '10 business days',
          notes: null,
        },
      },
    ]);
    const audits = await sql(
      'SELECT tenant_id, user_id, action, entity_type, changes, ip_address FROM audit_logs WHERE entity_id = $1',
      [ruleset.uuid],
    );
    expect(audits).toEqual([
      {
        tenant_id: A,
        user_id: userId('admin'),
        action: 'create',
        entity_type: 'ruleset',
        ip_address: null,
        changes: {
          before: null,
          after: {
            payer,
            procedure: '27447',
            rules: {
              requirements: ['Physician order', 'BMI documented'],
              documentation: ['X-ray'],
              typicalTurnaround: '10 business days',
              notes: null,
            },
            isActive: true,
          },
        },
      },
    ]);
    const events = await sql(
      'SELECT tenant_id, user_id, event_type, entity_type, metadata FROM events WHERE entity_id = $1',
      [ruleset.uuid],
    );
    expect(events).toEqual([
      {
        tenant_id: A,
        user_id: userId('admin'),
        event_type: 'ruleset.created',
        entity_type: 'ruleset',
        metadata: { payer, procedure: '27447' },
      },
    ]);
  });

  test('isActive: false creates an inactive ruleset beside an active one of the same payer and procedure', async () => {
    const active = await seededRuleset('is_active');
    const created = await newRuleset({ payer: active.payer, procedure: active.procedure, isActive: false });
    expect(created).toMatchObject({ payer: active.payer, procedure: active.procedure, isActive: false });
  });

  test('invalid input is one ValidationError with a path per field, and writes nothing', async () => {
    const before = await written();
    const res = await app.gql<{
      createRuleset: { __typename: string; code: string; fieldErrors: { path: string[]; message: string }[] };
    }>(CREATE, {
      input: {
        payer: '   ',
        procedure: 'x'.repeat(256),
        rules: { requirements: ['ok', '  '], documentation: [''], typicalTurnaround: ' ', notes: null },
      },
    });
    expect(res.body.data?.createRuleset).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    expect(res.body.data?.createRuleset.fieldErrors.map((e) => e.path)).toEqual([
      ['payer'],
      ['procedure'],
      ['rules', 'requirements', '1'],
      ['rules', 'documentation', '0'],
      ['rules', 'typicalTurnaround'],
    ]);
    expect(await written()).toEqual(before);
  });

  test('rules of more than 256 KiB of JSON are a ValidationError on ["rules"]', async () => {
    const before = await written();
    const res = await app.gql<{ createRuleset: { __typename: string; fieldErrors: { path: string[] }[] } }>(
      CREATE,
      {
        input: {
          payer: 'Aetna',
          procedure: 'BIG1',
          rules: { ...RULES, requirements: Array.from({ length: 70 }, () => 'x'.repeat(4000)) },
        },
      },
    );
    expect(res.body.data?.createRuleset).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['rules'] }],
    });
    expect(await written()).toEqual(before);
  });

  test('a second active ruleset for the payer and procedure (any case) is ConflictError; nothing written', async () => {
    const active = await seededRuleset("is_active AND procedure ~ '[A-Z]'");
    const before = await written();
    const res = await app.gql(CREATE, {
      input: { payer: active.payer, procedure: active.procedure.toLowerCase(), rules: RULES },
    });
    expect(res.body.data?.createRuleset).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
      message: 'Another active ruleset exists for this payer and procedure',
    });
    expect(await written()).toEqual(before);
  });
});

describe('updateRuleset', () => {
  test('records before/after of the changed fields only, rules as a whole', async () => {
    const ruleset = await newRuleset();
    const rules = { ...RULES, documentation: ['Clinical notes', 'Imaging report'], notes: 'Fax only' };
    const res = await app.gql<{ updateRuleset: { __typename: string; ruleset: RulesetRow } }>(UPDATE, {
      input: {
        id: ruleset.id,
        payer: ruleset.payer,
        procedure: '72149',
        rules,
        expectedUpdatedAt: ruleset.updatedAt,
      },
    });
    expect(res.body.data?.updateRuleset).toMatchObject({
      __typename: 'UpdateRulesetPayload',
      ruleset: { uuid: ruleset.uuid, payer: ruleset.payer, procedure: '72149', rules },
    });
    expect((res.body.data?.updateRuleset.ruleset.updatedAt ?? '') > ruleset.updatedAt).toBe(true);
    const audits = await sql(
      "SELECT user_id, entity_type, changes FROM audit_logs WHERE entity_id = $1 AND action = 'update'",
      [ruleset.uuid],
    );
    expect(audits).toEqual([
      {
        user_id: userId('admin'),
        entity_type: 'ruleset',
        changes: {
          before: { procedure: '72148', rules: RULES },
          after: { procedure: '72149', rules },
        },
      },
    ]);
    const events = await sql(
      'SELECT event_type, entity_type, metadata FROM events WHERE entity_id = $1 ORDER BY created_at',
      [ruleset.uuid],
    );
    expect(events.map((e) => e.event_type)).toEqual(['ruleset.created', 'ruleset.updated']);
    expect(events[1]).toEqual({
      event_type: 'ruleset.updated',
      entity_type: 'ruleset',
      metadata: { payer: ruleset.payer, procedure: '72149' },
    });
    expect(
      await sql('SELECT rules_json FROM rulesets WHERE id = $1', [ruleset.uuid]).then(
        (r) => r[0]?.rules_json,
      ),
    ).toEqual({
      requirements: ['Physician order'],
      documentation: ['Clinical notes', 'Imaging report'],
      typical_turnaround: '5 business days',
      notes: 'Fax only',
    });
  });

  test('fields left out (or null) stay as they are, the stored rules_json included', async () => {
    const id = randomUUID();
    const legacy = { requirements: ['a'], documentation: [], typical_turnaround: '1 day', extra: true };
    await sql(
      `INSERT INTO rulesets (id, tenant_id, payer, procedure, rules_json, is_active, updated_at)
       VALUES ($1, $2, $3, 'Z9', $4, true, now())`,
      [id, A, `Legacy ${id}`, JSON.stringify(legacy)],
    );
    const res = await app.gql(UPDATE, { input: { id: gid(id), payer: 'Renamed payer', procedure: null } });
    expect(res.body.data?.updateRuleset).toMatchObject({
      __typename: 'UpdateRulesetPayload',
      ruleset: { payer: 'Renamed payer', procedure: 'Z9' },
    });
    expect(await sql('SELECT rules_json FROM rulesets WHERE id = $1', [id])).toEqual([
      { rules_json: legacy },
    ]);
  });

  test('invalid input is a ValidationError with paths; nothing written', async () => {
    const ruleset = await newRuleset();
    const before = await written();
    const res = await app.gql<{ updateRuleset: { __typename: string; fieldErrors: { path: string[] }[] } }>(
      UPDATE,
      { input: { id: ruleset.id, payer: ' ', rules: { ...RULES, requirements: ['a', 'b', ' '] } } },
    );
    expect(res.body.data?.updateRuleset.__typename).toBe('ValidationError');
    expect(res.body.data?.updateRuleset.fieldErrors.map((e) => e.path)).toEqual([
      ['payer'],
      ['rules', 'requirements', '2'],
    ]);
    const badId = await app.gql<{ updateRuleset: { __typename: string; fieldErrors: { path: string[] }[] } }>(
      UPDATE,
      { input: { id: encodeGlobalID('Case', ruleset.uuid), payer: 'x' } },
    );
    expect(badId.body.data?.updateRuleset).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['id'] }],
    });
    expect(await written()).toEqual(before);
  });

  test('a stale expectedUpdatedAt is ConflictError and changes nothing', async () => {
    const ruleset = await newRuleset();
    const before = await written();
    const res = await app.gql(UPDATE, {
      input: { id: ruleset.id, procedure: '99999', expectedUpdatedAt: '2000-01-01T00:00:00.000Z' },
    });
    expect(res.body.data?.updateRuleset).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(await written()).toEqual(before);
  });

  test('moving onto the payer and procedure of another active ruleset is ConflictError; nothing written', async () => {
    const active = await seededRuleset('is_active');
    const mine = await newRuleset();
    const before = await written();
    const res = await app.gql(UPDATE, {
      input: { id: mine.id, payer: active.payer, procedure: active.procedure.toLowerCase() },
    });
    expect(res.body.data?.updateRuleset).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
      message: 'Another active ruleset exists for this payer and procedure',
    });
    expect(await written()).toEqual(before);
  });

  test('ten concurrent updates of the same version: exactly one succeeds, one event', async () => {
    const ruleset = await newRuleset();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        app.gql<{ updateRuleset: { __typename: string } }>(UPDATE, {
          input: { id: ruleset.id, procedure: `C${i}`, expectedUpdatedAt: ruleset.updatedAt },
        }),
      ),
    );
    const kinds = results.map((r) => r.body.data?.updateRuleset.__typename);
    expect(kinds.filter((k) => k === 'UpdateRulesetPayload')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ConflictError')).toHaveLength(9);
    expect(
      await sql(
        "SELECT count(*)::int AS n FROM events WHERE entity_id = $1 AND event_type = 'ruleset.updated'",
        [ruleset.uuid],
      ),
    ).toEqual([{ n: 1 }]);
  });
});

describe('setRulesetActive', () => {
  test('deactivates and activates, with audit rows and the matching events', async () => {
    const ruleset = await newRuleset();
    const off = await app.gql<{ setRulesetActive: { ruleset: RulesetRow } }>(SET_ACTIVE, {
      input: { id: ruleset.id, isActive: false },
    });
    expect(off.body.data?.setRulesetActive).toMatchObject({
      __typename: 'SetRulesetActivePayload',
      ruleset: { uuid: ruleset.uuid, isActive: false },
    });
    const on = await app.gql(SET_ACTIVE, { input: { id: ruleset.id, isActive: true } });
    expect(on.body.data?.setRulesetActive).toMatchObject({ ruleset: { isActive: true } });
    const audits = await sql(
      "SELECT user_id, entity_type, changes FROM audit_logs WHERE entity_id = $1 AND action = 'update' ORDER BY created_at",
      [ruleset.uuid],
    );
    expect(audits).toEqual([
      {
        user_id: userId('admin'),
        entity_type: 'ruleset',
        changes: { before: { isActive: true }, after: { isActive: false } },
      },
      {
        user_id: userId('admin'),
        entity_type: 'ruleset',
        changes: { before: { isActive: false }, after: { isActive: true } },
      },
    ]);
    const events = await sql(
      'SELECT event_type, entity_type, user_id, metadata FROM events WHERE entity_id = $1 ORDER BY created_at',
      [ruleset.uuid],
    );
    expect(events).toEqual(
      ['ruleset.created', 'ruleset.deactivated', 'ruleset.activated'].map((event_type) => ({
        event_type,
        entity_type: 'ruleset',
        user_id: userId('admin'),
        metadata: { payer: ruleset.payer, procedure: '72148' },
      })),
    );
  });

  test('activating a second active ruleset for the payer and procedure is ConflictError; nothing written', async () => {
    const active = await seededRuleset('is_active');
    const inactive = await newRuleset({ payer: active.payer, procedure: active.procedure, isActive: false });
    const before = await written();
    const res = await app.gql(SET_ACTIVE, { input: { id: inactive.id, isActive: true } });
    expect(res.body.data?.setRulesetActive).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
      message: 'Another active ruleset exists for this payer and procedure',
    });
    expect(await written()).toEqual(before);
  });

  test('a malformed id is a top-level BAD_USER_INPUT (no ValidationError in this union)', async () => {
    const before = await written();
    const res = await app.gql(SET_ACTIVE, { input: { id: 'nope', isActive: true } });
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['BAD_USER_INPUT', ['setRulesetActive']],
    ]);
    expect(await written()).toEqual(before);
  });
});

describe('roles and tenants', () => {
  test.each(['staff@test-clinic.com', 'clinician@test-clinic.com'])(
    '%s gets FORBIDDEN with the field path from every ruleset mutation; nothing is written',
    async (email) => {
      const target = await seededRuleset('true');
      const before = await written();
      const attempts: [string, string, Record<string, unknown>][] = [
        ['createRuleset', CREATE, { payer: `Payer ${randomUUID()}`, procedure: '1', rules: RULES }],
        ['updateRuleset', UPDATE, { id: gid(target.id), payer: 'x' }],
        ['setRulesetActive', SET_ACTIVE, { id: gid(target.id), isActive: !target.is_active }],
      ];
      for (const [field, document, input] of attempts) {
        const res = await app.gql(document, { input }, { email });
        expect(res.body.data).toBeNull();
        expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', [field]]]);
      }
      expect(await written()).toEqual(before);
      // Reading is for every role.
      const read = await app.gql<{ rulesets: Connection }>(LIST, { first: 1 }, { email });
      expect(read.body.data?.rulesets.edges).toHaveLength(1);
    },
  );

  test("another tenant's ruleset is NotFoundError for updateRuleset and setRulesetActive; its row is unchanged", async () => {
    const other = await seededRuleset('true', B);
    const before = await written();
    const update = await app.gql(UPDATE, { input: { id: gid(other.id), payer: 'Mine now' } });
    expect(update.body.data?.updateRuleset).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
      message: 'Ruleset not found',
    });
    const toggle = await app.gql(SET_ACTIVE, { input: { id: gid(other.id), isActive: !other.is_active } });
    expect(toggle.body.data?.setRulesetActive).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
      message: 'Ruleset not found',
    });
    expect(await written()).toEqual(before);
    // The second tenant's admin sees it as it was.
    const theirs = await app.gql<{ ruleset: { payer: string; isActive: boolean } }>(
      `query ($id: ID!) { ruleset(id: $id) { payer isActive } }`,
      { id: gid(other.id) },
      { email: 'admin@second-clinic.com' },
    );
    expect(theirs.body.data?.ruleset).toEqual({ payer: other.payer, isActive: other.is_active });
  });

  test('a nonexistent ruleset id is NotFoundError, like another tenant’s', async () => {
    const id = gid(randomUUID());
    const update = await app.gql(UPDATE, { input: { id, payer: 'x' } });
    expect(update.body.data?.updateRuleset).toMatchObject({ __typename: 'NotFoundError' });
    const toggle = await app.gql(SET_ACTIVE, { input: { id, isActive: true } });
    expect(toggle.body.data?.setRulesetActive).toMatchObject({ __typename: 'NotFoundError' });
  });
});
