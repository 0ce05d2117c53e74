import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { Actor } from '../context.js';
import type { TenantDb } from '../db/tenant.js';
import type { Changes } from '../domain/changes.js';
import { perRequest } from '../loaders.js';

export type EntityType = 'case' | 'case_code' | 'task' | 'ruleset';

export interface ChangeRecord {
  action: 'create' | 'update' | 'delete';
  entityType: EntityType;
  entityId: string;
  changes: Changes;
  eventType: string;
  /** Context of the change, e.g. a transition's from/to and reason. */
  eventMetadata?: Record<string, unknown>;
}

/**
 * The audit row and the event row of one successful mutation, written in the mutation's own
 * transaction, in one statement: if anything later fails, neither exists.
 */
export async function recordChange(db: TenantDb, actor: Actor, record: ChangeRecord): Promise<void> {
  await db.$executeRaw`
    WITH audit AS (
      INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, changes, ip_address, user_agent)
      VALUES (${randomUUID()}::uuid, ${actor.tenantId}::uuid, ${actor.userId}::uuid, ${record.action},
              ${record.entityType}, ${record.entityId}::uuid, ${JSON.stringify(record.changes)}::jsonb,
              ${actor.ipAddress}, ${actor.userAgent})
    )
    INSERT INTO events (id, tenant_id, user_id, event_type, entity_type, entity_id, metadata)
    VALUES (${randomUUID()}::uuid, ${actor.tenantId}::uuid, ${actor.userId}::uuid, ${record.eventType},
            ${record.entityType}, ${record.entityId}::uuid, ${JSON.stringify(record.eventMetadata ?? {})}::jsonb)`;
}

/**
 * Records one `view` audit row per case whose extracted data a request reads: one prepared
 * statement for all the cases of the request (the compiled queries' only other statement, so it
 * stays as cheap as theirs).
 */
export const extractedDataViews = perRequest(
  ({ sql, actor }) =>
    new DataLoader<string, true>(async (caseIds) => {
      await sql(
        `INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, ip_address, user_agent)
         SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'view', 'case', entity_id, $3, $4
         FROM unnest($5::uuid[]) AS entity_id`,
        [actor.tenantId, actor.userId, actor.ipAddress, actor.userAgent, caseIds],
        { prepare: true },
      );
      return caseIds.map(() => true as const);
    }),
);
