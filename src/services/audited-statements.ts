import { randomUUID } from 'node:crypto';
import { type Column, columnOf, modelNamed, SQL_TYPE } from '../compiled/models.js';
import type { Actor } from '../context.js';
import { requestConnection } from '../db/client.js';
import { requestSql } from '../db/tenant.js';
import type { Changes } from '../domain/changes.js';

/**
 * The SQL of audited writes: each write is one prepared statement that changes the row, inserts
 * its audit row and its event row, and returns the row as Prisma would (field names, Date, parsed
 * JSON), so that a mutation costs the request's opening, this statement, its payload and COMMIT
 * (docs/benchmarks.md, issue 13). Written from the datamodel (src/compiled/models.ts), like the
 * compiled reads; tests/integration/audited-writes.test.ts compares every row and audit row with
 * what Prisma reads back.
 */

export type EntityType = 'case' | 'case_code' | 'task' | 'ruleset' | 'user' | 'ingestion';

/** The audit row and the event row of one write. */
export interface ChangeRecord {
  action: 'create' | 'update' | 'delete';
  /** Both rows' `entity_type`; `entity_id` is the written row's. */
  entityType: EntityType;
  changes: Changes;
  eventType: string;
  /** Context of the change, e.g. a transition's from/to and reason. */
  eventMetadata?: Record<string, unknown>;
  /** The event row's `case_id` and `assignee_ids`: what the change feed's filters match. */
  scope: FeedScope;
}

/** The case a change belongs to, and a task's assignees before and after it. */
export interface FeedScope {
  caseId: string | null;
  assigneeIds: string[];
}

/** A write's values by Prisma field name; `undefined` leaves a column out, `null` is SQL NULL. */
export type FieldValues = Record<string, unknown>;

/** The columns `model`'s rows are returned with: `alias.column AS "field"`, Prisma's row shape. */
const selectLists = new Map<string, string>();
function rowColumns(model: string, alias: string): string {
  const key = `${model}:${alias}`;
  let list = selectLists.get(key);
  if (list === undefined) {
    const { columns } = modelNamed(model);
    list = Object.entries(columns)
      .map(([field, column]) => `${alias}.${column.col} AS "${field}"`)
      .join(', ');
    selectLists.set(key, list);
  }
  return list;
}

/** Appends `value` to `values` as a parameter of `column`'s type; returns its placeholder. */
function param(values: unknown[], column: Column, value: unknown): string {
  // JSON is sent as its text: node-postgres would send a JavaScript array as a PostgreSQL array.
  values.push(column.type === 'json' && value !== null ? JSON.stringify(value) : value);
  return `$${values.length}::${SQL_TYPE[column.type]}`;
}

/** The given fields of `fields` (`undefined` ones left out), with their columns. */
function givenColumns(model: string, fields: FieldValues): [Column, unknown][] {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => [columnOf(model, field), value]);
}

/**
 * The tenant's row `id` of `model`, or none (another tenant's row is none: RLS and the tenant
 * test), locked until the transaction ends (FOR UPDATE): the update or delete that read it to
 * check it writes the row it checked, and a concurrent one waits, then reads what this one wrote.
 *
 * The tenant's change-feed counter row is locked first, in the same statement (the CTE is read
 * before the row is locked): every write of a tenant takes that row before any other lock (an
 * insert takes it in its events trigger, before its foreign-key checks lock the rows it points
 * at), so two writers never hold one lock each while waiting for the other's. Without this,
 * `updateCase` (case locked, waiting for the counter) and `createTask` on that case (counter
 * taken, its foreign key waiting for the case) deadlocked (migration 20261205000000).
 */
export async function lockRow<Row>(model: string, actor: Actor, id: string): Promise<Row | undefined> {
  const { table } = modelNamed(model);
  const [row] = await requestSql<Row>(
    `WITH tenant_writes AS (SELECT 1 FROM change_cursors WHERE tenant_id = $2::uuid FOR UPDATE)
    SELECT ${rowColumns(model, 'r')} FROM ${table} r LEFT JOIN tenant_writes ON true
    WHERE r.id = $1::uuid AND r.tenant_id = $2::uuid FOR UPDATE OF r`,
    [id, actor.tenantId],
    { prepare: true },
  );
  return row;
}

/** What an audited write inserts besides the row: more rows of another table, pointing at it. */
export interface ChildRows {
  model: string;
  /** The field of each child row that holds the written row's id. */
  parentField: string;
  rows: FieldValues[];
}

/**
 * INSERTs the row `fields` of `model`, with its audit and event rows (and `children`, the rows
 * created with it), in one statement; returns the row as written.
 */
