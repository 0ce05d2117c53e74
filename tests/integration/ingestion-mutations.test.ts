import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { INGESTION_STATUSES, type IngestionStatus } from '../../src/domain/vocabulary.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// createIngestion and transitionIngestionStatus (API.md, "Administration and intake"): the
// workflow, the input rules, the audit and event rows, optimistic and concurrent writes, tenants
// and roles. The intake pipeline's whole story is intake.test.ts.

const A = stableUuid('tenant', 'test-clinic');
const userId = (local: string) => stableUuid('test-clinic', 'user', local);
const INTAKE = 'intake@test-clinic.com';

/** The workflow as API.md states it; anything else, same-state moves included, is refused. */
const ALLOWED: [IngestionStatus, IngestionStatus][] = [
  ['pending', 'processing'],
  ['pending', 'failed'],
  ['processing', 'completed'],
  ['processing', 'failed'],
  ['processing', 'pending'],
  ['failed', 'pending'],
];

const INGESTION = 'id uuid sourceType sourceMetadata storagePath status errorMessage updatedAt';
const CREATE = /* GraphQL */ `
  mutation ($input: CreateIngestionInput!) {
    createIngestion(input: $input) {
      __typename
      ... on CreateIngestionPayload { ingestion { ${INGESTION} } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { code message }
    }
  }`;
const TRANSITION = /* GraphQL */ `
  mutation ($input: TransitionIngestionStatusInput!) {
    transitionIngestionStatus(input: $input) {
      __typename
      ... on TransitionIngestionStatusPayload { ingestion { ${INGESTION} } }
      ... on InvalidTransitionError { from to }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { code message }
    }
  }`;

interface IngestionRow {
  id: string;
  uuid: string;
  sourceType: string;
  sourceMetadata: unknown;
  storagePath: string | null;
  status: string;
  errorMessage: string | null;
  updatedAt: string;
}
interface Result {
  __typename: string;
  ingestion?: IngestionRow;
  from?: string;
  to?: string;
  code?: string;
  fieldErrors?: { path: string[]; message: string }[];
}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const sql = (text: string, values: unknown[] = []) => query(app.db.ownerUrl, text, values);
/** How many ingestions, audit rows and events there are. */
async function written(): Promise<{ ingestions: number; audits: number; events: number }> {
  const [counts] = await sql(
    `SELECT (SELECT count(*) FROM ingestions)::int AS ingestions,
            (SELECT count(*) FROM audit_logs)::int AS audits, (SELECT count(*) FROM events)::int AS events`,
  );
  return counts as { ingestions: number; audits: number; events: number };
}
/** `counts` after one more write of an existing ingestion: one audit row, one event. */
const oneMoreWrite = (counts: Awaited<ReturnType<typeof written>>) => ({
  ...counts,
  audits: counts.audits + 1,
  events: counts.events + 1,
});

async function create(input: Record<string, unknown>, email = INTAKE): Promise<Result> {
  const res = await app.gql<{ createIngestion: Result }>(CREATE, { input }, { email });
  expect(res.body.errors).toBeUndefined();
  return res.body.data?.createIngestion as Result;
}

async function transition(input: Record<string, unknown>, email = INTAKE): Promise<Result> {
  const res = await app.gql<{ transitionIngestionStatus: Result }>(TRANSITION, { input }, { email });
  expect(res.body.errors).toBeUndefined();
  return res.body.data?.transitionIngestionStatus as Result;
}

/** The moves that take a new (PENDING) ingestion to each status. */
const PATH_TO: Record<IngestionStatus, IngestionStatus[]> = {
  pending: [],
  processing: ['processing'],
  failed: ['failed'],
  completed: ['processing', 'completed'],
};

/** A new ingestion, moved through the API to `status`. */
async function ingestionIn(status: IngestionStatus): Promise<IngestionRow> {
  const created = await create({ sourceType: 'PDF', sourceMetadata: { filename: 'fax.pdf' } });
  let row = created.ingestion as IngestionRow;
  for (const next of PATH_TO[status]) {
    const moved = await transition({
      id: row.id,
      status: next.toUpperCase(),
      ...(next === 'failed' ? { errorMessage: 'unreadable' } : {}),
    });
    row = moved.ingestion as IngestionRow;
  }
  expect(row.status).toBe(status.toUpperCase());
  return row;
}

