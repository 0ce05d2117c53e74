import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { withCredentials } from '../../src/db/roles.js';

/** Every table of the datamodel, `tenants` first: snapshots and fingerprints of a whole database. */
export const ALL_TABLES = [
  'tenants',
  'users',
  'ingestions',
  'cases',
  'case_codes',
  'tasks',
  'rulesets',
  'events',
  'audit_logs',
  'change_cursors',
] as const;

/** The login the server connects as in tests: a member of prior_auth_app, nothing more. */
export const TEST_RUNTIME_LOGIN = { user: 'prior_auth_test_runtime', password: 'test-runtime' };

export interface TestDatabase {
  name: string;
  /** The role that owns the schema (the run's admin): migrations, seed, direct checks. */
  ownerUrl: string;
  /** The runtime login: RLS applies. */
  runtimeUrl: string;
  drop(): Promise<void>;
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, migrated, empty database of this test file's own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `pa_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await query(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  const ownerUrl = databaseUrl(adminUrl, name);
  return {
    name,
    ownerUrl,
    runtimeUrl: withCredentials(ownerUrl, TEST_RUNTIME_LOGIN.user, TEST_RUNTIME_LOGIN.password),
    drop: () => query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
  };
}

/** One statement on its own connection. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The global ID of the tenant's first case by id: a case the seed made, for tests that write to one. */
export async function firstCaseId(ownerUrl: string, tenantId: string): Promise<string> {
  const [row] = await query<{ id: string }>(
    ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1',
    [tenantId],
  );
  if (!row) throw new Error('the tenant has no case');
  return Buffer.from(`Case:${row.id}`).toString('base64');
}
