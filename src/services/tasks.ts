import type { TenantDb } from '../db/tenant.js';
import { diff, type Snapshot } from '../domain/changes.js';
import { enumName, TASK_TRANSITIONS, type TaskStatus } from '../domain/workflow.js';
import { ConflictError, forbidden, InvalidTransitionError, NotFoundError } from '../errors.js';
import type { Task } from '../generated/prisma/client.js';
import { type Actor, recordChange } from './audit.js';
import { inSavepoint, isStale, sameMillisecond } from './mutation.js';

type Priority = 'low' | 'normal' | 'high' | 'urgent';

export interface CreateTaskInput {
  caseId: string;
  title: string;
  description?: string | null;
  priority: Priority;
  dueDate?: Date | null;
  assigneeId?: string | null;
}

export interface UpdateTaskInput {
  id: string;
  title?: string;
  description?: string | null;
  priority?: Priority;
  dueDate?: Date | null;
  expectedUpdatedAt?: Date | null;
}

/** A task as the audit trail shows it: API field names, enum names, UUID references. */
export function taskSnapshot(task: Task): Snapshot {
  return {
    caseId: task.caseId,
    assigneeId: task.assignedTo,
    title: task.title,
    description: task.description,
    status: enumName(task.status),
    priority: enumName(task.priority),
    dueDate: task.dueDate?.toISOString() ?? null,
    completedAt: task.completedAt?.toISOString() ?? null,
  };
}

async function findTask(db: TenantDb, actor: Actor, id: string): Promise<Task> {
  const task = await db.task.findFirst({ where: { id, tenantId: actor.tenantId } });
  if (!task) throw new NotFoundError('Task not found');
  return task;
}

async function assertUserExists(db: TenantDb, actor: Actor, userId: string): Promise<void> {
  const user = await db.user.findFirst({
    where: { id: userId, tenantId: actor.tenantId },
    select: { id: true },
  });
  if (!user) throw new NotFoundError('Assignee not found');
}

/** STAFF work only on tasks assigned to them. */
function assertMayWorkOn(actor: Actor, task: Task, what: string): void {
  if (actor.role === 'staff' && task.assignedTo !== actor.userId) {
    throw forbidden(`a STAFF member may ${what} only tasks assigned to them`);
  }
}

/**
 * Writes `data` only if the row is still the version that was read (`updatedAt`): concurrent
 * writers never both succeed from the same state; the loser gets a ConflictError.
 */
async function updateIfUnchanged(
  db: TenantDb,
  task: Task,
  data: Parameters<TenantDb['task']['update']>[0]['data'],
) {
  const { count } = await db.task.updateMany({
    where: { id: task.id, updatedAt: sameMillisecond(task.updatedAt) },
    data,
  });
  if (count === 0) throw new ConflictError('The task changed meanwhile; read it again');
  return db.task.findUniqueOrThrow({ where: { id: task.id } });
}

export function createTask(db: TenantDb, actor: Actor, input: CreateTaskInput): Promise<Task> {
  if (actor.role === 'staff' && input.assigneeId != null && input.assigneeId !== actor.userId) {
    throw forbidden('a STAFF member may create tasks only unassigned or assigned to themselves');
  }
  // The composite foreign keys (case_id, tenant_id) and (assigned_to, tenant_id) refuse a case or
  // user that is not the tenant's: mapDatabaseError names which one was missing.
  return inSavepoint(db, async (tx) => {
    const task = await tx.task.create({
      data: {
        tenantId: actor.tenantId,
        caseId: input.caseId,
        assignedTo: input.assigneeId ?? null,
        title: input.title,
        description: input.description ?? null,
        priority: input.priority,
        dueDate: input.dueDate ?? null,
      },
    });
    await recordChange(tx, actor, {
      action: 'create',
      entityType: 'task',
      entityId: task.id,
      changes: diff(null, taskSnapshot(task)),
      eventType: 'task.created',
      eventMetadata: { caseId: task.caseId },
    });
    return task;
  });
}

export function updateTask(db: TenantDb, actor: Actor, input: UpdateTaskInput): Promise<Task> {
  return inSavepoint(db, async (tx) => {
    const task = await findTask(tx, actor, input.id);
    assertMayWorkOn(actor, task, 'update');
    if (isStale(task.updatedAt, input.expectedUpdatedAt))
      throw new ConflictError('The task changed since expectedUpdatedAt');
    const updated = await updateIfUnchanged(tx, task, {
      title: input.title,
      description: input.description,
      priority: input.priority,
      dueDate: input.dueDate,
    });
    await recordChange(tx, actor, {
      action: 'update',
      entityType: 'task',
      entityId: task.id,
      changes: diff(taskSnapshot(task), taskSnapshot(updated)),
      eventType: 'task.updated',
    });
    return updated;
  });
}

export function assignTask(
  db: TenantDb,
  actor: Actor,
  input: { id: string; assigneeId: string | null },
): Promise<Task> {
  return inSavepoint(db, async (tx) => {
    const task = await findTask(tx, actor, input.id);
    if (actor.role === 'staff') {
      const takesUnassigned = task.assignedTo === null && input.assigneeId === actor.userId;
      const releasesOwn = task.assignedTo === actor.userId && input.assigneeId === null;
      if (!takesUnassigned && !releasesOwn) {
        throw forbidden(
          'a STAFF member may only take an unassigned task for themselves, or unassign their own',
        );
      }
    }
    if (input.assigneeId) await assertUserExists(tx, actor, input.assigneeId);
    const updated = await updateIfUnchanged(tx, task, { assignedTo: input.assigneeId });
    await recordChange(tx, actor, {
      action: 'update',
      entityType: 'task',
      entityId: task.id,
      changes: diff(taskSnapshot(task), taskSnapshot(updated)),
      eventType: 'task.assigned',
      eventMetadata: { from: task.assignedTo, to: input.assigneeId },
    });
    return updated;
  });
}

export function transitionTaskStatus(
  db: TenantDb,
  actor: Actor,
  input: { id: string; status: TaskStatus; expectedUpdatedAt?: Date | null },
): Promise<Task> {
  return inSavepoint(db, async (tx) => {
    const task = await findTask(tx, actor, input.id);
    assertMayWorkOn(actor, task, 'change the status of');
    const from = task.status as TaskStatus;
    if (!TASK_TRANSITIONS[from].includes(input.status)) {
      throw new InvalidTransitionError(enumName(from), enumName(input.status));
    }
    if (isStale(task.updatedAt, input.expectedUpdatedAt))
      throw new ConflictError('The task changed since expectedUpdatedAt');
    const updated = await updateIfUnchanged(tx, task, {
      status: input.status,
      // Set on entering COMPLETED, cleared on leaving it.
      completedAt: input.status === 'completed' ? new Date() : null,
    });
    await recordChange(tx, actor, {
      action: 'update',
      entityType: 'task',
      entityId: task.id,
      changes: diff(taskSnapshot(task), taskSnapshot(updated)),
      eventType: 'task.status_changed',
      eventMetadata: { from: enumName(from), to: enumName(input.status) },
    });
    return updated;
  });
}

export function deleteTask(db: TenantDb, actor: Actor, input: { id: string }): Promise<string> {
  return inSavepoint(db, async (tx) => {
    const task = await findTask(tx, actor, input.id);
    await tx.task.delete({ where: { id: task.id } });
    await recordChange(tx, actor, {
      action: 'delete',
      entityType: 'task',
      entityId: task.id,
      changes: diff(taskSnapshot(task), null),
      eventType: 'task.deleted',
      eventMetadata: { caseId: task.caseId },
    });
    return task.id;
  });
}