describe('createIngestion', () => {
  test('a PENDING ingestion, trimmed, with its audit and event rows written in its transaction', async () => {
    const metadata = { subject: 'Referral: MRI', from: 'fax@clinic.example', pages: [1, 2] };
    const created = await create({
      sourceType: 'EMAIL',
      sourceMetadata: metadata,
      storagePath: '  s3://intake/2026/12/04/abc.eml ',
    });
    expect(created.__typename).toBe('CreateIngestionPayload');
    const ingestion = created.ingestion as IngestionRow;
    expect(ingestion).toMatchObject({
      sourceType: 'EMAIL',
      sourceMetadata: metadata,
      storagePath: 's3://intake/2026/12/04/abc.eml',
      status: 'PENDING',
      errorMessage: null,
    });
    expect(ingestion.id).toBe(encodeGlobalID('Ingestion', ingestion.uuid));
    // `xmin`, the id of the transaction that wrote a row, is the same on the ingestion, its audit
    // row and its event: one transaction (the operation's only mutation runs in no savepoint, whose
    // subtransaction would have an id of its own).
    const [row] = await sql(
      'SELECT tenant_id, status, source_type, xmin::text AS tx FROM ingestions WHERE id = $1',
      [ingestion.uuid],
    );
    expect(row).toMatchObject({ tenant_id: A, status: 'pending', source_type: 'email' });
    const audits = await sql(
      'SELECT user_id, action, entity_type, changes, xmin::text AS tx FROM audit_logs WHERE entity_id = $1',
      [ingestion.uuid],
    );
    expect(audits).toEqual([
      {
        user_id: userId('intake'),
        action: 'create',
        entity_type: 'ingestion',
        tx: row?.tx,
        changes: {
          before: null,
          after: {
            sourceType: 'EMAIL',
            sourceMetadata: metadata,
            storagePath: 's3://intake/2026/12/04/abc.eml',
            status: 'PENDING',
            errorMessage: null,
          },
        },
      },
    ]);
    const events = await sql(
      'SELECT user_id, event_type, entity_type, case_id, metadata, xmin::text AS tx FROM events WHERE entity_id = $1',
      [ingestion.uuid],
    );
    expect(events).toEqual([
      {
        user_id: userId('intake'),
        event_type: 'ingestion.created',
        entity_type: 'ingestion',
        case_id: null,
        metadata: { sourceType: 'EMAIL' },
        tx: row?.tx,
      },
    ]);
  });

  test('storagePath: absent, whitespace-only and 1,024 characters are fine; 1,025 is refused', async () => {
    for (const [given, stored] of [
      [undefined, null],
      ['   ', null],
      ['p'.repeat(1024), 'p'.repeat(1024)],
    ] as const) {
      const created = await create({ sourceType: 'PDF', sourceMetadata: {}, storagePath: given });
      expect(created.ingestion?.storagePath).toBe(stored);
    }
    const before = await written();
    const refused = await create({ sourceType: 'PDF', sourceMetadata: {}, storagePath: 'p'.repeat(1025) });
    expect(refused).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    expect(refused.fieldErrors?.map((e) => e.path)).toEqual([['storagePath']]);
    expect(await written()).toEqual(before);
  });

  test('sourceMetadata: an object of at most 256 KiB; an array, a scalar or 256 KiB + 1 byte is refused', async () => {
    // `{"a":"…"}` is 8 bytes around the string.
    const exactly = { a: 'x'.repeat(256 * 1024 - 8) };
    expect(Buffer.byteLength(JSON.stringify(exactly))).toBe(256 * 1024);
    const accepted = await create({ sourceType: 'EMAIL', sourceMetadata: exactly });
    expect(accepted.__typename).toBe('CreateIngestionPayload');

    const before = await written();
    for (const [metadata, message] of [
      [{ a: 'x'.repeat(256 * 1024 - 7) }, 'must be at most 256 KiB of JSON'],
      [{ a: 'x'.repeat(257 * 1024) }, 'must be at most 256 KiB of JSON'],
      [[{ subject: 'a list' }], 'must be a JSON object'],
      ['a string', 'must be a JSON object'],
      [42, 'must be a JSON object'],
    ] as const) {
      const refused = await create({ sourceType: 'EMAIL', sourceMetadata: metadata });
      expect(refused).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
      expect(refused.fieldErrors).toEqual([{ path: ['sourceMetadata'], message }]);
    }
    expect(await written()).toEqual(before);
  });
});

