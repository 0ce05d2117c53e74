import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from './app.js';
import { query } from './db.js';

// What the list tests (integration/lists*.test.ts) share: users, ingestions, events, auditLogs and
// Case.events. Every expectation is computed independently in SQL, as the owner.

/** Test Clinic: the tenant the tests act in. */
export const A = stableUuid('tenant', 'test-clinic');
/** Second Clinic: the other tenant, whose rows must never show. */
export const B = stableUuid('tenant', 'second-clinic');
export const gid = (type: string, id: string) => encodeGlobalID(type, id);
const ADMIN = { email: 'admin@test-clinic.com' };
export const CLINICIAN = { email: 'clinician@test-clinic.com' };
export const STAFF = { email: 'staff@test-clinic.com' };

type ListName = 'users' | 'ingestions' | 'events' | 'auditLogs';
export const TABLE: Record<ListName, string> = {
  users: 'users',
  ingestions: 'ingestions',
  events: 'events',
  auditLogs: 'audit_logs',
};

export interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: { uuid: string } }[];
}

/** The test file's app, started by `useListsApp` (importers see it once the file's tests run). */
export let app: TestApp;
/** Test Clinic's cases, newest first. */
export let caseIds: string[];

/** Starts the test file's seeded app with audit rows and events written through the API; closes it after. */
export function useListsApp(): void {
  beforeAll(async () => {
    app = await startTestApp();
    caseIds = (
      await query<{ id: string }>(
        app.db.ownerUrl,
        'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC',
        [A],
      )
    ).map((r) => r.id);
    // The seed writes no audit rows: make some through the API. Each createTask writes a `create`
    // audit row and a `task.created` event; the transition an `update`; reading extractedData as a
    // CLINICIAN one `view` row per case.
    for (const title of ['First', 'Second', 'Third']) {
      const res = await app.gql<{ createTask: { task: { id: string } } }>(
        /* GraphQL */ `mutation ($input: CreateTaskInput!) {
          createTask(input: $input) { ... on CreateTaskPayload { task { id } } }
        }`,
        { input: { caseId: gid('Case', caseIds[0] as string), title } },
      );
      const taskId = res.body.data?.createTask.task.id as string;
      if (title === 'First') {
        await app.gql(
          /* GraphQL */ `mutation ($input: TransitionTaskStatusInput!) {
            transitionTaskStatus(input: $input) { __typename }
          }`,
          { input: { id: taskId, status: 'IN_PROGRESS' } },
        );
      }
    }
    await app.gql(`{ cases(first: 3) { edges { node { extractedData } } } }`, {}, CLINICIAN);
  });
  afterAll(() => app?.close());
}

/** A literal argument list: strings quoted, enum names (UPPER_CASE) bare. */
function literal(args: Record<string, string | number | undefined>): string {
  return Object.entries(args)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === 'string' && !/^[A-Z_]+$/.test(v) ? JSON.stringify(v) : v}`)
    .join(', ');
}

export async function page(
  list: ListName,
  args: Record<string, string | number | undefined>,
  as = ADMIN,
): Promise<Page> {
  const res = await app.gql<Record<string, Page>>(
    `{ ${list}(${literal(args)}) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { uuid } }
      } }`,
    {},
    as,
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data?.[list] as Page;
}

/** The ids SQL lists for `table` in the API's order (created_at DESC, id DESC). */
export async function sqlIds(
  table: string,
  where = 'TRUE',
  params: unknown[] = [],
  tenant = A,
): Promise<string[]> {
  const rows = await query<{ id: string }>(
    app.db.ownerUrl,
    `SELECT id FROM ${table} WHERE tenant_id = $1 AND (${where}) ORDER BY created_at DESC, id DESC`,
    [tenant, ...params],
  );
  return rows.map((r) => r.id);
}

export async function expectList(
  list: ListName,
  args: Record<string, string | undefined>,
  where: string,
  params: unknown[] = [],
) {
  const expected = await sqlIds(TABLE[list], where, params);
  const got = await page(list, { ...args, first: 100 });
  expect(got.edges.map((e) => e.node.uuid)).toEqual(expected);
  expect(got.totalCount).toBe(expected.length);
  return expected;
}

/** SQL statements the server sends while `fn` runs (the test app records them). */
export async function statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  app.statements.length = 0;
  const result = await fn();
  return { result, sql: [...app.statements] };
}

// ---- rows inserted behind the API's back, at a chosen instant (millisecond precision) --------

export async function insertRow(list: ListName, createdAt: Date, tenant = A): Promise<string> {
  const id = randomUUID();
  const at = createdAt.toISOString();
  const sql: Record<ListName, [string, unknown[]]> = {
    users: [
      `INSERT INTO users (id, tenant_id, email, name, role, created_at, updated_at)
       VALUES ($1, $2, $3, 'Inserted', 'staff', $4, $4)`,
      [id, tenant, `inserted-${id}@example.com`, at],
    ],
    ingestions: [
      `INSERT INTO ingestions (id, tenant_id, source_type, source_metadata, status, created_at, updated_at)
       VALUES ($1, $2, 'email', '{}', 'pending', $3, $3)`,
      [id, tenant, at],
    ],
    events: [
      `INSERT INTO events (id, tenant_id, event_type, entity_type, entity_id, created_at)
       VALUES ($1, $2, 'test.inserted', 'case', $3, $4)`,
      [id, tenant, randomUUID(), at],
    ],
    auditLogs: [
      `INSERT INTO audit_logs (id, tenant_id, action, entity_type, entity_id, created_at)
       VALUES ($1, $2, 'view', 'case', $3, $4)`,
      [id, tenant, randomUUID(), at],
    ],
  };
  const [text, params] = sql[list];
  await query(app.db.ownerUrl, text, params);
  return id;
}

export const LISTS: ListName[] = ['users', 'ingestions', 'events', 'auditLogs'];
