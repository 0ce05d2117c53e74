import type { Role } from '../context.js';
import type { TenantDb } from '../db/tenant.js';
import type { Changes } from '../domain/changes.js';

/** Who acts, from where: what every audit row records. */
export interface Actor {
  userId: string;
  tenantId: string;
  role: Role;
  ipAddress: string | null;
  userAgent: string | null;
}

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
 * transaction: if anything later fails, neither exists.
 */
export async function recordChange(db: TenantDb, actor: Actor, record: ChangeRecord): Promise<void> {
  await db.auditLog.create({
    data: {
      tenantId: actor.tenantId,
      userId: actor.userId,
      action: record.action,
      entityType: record.entityType,
      entityId: record.entityId,
      changes: record.changes as object,
      ipAddress: actor.ipAddress,
      userAgent: actor.userAgent,
    },
  });
  await db.event.create({
    data: {
      tenantId: actor.tenantId,
      userId: actor.userId,
      eventType: record.eventType,
      entityType: record.entityType,
      entityId: record.entityId,
      metadata: (record.eventMetadata ?? {}) as object,
    },
  });
}