describe('transitionIngestionStatus', () => {
  const pairs = INGESTION_STATUSES.flatMap((from) => INGESTION_STATUSES.map((to) => [from, to] as const));

  test.each(pairs)(
    '%s → %s: as the workflow says, audited in its transaction, or refused writing nothing',
    async (from, to) => {
      const row = await ingestionIn(from);
      const allowed = ALLOWED.some(([f, t]) => f === from && t === to);
      const before = await written();
      const result = await transition({
        id: row.id,
        status: to.toUpperCase(),
        ...(to === 'failed' ? { errorMessage: '  Attachment could not be read ' } : {}),
      });
      if (!allowed) {
        expect(result).toMatchObject({
          __typename: 'InvalidTransitionError',
          code: 'INVALID_TRANSITION',
          from: from.toUpperCase(),
          to: to.toUpperCase(),
        });
        expect(await written()).toEqual(before);
        const [unchanged] = await sql('SELECT status FROM ingestions WHERE id = $1', [row.uuid]);
        expect(unchanged?.status).toBe(from);
        return;
      }
      const errorMessage = to === 'failed' ? 'Attachment could not be read' : null;
      expect(result.ingestion).toMatchObject({ status: to.toUpperCase(), errorMessage });
      const [stored] = await sql(
        'SELECT status, error_message, xmin::text AS tx FROM ingestions WHERE id = $1',
        [row.uuid],
      );
      expect(stored).toMatchObject({ status: to, error_message: errorMessage });
      const [audit] = await sql(
        `SELECT user_id, action, entity_type, changes, xmin::text AS tx FROM audit_logs
        WHERE entity_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
        [row.uuid],
      );
      // Leaving FAILED clears the message: the audit row shows it go.
      const messageChange =
        from === 'failed'
          ? { before: { errorMessage: 'unreadable' }, after: { errorMessage: null } }
          : to === 'failed'
            ? { before: { errorMessage: null }, after: { errorMessage } }
            : { before: {}, after: {} };
      expect(audit).toEqual({
        user_id: userId('intake'),
        action: 'update',
        entity_type: 'ingestion',
        tx: stored?.tx,
        changes: {
          before: { status: from.toUpperCase(), ...messageChange.before },
          after: { status: to.toUpperCase(), ...messageChange.after },
        },
      });
      const [event] = await sql(
        `SELECT event_type, entity_type, case_id, metadata, xmin::text AS tx FROM events
        WHERE entity_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
        [row.uuid],
      );
      expect(event).toEqual({
        event_type: 'ingestion.status_changed',
        entity_type: 'ingestion',
        case_id: null,
        metadata: { from: from.toUpperCase(), to: to.toUpperCase() },
        tx: stored?.tx,
      });
      expect(await written()).toEqual(oneMoreWrite(before));
    },
  );

  test('errorMessage: required (not blank) when moving to FAILED, bounded, refused for any other move', async () => {
    const row = await ingestionIn('processing');
    const before = await written();
    for (const [status, errorMessage, message] of [
      ['FAILED', undefined, 'is required when moving to FAILED'],
      ['FAILED', null, 'is required when moving to FAILED'],
      ['FAILED', ' \n\t ', 'is required when moving to FAILED'],
      ['FAILED', 'e'.repeat(10_001), 'must be at most 10000 characters'],
      ['COMPLETED', 'all good', 'may be given only when moving to FAILED'],
      ['PENDING', 'retry', 'may be given only when moving to FAILED'],
    ] as const) {
      const refused = await transition({ id: row.id, status, errorMessage });
      expect(refused).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
      expect(refused.fieldErrors).toEqual([{ path: ['errorMessage'], message }]);
    }
    // Every mistake at once: a malformed id beside a missing message.
    const both = await transition({ id: 'not-an-id', status: 'FAILED' });
    expect(both.fieldErrors?.map((e) => e.path)).toEqual([['id'], ['errorMessage']]);
    expect(await written()).toEqual(before);
    // A blank message beside a move that needs none counts as absent.
    const moved = await transition({ id: row.id, status: 'COMPLETED', errorMessage: '  ' });
    expect(moved.ingestion).toMatchObject({ status: 'COMPLETED', errorMessage: null });
    const longest = await ingestionIn('pending');
    const failed = await transition({ id: longest.id, status: 'FAILED', errorMessage: 'e'.repeat(10_000) });
    expect(failed.ingestion?.errorMessage).toHaveLength(10_000);
  });

  test('expectedUpdatedAt: the current value moves it; a stale one is a ConflictError writing nothing', async () => {
    const row = await ingestionIn('pending');
    const stale = new Date(Date.parse(row.updatedAt) - 1).toISOString();
    const before = await written();
    const refused = await transition({ id: row.id, status: 'PROCESSING', expectedUpdatedAt: stale });
    expect(refused).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect(await written()).toEqual(before);
    const moved = await transition({ id: row.id, status: 'PROCESSING', expectedUpdatedAt: row.updatedAt });
    expect(moved.ingestion?.status).toBe('PROCESSING');
  });

  test('two concurrent moves from one state: exactly one wins, the other is refused and writes nothing', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 4; round++) {
      const row = await ingestionIn('pending');
      const before = await written();
      // Round 0, 1: the same move twice. Round 2, 3: two different moves, each expecting the row it read.
      const moves =
        round < 2
          ? [{ status: 'PROCESSING' }, { status: 'PROCESSING' }]
          : [
              { status: 'PROCESSING', expectedUpdatedAt: row.updatedAt },
              { status: 'FAILED', errorMessage: 'timed out', expectedUpdatedAt: row.updatedAt },
            ];
      const results = await Promise.all(moves.map((move) => transition({ id: row.id, ...move })));
      const winners = results.filter((r) => r.__typename === 'TransitionIngestionStatusPayload');
      const losers = results.filter((r) => r.__typename !== 'TransitionIngestionStatusPayload');
      expect(winners).toHaveLength(1);
      expect(['InvalidTransitionError', 'ConflictError']).toContain(losers[0]?.__typename);
      outcomes.add(losers[0]?.__typename as string);
      const [stored] = await sql('SELECT status FROM ingestions WHERE id = $1', [row.uuid]);
      expect(stored?.status).toBe(winners[0]?.ingestion?.status.toLowerCase());
      expect(await written()).toEqual(oneMoreWrite(before));
    }
    console.info(`concurrent ingestion moves: the losers were ${[...outcomes].join(' and ')}`);
  });
});

