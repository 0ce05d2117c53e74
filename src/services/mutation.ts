import { requestConnection } from '../db/client.js';
import { mapDatabaseError } from '../db/errors.js';
import type { TenantDb } from '../db/tenant.js';
import { AppError } from '../errors.js';

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

/** Compares at millisecond precision, the precision of DateTime output. */
export function isStale(updatedAt: Date, expected: Date | null | undefined): boolean {
  return expected != null && updatedAt.getTime() !== expected.getTime();
}

/**
 * A `where` matching the timestamp read, at the millisecond precision JavaScript dates have: a
 * row written by another tool may carry microseconds, which an equality test would never match.
 */
export function sameMillisecond(at: Date): { gte: Date; lt: Date } {
  return { gte: at, lt: new Date(at.getTime() + 1) };
}
