import type { GraphQLEnumType } from 'graphql';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MODELS } from '../../src/compiled/models.js';
import { CHECKED_COLUMNS } from '../../src/domain/vocabulary.js';
import { schema } from '../../src/schema/index.js';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';

// The vocabularies of src/domain/vocabulary.ts are the CHECK constraints of the migrations: the
// words the database admits in each column, neither more nor fewer. The GraphQL enums and the
// compiled SQL's enum literals take their words from there too.

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

/** The words of the CHECK constraints on `table.column`: `col IN ('a', 'b')` however PostgreSQL prints it. */
async function checkedWords(table: string, column: string): Promise<string[]> {
  const rows = await query<{ definition: string }>(
    db.ownerUrl,
    `SELECT pg_get_constraintdef(c.oid) AS definition
     FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
     WHERE c.contype = 'c' AND c.conrelid = $1::regclass AND a.attname = $2`,
    [table, column],
  );
  return rows
    .flatMap((row) => [...row.definition.matchAll(/'([^']*)'::/g)].map((m) => m[1] as string))
    .sort();
}

test.each(
  Object.entries(CHECKED_COLUMNS).flatMap(([model, fields]) =>
    Object.entries(fields).map(([field, words]) => [`${model}.${field}`, model, field, words] as const),
  ),
)('%s: the CHECK constraint admits exactly the vocabulary', async (_name, model, field, words) => {
  const table = MODELS[model]?.table as string;
  const column = MODELS[model]?.columns[field];
  expect(column?.vocab).toBe(words);
  expect(await checkedWords(table, column?.col as string)).toEqual([...words].sort());
});

test('every enum-valued column of the datamodel has its vocabulary', async () => {
  const checked = await query<{ table: string; column: string }>(
    db.ownerUrl,
    `SELECT c.conrelid::regclass::text AS table, a.attname AS column
     FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
     WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace AND pg_get_constraintdef(c.oid) LIKE '%ARRAY[%'`,
  );
  const declared = Object.entries(CHECKED_COLUMNS).flatMap(([model, fields]) =>
    Object.keys(fields).map((field) => `${MODELS[model]?.table}.${MODELS[model]?.columns[field]?.col}`),
  );
  expect(checked.map((c) => `${c.table}.${c.column}`).sort()).toEqual(declared.sort());
});

test('the GraphQL enums list the vocabularies in their order', () => {
  const words = (name: string) => (schema.getType(name) as GraphQLEnumType).getValues().map((v) => v.value);
  expect(words('UserRole')).toEqual(CHECKED_COLUMNS.User?.role);
  expect(words('CaseStatus')).toEqual(CHECKED_COLUMNS.Case?.status);
  expect(words('Priority')).toEqual(CHECKED_COLUMNS.Case?.priority);
  expect(words('TaskStatus')).toEqual(CHECKED_COLUMNS.Task?.status);
  expect(words('CodeType')).toEqual(CHECKED_COLUMNS.CaseCode?.codeType);
  expect(words('IngestionSourceType')).toEqual(CHECKED_COLUMNS.Ingestion?.sourceType);
  expect(words('IngestionStatus')).toEqual(CHECKED_COLUMNS.Ingestion?.status);
  expect(words('AuditAction')).toEqual(CHECKED_COLUMNS.AuditLog?.action);
});