describe('tenants and roles', () => {
  test("another tenant's ingestion is a NotFoundError, and stays as it was", async () => {
    const row = await ingestionIn('pending');
    const before = await written();
    for (const email of ['admin@second-clinic.com', 'intake@second-clinic.com']) {
      const refused = await transition({ id: row.id, status: 'PROCESSING' }, email);
      expect(refused).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
    expect(await written()).toEqual(before);
    const [stored] = await sql('SELECT status FROM ingestions WHERE id = $1', [row.uuid]);
    expect(stored?.status).toBe('pending');
  });

  test('an ADMIN may do what the intake service does; STAFF and CLINICIAN are FORBIDDEN', async () => {
    const row = await ingestionIn('pending');
    const created = await create({ sourceType: 'PDF', sourceMetadata: {} }, 'admin@test-clinic.com');
    expect(created.__typename).toBe('CreateIngestionPayload');
    const moved = await transition({ id: row.id, status: 'PROCESSING' }, 'admin@test-clinic.com');
    expect(moved.ingestion?.status).toBe('PROCESSING');

    const before = await written();
    for (const email of ['staff@test-clinic.com', 'clinician@test-clinic.com']) {
      for (const [document, input, name] of [
        [CREATE, { sourceType: 'PDF', sourceMetadata: {} }, 'createIngestion'],
        [TRANSITION, { id: row.id, status: 'COMPLETED' }, 'transitionIngestionStatus'],
      ] as const) {
        const res = await app.gql(document, { input }, { email });
        expect(res.body.data).toBeNull();
        expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', [name]]]);
      }
    }
    expect(await written()).toEqual(before);
  });
});
