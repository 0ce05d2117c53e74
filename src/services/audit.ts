import DataLoader from 'dataloader';
import type { Actor } from '../context.js';
import { requestSql } from '../db/tenant.js';
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
 * transaction, in one prepared statement: if anything later fails, neither exists.
 */
export async function recordChange(actor: Actor, record: ChangeRecord): Promise<void> {
  await requestSql(
    `WITH audit AS (
       INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, changes, ip_address, user_agent)
       VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, $4, $5::uuid, $6::jsonb, $7, $8)
     )
     INSERT INTO events (id, tenant_id, user_id, event_type, entity_type, entity_id, metadata)
     VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $9, $4, $5::uuid, $10::jsonb)`,
    [
      actor.tenantId,
      actor.userId,
      record.action,
      record.entityType,
      record.entityId,
      JSON.stringify(record.changes),
      actor.ipAddress,
      actor.userAgent,
      record.eventType,
      JSON.stringify(record.eventMetadata ?? {}),
    ],
    { prepare: true },
  );
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
