import { randomUUID } from 'node:crypto';
import type { Actor } from '../context.js';
import { requestConnection } from '../db/client.js';
import { mapDatabaseError } from '../db/errors.js';
import { requestSql } from '../db/tenant.js';
import { diff, type Snapshot } from '../domain/changes.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import {
  type ChildRows,
  deleteWithAudit,
  type EntityType,
  type FeedScope,
  type FieldValues,
  insertWithAudit,
  lockRow,
  updateWithAudit,
} from './audited-statements.js';

/** What an event row adds to the audit row: the change's context, e.g. a transition's from/to. */
type EventMetadata = Record<string, unknown>;

/**
 * The fields a write sets: the row without what the database or the write itself fills (the id,
 * the timestamps, generated columns such as `priorityRank`).
 */
export type RowFields<Row> = Omit<Row, 'id' | 'createdAt' | 'updatedAt' | 'priorityRank'>;

/** A tenant table whose every write is audited: where its rows are, how the audit trail shows one. */
export interface AuditedTable<Row extends { id: string }> {
  /** The audit and event rows' `entity_type`; error messages name a row by it (see `nounOf`). */
  entityType: EntityType;
  /** The table's Prisma model (src/compiled/models.ts): its columns, and the shape of its rows. */
  model: string;
  snapshot(row: RowFields<Row>): Snapshot;
  /** What the events of a row's creation and deletion record of it, e.g. the case it belongs to. */
  eventMetadata(row: RowFields<Row>): EventMetadata;
  /** What the change feed's filters match a change of `row` by (Subscription.changes). */
  feedScope(row: RowFields<Row> & { id: string }): { caseId: string | null; assigneeId?: string | null };
}

/** The feed scope of a change from `before` to `after` (either absent: a creation, a deletion). */
function feedScope<Row extends { id: string }>(
  table: AuditedTable<Row>,
  before: (RowFields<Row> & { id: string }) | null,
  after: (RowFields<Row> & { id: string }) | null,
): FeedScope {
  const [was, is] = [before && table.feedScope(before), after && table.feedScope(after)];
  const assignees = [was?.assigneeId, is?.assigneeId].filter((id): id is string => typeof id === 'string');
  return { caseId: is?.caseId ?? was?.caseId ?? null, assigneeIds: [...new Set(assignees)] };
}

export interface Creation<Row> {
  /** Every field of the new row. */
  fields: RowFields<Row>;
  /** Rows of another table created with it, in the same statement (a case's codes). */
  children?: ChildRows;
  eventType: string;
  /** The audit row's `after`, when it shows more than the table's snapshot of the row. */
  snapshot?(row: RowFields<Row>): Snapshot;
}

export interface Update<Row> {
  id: string;
  /** When given and not the row's `updatedAt`, the update is refused with a ConflictError. */
  expectedUpdatedAt?: Date | null;
  /**
   * The rules that may refuse this update of `row` (read and locked): checked before
   * `expectedUpdatedAt`. It may read more in the transaction (the last-ADMIN rule counts ADMINs).
   */
  check?(row: Row): void | Promise<void>;
  /** The fields to change, or how to change `row`'s; undefined ones stay as they are. */
  data: Partial<RowFields<Row>> | ((row: Row) => Partial<RowFields<Row>>);
  eventType: string;
  eventMetadata?(before: Row, after: RowFields<Row>): EventMetadata;
}

/**
 * Runs one mutation in a savepoint of the request's transaction: when it fails, everything it
 * wrote is rolled back and the request's transaction stays usable (a later mutation of the same
 * request, and the commit, go on). When the operation is this one mutation, the request's
 * transaction is the savepoint: a failure makes it end in ROLLBACK, and two statements are saved.
 * Database failures that are the client's become AppErrors.
 */
async function inSavepoint<T>(fn: () => Promise<T>): Promise<T> {
  const request = requestConnection.getStore();
  if (!request) throw new Error('a mutation outside a request transaction');
  try {
    if (request.soleMutation) {
      try {
        return await fn();
      } catch (error) {
        request.rollbackOnly = true;
        throw error;
      }
    }
    const savepoint = `mutation_${request.savepoints++}`;
    await requestSql(`SAVEPOINT ${savepoint}`);
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      // When this fails too, the connection is gone and the transaction with it: `error` is the cause.
      await requestSql(`ROLLBACK TO SAVEPOINT ${savepoint}`).catch(() => undefined);
      throw error;
    }
    await requestSql(`RELEASE SAVEPOINT ${savepoint}`);
    return result;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw mapDatabaseError(error);
  }
}

