import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { A, file, ROLES, useCompiledPair } from '../helpers/compiled-pair.js';
import { query } from '../helpers/db.js';

// The data statement's text: what is a literal (page sizes, enum filter values) and what a
// parameter, so that its generic plan as a prepared statement is a good one; odd JSON rendered.

const pair = useCompiledPair();

describe('statements that plan well as prepared statements', () => {
  /** The data statement of one compiled request of `name` (bench/queries), with its values. */
  async function dataStatement(name: string, variables?: Record<string, unknown>) {
    pair.compiled.sent.length = 0;
    const body = await pair.compiled.post(
      file(`bench/queries/${name}.graphql`),
      variables,
      'staff@test-clinic.com',
    );
    expect(body.startsWith('200 {"data"')).toBe(true);
    const statement = pair.compiled.sent.find((s) => s.text.startsWith('SELECT json_build_object'));
    if (!statement) throw new Error('no data statement');
    return statement;
  }

  test('page sizes and enum filter values are literals of the text; ids and tenants are parameters', async () => {
    const q1 = await dataStatement('q1');
    expect(q1.text).toContain('LIMIT 50)');
    expect(q1.text).toContain('LIMIT 10)');
    expect(q1.text).not.toMatch(/LIMIT \$/);
    // A forward page that reads no pageInfo: no numbering window.
    expect(q1.text).not.toContain('row_number()');
    const q3 = await dataStatement('q3');
    // Sorted: the order a client lists enum values in makes no new text.
    expect(q3.text).toContain(`x.status = ANY('{"in_progress","pending"}'::text[])`);
    // Aliases (`myOpenTasks:`, `id:`) are parameters too: a client cannot make new texts with them.
    expect(q3.text).not.toMatch(/myOpenTasks|'id'/);
    expect(q3.values).toEqual(['myOpenTasks', 'id', A, stableUuid('test-clinic', 'user', 'staff')]);
    const q2 = await dataStatement('q2', { caseId: pair.caseIds[3] });
    expect(q2.values.filter((v) => v !== 'id')).toHaveLength(2);
  });

  test('aliases and the order or repetition of enum values do not change the statement text', async () => {
    const texts = new Set<string>();
    for (const [alias, status, priority] of [
      ['a', 'PENDING, COMPLETED', 'HIGH'],
      ['b', 'COMPLETED, PENDING', 'HIGH, HIGH'],
      ['zz', 'COMPLETED, PENDING, COMPLETED', 'HIGH'],
    ]) {
      pair.compiled.sent.length = 0;
      const body = await pair.compiled.post(
        `{ ${alias}: tasks(first: 3, filter: { status: [${status}], priority: [${priority}] }) { ${alias}1: edges { n: node { uuid } } } }`,
        undefined,
        'staff@test-clinic.com',
      );
      expect(body).toMatch(new RegExp(`^200 \\{"data":\\{"${alias}":\\{"${alias}1":\\[`));
      const statement = pair.compiled.sent.find((s) => s.text.startsWith('SELECT json_build_object'));
      texts.add(statement?.text ?? '');
    }
    expect(texts.size).toBe(1);
  });

  test("Q3's generic plan can use the partial index of open tasks", async () => {
    const q3 = await dataStatement('q3');
    const client = new pg.Client({ connectionString: pair.db.runtimeUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [A]);
      // Other paths off: what is left is the partial index, if its predicate is provable without values.
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await client.query('SET LOCAL enable_seqscan = off');
      await client.query('SET LOCAL enable_bitmapscan = off');
      await client.query(`PREPARE q3 AS ${q3.text}`);
      const args = q3.values.map((v) => `'${String(v).replaceAll("'", "''")}'`).join(', ');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE q3(${args})`);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('tasks_open_tenant_id_assigned_to_due_date_id_idx');
      expect(plan).not.toMatch(/\bSort\b/);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  test("Q3's generic plan walks the partial index in due-date order when there are many tenants", async () => {
    // The bench's distribution: 20 tenants of 25 users with open tasks, the viewer with 300.
    // Planned as independent, `tenant_id = $ AND assigned_to = $` is estimated 20 times too
    // small, and a bitmap scan and a sort of every open task of the viewer looks cheaper than
    // the index walk that stops after a page; the statistics object of migration
    // 20261204000000 tells the planner that an assignee belongs to one tenant.
    const q3 = await dataStatement('q3');
    const client = new pg.Client({ connectionString: pair.db.ownerUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(MANY_TENANTS_OF_OPEN_TASKS, [A, stableUuid('test-clinic', 'user', 'staff')]);
      await client.query('ANALYZE tasks');
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [A]);
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE q3 AS ${q3.text}`);
      const args = q3.values.map((v) => `'${String(v).replaceAll("'", "''")}'`).join(', ');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE q3(${args})`);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan using tasks_open_tenant_id_assigned_to_due_date_id_idx/);
      expect(plan).not.toMatch(/\b(Sort|Bitmap)\b/);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  test('odd rules JSON renders as the resolvers render it', async () => {
    const [row] = await query<{ id: string; rules_json: unknown }>(
      pair.db.ownerUrl,
      'SELECT id, rules_json FROM rulesets WHERE tenant_id = $1 ORDER BY id OFFSET 1 LIMIT 1',
      [A],
    );
    const id = row?.id as string;
    const text = `query ($id: ID!) { ruleset(id: $id) { rules { requirements documentation typicalTurnaround notes } } }`;
    try {
      for (const rules of [
        '{"typical_turnaround": null, "typicalTurnaround": "x", "requirements": [["a"], "b", {"c": "d"}, "e\\u00e9"]}',
        '{"typical_turnaround": 5, "typicalTurnaround": "x", "documentation": "abc", "notes": null}',
        '{"typical_turnaround": "y", "typicalTurnaround": "x", "requirements": {"a": "b"}, "notes": "n"}',
        '{"typicalTurnaround": 7, "requirements": []}',
        '[1, "a"]',
        '"s"',
        'null',
        '{}',
      ]) {
        await query(pair.db.ownerUrl, 'UPDATE rulesets SET rules_json = $2::jsonb WHERE id = $1', [
          id,
          rules,
        ]);
        const result = await pair.same(text, { id: encodeGlobalID('Ruleset', id) }, ROLES[0] as string);
        expect(result.compiled, rules).toBe(true);
      }
    } finally {
      await query(pair.db.ownerUrl, 'UPDATE rulesets SET rules_json = $2::jsonb WHERE id = $1', [
        id,
        JSON.stringify(row?.rules_json),
      ]);
    }
  });
});

/**
 * 20 tenants of 25 users, each user with one case and 60 open tasks on it, and 300 open tasks
 * for the viewer ($2 of tenant $1) on one of its cases. Ids from md5 of a name: deterministic.
 */
const MANY_TENANTS_OF_OPEN_TASKS = `
WITH t AS (
  INSERT INTO tenants (id, slug, name, updated_at)
  SELECT md5('plan-tenant-' || i)::uuid, 'plan-tenant-' || i, 'Plan ' || i, now() FROM generate_series(1, 20) i
  RETURNING id
), u AS (
  INSERT INTO users (id, tenant_id, email, role, updated_at)
  SELECT md5(t.id::text || '-user-' || j)::uuid, t.id, t.id::text || '-' || j || '@plan.test', 'staff', now()
  FROM t, generate_series(1, 25) j
  RETURNING id, tenant_id
), c AS (
  INSERT INTO cases (id, tenant_id, created_by, member_id_hash, payer, status, confidence_json, extracted_data, updated_at)
  SELECT md5(u.id::text || '-case')::uuid, u.tenant_id, u.id, 'h', 'Plan payer', 'pending', '{}', '{}', now() FROM u
  RETURNING id, tenant_id, created_by
), viewer AS (
  SELECT id AS case_id FROM cases WHERE tenant_id = $1 LIMIT 1
)
INSERT INTO tasks (id, case_id, tenant_id, assigned_to, title, status, due_date, updated_at)
SELECT gen_random_uuid(), c.id, c.tenant_id, c.created_by, 'Plan task', 'pending', now() + k * interval '1 hour', now()
FROM c, generate_series(1, 60) k
UNION ALL
SELECT gen_random_uuid(), viewer.case_id, $1, $2, 'Plan task', 'in_progress', now() + k * interval '1 hour', now()
FROM viewer, generate_series(1, 300) k`;
