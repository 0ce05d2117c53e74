import { readFileSync } from 'node:fs';
import wasm from '@prisma/prisma-schema-wasm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';

// A freshly migrated database must be exactly what prisma/schema.prisma declares: Prisma's own
// schema parser (the WebAssembly build the CLI uses) gives the datamodel, pg_catalog the database.

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isUpdatedAt: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string }[];
}

const dmmf = JSON.parse(
  wasm.get_dmmf(JSON.stringify({ prismaSchema: readFileSync('prisma/schema.prisma', 'utf8') })),
) as { datamodel: { models: DmmfModel[]; indexes: DmmfIndex[] } };
const models = dmmf.datamodel.models;
const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
const columnOf = (model: DmmfModel, fieldName: string) => {
  const field = model.fields.find((f) => f.name === fieldName);
  if (!field) throw new Error(`${model.name}.${fieldName} is not a field`);
  return field.dbName ?? field.name;
};

const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Uuid: () => 'uuid',
  VarChar: ([n]) => `character varying(${n})`,
  Text: () => 'text',
  Timestamptz: ([p]) => `timestamp(${p}) with time zone`,
  JsonB: () => 'jsonb',
  DoublePrecision: () => 'double precision',
};
const DEFAULT_TYPES: Record<string, string> = {
  Boolean: 'boolean',
  String: 'text',
  Int: 'integer',
  Json: 'jsonb',
};

function expectedType(field: DmmfField): string {
  const [name, args] = field.nativeType ?? [undefined, []];
  const base = name ? NATIVE_TYPES[name]?.(args) : DEFAULT_TYPES[field.type];
  if (!base) throw new Error(`no mapping for ${field.type} ${name}`);
  return field.isList ? `${base}[]` : base;
}

/** The column default PostgreSQL reports for a Prisma @default (client-side ones have none). */
function expectedDefault(field: DmmfField): string | null {
  const value = field.default;
  if (value === undefined || field.isUpdatedAt) return null;
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const fn = (value as { name: string }).name;
    if (fn === 'now') return 'CURRENT_TIMESTAMP';
    if (fn === 'uuid' || fn === 'cuid') return null;
    throw new Error(`no mapping for default ${fn}()`);
  }
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return `'${value}'::character varying`;
  throw new Error(`no mapping for default ${JSON.stringify(value)}`);
}

const ON_DELETE: Record<string, string> = {
  c: 'Cascade',
  n: 'SetNull',
  a: 'NoAction',
  r: 'Restrict',
  d: 'SetDefault',
};

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

test('the database has exactly the tables of the datamodel (and Prisma Migrate’s own)', async () => {
  const rows = await query<{ tablename: string }>(
    db.ownerUrl,
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
  );
  expect(rows.map((r) => r.tablename).sort()).toEqual([...models.map(tableOf), '_prisma_migrations'].sort());
});

describe.each(models.map((m) => [m.name, m] as const))('%s', (_name, model) => {
  const table = tableOf(model);

  test('columns: names, types, nullability, defaults', async () => {
    const rows = await query<{ column: string; type: string; notnull: boolean; default: string | null }>(
      db.ownerUrl,
      `SELECT a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
              pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname`,
      [table],
    );
    const expected = model.fields
      .filter((f) => f.kind !== 'object')
      .map((f) => ({
        column: f.dbName ?? f.name,
        type: expectedType(f),
        // Prisma keeps scalar list columns nullable
        notnull: f.isRequired && !f.isList,
        default: expectedDefault(f),
      }))
      .sort((a, b) => a.column.localeCompare(b.column));
    expect(rows).toEqual(expected);
  });

  test('indexes, unique constraints and primary key', async () => {
    const rows = await query<{ unique: boolean; primary: boolean; columns: string[] }>(
      db.ownerUrl,
      `SELECT i.indisunique AS unique, i.indisprimary AS primary,
              array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS columns
       FROM pg_index i WHERE i.indrelid = $1::regclass`,
      [table],
    );
    const key = (r: { unique: boolean; primary: boolean; columns: string[] }) =>
      `${r.primary ? 'id' : r.unique ? 'unique' : 'normal'}(${r.columns.join(',')})`;
    const expected = dmmf.datamodel.indexes
      .filter((i) => i.model === model.name)
      .map((i) => `${i.type}(${i.fields.map((f) => columnOf(model, f.name)).join(',')})`);
    // @unique on a field is an index of type "unique" defined on the field
    expect(rows.map(key).sort()).toEqual(expected.sort());
  });

  test('foreign keys: columns, referenced table and columns, ON DELETE', async () => {
    const rows = await query<{ columns: string[]; ref: string; refColumns: string[]; onDelete: string }>(
      db.ownerUrl,
      `SELECT array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS columns,
              c.confrelid::regclass::text AS ref,
              array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n)::text[] AS "refColumns",
              c.confdeltype AS "onDelete"
       FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = $1::regclass`,
      [table],
    );
    const actual = rows.map(
      (r) =>
        `(${r.columns.join(',')}) -> ${r.ref}(${r.refColumns.join(',')}) ON DELETE ${ON_DELETE[r.onDelete]}`,
    );
    const expected = model.fields
      .filter((f) => f.kind === 'object' && f.relationFromFields?.length)
      .map((f) => {
        const target = models.find((m) => m.name === f.type) as DmmfModel;
        const from = (f.relationFromFields ?? []).map((n) => columnOf(model, n));
        const to = (f.relationToFields ?? []).map((n) => columnOf(target, n));
        return `(${from.join(',')}) -> ${tableOf(target)}(${to.join(',')}) ON DELETE ${f.relationOnDelete ?? 'NoAction'}`;
      });
    expect(actual.sort()).toEqual(expected.sort());
  });
});

test('composite foreign keys keep references inside one tenant', async () => {
  const [a, b] = ['00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b'];
  const user = '00000000-0000-4000-8000-0000000000a1';
  // As the owner (superuser: RLS does not apply), so only the foreign keys can refuse.
  await query(
    db.ownerUrl,
    `INSERT INTO tenants (id, slug, name, updated_at) VALUES ($1, 'a', 'A', now()), ($2, 'b', 'B', now());
     INSERT INTO users (id, tenant_id, email, role, updated_at) VALUES ($3, $1, 'u@a.com', 'admin', now());`.replaceAll(
      /\$(\d)/g,
      (_, n) => `'${[a, b, user][Number(n) - 1]}'`,
    ),
  );
  // A case of tenant B created by tenant A's user: refused.
  await expect(
    query(
      db.ownerUrl,
      `INSERT INTO cases (id, tenant_id, created_by, member_id_hash, payer, status, confidence_json, extracted_data, updated_at)
       VALUES (gen_random_uuid(), $1, $2, 'h', 'P', 'pending', '{}', '{}', now())`,
      [b, user],
    ),
  ).rejects.toThrow(/cases_created_by_tenant_id_fkey/);
});

test('vocabulary columns refuse values outside the plan’s (CHECK constraints)', async () => {
  await expect(
    query(
      db.ownerUrl,
      `INSERT INTO tenants (id, slug, name, updated_at) VALUES ('00000000-0000-4000-8000-0000000000c1', 'c', 'C', now());
       INSERT INTO users (id, tenant_id, email, role, updated_at)
       VALUES (gen_random_uuid(), '00000000-0000-4000-8000-0000000000c1', 'x@c.com', 'superadmin', now())`,
    ),
  ).rejects.toThrow(/users_role_check/);
});
