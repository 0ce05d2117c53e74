import { createHmac } from 'node:crypto';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import {
  CaseDetailDocument,
  CreateCaseDocument,
  CreateIngestionDocument,
  CreateTaskDocument,
  TransitionIngestionStatusDocument,
  type TypedDocumentString,
} from '../generated/graphql/graphql.js';
import { startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { ALL_TABLES, query } from '../helpers/db.js';
import { executeTyped } from '../helpers/typed-documents.js';

// The intake story of issue 16, end to end through HTTP, with the operations of docs/examples/ as
// the typed client has them: the intake pipeline (a SERVICE token) records an e-mail, works on it,
// creates the case it extracted (a raw member id, hashed as for any case) with a review task, and
// completes the ingestion; a CLINICIAN then works from the case, and the audit trail names the
// service as the actor of every write.

const A = stableUuid('tenant', 'test-clinic');
const INTAKE = 'intake@test-clinic.com';
const CLINICIAN = 'clinician@test-clinic.com';
const ADMIN = 'admin@test-clinic.com';
/** The raw member id the pipeline read off the fax: it must end up nowhere. */
const RAW_MEMBER_ID = ' mbr-intake-4417 ';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

/** A generated document as `email`: tests/helpers/typed-documents.ts. */
function execute<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: NoInfer<TVariables>,
  email: string,
): Promise<TResult> {
  return executeTyped(app, document, variables, email);
}

/** The payload of a mutation result, or the test fails naming the error it was. */
function payload<R extends { __typename: string }, N extends R['__typename']>(
  result: R,
  typename: N,
): Extract<R, { __typename: N }> {
  expect(result.__typename, JSON.stringify(result)).toBe(typename);
  return result as Extract<R, { __typename: N }>;
}

const uuidOf = (globalId: string) => decodeGlobalID(globalId).id;

test('the intake service turns an e-mail into a case with a review task; a clinician takes it from there', async () => {
  // 1. The e-mail arrives: PENDING, then PROCESSING while the pipeline extracts it.
  const created = await execute(
    CreateIngestionDocument,
    {
      input: {
        sourceType: 'EMAIL',
        sourceMetadata: { subject: 'Prior auth request: MRI lumbar spine', attachments: 1 },
        storagePath: 's3://intake/2026/12/referral-4417.eml',
      },
    },
    INTAKE,
  );
  const ingestion = payload(created.createIngestion, 'CreateIngestionPayload').ingestion;
  expect(ingestion.status).toBe('PENDING');
  const processing = await execute(
    TransitionIngestionStatusDocument,
    { input: { id: ingestion.id, status: 'PROCESSING', expectedUpdatedAt: ingestion.updatedAt } },
    INTAKE,
  );
  expect(
    payload(processing.transitionIngestionStatus, 'TransitionIngestionStatusPayload').ingestion,
  ).toMatchObject({ status: 'PROCESSING', errorMessage: null, cases: { totalCount: 0 } });

  // 2. What it extracted becomes a case of that ingestion, with a review task.
  const extractedData = {
    procedure: 'MRI lumbar spine',
    provider: 'Dr. Example',
    notes: 'radicular pain 8 weeks',
  };
  const caseResult = await execute(
    CreateCaseDocument,
    {
      input: {
        memberId: RAW_MEMBER_ID,
        payer: 'Aetna',
        priority: 'HIGH',
        diagnosisCodes: ['m54.16'],
        codes: [{ codeType: 'CPT', code: ' 72148 ', confidence: 0.93 }],
        confidence: { overall: 0.88, fields: { payer: 0.97, memberId: 0.9 } },
        extractedData,
        ingestionId: ingestion.id,
      },
    },
    INTAKE,
  );
  const newCase = payload(caseResult.createCase, 'CreateCasePayload').case;
  // Hashed as API.md says for any case: HMAC-SHA256 over `<tenant uuid>:<trimmed, upper-cased id>`.
  const expectedHash = createHmac('sha256', Buffer.from(TEST_MEMBER_ID_HASH_KEY, 'utf8'))
    .update(`${A}:MBR-INTAKE-4417`)
    .digest('hex');
  expect(newCase).toMatchObject({
    payer: 'Aetna',
    status: 'PENDING',
    priority: 'HIGH',
    memberIdHash: expectedHash,
  });
  expect(newCase.codes.map((c) => [c.codeType, c.code])).toEqual([['CPT', '72148']]);
  const [stored] = await query(
    app.db.ownerUrl,
    'SELECT member_id_hash, ingestion_id, created_by FROM cases WHERE id = $1',
    [uuidOf(newCase.id)],
  );
  expect(stored).toEqual({
    member_id_hash: expectedHash,
    ingestion_id: uuidOf(ingestion.id),
    created_by: stableUuid('test-clinic', 'user', 'intake'),
  });

  const taskResult = await execute(
    CreateTaskDocument,
    { input: { caseId: newCase.id, title: 'Review extracted case', priority: 'HIGH' } },
    INTAKE,
  );
  const task = payload(taskResult.createTask, 'CreateTaskPayload').task;
  expect(task).toMatchObject({ title: 'Review extracted case', status: 'PENDING', assignee: null });

  // 3. Done: the ingestion is COMPLETED and lists its case.
  const completed = await execute(
    TransitionIngestionStatusDocument,
    { input: { id: ingestion.id, status: 'COMPLETED' } },
    INTAKE,
  );
  const done = payload(completed.transitionIngestionStatus, 'TransitionIngestionStatusPayload').ingestion;
  expect(done).toMatchObject({ status: 'COMPLETED', cases: { totalCount: 1 } });
  expect(done.cases.edges.map((e) => e.node.id)).toEqual([newCase.id]);

  // The raw member id is stored nowhere: not in the case, its audit or event rows, nor anywhere else.
  for (const table of ALL_TABLES) {
    const [found] = await query<{ n: number }>(
      app.db.ownerUrl,
      `SELECT count(*)::int AS n FROM ${table} t WHERE row_to_json(t)::text ILIKE $1`,
      [`%${RAW_MEMBER_ID.trim()}%`],
    );
    expect(found?.n, table).toBe(0);
  }

  // 4. A clinician sees the case, extracted data included, its task, and the ingestion's cases.
  const detail = await execute(CaseDetailDocument, { id: newCase.id }, CLINICIAN);
  expect(detail.case).toMatchObject({
    id: newCase.id,
    memberIdHash: expectedHash,
    extractedData,
    createdBy: { email: INTAKE, role: 'SERVICE' },
    ingestion: { id: ingestion.id, status: 'COMPLETED', sourceType: 'EMAIL', errorMessage: null },
    tasks: { totalCount: 1 },
  });
  expect(detail.case?.tasks.edges[0]?.node).toMatchObject({ id: task.id, title: 'Review extracted case' });
  const seen = await app.gql<{ node: { status: string; cases: { edges: { node: { id: string } }[] } } }>(
    /* GraphQL */ `query ($id: ID!) { node(id: $id) { ... on Ingestion { status cases { edges { node { id } } } } } }`,
    { id: ingestion.id },
    { email: CLINICIAN },
  );
  expect(seen.body).toEqual({
    data: { node: { status: 'COMPLETED', cases: { edges: [{ node: { id: newCase.id } }] } } },
  });

  // 5. The audit trail, as an ADMIN reads it: every write of the story was the intake service's;
  // the one who read the extracted data was the clinician.
  const trailOf = async (entityId: string) => {
    const res = await app.gql<{
      auditLogs: {
        edges: { node: { action: string; entityType: string; user: { email: string } | null } }[];
      };
    }>(
      /* GraphQL */ `query ($entityId: UUID) { auditLogs(first: 100, entityId: $entityId) {
        edges { node { action entityType user { email } } } } }`,
      { entityId },
      { email: ADMIN },
    );
    expect(res.body.errors).toBeUndefined();
    return (
      (res.body.data?.auditLogs.edges ?? [])
        .map((edge) => edge.node)
        .map((row) => [row.action, row.entityType, row.user?.email])
        // Not by time: two writes may share a millisecond.
        .sort()
    );
  };
  expect(await trailOf(uuidOf(ingestion.id))).toEqual([
    ['CREATE', 'ingestion', INTAKE],
    ['UPDATE', 'ingestion', INTAKE],
    ['UPDATE', 'ingestion', INTAKE],
  ]);
  expect(await trailOf(uuidOf(newCase.id))).toEqual([
    ['CREATE', 'case', INTAKE],
    ['VIEW', 'case', CLINICIAN],
  ]);
  expect(await trailOf(uuidOf(task.id))).toEqual([['CREATE', 'task', INTAKE]]);
});

