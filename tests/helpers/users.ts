import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { expect } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { stableUuid } from '../../src/db/seed.js';
import { TEST_JWT_SECRET, type TestApp } from './app.js';
import { query } from './db.js';

// Users made through the API and the races of the administration tests (users-mutations,
// review-admin, review-admin-2): a user's bearer header, a new user of the test clinic, and a
// lock held from the owner's own connection that requests queue behind.

export const TEST_CLINIC = stableUuid('tenant', 'test-clinic');

/** The `Authorization` header of the subject `authId` of `tenantId`, signed with the test secret. */
export async function bearerFor(authId: string, tenantId = TEST_CLINIC): Promise<string> {
  return `Bearer ${await signToken(TEST_JWT_SECRET, { authId, tenantId }, { tenantClaim: 'tenant_id' })}`;
}

const CREATE_USER = `mutation ($input: CreateUserInput!) { createUser(input: $input) { __typename
  ... on CreateUserPayload { user { id } } } }`;

export interface CreatedUser {
  /** Global ID. */
  id: string;
  uuid: string;
  authId: string;
  authorization: string;
}

/** A new user of the test clinic with `role`, created by its ADMIN through the API. */
export async function createUserAsAdmin(app: TestApp, role: string): Promise<CreatedUser> {
  const authId = `test|${randomUUID()}`;
  const res = await app.gql<{ createUser: { user?: { id: string } } }>(
    CREATE_USER,
    { input: { email: `${randomUUID()}@test-clinic.com`, role, authId } },
    { email: 'admin@test-clinic.com' },
  );
  const id = res.body.data?.createUser.user?.id as string;
  expect(id, JSON.stringify(res.body)).toEqual(expect.any(String));
  return {
    id,
    uuid: Buffer.from(id, 'base64').toString().split(':')[1] as string,
    authId,
    authorization: await bearerFor(authId),
  };
}

/** The `__typename` of a response's first root field, or its first error's code. */
export function rootResult(body: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] }) {
  const result = Object.values((body.data ?? {}) as Record<string, { __typename?: string } | null>)[0];
  return result?.__typename ?? String(body.errors?.[0]?.extensions?.code);
}

/** Resolves once `n` backends of the app's database wait for a lock. */
export async function waitForLockWaiters(app: TestApp, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await query<{ n: number }>(
      app.db.ownerUrl,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if ((row?.n ?? 0) >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never ${n} backends waiting for a lock`);
}

/** Runs `sql` (one that takes a lock) in a transaction of the owner's own, held until `release()`. */
export async function holdLock(app: TestApp, sql: string, params: unknown[] = [], tenantId = TEST_CLINIC) {
  const client = new pg.Client({ connectionString: app.db.ownerUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
  await client.query(sql, params);
  return {
    async release() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

/**
 * Holds the tenant's change-feed counter row, which every write of the tenant locks first: the
 * requests sent meanwhile queue behind it in the order sent.
 */
export function holdTenantWrites(app: TestApp, tenantId = TEST_CLINIC) {
  return holdLock(app, 'SELECT 1 FROM change_cursors WHERE tenant_id = $1 FOR UPDATE', [tenantId], tenantId);
}
