import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { hashMemberId } from '../../src/domain/member-id.js';
import type { CaseStatus } from '../../src/domain/vocabulary.js';
import { CASE_REOPENINGS, CASE_TRANSITIONS } from '../../src/domain/workflow.js';
import { startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const gid = (type: string, id: string) => encodeGlobalID(type, id);
const STATUSES: CaseStatus[] = ['pending', 'approved', 'denied', 'more_info_needed'];

const CREATE = /* GraphQL */ `
  mutation ($input: CreateCaseInput!) {
    createCase(input: $input) {
      __typename
      ... on CreateCasePayload { case { id uuid memberIdHash payer status priority diagnosisCodes codes { code codeType } createdBy { email } } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { code message }
    }
  }`;
const TRANSITION = /* GraphQL */ `
  mutation ($input: TransitionCaseStatusInput!) {
    transitionCaseStatus(input: $input) {
      __typename
      ... on TransitionCaseStatusPayload { case { status } }
      ... on InvalidTransitionError { from to }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { code message }
    }
  }`;

const validCase = (extra: Record<string, unknown> = {}) => ({
  memberId: ' mbr-123 ',
  payer: 'Aetna',
  codes: [{ codeType: 'CPT', code: ' 72148 ' }],
  diagnosisCodes: ['m54.5'],
  confidence: { overall: 0.9, fields: { payer: 0.95 } },
  extractedData: { notes: 'clinical text' },
  ...extra,
});

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const counts = async () =>
  (
    await query(
      app.db.ownerUrl,
      `SELECT (SELECT count(*) FROM cases)::int AS cases, (SELECT count(*) FROM case_codes)::int AS codes,
              (SELECT count(*) FROM audit_logs)::int AS audits, (SELECT count(*) FROM events)::int AS events`,
    )
  )[0];

async function newCase(extra: Record<string, unknown> = {}) {
  const res = await app.gql<{ createCase: { __typename: string; case: { id: string; uuid: string } } }>(
    CREATE,
    {
      input: validCase(extra),
    },
  );
  expect(res.body.data?.createCase.__typename).toBe('CreateCasePayload');
  return res.body.data?.createCase.case as { id: string; uuid: string };
}

describe('createCase', () => {
  test('hashes the member id, normalises codes, audits without the clinical text', async () => {
    const res = await app.gql(CREATE, { input: validCase() }, { email: 'clinician@test-clinic.com' });
    const created = (res.body.data as { createCase: { case: Record<string, unknown> } }).createCase.case;
    expect(created).toMatchObject({
      memberIdHash: hashMemberId(TEST_MEMBER_ID_HASH_KEY, A, 'MBR-123'),
      payer: 'Aetna',
      status: 'PENDING',
      priority: 'NORMAL',
      diagnosisCodes: ['M54.5'],
      codes: [{ code: '72148', codeType: 'CPT' }],
      createdBy: { email: 'clinician@test-clinic.com' },
    });
    const rows = await query(
      app.db.ownerUrl,
      'SELECT row_to_json(c)::text AS row FROM cases c WHERE id = $1',
      [created.uuid],
    );
    expect(rows[0]?.row).not.toMatch(/mbr-123/i);
    const [audit] = await query(
      app.db.ownerUrl,
      'SELECT action, changes FROM audit_logs WHERE entity_id = $1',
      [created.uuid],
    );
    expect(audit?.action).toBe('create');
    expect(audit?.changes.before).toBeNull();
    expect(audit?.changes.after).toMatchObject({
      payer: 'Aetna',
      status: 'PENDING',
      codes: [{ codeType: 'CPT', code: '72148' }],
    });
    expect(JSON.stringify(audit?.changes)).not.toMatch(/clinical text|mbr-123/i);
    expect(
      await query(app.db.ownerUrl, 'SELECT event_type FROM events WHERE entity_id = $1', [created.uuid]),
    ).toEqual([{ event_type: 'case.created' }]);
  });

  test('every bad field is reported with its path inside input, and nothing is written', async () => {
    const before = await counts();
    const res = await app.gql<{
      createCase: { __typename: string; fieldErrors: { path: string[]; message: string }[] };
    }>(CREATE, {
      input: validCase({
        memberIdHash: 'also given',
        payer: '  ',
        codes: [
          { codeType: 'CPT', code: '72148' },
          { codeType: 'HCPCS', code: ' ', confidence: 1.5 },
        ],
        confidence: { overall: 2 },
        ingestionId: 'garbage',
      }),
    });
    expect(res.body.data?.createCase.__typename).toBe('ValidationError');
    const paths = res.body.data?.createCase.fieldErrors.map((e) => e.path.join('.')).sort();
    expect(paths).toEqual([
      'codes.1.code',
      'codes.1.confidence',
      'confidence.overall',
      'ingestionId',
      'memberId',
      'memberIdHash',
      'payer',
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/mbr-123/i);
    expect(await counts()).toEqual(before);
  });

  test('an ingestion of another tenant is NotFoundError', async () => {
    const [other] = await query(app.db.ownerUrl, 'SELECT id FROM ingestions WHERE tenant_id = $1 LIMIT 1', [
      B,
    ]);
    const res = await app.gql(CREATE, { input: validCase({ ingestionId: gid('Ingestion', other?.id) }) });
    expect(res.body.data).toEqual({
      createCase: { __typename: 'NotFoundError', code: 'NOT_FOUND', message: 'Ingestion not found' },
    });
  });

  test('STAFF may not create cases: FORBIDDEN with the field path, nothing written', async () => {
    const before = await counts();
    const res = await app.gql(CREATE, { input: validCase() }, { email: 'staff@test-clinic.com' });
    expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['FORBIDDEN', ['createCase']],
    ]);
    expect(await counts()).toEqual(before);
  });
});

