import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPrismaClient } from '../../src/db/client.js';
import { CASES_PER_TENANT, SEED_TENANTS, seedDatabase, stableUuid } from '../../src/db/seed.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { ALL_TABLES, createTestDatabase, query, type TestDatabase } from '../helpers/db.js';

/** Every row of every table, as text: equal snapshots mean nothing changed. */
async function snapshot(url: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const table of ALL_TABLES) {
    const [row] = await query<{ digest: string }>(
      url,
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS digest FROM ${table} t`,
    );
    result[table] = row?.digest ?? '';
  }
  return result;
}

let db: TestDatabase;
let owner: PrismaClient;
beforeAll(async () => {
  db = await createTestDatabase();
  owner = createPrismaClient({ url: db.ownerUrl, poolMax: 2 });
});
afterAll(async () => {
  await owner?.$disconnect();
  await db?.drop();
});

test('seeds two tenants with users of each role, cases with codes and tasks, rulesets, ingestions, events', async () => {
  const first = await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  expect(first.createdRows).toBeGreaterThan(0);
  for (const tenant of SEED_TENANTS) {
    const tenantId = stableUuid('tenant', tenant.slug);
    const [counts] = await query(
      db.ownerUrl,
      `SELECT (SELECT count(*)::int FROM cases WHERE tenant_id = $1) AS cases,
              (SELECT count(*)::int FROM cases c WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM case_codes k WHERE k.case_id = c.id)) AS "casesWithoutCodes",
              (SELECT count(*)::int FROM cases c WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.case_id = c.id)) AS "casesWithoutTasks",
              (SELECT count(DISTINCT payer)::int FROM cases WHERE tenant_id = $1) AS payers,
              (SELECT count(DISTINCT status)::int FROM cases WHERE tenant_id = $1) AS statuses,
              (SELECT count(DISTINCT code_type)::int FROM case_codes WHERE tenant_id = $1) AS "codeTypes",
              (SELECT count(*)::int FROM tasks WHERE tenant_id = $1 AND assigned_to IS NOT NULL) AS assigned,
              (SELECT count(*)::int FROM tasks WHERE tenant_id = $1 AND due_date < now() AND status IN ('pending', 'in_progress')) AS overdue,
              (SELECT count(*)::int FROM rulesets WHERE tenant_id = $1) AS rulesets,
              (SELECT count(*)::int FROM ingestions WHERE tenant_id = $1) AS ingestions,
              (SELECT count(*)::int FROM events WHERE tenant_id = $1) AS events,
              (SELECT array_agg(email || ':' || role ORDER BY email) FROM users WHERE tenant_id = $1 AND auth_id IS NOT NULL) AS users`,
      [tenantId],
    );
    expect(counts).toMatchObject({
      cases: CASES_PER_TENANT,
      casesWithoutCodes: 0,
      casesWithoutTasks: 0,
      codeTypes: 2,
      rulesets: expect.any(Number),
    });
    expect(counts?.cases).toBeGreaterThanOrEqual(40);
    expect(counts?.payers).toBeGreaterThanOrEqual(3);
    expect(counts?.statuses).toBe(4);
    expect(counts?.assigned).toBeGreaterThan(0);
    expect(counts?.overdue).toBeGreaterThan(0);
    expect(counts?.rulesets).toBeGreaterThan(0);
    expect(counts?.ingestions).toBeGreaterThan(0);
    expect(counts?.events).toBeGreaterThan(0);
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
    db.ownerUrl,
    `SELECT DISTINCT c.payer, k.code FROM cases c JOIN case_codes k ON k.case_id = c.id
     WHERE NOT EXISTS (SELECT 1 FROM rulesets r WHERE r.tenant_id = c.tenant_id AND r.payer = c.payer AND r.procedure = k.code)`,
  );
  expect(uncovered).toEqual([]);
});

test('seeding again changes nothing', async () => {
  const before = await snapshot(db.ownerUrl);
  const again = await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  expect(again.createdRows).toBe(0);
  expect(await snapshot(db.ownerUrl)).toEqual(before);
});
