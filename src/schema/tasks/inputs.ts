import { z } from 'zod';
import { builder } from '../../builder.js';
import { OPEN_TASK_STATUSES, PRIORITIES, TASK_STATUSES } from '../../domain/vocabulary.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { Priority, TaskStatus } from '../common/enums.js';
import { globalIdOf } from '../common/ids.js';
import { distinct, MAX_DESCRIPTION_LENGTH } from '../common/input-limits.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { type PageArgs, pageWindow, type SortKey } from '../common/pagination.js';
import { optionalText, requiredText } from '../common/validation.js';

export const TaskFilter = builder.inputType('TaskFilter', {
  description: 'All given conditions must hold',
  fields: (t) => ({
    status: t.field({ type: [TaskStatus] }),
    priority: t.field({ type: [Priority] }),
    assigneeId: t.id({ description: 'Tasks assigned to this user' }),
    unassigned: t.boolean({ description: 'true: only unassigned tasks; false: only assigned ones' }),
    overdue: t.boolean({
      description: 'true: only overdue tasks (see Task.isOverdue); false: only the others',
    }),
    dueBefore: t.field({ type: 'DateTime', description: 'Due strictly before this instant' }),
  }),
});

export const TaskOrderBy = builder.enumType('TaskOrderBy', {
  description: 'Task list orders; each ends with the id as tie-breaker',
  values: {
    DUE_DATE_ASC: { description: 'Soonest due first; tasks without a due date last' },
    CREATED_AT_DESC: { description: 'Newest first (the default)' },
    PRIORITY_DESC: { description: 'URGENT, HIGH, NORMAL, LOW' },
    UPDATED_AT_DESC: { description: 'Most recently changed first' },
  } as const,
});

export type TaskOrder = 'DUE_DATE_ASC' | 'CREATED_AT_DESC' | 'PRIORITY_DESC' | 'UPDATED_AT_DESC';

export const TASK_ORDERS: Record<TaskOrder, SortKey[]> = {
  DUE_DATE_ASC: [
    { field: 'dueDate', direction: 'asc', nullsLast: true },
    { field: 'id', direction: 'asc' },
  ],
  CREATED_AT_DESC: [
    { field: 'createdAt', direction: 'desc' },
    { field: 'id', direction: 'desc' },
  ],
  PRIORITY_DESC: [
    { field: 'priorityRank', direction: 'desc' },
    { field: 'id', direction: 'desc' },
  ],
  UPDATED_AT_DESC: [
    { field: 'updatedAt', direction: 'desc' },
    { field: 'id', direction: 'desc' },
  ],
};

/**
 * The filter and order of a nested task list (Case.tasks, User.assignedTasks), which Pothos plans
 * into its parent's query. Its page arguments are checked like a root list's.
 */
export function nestedTaskQuery(
  args: PageArgs & { filter?: TaskFilterValue | null; orderBy?: TaskOrder | null },
) {
  pageWindow(args);
  const orderBy = TASK_ORDERS[args.orderBy ?? 'CREATED_AT_DESC'].map((key) =>
    key.nullsLast ? { [key.field]: { sort: key.direction, nulls: 'last' } } : { [key.field]: key.direction },
  ) as Prisma.TaskOrderByWithRelationInput[];
  return { where: taskWhere(args.filter), orderBy };
}

export interface TaskFilterValue {
  status?: string[] | null;
  priority?: string[] | null;
  assigneeId?: string | null;
  unassigned?: boolean | null;
  overdue?: boolean | null;
  dueBefore?: Date | null;
}

export function taskWhere(
  filter: TaskFilterValue | null | undefined,
  now = new Date(),
): Prisma.TaskWhereInput {
  if (!filter) return {};
  const and: Prisma.TaskWhereInput[] = [];
  if (filter.status) and.push({ status: { in: distinct(filter.status) } });
  if (filter.priority) and.push({ priority: { in: distinct(filter.priority) } });
  if (filter.assigneeId != null)
    and.push({ assignedTo: rowIdFromGlobalId(filter.assigneeId, 'User', 'filter.assigneeId') });
  if (filter.unassigned != null) and.push({ assignedTo: filter.unassigned ? null : { not: null } });
  if (filter.overdue != null) {
    // The complement spelled out: SQL's NOT (due_date < now AND …) is NULL, not true, without a due date.
    and.push(
      filter.overdue
        ? { dueDate: { lt: now }, status: { in: [...OPEN_TASK_STATUSES] } }
        : {
            OR: [
              { dueDate: null },
              { dueDate: { gte: now } },
              { status: { notIn: [...OPEN_TASK_STATUSES] } },
            ],
          },
    );
  }
  if (filter.dueBefore) and.push({ dueDate: { lt: filter.dueBefore } });
  return { AND: and };
}

// ---- mutation inputs -------------------------------------------------------------------------

export const CreateTaskInput = builder.inputType('CreateTaskInput', {
  fields: (t) => ({
    caseId: t.id({ required: true }),
    title: t.string({ required: true }),
    description: t.string(),
    priority: t.field({ type: Priority, defaultValue: 'normal' }),
    dueDate: t.field({ type: 'DateTime' }),
    assigneeId: t.id({ description: 'Unassigned when absent or null' }),
  }),
});

export const createTaskSchema = z.object({
  caseId: globalIdOf('Case'),
  title: requiredText(255),
  description: optionalText(MAX_DESCRIPTION_LENGTH),
  priority: z
    .enum(PRIORITIES)
    .nullish()
    .transform((v) => v ?? 'normal'),
  dueDate: z.date().nullish(),
  assigneeId: globalIdOf('User').nullish(),
});

export const UpdateTaskInput = builder.inputType('UpdateTaskInput', {
  description: 'Fields left out stay as they are; description and dueDate can be cleared with null',
  fields: (t) => ({
    id: t.id({ required: true }),
    title: t.string(),
    description: t.string(),
    priority: t.field({ type: Priority }),
    dueDate: t.field({ type: 'DateTime' }),
    expectedUpdatedAt: t.field({
      type: 'DateTime',
      description: 'Optimistic concurrency: ConflictError when the task changed since',
    }),
  }),
});

export const updateTaskSchema = z.object({
  id: globalIdOf('Task'),
  // null for a required field means "leave it", as absent does
  title: requiredText(255)
    .nullish()
    .transform((v) => v ?? undefined),
  description: optionalText(MAX_DESCRIPTION_LENGTH),
  priority: z
    .enum(PRIORITIES)
    .nullish()
    .transform((v) => v ?? undefined),
  dueDate: z.date().nullish(),
  expectedUpdatedAt: z.date().nullish(),
});

export const AssignTaskInput = builder.inputType('AssignTaskInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    assigneeId: t.id({ description: 'null unassigns' }),
  }),
});

export const assignTaskSchema = z.object({
  id: globalIdOf('Task'),
  assigneeId: globalIdOf('User')
    .nullish()
    .transform((v) => v ?? null),
});

export const TransitionTaskStatusInput = builder.inputType('TransitionTaskStatusInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    status: t.field({ type: TaskStatus, required: true }),
    expectedUpdatedAt: t.field({ type: 'DateTime' }),
  }),
});

export const transitionTaskStatusSchema = z.object({
  id: globalIdOf('Task'),
  status: z.enum(TASK_STATUSES),
  expectedUpdatedAt: z.date().nullish(),
});

export const DeleteTaskInput = builder.inputType('DeleteTaskInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

export const deleteTaskSchema = z.object({ id: globalIdOf('Task') });