describe('transitionCaseStatus', () => {
  const rows = STATUSES.flatMap((from) =>
    STATUSES.map(
      (to) => [from, to, CASE_TRANSITIONS[from].includes(to), CASE_REOPENINGS[from].includes(to)] as const,
    ),
  );

  test.each(rows)('%s → %s (allowed %s, reopening %s)', async (from, to, allowed, reopening) => {
    const created = await newCase();
    await query(app.db.ownerUrl, 'UPDATE cases SET status = $2::varchar WHERE id = $1', [created.uuid, from]);
    const run = (email: string, reason?: string) =>
      app.gql<{ transitionCaseStatus: Record<string, unknown> }>(
        TRANSITION,
        { input: { id: created.id, status: to.toUpperCase(), reason } },
        { email },
      );
    if (allowed) {
      const res = await run('clinician@test-clinic.com');
      expect(res.body.data?.transitionCaseStatus).toEqual({
        __typename: 'TransitionCaseStatusPayload',
        case: { status: to.toUpperCase() },
      });
      const [event] = await query(
        app.db.ownerUrl,
        "SELECT metadata FROM events WHERE entity_id = $1 AND event_type = 'case.status_changed'",
        [created.uuid],
      );
      expect(event?.metadata).toEqual({ from: from.toUpperCase(), to: to.toUpperCase() });
    } else if (reopening) {
      const byClinician = await run('clinician@test-clinic.com', 'payer reconsidered');
      expect(byClinician.body.data?.transitionCaseStatus).toMatchObject({
        __typename: 'InvalidTransitionError',
        from: from.toUpperCase(),
        to: 'PENDING',
      });
      const noReason = await run('admin@test-clinic.com', '   ');
      expect(noReason.body.data?.transitionCaseStatus).toMatchObject({
        __typename: 'ValidationError',
        fieldErrors: [{ path: ['reason'] }],
      });
      const ok = await run('admin@test-clinic.com', 'payer reconsidered');
      expect(ok.body.data?.transitionCaseStatus).toEqual({
        __typename: 'TransitionCaseStatusPayload',
        case: { status: 'PENDING' },
      });
      const [event] = await query(
        app.db.ownerUrl,
        "SELECT metadata FROM events WHERE entity_id = $1 AND event_type = 'case.status_changed'",
        [created.uuid],
      );
      expect(event?.metadata).toEqual({
        from: from.toUpperCase(),
        to: 'PENDING',
        reason: 'payer reconsidered',
      });
    } else {
      const before = await counts();
      const res = await run('admin@test-clinic.com', 'any');
      expect(res.body.data?.transitionCaseStatus).toMatchObject({
        __typename: 'InvalidTransitionError',
        from: from.toUpperCase(),
        to: to.toUpperCase(),
        code: 'INVALID_TRANSITION',
      });
      expect(await counts()).toEqual(before);
    }
  });

  test('ten concurrent transitions of one case: exactly one succeeds, exactly one event', async () => {
    const created = await newCase();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        app.gql<{ transitionCaseStatus: { __typename: string } }>(TRANSITION, {
          input: { id: created.id, status: i % 2 ? 'APPROVED' : 'DENIED' },
        }),
      ),
    );
    const ok = results.filter(
      (r) => r.body.data?.transitionCaseStatus.__typename === 'TransitionCaseStatusPayload',
    );
    expect(ok).toHaveLength(1);
    expect(
      await query(
        app.db.ownerUrl,
        "SELECT count(*)::int AS n FROM events WHERE entity_id = $1 AND event_type = 'case.status_changed'",
        [created.uuid],
      ),
    ).toEqual([{ n: 1 }]);
  });
});

