import { builder } from '../../builder.js';
import { Priority, TaskStatus } from '../common/enums.js';

type Status = 'pending' | 'in_progress' | 'completed' | 'cancelled';
type Level = 'low' | 'normal' | 'high' | 'urgent';

const OPEN_STATUSES: readonly string[] = ['pending', 'in_progress'];

export const Task = builder.prismaNode('Task', {
  description: "A piece of work on a case, for the clinic's staff",
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    case: t.relation('case'),
    assignee: t.relation('assignee', { nullable: true }),
    title: t.exposeString('title'),
    description: t.exposeString('description', { nullable: true }),
    status: t.field({ type: TaskStatus, resolve: (task) => task.status as Status }),
    priority: t.field({ type: Priority, resolve: (task) => task.priority as Level }),
    dueDate: t.expose('dueDate', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    isOverdue: t.boolean({
      description: 'dueDate is in the past and the task is PENDING or IN_PROGRESS',
      resolve: (task) =>
        task.dueDate !== null && task.dueDate < new Date() && OPEN_STATUSES.includes(task.status),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const TaskConnection = builder.connectionObject(
  { type: Task, name: 'TaskConnection' },
  { name: 'TaskEdge' },
);
