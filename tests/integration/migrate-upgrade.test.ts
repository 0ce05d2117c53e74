import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { deployMigrations, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { withCredentials } from '../../src/db/roles.js';
import { ALL_TABLES, databaseUrl, query, TEST_RUNTIME_LOGIN } from '../helpers/db.js';

// Issue 16: `npm run db:deploy` on a database the previous release migrated and wrote to. The
// previous release is every migration before the administration one; its rows are written here
// with plain SQL (the seed of this release writes the new role), so the new migration meets real
// rows: its CHECK is validated against them and its index built over them.

const NEW_MIGRATION = '20261206000000_administration';
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

const CLINIC = '00000000-0000-4000-8000-00000000a000';
const OTHER_CLINIC = '00000000-0000-4000-8000-00000000b000';
const ADMIN = '00000000-0000-4000-8000-00000000a001';
const CLINICIAN = '00000000-0000-4000-8000-00000000a002';
const STAFF = '00000000-0000-4000-8000-00000000a003';
const INVITED = '00000000-0000-4000-8000-00000000a004'; // never signed in: no subject yet
const OTHER_ADMIN = '00000000-0000-4000-8000-00000000b001';
const INGESTION = '00000000-0000-4000-8000-00000000a101';
const CASE = '00000000-0000-4000-8000-00000000a201';
const TASK = '00000000-0000-4000-8000-00000000a301';

const PREVIOUS_RELEASE_ROWS = /* SQL */ `
INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES
  ('${CLINIC}', 'upgrade-clinic', 'Upgrade Clinic', '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z');
INSERT INTO users (id, tenant_id, email, name, role, auth_id, created_at, updated_at) VALUES
  ('${ADMIN}', '${CLINIC}', 'admin@upgrade.test', 'Ada Admin', 'admin', 'prev|admin', '2026-11-01T09:01:00Z', '2026-11-01T09:01:00Z'),
  ('${CLINICIAN}', '${CLINIC}', 'clinician@upgrade.test', 'Cleo Clinician', 'clinician', 'prev|clinician', '2026-11-01T09:02:00Z', '2026-11-01T09:02:00Z'),
  ('${STAFF}', '${CLINIC}', 'staff@upgrade.test', NULL, 'staff', 'prev|staff', '2026-11-01T09:03:00Z', '2026-11-01T09:03:00Z'),
  ('${INVITED}', '${CLINIC}', 'invited@upgrade.test', NULL, 'clinician', NULL, '2026-11-01T09:04:00Z', '2026-11-01T09:04:00Z');
INSERT INTO ingestions (id, tenant_id, source_type, source_metadata, storage_path, status, created_at, updated_at) VALUES
  ('${INGESTION}', '${CLINIC}', 'pdf', '{"pages": 3}', 'ingestions/upgrade/1', 'completed', '2026-11-01T10:00:00Z', '2026-11-01T10:05:00Z');
INSERT INTO cases (id, tenant_id, ingestion_id, created_by, member_id_hash, payer, status, priority,
                   diagnosis_codes, confidence_json, extracted_data, created_at, updated_at) VALUES
  ('${CASE}', '${CLINIC}', '${INGESTION}', '${CLINICIAN}', 'hash-of-a-member-id', 'Aetna', 'pending', 'high',
   '{M54.5}', '{"payer": 0.9}', '{"procedure": "MRI"}', '2026-11-01T10:06:00Z', '2026-11-01T10:06:00Z');
INSERT INTO case_codes (id, case_id, tenant_id, code_type, code, confidence, created_at) VALUES
  ('00000000-0000-4000-8000-00000000a202', '${CASE}', '${CLINIC}', 'CPT', '72148', 0.95, '2026-11-01T10:06:00Z');
INSERT INTO tasks (id, case_id, tenant_id, assigned_to, title, status, priority, created_at, updated_at) VALUES
  ('${TASK}', '${CASE}', '${CLINIC}', '${STAFF}', 'Call the payer', 'in_progress', 'normal', '2026-11-01T10:07:00Z', '2026-11-01T10:08:00Z');
INSERT INTO events (id, tenant_id, user_id, event_type, entity_type, entity_id, action, case_id, assignee_ids, created_at) VALUES
  ('00000000-0000-4000-8000-00000000a401', '${CLINIC}', '${CLINICIAN}', 'case.created', 'case', '${CASE}', 'create', '${CASE}', NULL, '2026-11-01T10:06:00Z'),
  ('00000000-0000-4000-8000-00000000a402', '${CLINIC}', '${ADMIN}', 'task.created', 'task', '${TASK}', 'create', '${CASE}', '{${STAFF}}', '2026-11-01T10:07:00Z');
INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, changes, created_at) VALUES
  ('00000000-0000-4000-8000-00000000a501', '${CLINIC}', '${CLINICIAN}', 'create', 'case', '${CASE}', '{"status": "pending"}', '2026-11-01T10:06:00Z');
`;

const OTHER_CLINIC_ROWS = /* SQL */ `
INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES
  ('${OTHER_CLINIC}', 'other-clinic', 'Other Clinic', '2026-11-01T09:00:00Z', '2026-11-01T09:00:00Z');
INSERT INTO users (id, tenant_id, email, role, auth_id, created_at, updated_at) VALUES
  ('${OTHER_ADMIN}', '${OTHER_CLINIC}', 'admin@other.test', 'admin', 'prev|other-admin', '2026-11-01T09:01:00Z', '2026-11-01T09:01:00Z');
`;

const adminUrl = inject('adminUrl');
const name = `pa_test_upgrade_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const ownerUrl = databaseUrl(adminUrl, name);
const runtimeUrl = withCredentials(ownerUrl, TEST_RUNTIME_LOGIN.user, TEST_RUNTIME_LOGIN.password);

/**
 * Statements as the owner inside `tenantId`: row-level security is forced on the owner too (a
 * superuser would pass it anyway, but TEST_DATABASE_URL need not be one).
 */
async function asOwner<R>(tenantId: string, work: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(`SELECT set_config('app.tenant_id', $1, false)`, [tenantId]);
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Every row of every table, tenant by tenant: what the upgrade must leave as it was. */
async function snapshot(): Promise<Record<string, pg.QueryResultRow[]>> {
  const tables: Record<string, pg.QueryResultRow[]> = {};
  for (const tenantId of [CLINIC, OTHER_CLINIC]) {
    await asOwner(tenantId, async (client) => {
      for (const table of ALL_TABLES) {
        // The filter as well as the setting: a superuser owner is not bound by the policies.
        const tenantColumn = table === 'tenants' ? 'id' : 'tenant_id';
        const { rows } = await client.query(
          `SELECT * FROM ${table} WHERE ${tenantColumn} = $1 ORDER BY ${table === 'change_cursors' ? 'tenant_id' : 'id'}`,
          [tenantId],
        );
        tables[table] = [...(tables[table] ?? []), ...rows];
      }
    });
  }
  return tables;
}

/** One transaction as the server's login (a member of prior_auth_app) inside `tenantId`. */
async function asRuntime<R>(tenantId: string, work: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: runtimeUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end(); // an open transaction (a failed statement) ends with the connection
  }
}

/** The previous release's call, as src/db/tenant.ts makes it: `SELECT *`, columns by name. */
async function beginRequest(tenantId: string, authId: string) {
  const client = new pg.Client({ connectionString: runtimeUrl });
  await client.connect();
  try {
    const result = await client.query('SELECT * FROM begin_request($1::uuid, $2, 5000)', [tenantId, authId]);
    return { columns: result.fields.map((f) => f.name), rows: result.rows };
  } finally {
    await client.end();
  }
}

let before: Record<string, pg.QueryResultRow[]>;
let deploy: { stdout: string; stderr: string };
beforeAll(async () => {
  await query(adminUrl, `CREATE DATABASE ${name}`);
  const previousRelease = await mkdtemp(path.join(os.tmpdir(), 'previous-release-'));
  try {
    await cp(MIGRATIONS_DIR, previousRelease, { recursive: true });
    await rm(path.join(previousRelease, NEW_MIGRATION), { recursive: true });
    await deployMigrations(ownerUrl, { dir: previousRelease });
  } finally {
    await rm(previousRelease, { recursive: true, force: true });
  }
  await asOwner(CLINIC, (client) => client.query(PREVIOUS_RELEASE_ROWS));
  await asOwner(OTHER_CLINIC, (client) => client.query(OTHER_CLINIC_ROWS));
  before = await snapshot();
  // The command an operator runs, with only what it needs in its environment.
  deploy = await promisify(execFile)('npm', ['run', '--silent', 'db:deploy'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DIRECT_DATABASE_URL: ownerUrl },
  });
});
afterAll(() => query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

test('npm run db:deploy applies the administration migration, and only it, over the previous release', async () => {
  expect(deploy).toEqual({
    stdout: `applied migration ${NEW_MIGRATION}\n1 migration(s) applied, 8 already applied\n`,
    stderr: '',
  });
  const recorded = await query(
    ownerUrl,
    'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY started_at',
  );
  expect(recorded.at(-1)).toEqual({ migration_name: NEW_MIGRATION });
  expect(recorded).toHaveLength(9);
  // The same runner in-process finds nothing left to do.
  expect((await deployMigrations(ownerUrl)).applied).toEqual([]);
});

test("the previous release's rows are unchanged, every old user is active, and every tenant has its counter row", async () => {
  const after = await snapshot();
  expect(after).toEqual({
    ...before,
    users: before.users?.map((user) => ({ ...user, deactivated_at: null })),
    // The clinic that never wrote had none: the writes' lock (and the last-ADMIN rule) need it.
    change_cursors: [...(before.change_cursors ?? []), { tenant_id: OTHER_CLINIC, last: '0' }],
  });
  expect(after.users).toHaveLength(5);
  expect(before.change_cursors?.map((row) => row.tenant_id)).toEqual([CLINIC]);
});

test('begin_request keeps its call shape, finds every old user, and refuses a deactivated one', async () => {
  for (const [authId, id, role] of [
    ['prev|admin', ADMIN, 'admin'],
    ['prev|clinician', CLINICIAN, 'clinician'],
    ['prev|staff', STAFF, 'staff'],
  ] as const) {
    expect(await beginRequest(CLINIC, authId)).toEqual({
      columns: ['id', 'tenant_id', 'role'],
      rows: [{ id, tenant_id: CLINIC, role }],
    });
  }
  // Another tenant's user is not found under this tenant.
  expect((await beginRequest(CLINIC, 'prev|other-admin')).rows).toEqual([]);

  const setDeactivated = (at: string | null) =>
    asRuntime(CLINIC, (c) =>
      c.query('UPDATE users SET deactivated_at = $1, updated_at = now() WHERE id = $2', [at, STAFF]),
    );
  await setDeactivated('2026-12-06T12:00:00Z');
  expect((await beginRequest(CLINIC, 'prev|staff')).rows).toEqual([]);
  await setDeactivated(null);
  expect((await beginRequest(CLINIC, 'prev|staff')).rows).toEqual([
    { id: STAFF, tenant_id: CLINIC, role: 'staff' },
  ]);
});

test("the role CHECK admits 'service' and still refuses any other new role", async () => {
  const insertUser = (role: string) =>
    asRuntime(CLINIC, (c) =>
      c.query(
        `INSERT INTO users (id, tenant_id, email, role, auth_id, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, $4, now())`,
        [CLINIC, `${role}@upgrade.test`, role, `client|${role}`],
      ),
    );
  await insertUser('service');
  expect((await beginRequest(CLINIC, 'client|service')).rows).toEqual([
    { id: expect.any(String), tenant_id: CLINIC, role: 'service' },
  ]);
  await expect(insertUser('superuser')).rejects.toMatchObject({
    code: '23514',
    constraint: 'users_role_check',
  });
  await expect(insertUser('ADMIN')).rejects.toMatchObject({ code: '23514' });
});

test('prior_auth_app gets exactly the new writes, and row-level security still confines them to app.tenant_id', async () => {
  const denied = { code: '42501' }; // insufficient_privilege, and an RLS WITH CHECK refusal
  const inClinic = (sql: string, params: unknown[] = []) => asRuntime(CLINIC, (c) => c.query(sql, params));

  await inClinic(
    `INSERT INTO ingestions (id, tenant_id, source_type, source_metadata, status, updated_at)
     VALUES (gen_random_uuid(), $1, 'email', '{}', 'pending', now())`,
    [CLINIC],
  );
  expect(
    (
      await inClinic(
        `UPDATE ingestions SET status = 'failed', error_message = 'unreadable', updated_at = now()
                     WHERE id = $1`,
        [INGESTION],
      )
    ).rowCount,
  ).toBe(1);
  expect(
    (
      await inClinic(`UPDATE users SET name = 'Ada', role = 'admin', updated_at = now() WHERE id = $1`, [
        ADMIN,
      ])
    ).rowCount,
  ).toBe(1);

  // Never a user's email, tenant or subject, never an ingestion's tenant, never a delete.
  await expect(
    inClinic(`UPDATE users SET email = 'x@upgrade.test' WHERE id = $1`, [ADMIN]),
  ).rejects.toMatchObject(denied);
  await expect(
    inClinic('UPDATE users SET tenant_id = $1 WHERE id = $2', [OTHER_CLINIC, ADMIN]),
  ).rejects.toMatchObject(denied);
  await expect(inClinic(`UPDATE users SET auth_id = 'stolen' WHERE id = $1`, [ADMIN])).rejects.toMatchObject(
    denied,
  );
  await expect(
    inClinic('UPDATE ingestions SET tenant_id = $1 WHERE id = $2', [OTHER_CLINIC, INGESTION]),
  ).rejects.toMatchObject(denied);
  await expect(inClinic('DELETE FROM users WHERE id = $1', [INVITED])).rejects.toMatchObject(denied);

  // Another tenant's rows: invisible, untouchable, and not to be created.
  expect((await inClinic('SELECT DISTINCT tenant_id FROM users')).rows).toEqual([{ tenant_id: CLINIC }]);
  expect((await inClinic(`UPDATE users SET role = 'staff' WHERE id = $1`, [OTHER_ADMIN])).rowCount).toBe(0);
  expect(
    (await inClinic('UPDATE users SET deactivated_at = now() WHERE id = $1', [OTHER_ADMIN])).rowCount,
  ).toBe(0);
  await expect(
    inClinic(
      `INSERT INTO users (id, tenant_id, email, role, updated_at) VALUES (gen_random_uuid(), $1, 'x@other.test', 'admin', now())`,
      [OTHER_CLINIC],
    ),
  ).rejects.toMatchObject({ ...denied, message: expect.stringMatching(/row-level security/) });
  await expect(
    inClinic(
      `INSERT INTO ingestions (id, tenant_id, source_type, source_metadata, status, updated_at)
       VALUES (gen_random_uuid(), $1, 'pdf', '{}', 'pending', now())`,
      [OTHER_CLINIC],
    ),
  ).rejects.toMatchObject({ ...denied, message: expect.stringMatching(/row-level security/) });
  const otherAdmin = await asOwner(OTHER_CLINIC, (client) =>
    client.query('SELECT role, deactivated_at FROM users WHERE id = $1', [OTHER_ADMIN]),
  );
  expect(otherAdmin.rows).toEqual([{ role: 'admin', deactivated_at: null }]);
});