describe('updateCase, codes, deleteCase', () => {
  test('updateCase writes only what changed; a stale expectedUpdatedAt is ConflictError', async () => {
    const created = await newCase();
    const UPDATE = `mutation ($input: UpdateCaseInput!) { updateCase(input: $input) { __typename ... on UpdateCasePayload { case { payer priority metadata updatedAt } } ... on Error { code } } }`;
    const res = await app.gql<{ updateCase: { case: { updatedAt: string } } }>(UPDATE, {
      input: { id: created.id, payer: 'Cigna', priority: 'URGENT', metadata: { fax: true } },
    });
    expect(res.body.data?.updateCase).toMatchObject({
      __typename: 'UpdateCasePayload',
      case: { payer: 'Cigna', priority: 'URGENT', metadata: { fax: true } },
    });
    const [audit] = await query(
      app.db.ownerUrl,
      "SELECT changes FROM audit_logs WHERE entity_id = $1 AND action = 'update'",
      [created.uuid],
    );
    expect(audit?.changes).toEqual({
      before: { payer: 'Aetna', priority: 'NORMAL', metadata: null },
      after: { payer: 'Cigna', priority: 'URGENT', metadata: { fax: true } },
    });
    const stale = await app.gql(UPDATE, {
      input: { id: created.id, payer: 'Humana', expectedUpdatedAt: '2001-01-01T00:00:00.000Z' },
    });
    expect(stale.body.data).toEqual({ updateCase: { __typename: 'ConflictError', code: 'CONFLICT' } });
    const fresh = await app.gql(UPDATE, {
      input: { id: created.id, payer: 'Humana', expectedUpdatedAt: res.body.data?.updateCase.case.updatedAt },
    });
    expect(fresh.body.data).toMatchObject({
      updateCase: { __typename: 'UpdateCasePayload', case: { payer: 'Humana' } },
    });
  });

  test('addCaseCode and removeCaseCode audit the case code', async () => {
    const created = await newCase();
    const add = await app.gql<{ addCaseCode: { caseCode: { id: string; uuid: string } } }>(
      `mutation ($input: AddCaseCodeInput!) { addCaseCode(input: $input) { __typename ... on AddCaseCodePayload { case { codes { code } } caseCode { id uuid code } } } }`,
      { input: { caseId: created.id, code: { codeType: 'HCPCS', code: 'e0601' } } },
    );
    expect(add.body.data?.addCaseCode).toMatchObject({
      __typename: 'AddCaseCodePayload',
      case: { codes: [{ code: '72148' }, { code: 'E0601' }] },
      caseCode: { code: 'E0601' },
    });
    const codeId = add.body.data?.addCaseCode.caseCode.id as string;
    const remove = await app.gql(
      `mutation ($input: RemoveCaseCodeInput!) { removeCaseCode(input: $input) { __typename ... on RemoveCaseCodePayload { removedId case { codes { code } } } } }`,
      { input: { id: codeId } },
    );
    expect(remove.body.data).toEqual({
      removeCaseCode: {
        __typename: 'RemoveCaseCodePayload',
        removedId: codeId,
        case: { codes: [{ code: '72148' }] },
      },
    });
    const trail = await query(
      app.db.ownerUrl,
      "SELECT a.action, e.event_type FROM audit_logs a JOIN events e ON e.entity_id = a.entity_id AND e.created_at >= a.created_at - interval '1 second' WHERE a.entity_id = $1 ORDER BY a.created_at",
      [add.body.data?.addCaseCode.caseCode.uuid],
    );
    expect(trail.map((r) => r.action)).toContain('create');
    expect(trail.map((r) => r.action)).toContain('delete');
  });

  test('deleteCase is ADMIN only; it removes the case with its codes and tasks', async () => {
    const created = await newCase();
    const DELETE = `mutation ($input: DeleteCaseInput!) { deleteCase(input: $input) { __typename ... on DeleteCasePayload { deletedId } ... on Error { code } } }`;
    const refused = await app.gql(
      DELETE,
      { input: { id: created.id } },
      { email: 'clinician@test-clinic.com' },
    );
    expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const res = await app.gql(DELETE, { input: { id: created.id } });
    expect(res.body.data).toEqual({ deleteCase: { __typename: 'DeleteCasePayload', deletedId: created.id } });
    expect(
      await query(app.db.ownerUrl, 'SELECT count(*)::int AS n FROM case_codes WHERE case_id = $1', [
        created.uuid,
      ]),
    ).toEqual([{ n: 0 }]);
    const again = await app.gql(DELETE, { input: { id: created.id } });
    expect(again.body.data).toEqual({ deleteCase: { __typename: 'NotFoundError', code: 'NOT_FOUND' } });
  });

  test('another tenant’s case is NotFoundError for every case mutation, and stays unchanged', async () => {
    const [other] = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1',
      [B],
    );
    const id = gid('Case', other?.id as string);
    const before = await query(
      app.db.ownerUrl,
      'SELECT row_to_json(c)::text AS row FROM cases c WHERE id = $1',
      [other?.id],
    );
    const results = await Promise.all([
      app.gql(`mutation { updateCase(input: { id: "${id}", payer: "X" }) { __typename } }`),
      app.gql(`mutation { transitionCaseStatus(input: { id: "${id}", status: APPROVED }) { __typename } }`),
      app.gql(
        `mutation { addCaseCode(input: { caseId: "${id}", code: { codeType: CPT, code: "1" } }) { __typename } }`,
      ),
      app.gql(`mutation { deleteCase(input: { id: "${id}" }) { __typename } }`),
    ]);
    for (const res of results)
      expect(Object.values(res.body.data ?? {})).toEqual([{ __typename: 'NotFoundError' }]);
    expect(
      await query(app.db.ownerUrl, 'SELECT row_to_json(c)::text AS row FROM cases c WHERE id = $1', [
        other?.id,
      ]),
    ).toEqual(before);
  });
});