export async function insertWithAudit<Row>(
  model: string,
  actor: Actor,
  fields: FieldValues,
  change: ChangeRecord,
  children?: ChildRows,
): Promise<Row> {
  const values: unknown[] = [];
  // Prisma's `@default(uuid())` and `@updatedAt` are the client's to fill; `created_at` is the
  // database's default, the transaction's start, which `updated_at` starts as too.
  const given = givenColumns(model, { ...fields, id: fields.id ?? randomUUID(), updatedAt: undefined });
  const columns = given.map(([column]) => column.col);
  const placeholders = given.map(([column, value]) => param(values, column, value));
  if (modelNamed(model).columns.updatedAt) {
    columns.push('updated_at');
    placeholders.push('now()');
  }
  const write = `INSERT INTO ${modelNamed(model).table} (${columns.join(', ')}) VALUES (${placeholders.join(', ')})`;
  const ctes = children && children.rows.length > 0 ? [childInsert(children, values)] : [];
  const [row] = await audited<Row>(model, write, values, actor, change, ctes);
  return row as Row;
}

/**
 * UPDATEs the tenant's row `id` of `model` (locked by `lockRow`) to `fields`, with its audit and
 * event rows, in one statement; `updated_at` is the statement's time.
 */
export async function updateWithAudit<Row>(
  model: string,
  actor: Actor,
  id: string,
  fields: FieldValues,
  change: ChangeRecord,
): Promise<Row | undefined> {
  const values: unknown[] = [id, actor.tenantId];
  const sets = givenColumns(model, { ...fields, updatedAt: undefined }).map(
    ([column, value]) => `${column.col} = ${param(values, column, value)}`,
  );
  const write = `UPDATE ${modelNamed(model).table} r SET ${[...sets, 'updated_at = clock_timestamp()'].join(', ')}
    WHERE r.id = $1::uuid AND r.tenant_id = $2::uuid`;
  const [row] = await audited<Row>(model, write, values, actor, change);
  return row;
}

/** DELETEs the tenant's row `id` of `model` with its audit and event rows, in one statement. */
export async function deleteWithAudit<Row>(
  model: string,
  actor: Actor,
  id: string,
  change: ChangeRecord,
): Promise<Row | undefined> {
  const write = `DELETE FROM ${modelNamed(model).table} r WHERE r.id = $1::uuid AND r.tenant_id = $2::uuid`;
  const [row] = await audited<Row>(model, write, [id, actor.tenantId], actor, change);
  return row;
}

/**
 * `write` (an INSERT, UPDATE or DELETE of one row, its values in `values`) with the audit row and
 * the event row of the change, for the row it wrote: none when it wrote none.
 */
function audited<Row>(
  model: string,
  write: string,
  values: unknown[],
  actor: Actor,
  change: ChangeRecord,
  ctes: string[] = [],
): Promise<Row[]> {
  const p = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const tenant = `${p(actor.tenantId)}::uuid`;
  const user = `${p(actor.userId)}::uuid`;
  const entityType = p(change.entityType);
  const action = p(change.action);
  const sql = `WITH written AS (${write} RETURNING *),
    audit AS (
      INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, changes, ip_address, user_agent)
      SELECT gen_random_uuid(), ${tenant}, ${user}, ${action}, ${entityType}, written.id,
        ${p(JSON.stringify(change.changes))}::jsonb, ${p(actor.ipAddress)}, ${p(actor.userAgent)} FROM written),
    event AS (
      INSERT INTO events (id, tenant_id, user_id, event_type, entity_type, entity_id, metadata, action, case_id, assignee_ids)
      SELECT gen_random_uuid(), ${tenant}, ${user}, ${p(change.eventType)}, ${entityType}, written.id,
        ${p(JSON.stringify(change.eventMetadata ?? {}))}::jsonb, ${action}, ${p(change.scope.caseId)}::uuid,
        ${p(change.scope.assigneeIds)}::uuid[] FROM written)${ctes.map((cte) => `,\n    ${cte}`).join('')}
    SELECT ${rowColumns(model, 'written')} FROM written`;
  const request = requestConnection.getStore();
  if (request) request.wroteChanges = true;
  return requestSql<Row>(sql, values, { prepare: true }).catch((error: unknown) => {
    // The log line of an unexpected failure names the table, as Prisma's errors do (`model`).
    if (error instanceof Error) Object.assign(error, { model });
    throw error;
  });
}

/** The CTE that inserts `children`, each pointing at the `written` row; their values are one JSON parameter. */
function childInsert(children: ChildRows, values: unknown[]): string {
  const { table } = modelNamed(children.model);
  const rows: FieldValues[] = children.rows.map((row) => ({ ...row, id: randomUUID() }));
  const fields = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const columns = fields.map((field) => columnOf(children.model, field));
  if (columns.some((column) => column.type === 'text[]')) throw new Error('child rows hold no arrays');
  values.push(JSON.stringify(rows.map((row) => fields.map((field) => row[field] ?? null))));
  const parent = columnOf(children.model, children.parentField).col;
  // Each row is a JSON array of its values in `fields` order; `->>` and the cast read each one.
  const read = columns.map((column, i) =>
    column.type === 'json' ? `child->${i}` : `(child->>${i})::${SQL_TYPE[column.type]}`,
  );
  return `children AS (
      INSERT INTO ${table} (${[parent, ...columns.map((column) => column.col)].join(', ')})
      SELECT written.id, ${read.join(', ')} FROM written, jsonb_array_elements($${values.length}::jsonb) AS child)`;
}
