import { builder } from '../../builder.js';
import { rowField } from '../../compiled/field-sql.js';
import { column, columnSql, enumOf, timestamp, toOne } from '../../compiled/fields.js';
import { sqlList } from '../../compiled/sql.js';
import {
  type Priority as Level,
  OPEN_TASK_STATUSES,
  type TaskStatus as Status,
} from '../../domain/vocabulary.js';
import { Priority, TaskStatus } from '../common/enums.js';

export const Task = builder.prismaNode('Task', {
  description: "A piece of work on a case, for the clinic's staff",
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    case: t.relation('case', { extensions: { sql: toOne('case') } }),
    assignee: t.relation('assignee', { nullable: true, extensions: { sql: toOne('assignee') } }),
    title: t.exposeString('title', { extensions: { sql: column('title') } }),
    description: t.exposeString('description', {
      nullable: true,
      extensions: { sql: column('description') },
    }),
    status: t.field({
      type: TaskStatus,
      resolve: (task) => task.status as Status,
      extensions: { sql: enumOf('status') },
    }),
    priority: t.field({
      type: Priority,
      resolve: (task) => task.priority as Level,
      extensions: { sql: enumOf('priority') },
    }),
    dueDate: t.expose('dueDate', {
      type: 'DateTime',
      nullable: true,
      extensions: { sql: timestamp('dueDate') },
    }),
    completedAt: t.expose('completedAt', {
      type: 'DateTime',
      nullable: true,
      extensions: { sql: timestamp('completedAt') },
    }),
    isOverdue: t.boolean({
      description: 'dueDate is in the past and the task is PENDING or IN_PROGRESS',
      resolve: (task) =>
        task.dueDate !== null &&
        task.dueDate < new Date() &&
        (OPEN_TASK_STATUSES as readonly string[]).includes(task.status),
      extensions: {
        sql: rowField((cx) => {
          const due = columnSql(cx, 'dueDate');
          const status = columnSql(cx, 'status');
          // "Now" is the request's, one instant for the whole statement.
          return (g) =>
            `(${due} IS NOT NULL AND ${due} < ${g.now()} AND ${status} IN ${sqlList(OPEN_TASK_STATUSES)})`;
        }),
      },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', extensions: { sql: timestamp('updatedAt') } }),
  }),
});

export const TaskConnection = builder.connectionObject(
  { type: Task, name: 'TaskConnection' },
  { name: 'TaskEdge' },
);
