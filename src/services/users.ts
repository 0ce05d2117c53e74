import type { Actor } from '../context.js';
import { requestSql } from '../db/tenant.js';
import type { Role } from '../domain/vocabulary.js';
import { enumName } from '../domain/workflow.js';
import { forbidden, roleChanged, ValidationError } from '../errors.js';
import type { User } from '../generated/prisma/client.js';
import { type AuditedTable, createAudited, updateAudited } from './mutation.js';

export interface CreateUserInput {
  email: string;
  name: string | null;
  role: Role;
  authId: string;
}

export interface UpdateUserInput {
  id: string;
  /** undefined: left as it is; null: cleared. */
  name?: string | null;
  role?: Role;
  expectedUpdatedAt?: Date | null;
}

export const userTable: AuditedTable<User> = {
  entityType: 'user',
  model: 'User',
  // The audit trail shows who may sign in as whom: the subject is part of it.
  snapshot: (user) => ({
    email: user.email,
    name: user.name,
    role: enumName(user.role),
    authId: user.authId,
    isActive: user.deactivatedAt === null,
  }),
  eventMetadata: (user) => ({ role: enumName(user.role) }),
  feedScope: () => ({ caseId: null }),
};

/** A unique index refuses a second user with the email in the tenant, or with the subject anywhere. */
export function createUser(actor: Actor, input: CreateUserInput): Promise<User> {
  return createAudited(actor, userTable, {
    fields: {
      tenantId: actor.tenantId,
      email: input.email,
      name: input.name,
      role: input.role,
      authId: input.authId,
      deactivatedAt: null,
    },
    eventType: 'user.created',
  });
}

export function updateUser(actor: Actor, input: UpdateUserInput): Promise<User> {
  return updateAudited(actor, userTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    check: async (user) => {
      // One's own row, read and locked after every earlier write of the tenant committed: another
      // ADMIN may have changed one's role meanwhile, and this request was admitted with the old
      // one (the events trigger holds writes about other rows to the admitted role; this one
      // changes the very row it would read).
      if (user.id === actor.userId && user.role !== actor.role) throw roleChanged();
      if (input.role !== undefined && input.role !== 'admin') await assertNotLastAdmin(actor, user, 'role');
    },
    data: { name: input.name, role: input.role },
    eventType: 'user.updated',
    eventMetadata: (before, after) => ({ from: enumName(before.role), to: enumName(after.role) }),
  });
}

/**
 * Deactivates or reactivates a user. Setting the state the user has already succeeds and is
 * recorded (a deactivated user keeps the moment they were first deactivated).
 */
export function setUserActive(actor: Actor, input: { id: string; isActive: boolean }): Promise<User> {
  if (!input.isActive && input.id === actor.userId) {
    throw new ValidationError([{ path: ['isActive'], message: 'you cannot deactivate yourself' }]);
  }
  return updateAudited(actor, userTable, {
    id: input.id,
    check: async (user) => {
      if (!input.isActive) await assertNotLastAdmin(actor, user, 'isActive');
    },
    data: (user) => ({
      deactivatedAt: input.isActive ? null : (user.deactivatedAt ?? new Date()),
    }),
    eventType: input.isActive ? 'user.reactivated' : 'user.deactivated',
  });
}

/**
 * Refuses to take the admin role from `user` (a demotion or a deactivation, named by `field`) when
 * they are the tenant's last active ADMIN. Runs after `user` is locked, and so after the tenant's
 * change counter row is (src/services/audited-statements.ts, lockRow): every write of the tenant
 * waits for it, so two ADMINs demoting each other take turns, and the second counts in a statement
 * that starts after the first committed. That second one is then also refused when its actor is
 * no longer an active ADMIN (the first demoted them): FORBIDDEN. Only an active ADMIN's loss of
 * the role costs this statement; every other user write keeps the mutations' five statements.
 */
async function assertNotLastAdmin(actor: Actor, user: User, field: 'role' | 'isActive'): Promise<void> {
  if (user.role !== 'admin' || user.deactivatedAt !== null) return;
  const [admins] = await requestSql<{ others: number; actorIsAdmin: boolean }>(
    `SELECT count(*) FILTER (WHERE id <> $2::uuid)::int AS others, coalesce(bool_or(id = $3::uuid), false) AS "actorIsAdmin"
     FROM users WHERE tenant_id = $1::uuid AND role = 'admin' AND deactivated_at IS NULL`,
    [actor.tenantId, user.id, actor.userId],
    { prepare: true },
  );
  if (!admins?.actorIsAdmin) throw forbidden('you are no longer an active ADMIN of this tenant');
  if (admins.others === 0) {
    const what = field === 'role' ? 'demoted' : 'deactivated';
    throw new ValidationError([
      {
        path: [field],
        message: `the tenant's last active ADMIN cannot be ${what}: make another user ADMIN first`,
      },
    ]);
  }
}
