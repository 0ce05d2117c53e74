import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  A,
  app,
  B,
  type Connection,
  CREATE,
  gid,
  LIST,
  newRuleset,
  RULES,
  type RulesetRow,
  SET_ACTIVE,
  seededRuleset,
  sql,
  UPDATE,
  useRulesetsApp,
  userId,
  written,
} from '../helpers/rulesets.js';

// createRuleset and setRulesetActive, and who may call the ruleset mutations.

useRulesetsApp();

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

  test('a malformed id is the ValidationError of input.id, as in every mutation', async () => {
    const before = await written();
    const res = await app.gql(SET_ACTIVE, { input: { id: 'nope', isActive: true } });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.setRulesetActive).toEqual({
      __typename: 'ValidationError',
      code: 'VALIDATION',
      message: 'Invalid input: id: Not a Ruleset ID',
    });
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
