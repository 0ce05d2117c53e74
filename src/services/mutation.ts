import type { Actor } from '../context.js';
import { requestConnection } from '../db/client.js';
import { mapDatabaseError } from '../db/errors.js';
import type { TenantDb } from '../db/tenant.js';
import { diff, type Snapshot } from '../domain/changes.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { type EntityType, recordChange } from './audit.js';

/**
 * The reads and the delete the shared sequences below make on a table. Every Prisma model's
 * delegate has them (`(db) => db.task`), typed by the model's row.
 */
interface TenantRows<Row> {
  findFirst(args: { where: { id: string; tenantId: string } }): PromiseLike<Row | null>;
  delete(args: { where: { id: string } }): PromiseLike<Row>;
}

/** What an event row adds to the audit row: the change's context, e.g. a transition's from/to. */
type EventMetadata = Record<string, unknown>;

/** A tenant table whose every write is audited: where its rows are, how the audit trail shows one. */
export interface AuditedTable<Row extends { id: string }> {
  /** The audit and event rows' `entity_type`; error messages name a row by it (see `nounOf`). */
  entityType: EntityType;
  rows(db: TenantDb): TenantRows<Row>;
  snapshot(row: Row): Snapshot;
  /** What the events of a row's creation and deletion record of it, e.g. the case it belongs to. */
  eventMetadata(row: Row): EventMetadata;
}

/** The row of `id` in the version that was read: see `sameMillisecond`. */
export interface VersionWhere {
  id: string;
  updatedAt: { gte: Date; lt: Date };
}

/** An audited table whose rows carry `updatedAt`, the version that optimistic concurrency compares. */
export interface VersionedTable<Row extends { id: string; updatedAt: Date }, Data> extends AuditedTable<Row> {
  /**
   * `updateManyAndReturn({ where, data })` on the table: the row as written, in the UPDATE's own
   * statement (RETURNING), or none when `where` no longer matches. Written out per table, so that
   * Prisma checks `data` against the model (a generic call through `rows` could not), and so that
   * a table can map its own constraint failures.
   */
  updateVersion(db: TenantDb, where: VersionWhere, data: Data): PromiseLike<Row[]>;
}

export interface Creation<Row> {
  /** Writes the row (and whatever comes with it) in the mutation's transaction. */
  create(tx: TenantDb): PromiseLike<Row>;
  eventType: string;
  /** The audit row's `after`, when it shows more than the table's snapshot of the row. */
  snapshot?(row: Row): Snapshot;
}

export interface Update<Row, Data> {
  id: string;
  /** When given and not the row's `updatedAt`, the update is refused with a ConflictError. */
  expectedUpdatedAt?: Date | null;
  /** The rules that may refuse this update of `row`: checked before its version is. */
  check?(row: Row, tx: TenantDb): void | Promise<void>;
  data: Data;
  eventType: string;
  eventMetadata?(before: Row, after: Row): EventMetadata;
}

/**
 * Runs one mutation in a savepoint of the request's transaction: when it fails, everything it
 * wrote is rolled back and the request's transaction stays usable (a later mutation of the same
 * request, and the commit, go on). When the operation is this one mutation, the request's
 * transaction is the savepoint: a failure makes it end in ROLLBACK, and two statements (and
 * Prisma's transaction bookkeeping) are saved. Database failures that are the client's become
 * AppErrors.
 */
export async function inSavepoint<T>(db: TenantDb, fn: (tx: TenantDb) => Promise<T>): Promise<T> {
  const request = requestConnection.getStore();
  try {
    if (request?.soleMutation) {
      try {
        return await fn(db);
      } catch (error) {
        request.rollbackOnly = true;
        throw error;
      }
    }
    return await db.$transaction(fn);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw mapDatabaseError(error);
  }
}

