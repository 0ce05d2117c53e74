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

/** What a subscriber wants of its tenant's changes (Subscription.changes' arguments). */
export interface FeedFilter {
  /** events.entity_type values; undefined: all. */
  entityTypes?: ReadonlySet<string>;
  caseId?: string;
  assigneeId?: string;
}

/** Where the feed reads committed changes: the events table, one tenant at a time (RLS). */
export interface ChangeSource {
  /**
   * The tenant's changes after `after`, in cursor order, at most `limit`; with `upTo`, only up to
   * that cursor, and with `filter`, only those that pass it (a lagging subscriber's read, filtered
   * in the database rather than read in full and dropped).
   */
  after(
    tenantId: string,
    after: number,
    limit: number,
    range?: { upTo: number; filter: FeedFilter },
  ): Promise<ChangeRow[]>;
}

const SELECT_CHANGES = `SELECT id, tenant_id AS "tenantId", user_id AS "userId", event_type AS "eventType",
    entity_type AS "entityType", entity_id AS "entityId", metadata, created_at AS "createdAt",
    cursor::float8 AS cursor, action, case_id AS "caseId", COALESCE(assignee_ids::text[], '{}') AS "assigneeIds"
  FROM events WHERE tenant_id = $1::uuid AND cursor > $2::bigint`;
const ALL_CHANGES = `${SELECT_CHANGES} ORDER BY cursor LIMIT $3::int`;
// The range (tenant_id, cursor) is the unique index's; the filters only narrow what it scans.
const FILTERED_CHANGES = `${SELECT_CHANGES} AND cursor <= $4::bigint
    AND ($5::text[] IS NULL OR entity_type = ANY($5::text[]))
    AND ($6::uuid IS NULL OR case_id = $6::uuid)
    AND ($7::uuid IS NULL OR $7::uuid = ANY(assignee_ids))
  ORDER BY cursor LIMIT $3::int`;

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
    after: (tenantId, after, limit, range) =>
      statementCounter.exit(() =>
        withTenant(
          prisma,
          tenantId,
          () =>
            range
              ? requestSql<ChangeRow>(
                  FILTERED_CHANGES,
                  [
                    tenantId,
                    after,
                    limit,
                    range.upTo,
                    range.filter.entityTypes ? [...range.filter.entityTypes] : null,
                    range.filter.caseId ?? null,
                    range.filter.assigneeId ?? null,
                  ],
                  { prepare: true },
                )
              : requestSql<ChangeRow>(ALL_CHANGES, [tenantId, after, limit], { prepare: true }),
          { statementTimeoutMs },
        ),
      ),
  };
}