/**
 * The row `id` of the actor's tenant, locked for the update or delete that reads it (see
 * `lockRow`); NotFoundError when there is none (another tenant's included).
 */
async function findInTenant<Row extends { id: string }>(
  actor: Actor,
  table: AuditedTable<Row>,
  id: string,
): Promise<Row> {
  const row = await lockRow<Row>(table.model, actor, id);
  if (!row) throw notFound(table);
  return row;
}

/** Creates a row with its audit and event rows, in one statement (a savepoint around it). */
export function createAudited<Row extends { id: string }>(
  actor: Actor,
  table: AuditedTable<Row>,
  creation: Creation<Row>,
): Promise<Row> {
  // The id is chosen here: a case's feed scope is its own id.
  const fields = { ...creation.fields, id: randomUUID() };
  return inSavepoint(() =>
    insertWithAudit<Row>(
      table.model,
      actor,
      fields as FieldValues,
      {
        action: 'create',
        entityType: table.entityType,
        changes: diff(null, (creation.snapshot ?? table.snapshot)(creation.fields)),
        eventType: creation.eventType,
        eventMetadata: table.eventMetadata(creation.fields),
        scope: feedScope(table, null, fields),
      },
      creation.children,
    ),
  );
}

/**
 * Updates the tenant's row `update.id` with its audit and event rows, in one savepoint: the row is
 * read and locked, checked, then written with its audit and event rows in one statement.
 * Concurrent writers of one row take turns: the second reads and checks what the first wrote (two
 * moves from the same state never both succeed). Returns the row as written.
 */
export function updateAudited<Row extends { id: string; updatedAt: Date }>(
  actor: Actor,
  table: AuditedTable<Row>,
  update: Update<Row>,
): Promise<Row> {
  return inSavepoint(async () => {
    const row = await findInTenant(actor, table, update.id);
    await update.check?.(row);
    if (isStale(row.updatedAt, update.expectedUpdatedAt)) {
      throw new ConflictError(`The ${nounOf(table)} changed since expectedUpdatedAt`);
    }
    const data = typeof update.data === 'function' ? update.data(row) : update.data;
    // The row as the update leaves it: what the audit row records is known before the statement.
    const after: Row = { ...row, ...definedOnly(data) };
    const updated = await updateWithAudit<Row>(table.model, actor, row.id, data as FieldValues, {
      action: 'update',
      entityType: table.entityType,
      changes: diff(table.snapshot(row), table.snapshot(after)),
      eventType: update.eventType,
      eventMetadata: update.eventMetadata?.(row, after),
      scope: feedScope(table, row, after),
    });
    // The row is locked: only a failure of the statement itself can leave it unwritten.
    if (!updated) throw new Error(`the locked ${nounOf(table)} was not updated`);
    return updated;
  });
}

/** Deletes the tenant's row `id` with its audit and event rows, in one savepoint; returns the row. */
export function deleteAudited<Row extends { id: string }>(
  actor: Actor,
  table: AuditedTable<Row>,
  id: string,
  eventType: string,
): Promise<Row> {
  return inSavepoint(async () => {
    const row = await findInTenant(actor, table, id);
    const deleted = await deleteWithAudit<Row>(table.model, actor, row.id, {
      action: 'delete',
      entityType: table.entityType,
      changes: diff(table.snapshot(row), null),
      eventType,
      eventMetadata: table.eventMetadata(row),
      scope: feedScope(table, row, null),
    });
    if (!deleted) throw new Error(`the locked ${nounOf(table)} was not deleted`);
    return deleted;
  });
}

function notFound(table: AuditedTable<{ id: string }>): NotFoundError {
  const noun = nounOf(table);
  return new NotFoundError(`${noun.charAt(0).toUpperCase()}${noun.slice(1)} not found`);
}

/** What error messages call a row of `table`: 'case', 'case code'. */
function nounOf(table: AuditedTable<{ id: string }>): string {
  return table.entityType.replace('_', ' ');
}

/** Compares at millisecond precision, the precision of DateTime output. */
function isStale(updatedAt: Date, expected: Date | null | undefined): boolean {
  return expected != null && updatedAt.getTime() !== expected.getTime();
}

function definedOnly<T extends object>(data: T): Partial<T> {
  return Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined)) as Partial<T>;
}