/** The row `id` of the actor's tenant; NotFoundError when there is none (another tenant's included). */
export async function findInTenant<Row extends { id: string }>(
  db: TenantDb,
  actor: Actor,
  table: AuditedTable<Row>,
  id: string,
): Promise<Row> {
  const row = await table.rows(db).findFirst({ where: { id, tenantId: actor.tenantId } });
  if (!row) {
    const noun = nounOf(table);
    throw new NotFoundError(`${noun.charAt(0).toUpperCase()}${noun.slice(1)} not found`);
  }
  return row;
}

/** Creates a row with its audit and event rows, in one savepoint. */
export function createAudited<Row extends { id: string }>(
  db: TenantDb,
  actor: Actor,
  table: AuditedTable<Row>,
  creation: Creation<Row>,
): Promise<Row> {
  return inSavepoint(db, async (tx) => {
    const row = await creation.create(tx);
    await recordChange(actor, {
      action: 'create',
      entityType: table.entityType,
      entityId: row.id,
      changes: diff(null, (creation.snapshot ?? table.snapshot)(row)),
      eventType: creation.eventType,
      eventMetadata: table.eventMetadata(row),
    });
    return row;
  });
}

/**
 * Updates the tenant's row `update.id` with its audit and event rows, in one savepoint: the row is
 * read, checked, and written only if it is still the version read (concurrent writers never both
 * succeed from the same state; the loser gets a ConflictError), returning the row as written.
 */
export function updateAudited<Row extends { id: string; updatedAt: Date }, Data>(
  db: TenantDb,
  actor: Actor,
  table: VersionedTable<Row, Data>,
  update: Update<Row, Data>,
): Promise<Row> {
  return inSavepoint(db, async (tx) => {
    const row = await findInTenant(tx, actor, table, update.id);
    await update.check?.(row, tx);
    if (isStale(row.updatedAt, update.expectedUpdatedAt)) {
      throw new ConflictError(`The ${nounOf(table)} changed since expectedUpdatedAt`);
    }
    const version = { id: row.id, updatedAt: sameMillisecond(row.updatedAt) };
    const [updated] = await table.updateVersion(tx, version, update.data);
    if (!updated) throw new ConflictError(`The ${nounOf(table)} changed meanwhile; read it again`);
    await recordChange(actor, {
      action: 'update',
      entityType: table.entityType,
      entityId: row.id,
      changes: diff(table.snapshot(row), table.snapshot(updated)),
      eventType: update.eventType,
      eventMetadata: update.eventMetadata?.(row, updated),
    });
    return updated;
  });
}

/** Deletes the tenant's row `id` with its audit and event rows, in one savepoint; returns the row. */
export function deleteAudited<Row extends { id: string }>(
  db: TenantDb,
  actor: Actor,
  table: AuditedTable<Row>,
  id: string,
  eventType: string,
): Promise<Row> {
  return inSavepoint(db, async (tx) => {
    const row = await findInTenant(tx, actor, table, id);
    await table.rows(tx).delete({ where: { id: row.id } });
    await recordChange(actor, {
      action: 'delete',
      entityType: table.entityType,
      entityId: row.id,
      changes: diff(table.snapshot(row), null),
      eventType,
      eventMetadata: table.eventMetadata(row),
    });
    return row;
  });
}

/** What error messages call a row of `table`: 'case', 'case code'. */
function nounOf(table: AuditedTable<{ id: string }>): string {
  return table.entityType.replace('_', ' ');
}

/** Compares at millisecond precision, the precision of DateTime output. */
function isStale(updatedAt: Date, expected: Date | null | undefined): boolean {
  return expected != null && updatedAt.getTime() !== expected.getTime();
}

/**
 * A `where` matching the timestamp read, at the millisecond precision JavaScript dates have: a
 * row written by another tool may carry microseconds, which an equality test would never match.
 */
function sameMillisecond(at: Date): { gte: Date; lt: Date } {
  return { gte: at, lt: new Date(at.getTime() + 1) };
}
