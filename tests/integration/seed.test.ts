import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { Kind, type OperationDefinitionNode, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CASES_PER_TENANT, SEED_TENANTS, seedDatabase, stableUuid } from '../../src/db/seed.js';
import { CASE_STATUSES, PRIORITIES } from '../../src/domain/vocabulary.js';
import { startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { ALL_TABLES, query } from '../helpers/db.js';

const EXAMPLES_DIR = join(import.meta.dirname, '../../docs/examples');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every row of every table, as text: equal snapshots mean nothing changed. */
async function snapshot(url: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const table of ALL_TABLES) {
    const [row] = await query<{ digest: string }>(
      url,
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${table} t`,
    );
    result[table] = row?.digest ?? '';
  }
  return result;
}

let app: TestApp;
let seededAt: Date;
beforeAll(async () => {
  app = await startTestApp({ seed: false });
  seededAt = new Date();
  const first = await seedDatabase(app.owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY, now: seededAt });
  expect(first.createdRows).toBeGreaterThan(0);
});
afterAll(() => app?.close());

test('seeds two tenants with users of each role, cases with codes and tasks, rulesets, ingestions, events', async () => {
  for (const tenant of SEED_TENANTS) {
    const tenantId = stableUuid('tenant', tenant.slug);
    const [counts] = await query(
      app.db.ownerUrl,
      `SELECT (SELECT count(*)::int FROM cases WHERE tenant_id = $1) AS cases,
              (SELECT count(*)::int FROM cases c WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM case_codes k WHERE k.case_id = c.id)) AS "casesWithoutCodes",
              (SELECT count(*)::int FROM cases c WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.case_id = c.id)) AS "casesWithoutTasks",
              (SELECT count(DISTINCT payer)::int FROM cases WHERE tenant_id = $1) AS payers,
              (SELECT count(DISTINCT code_type)::int FROM case_codes WHERE tenant_id = $1) AS "codeTypes",
              (SELECT count(*)::int FROM tasks WHERE tenant_id = $1) AS tasks,
              (SELECT count(*)::int FROM rulesets WHERE tenant_id = $1) AS rulesets,
              (SELECT count(*)::int FROM ingestions WHERE tenant_id = $1) AS ingestions,
              (SELECT count(*)::int FROM events WHERE tenant_id = $1) AS events,
              (SELECT count(*)::int FROM cases c JOIN ingestions g ON g.id = c.ingestion_id
                WHERE c.tenant_id = $1 AND g.created_at > c.created_at) AS "casesBeforeTheirIngestion",
              (SELECT array_agg(email || ':' || role ORDER BY email) FROM users WHERE tenant_id = $1 AND auth_id IS NOT NULL) AS users`,
      [tenantId],
    );
    // README.md ("Tokens for the seeded users") states these numbers.
    expect(counts).toMatchObject({
      cases: CASES_PER_TENANT,
      casesWithoutCodes: 0,
      casesWithoutTasks: 0,
      payers: 5,
      codeTypes: 2,
      tasks: 90,
      rulesets: 40,
      ingestions: 10,
      events: 72,
      casesBeforeTheirIngestion: 0,
    });
    expect(counts?.users).toEqual(
      expect.arrayContaining([
        `admin@${tenant.slug}.com:admin`,
        `clinician@${tenant.slug}.com:clinician`,
        `staff@${tenant.slug}.com:staff`,
      ]),
    );
  }
  // Every procedure used on a case has a ruleset for that payer.
  const uncovered = await query(
    app.db.ownerUrl,
    `SELECT DISTINCT c.payer, k.code FROM cases c JOIN case_codes k ON k.case_id = c.id
     WHERE NOT EXISTS (SELECT 1 FROM rulesets r WHERE r.tenant_id = c.tenant_id AND r.payer = c.payer AND r.procedure = k.code)`,
  );
  expect(uncovered).toEqual([]);
});

test('every case status occurs with every priority, in each tenant', async () => {
  const pairs = await query<{ slug: string; pairs: string[] }>(
    app.db.ownerUrl,
    `SELECT t.slug, array_agg(DISTINCT c.status || ':' || c.priority) AS pairs
     FROM cases c JOIN tenants t ON t.id = c.tenant_id GROUP BY t.slug ORDER BY t.slug`,
  );
  const every = CASE_STATUSES.flatMap((status) => PRIORITIES.map((priority) => `${status}:${priority}`));
  expect(pairs).toHaveLength(SEED_TENANTS.length);
  for (const { pairs: found } of pairs) expect([...found].sort()).toEqual([...every].sort());
});

test('every timestamp is in the past and in order: created ≤ updated (≤ completed) ≤ now', async () => {
  const inFuture = (column: string) => `${column} > $1::timestamptz`;
  const checks: Record<string, string> = {};
  // change_cursors holds a number per tenant, no time.
  for (const table of ALL_TABLES.filter((t) => t !== 'change_cursors')) {
    checks[`${table}.created_at`] = `SELECT count(*)::int AS n FROM ${table} WHERE ${inFuture('created_at')}`;
  }
  for (const table of ['tenants', 'users', 'ingestions', 'cases', 'tasks', 'rulesets']) {
    checks[`${table}.updated_at`] =
      `SELECT count(*)::int AS n FROM ${table} WHERE ${inFuture('updated_at')} OR updated_at < created_at`;
  }
  checks['tasks.completed_at'] =
    `SELECT count(*)::int AS n FROM tasks WHERE ${inFuture('completed_at')} OR completed_at < created_at
       OR (status = 'completed') <> (completed_at IS NOT NULL)`;
  const found: Record<string, number> = {};
  for (const [name, sql] of Object.entries(checks)) {
    const [row] = await query<{ n: number }>(app.db.ownerUrl, sql, [seededAt]);
    found[name] = row?.n ?? -1;
  }
  expect(found).toEqual(Object.fromEntries(Object.keys(checks).map((name) => [name, 0])));
  // Not a far-away past: the newest case is from the last two days, so "recent" views show it.
  const [newest] = await query<{ at: Date }>(app.db.ownerUrl, 'SELECT max(created_at) AS at FROM cases');
  expect(seededAt.getTime() - (newest?.at.getTime() ?? 0)).toBeLessThan(2 * DAY);
});

test('confidences have at most two decimals, as stored and as the API answers', async () => {
  const twoDecimals = String.raw`'^(0|1)(\.[0-9]{1,2})?$'`;
  const [bad] = await query<{ codes: string[]; cases: string[] }>(
    app.db.ownerUrl,
    `SELECT
       (SELECT array_agg(confidence::text) FROM case_codes WHERE confidence::text !~ ${twoDecimals}) AS codes,
       (SELECT array_agg(v) FROM cases,
          LATERAL (SELECT confidence_json->>'overall' UNION ALL
                   SELECT value::text FROM jsonb_each(confidence_json->'fields')) AS x(v)
        WHERE v !~ ${twoDecimals}) AS cases`,
  );
  expect(bad).toEqual({ codes: null, cases: null });

  // `fields` is JSON, which the cost limit counts 1,024 times a row: the stored check above covers it.
  const res = await app.gql(
    '{ cases(first: 100) { edges { node { confidence { overall } codes { confidence } } } } }',
  );
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  const numbers = JSON.stringify(res.body.data).match(/\d+\.\d+/g) ?? [];
  expect(numbers.length).toBeGreaterThan(CASES_PER_TENANT);
  expect(numbers.filter((n) => !/^\d+\.\d{1,2}$/.test(n))).toEqual([]);
});

test('every seeded person (not the intake service) has open tasks: some overdue, some due within the day', async () => {
  const rows = await query<{ email: string; open: number; overdue: number; dueToday: number }>(
    app.db.ownerUrl,
    `SELECT u.email,
            count(t.id) FILTER (WHERE t.status IN ('pending', 'in_progress'))::int AS open,
            count(t.id) FILTER (WHERE t.status IN ('pending', 'in_progress') AND t.due_date < now())::int AS overdue,
            count(t.id) FILTER (WHERE t.status IN ('pending', 'in_progress')
                                  AND t.due_date >= now() AND t.due_date <= now() + interval '24 hours')::int AS "dueToday"
     FROM users u LEFT JOIN tasks t ON t.assigned_to = u.id
     WHERE u.auth_id LIKE 'seed|%' AND u.role <> 'service' GROUP BY u.email ORDER BY u.email`,
  );
  expect(rows).toHaveLength(SEED_TENANTS.length * 5);
  const lacking = rows.filter((r) => r.open === 0 || r.overdue === 0 || r.dueToday === 0);
  expect(lacking).toEqual([]);
  const [unassigned] = await query<{ n: number }>(
    app.db.ownerUrl,
    'SELECT count(*)::int AS n FROM tasks WHERE assigned_to IS NULL',
  );
  expect(unassigned?.n).toBeGreaterThan(0);
});

describe('docs/examples: every query shows something for the printed admin token', () => {
  const caseId = encodeGlobalID('Case', stableUuid('test-clinic', 'case', '0'));
  // Example values for the required variables that have no default, by name.
  const exampleVariables: Record<string, unknown> = { id: caseId };
  const queries = readdirSync(EXAMPLES_DIR)
    .filter((name) => name.endsWith('.graphql'))
    .map((name) => ({ name, source: readFileSync(join(EXAMPLES_DIR, name), 'utf8') }))
    .map(({ name, source }) => ({
      name,
      source,
      operation: parse(source).definitions.find(
        (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
      ),
    }))
    .filter(({ operation }) => operation?.operation === 'query');

  test('the examples hold queries', () => {
    expect(queries.map((q) => q.name)).toEqual(
      expect.arrayContaining(['Dashboard.graphql', 'MyTasks.graphql']),
    );
  });

  test.each(queries)('$name', async ({ source, operation }) => {
    const variables: Record<string, unknown> = {};
    for (const definition of operation?.variableDefinitions ?? []) {
      const name = definition.variable.name.value;
      if (definition.defaultValue || definition.type.kind !== Kind.NON_NULL_TYPE) continue;
      if (!(name in exampleVariables)) throw new Error(`no example value for $${name}: add one above`);
      variables[name] = exampleVariables[name];
    }
    const res = await app.gql<Record<string, unknown>>(source, variables);
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const data = res.body.data ?? {};
    for (const [field, value] of Object.entries(data)) expect(value, field).not.toBeNull();
    expect(emptyParts(data)).toEqual([]);
  });
});

/**
 * Where a response shows nothing: an empty list, or a zero (a count, a total, a confidence).
 * Nulls are allowed below the top level: a case without an ingestion is still a case.
 */
function emptyParts(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${path}: []`];
    return value.flatMap((item, i) => emptyParts(item, `${path}[${i}]`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => emptyParts(item, path ? `${path}.${key}` : key));
  }
  return value === 0 ? [`${path}: 0`] : [];
}

test('seeding again, even a day later, changes nothing', async () => {
  const before = await snapshot(app.db.ownerUrl);
  const again = await seedDatabase(app.owner, {
    memberIdHashKey: TEST_MEMBER_ID_HASH_KEY,
    now: new Date(seededAt.getTime() + DAY),
  });
  expect(again.createdRows).toBe(0);
  expect(await snapshot(app.db.ownerUrl)).toEqual(before);
});
