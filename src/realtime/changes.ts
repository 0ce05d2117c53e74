import { statementCounter } from '../db/client.js';
import { requestSql, withTenant } from '../db/tenant.js';
import type { PrismaClient } from '../generated/prisma/client.js';

/**
 * A committed change: its events row, as Prisma returns an Event (Event's fields resolve it), with
 * the feed's own columns (migration 20261205000000).
 */
export interface ChangeRow {
  id: string;
  tenantId: string;
  userId: string | null;
  eventType: string;
  entityType: string | null;
  entityId: string | null;
  metadata: unknown;
  createdAt: Date;
  /** Dense and increasing per tenant in commit order. */
  cursor: number;
  /** create, update or delete. */
  action: string | null;
  caseId: string | null;
  assigneeIds: string[];
}

/** Where the feed reads committed changes: the events table, one tenant at a time (RLS). */
export interface ChangeSource {
  /** The tenant's changes after `after`, in cursor order, at most `limit`. */
  after(tenantId: string, after: number, limit: number): Promise<ChangeRow[]>;
}

const SELECT_CHANGES = `SELECT id, tenant_id AS "tenantId", user_id AS "userId", event_type AS "eventType",
    entity_type AS "entityType", entity_id AS "entityId", metadata, created_at AS "createdAt",
    cursor::float8 AS cursor, action, case_id AS "caseId", COALESCE(assignee_ids::text[], '{}') AS "assigneeIds"
  FROM events WHERE tenant_id = $1::uuid AND cursor > $2::bigint ORDER BY cursor LIMIT $3::int`;

/** The tenant's last cursor, read in the request's transaction (0: no change yet). */
export async function lastCursor(tenantId: string): Promise<number> {
  const [row] = await requestSql<{ last: number }>(
    'SELECT last::float8 AS last FROM change_cursors WHERE tenant_id = $1::uuid',
    [tenantId],
    { prepare: true },
  );
  return row?.last ?? 0;
}

/** Reads changes with the runtime login, each read in a transaction of its own tenant. */
export function databaseChangeSource(prisma: PrismaClient, statementTimeoutMs: number): ChangeSource {
  return {
    // Not counted in the statements of the request that happened to start the read.
    after: (tenantId, after, limit) =>
      statementCounter.exit(() =>
        withTenant(
          prisma,
          tenantId,
          () => requestSql<ChangeRow>(SELECT_CHANGES, [tenantId, after, limit], { prepare: true }),
          { statementTimeoutMs },
        ),
      ),
  };
}
