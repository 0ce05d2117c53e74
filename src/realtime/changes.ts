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
  /**
   * The subscriber's user, and the cursor it subscribed at: that user's deactivation after it is
   * read whatever the rest of the filter says, and ends the stream (API.md: deactivation ends
   * open subscriptions on every instance, through the feed every instance reads).
   */
  deactivationOf?: { userId: string; after: number };
}

const DEACTIVATION = 'user.deactivated';

/** The UNAUTHENTICATED error's message a deactivated user's subscription ends with. */
export const SUBSCRIBER_DEACTIVATED = 'this user was deactivated: their subscriptions have ended';

/** Whether `row` is a deactivation: a subscriber's stream passes only its own user's (`endsSubscription`). */
export function isDeactivation(row: ChangeRow): boolean {
  return row.eventType === DEACTIVATION;
}

/** Whether `row` is the deactivation of the filter's subscriber, after it subscribed. */
export function endsSubscription(filter: FeedFilter, row: ChangeRow): boolean {
  const of = filter.deactivationOf;
  return of !== undefined && isDeactivation(row) && row.entityId === of.userId && row.cursor > of.after;
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
    AND ((($5::text[] IS NULL OR entity_type = ANY($5::text[]))
        AND ($6::uuid IS NULL OR case_id = $6::uuid)
        AND ($7::uuid IS NULL OR $7::uuid = ANY(assignee_ids)))
      OR (event_type = '${DEACTIVATION}' AND entity_id = $8::uuid AND cursor > $9::bigint))
  ORDER BY cursor LIMIT $3::int`;

/**
 * The tenant's last cursor (0: no change yet), read in the request's transaction, or undefined
 * when `userId` is not active any more. One statement, one snapshot: when the user is active in
 * it, their deactivation commits after it, with a cursor past the one returned, which the feed
 * then sees (`endsSubscription`).
 */
export async function subscriptionStart(tenantId: string, userId: string): Promise<number | undefined> {
  const [row] = await requestSql<{ last: number; active: boolean }>(
    `SELECT coalesce((SELECT last FROM change_cursors WHERE tenant_id = $1::uuid), 0)::float8 AS last,
       EXISTS (SELECT 1 FROM users WHERE id = $2::uuid AND tenant_id = $1::uuid AND deactivated_at IS NULL) AS active`,
    [tenantId, userId],
    { prepare: true },
  );
  return row?.active ? row.last : undefined;
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
                    range.filter.deactivationOf?.userId ?? null,
                    range.filter.deactivationOf?.after ?? null,
                  ],
                  { prepare: true },
                )
              : requestSql<ChangeRow>(ALL_CHANGES, [tenantId, after, limit], { prepare: true }),
          { statementTimeoutMs },
        ),
      ),
  };
}
