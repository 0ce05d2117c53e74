import { encodeGlobalID } from '@pothos/plugin-relay';
import { describe, expect, test } from 'vitest';
import { compiledStats } from '../../src/compiled/index.js';
import { A, file, ROLES, useCompiledPair } from '../helpers/compiled-pair.js';
import { query } from '../helpers/db.js';

// What a compiled request does beside its response: the `view` audit rows, another tenant's rows,
// the fallback of a row the SQL cannot render, its caches, its statements.

const pair = useCompiledPair();

describe('side effects and isolation', () => {
  const VIEW =
    'SELECT user_id, action, entity_type, entity_id, changes, ip_address, user_agent FROM audit_logs WHERE action = $1 ORDER BY entity_id';

  test('extractedData: one view row per case read, as the resolvers write them; none for STAFF', async () => {
    const text = `query ($id: ID!) { a: case(id: $id) { extractedData uuid } b: cases(first: 3) { edges { node { x: extractedData y: extractedData } } } }`;
    for (const email of ROLES) {
      await query(pair.db.ownerUrl, 'DELETE FROM audit_logs WHERE action = $1', ['view']);
      const before = compiledStats.executed;
      const fast = await pair.compiled.post(text, { id: pair.caseIds[1] }, email);
      expect(compiledStats.executed - before).toBe(1);
      const fastRows = await query(pair.db.ownerUrl, VIEW, ['view']);
      await query(pair.db.ownerUrl, 'DELETE FROM audit_logs WHERE action = $1', ['view']);
      const slow = await pair.resolvers.post(text, { id: pair.caseIds[1] }, email);
      const slowRows = await query(pair.db.ownerUrl, VIEW, ['view']);
      expect(fast).toBe(slow);
      expect(fastRows).toEqual(slowRows);
      expect(fastRows.length).toBe(email.startsWith('staff') ? 0 : 3);
    }
  });

  test("another tenant's case is null in the compiled path", async () => {
    const { compiled: took, body } = await pair.same(
      'query ($id: ID!) { case(id: $id) { uuid } }',
      { id: pair.caseB },
      ROLES[0] as string,
    );
    expect(took).toBe(true);
    expect(body).toEqual({ data: { case: null } });
  });

  test('a row the SQL cannot render exactly sends the request to the resolvers', async () => {
    const [row] = await query<{ id: string }>(
      pair.db.ownerUrl,
      `UPDATE cases SET diagnosis_codes = ARRAY['A', NULL] WHERE id = (SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1) RETURNING id`,
      [A],
    );
    const id = encodeGlobalID('Case', row?.id as string);
    try {
      const before = compiledStats.fallbacks;
      const result = await pair.same(
        'query ($id: ID!) { case(id: $id) { uuid diagnosisCodes } }',
        { id },
        ROLES[0] as string,
      );
      expect(compiledStats.fallbacks - before).toBe(1);
      expect(result.compiled).toBe(false);
      expect(result.body.errors).toBeDefined();
    } finally {
      // Prisma cannot read such a row at all, whatever the query selects of it.
      await query(pair.db.ownerUrl, `UPDATE cases SET diagnosis_codes = '{}' WHERE id = $1`, [row?.id]);
    }
  });

  test('matchingRulesets: a code that is not ASCII falls back', async () => {
    const [row] = await query<{ case_id: string }>(
      pair.db.ownerUrl,
      `UPDATE case_codes SET code = 'ſ1' WHERE id = (SELECT id FROM case_codes WHERE tenant_id = $1 ORDER BY id LIMIT 1) RETURNING case_id`,
      [A],
    );
    const id = encodeGlobalID('Case', row?.case_id as string);
    const before = compiledStats.fallbacks;
    const result = await pair.same(
      'query ($id: ID!) { case(id: $id) { matchingRulesets { procedure } } }',
      { id },
      ROLES[0] as string,
    );
    expect(compiledStats.fallbacks - before).toBe(1);
    expect(result.body.data.case).not.toBeNull();
  });

  test('the same document is compiled once', async () => {
    const text = file('bench/queries/q3.graphql');
    await pair.same(text, undefined, ROLES[2] as string);
    const { skeletons, variants } = compiledStats;
    await pair.same(text, undefined, ROLES[2] as string);
    await pair.same(text, undefined, 'jordan@test-clinic.com');
    expect(compiledStats.skeletons).toBe(skeletons);
    expect(compiledStats.variants).toBe(variants);
  });

  test('statements per request: BEGIN with begin_request, the data statement, COMMIT (+ the view row)', async () => {
    const counts: Record<string, number> = {};
    for (const [name, variables] of [
      ['q1', undefined],
      ['q2', { caseId: pair.caseIds[5] }],
      ['q3', undefined],
    ] as const) {
      for (const email of ['staff@test-clinic.com', 'clinician@test-clinic.com']) {
        pair.compiled.statements.length = 0;
        const body = await pair.compiled.post(file(`bench/queries/${name}.graphql`), variables, email);
        expect(body.startsWith('200 {"data"')).toBe(true);
        counts[`${name} ${email.split('@')[0]}`] = pair.compiled.statements.length;
      }
    }
    console.info('compiled statements per request', counts);
    expect(counts).toEqual({
      'q1 staff': 3,
      'q1 clinician': 3,
      'q2 staff': 3,
      'q2 clinician': 4,
      'q3 staff': 3,
      'q3 clinician': 3,
    });
  });
});

test('search matches a code literally and without case, as Prisma does (ILIKE, escaped)', async () => {
  const text = `query ($f: CaseFilter) { cases(filter: $f) { totalCount } }`;
  const { compiled: took, body } = await pair.same(text, { f: { search: 'x_1%\\' } }, ROLES[0] as string);
  expect(took).toBe(true);
  expect(body.data.cases.totalCount).toBe(1);
});