test('the intake service may not update or transition a case, nor read the audit trail', async () => {
  const [row] = await query<{ id: string }>(
    app.db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1',
    [A],
  );
  const caseId = encodeGlobalID('Case', row?.id as string);
  const counts = () =>
    query(
      app.db.ownerUrl,
      'SELECT (SELECT count(*) FROM audit_logs)::int AS a, (SELECT count(*) FROM events)::int AS e',
    );
  const before = await counts();
  for (const [document, variables, field] of [
    [
      'mutation ($input: UpdateCaseInput!) { updateCase(input: $input) { __typename } }',
      { input: { id: caseId, payer: 'Changed by intake' } },
      'updateCase',
    ],
    [
      'mutation ($input: TransitionCaseStatusInput!) { transitionCaseStatus(input: $input) { __typename } }',
      { input: { id: caseId, status: 'APPROVED' } },
      'transitionCaseStatus',
    ],
    ['{ auditLogs(first: 1) { totalCount } }', {}, 'auditLogs'],
  ] as const) {
    const res = await app.gql(document, variables, { email: INTAKE });
    expect(res.body.data, field).toBeNull();
    expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', [field]]]);
  }
  expect(await counts()).toEqual(before);
});

test('each case of the intake service names the ingestion it came from; an ADMIN’s need not', async () => {
  const input = {
    memberId: 'M-NO-SOURCE',
    payer: 'Aetna',
    confidence: { overall: 0.9 },
    extractedData: { note: 'x' },
  };
  const create = `mutation ($input: CreateCaseInput!) { createCase(input: $input) {
    __typename ... on ValidationError { fieldErrors { path message } } } }`;
  const service = await app.gql<{ createCase: { __typename: string; fieldErrors?: unknown } }>(
    create,
    { input },
    { email: INTAKE },
  );
  expect(service.body.data?.createCase).toEqual({
    __typename: 'ValidationError',
    fieldErrors: [
      {
        path: ['ingestionId'],
        message: 'is required of the intake SERVICE: a case names the ingestion it came from',
      },
    ],
  });
  const admin = await app.gql<{ createCase: { __typename: string } }>(
    create,
    { input },
    { email: 'admin@test-clinic.com' },
  );
  expect(admin.body.data?.createCase.__typename).toBe('CreateCasePayload');
});
