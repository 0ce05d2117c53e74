import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { describe, expect, test } from 'vitest';
import {
  A,
  app,
  gid,
  newRuleset,
  RULES,
  type RulesetRow,
  seededRuleset,
  sql,
  UPDATE,
  useRulesetsApp,
  userId,
  written,
} from '../helpers/rulesets.js';

// updateRuleset: the audit trail, fields left out, validation, stale versions, conflicts, races.

useRulesetsApp();

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
