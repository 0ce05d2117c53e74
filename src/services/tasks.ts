import type { Actor } from '../context.js';
import type { Priority } from '../domain/vocabulary.js';
import { enumName, TASK_TRANSITIONS, type TaskStatus } from '../domain/workflow.js';
import { forbidden, InvalidTransitionError } from '../errors.js';
import type { Task } from '../generated/prisma/client.js';
import { type AuditedTable, createAudited, deleteAudited, updateAudited } from './mutation.js';

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

export const taskTable: AuditedTable<Task> = {
  entityType: 'task',
  model: 'Task',
  // API field names, enum names, UUID references.
  snapshot: (task) => ({
    caseId: task.caseId,
    assigneeId: task.assignedTo,
    title: task.title,
    description: task.description,
    status: enumName(task.status),
    priority: enumName(task.priority),
    dueDate: task.dueDate?.toISOString() ?? null,
    completedAt: task.completedAt?.toISOString() ?? null,
  }),
  eventMetadata: (task) => ({ caseId: task.caseId }),
  feedScope: (task) => ({ caseId: task.caseId, assigneeId: task.assignedTo }),
};

/** STAFF work only on tasks assigned to them. */
function assertMayWorkOn(actor: Actor, task: Task, what: string): void {
  if (actor.role === 'staff' && task.assignedTo !== actor.userId) {
    throw forbidden(`a STAFF member may ${what} only tasks assigned to them`);
  }
}

export function createTask(actor: Actor, input: CreateTaskInput): Promise<Task> {
  if (actor.role === 'staff' && input.assigneeId != null && input.assigneeId !== actor.userId) {
    throw forbidden('a STAFF member may create tasks only unassigned or assigned to themselves');
  }
  // The intake SERVICE may not assign (task:assign): its review tasks wait for the clinic's staff.
  if (actor.role === 'service' && input.assigneeId != null) {
    throw forbidden('the intake SERVICE creates tasks unassigned: the clinic’s staff take them');
  }
  // The composite foreign keys (case_id, tenant_id) and (assigned_to, tenant_id) refuse a case or
  // user that is not the tenant's: mapDatabaseError names which one was missing.
  return createAudited(actor, taskTable, {
    fields: {
      tenantId: actor.tenantId,
      caseId: input.caseId,
      assignedTo: input.assigneeId ?? null,
      title: input.title,
      description: input.description ?? null,
      status: 'pending',
      priority: input.priority,
      dueDate: input.dueDate ?? null,
      completedAt: null,
    },
    eventType: 'task.created',
  });
}

export function updateTask(actor: Actor, input: UpdateTaskInput): Promise<Task> {
  return updateAudited(actor, taskTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    check: (task) => assertMayWorkOn(actor, task, 'update'),
    data: {
      title: input.title,
      description: input.description,
      priority: input.priority,
      dueDate: input.dueDate,
    },
    eventType: 'task.updated',
  });
}

/** The assignee's foreign key (assigned_to, tenant_id) refuses a user that is not the tenant's. */
export function assignTask(actor: Actor, input: { id: string; assigneeId: string | null }): Promise<Task> {
  return updateAudited(actor, taskTable, {
    id: input.id,
    check(task) {
      if (actor.role === 'staff') {
        const takesUnassigned = task.assignedTo === null && input.assigneeId === actor.userId;
        const releasesOwn = task.assignedTo === actor.userId && input.assigneeId === null;
        if (!takesUnassigned && !releasesOwn) {
          throw forbidden(
            'a STAFF member may only take an unassigned task for themselves, or unassign their own',
          );
        }
      }
    },
    data: { assignedTo: input.assigneeId },
    eventType: 'task.assigned',
    eventMetadata: (task) => ({ from: task.assignedTo, to: input.assigneeId }),
  });
}

export function transitionTaskStatus(
  actor: Actor,
  input: { id: string; status: TaskStatus; expectedUpdatedAt?: Date | null },
): Promise<Task> {
  return updateAudited(actor, taskTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    check(task) {
      assertMayWorkOn(actor, task, 'change the status of');
      if (!TASK_TRANSITIONS[task.status as TaskStatus].includes(input.status)) {
        throw new InvalidTransitionError(enumName(task.status), enumName(input.status));
      }
    },
    data: {
      status: input.status,
      // Set on entering COMPLETED, cleared on leaving it.
      completedAt: input.status === 'completed' ? new Date() : null,
    },
    eventType: 'task.status_changed',
    eventMetadata: (task) => ({ from: enumName(task.status), to: enumName(input.status) }),
  });
}

export async function deleteTask(actor: Actor, input: { id: string }): Promise<string> {
  const task = await deleteAudited(actor, taskTable, input.id, 'task.deleted');
  return task.id;
}
