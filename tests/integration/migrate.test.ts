import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { deployMigrations, MIGRATIONS_DIR, readMigrations } from '../../src/db/migrate.js';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase; // cloned from the run's template: already migrated once by the same runner
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

test('records every migration in _prisma_migrations the way Prisma Migrate does', async () => {
  const rows = await query(
    db.ownerUrl,
    'SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name',
  );
  const migrations = await readMigrations();
  expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
  for (const [i, row] of rows.entries()) {
    const file = await readFile(path.join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
    expect(row.finished_at).toBeInstanceOf(Date);
    expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    expect(row.applied_steps_count).toBe(1);
    expect(row.logs).toBeNull();
    expect(row.rolled_back_at).toBeNull();
    expect(row.checksum).toBe(migrations[i]?.checksum);
  }
  // The table itself is Prisma's: same columns, types and nullability.
  const columns = await query(
    db.ownerUrl,
    `SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns
     WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
  );
  expect(
    columns.map(
      (c) =>
        `${c.column_name} ${c.data_type}${c.character_maximum_length ? `(${c.character_maximum_length})` : ''} ${c.is_nullable}`,
    ),
  ).toEqual([
    'id character varying(36) NO',
    'checksum character varying(64) NO',
    'finished_at timestamp with time zone YES',
    'migration_name character varying(255) NO',
    'logs text YES',
    'rolled_back_at timestamp with time zone YES',
    'started_at timestamp with time zone NO',
    'applied_steps_count integer NO',
  ]);
});

test('deploying again changes nothing', async () => {
  const before = await query(db.ownerUrl, 'SELECT * FROM "_prisma_migrations" ORDER BY id');
  const result = await deployMigrations(db.ownerUrl);
  expect(result.applied).toEqual([]);
  expect(result.alreadyApplied).toHaveLength(before.length);
  expect(await query(db.ownerUrl, 'SELECT * FROM "_prisma_migrations" ORDER BY id')).toEqual(before);
});

test('a failing migration leaves the database as it was and names the migration and the SQL error', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  try {
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    const broken = path.join(dir, '29990101000000_broken');
    await cp(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
    await rm(broken, { recursive: true, force: true });
    await cp(path.join(dir, '20261122000000_init'), broken, { recursive: true });
    // The first statement succeeds, the second fails: the first must not survive.
    await writeFile(
      path.join(broken, 'migration.sql'),
      'CREATE TABLE "half_done" (id int);\nALTER TABLE "no_such_table" ADD COLUMN x int;\n',
    );
    await expect(deployMigrations(db.ownerUrl, { dir })).rejects.toThrow(
      /Migration 29990101000000_broken failed and was rolled back: relation "no_such_table" does not exist/,
    );
    expect(await query(db.ownerUrl, "SELECT to_regclass('half_done') AS t")).toEqual([{ t: null }]);
    expect(
      await query(
        db.ownerUrl,
        `SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990101000000_broken'`,
      ),
    ).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('applies a new migration and only that one', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-'));
  try {
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await cp(path.join(dir, '20261122000000_init'), path.join(dir, '29990101000001_extra'), {
      recursive: true,
    });
    await writeFile(
      path.join(dir, '29990101000001_extra', 'migration.sql'),
      'CREATE TABLE "extra" (id int);\n',
    );
    const result = await deployMigrations(db.ownerUrl, { dir });
    expect(result.applied).toEqual(['29990101000001_extra']);
    expect(await query(db.ownerUrl, "SELECT to_regclass('extra')::text AS t")).toEqual([{ t: 'extra' }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
