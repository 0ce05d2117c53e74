import type { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../builder.js';
import { rowById } from '../../compiled/roots.js';
import type { Context } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { type PageArgs, rootList, rootListSql } from '../common/pagination.js';
import {
  TASK_ORDERS,
  TaskFilter,
  type TaskFilterValue,
  type TaskOrder,
  TaskOrderBy,
  taskWhere,
} from './inputs.js';
import { Task, TaskConnection } from './types.js';

type TaskListArgs = PageArgs & { filter?: TaskFilterValue | null; orderBy?: TaskOrder | null };

/** The tenant's tasks within `scope` matching the filter; "now" is the request's. */
function taskListWhere(
  ctx: Pick<Context, 'viewer'>,
  args: TaskListArgs,
  scope: Prisma.TaskWhereInput,
  now?: Date,
): Prisma.TaskWhereInput {
  return { AND: [{ tenantId: ctx.viewer.tenantId }, scope, taskWhere(args.filter, now)] };
}

function taskListOrder(args: TaskListArgs) {
  const name = args.orderBy ?? 'CREATED_AT_DESC';
  return { name, keys: TASK_ORDERS[name] };
}

/** A root task list: the tenant's tasks matching `where`, keyset-paginated, nested fields planned. */
function taskList(
  ctx: Context,
  info: Parameters<typeof queryFromInfo>[0]['info'],
  args: TaskListArgs,
  scope: Prisma.TaskWhereInput = {},
) {
  const order = taskListOrder(args);
  return rootList({
    context: ctx,
    info,
    args,
    delegate: ctx.db.task,
    where: taskListWhere(ctx, args, scope),
    orderName: order.name,
    order: order.keys,
  });
}

builder.queryFields((t) => ({
  task: t.prismaField({
    type: 'Task',
    nullable: true,
    description: "One task of the viewer's clinic, or null",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.task.findUnique({
        ...query,
        where: { id: rowIdFromGlobalId(args.id, 'Task'), tenantId: ctx.viewer.tenantId },
      }),
    extensions: { sql: rowById((args: { id: string }) => rowIdFromGlobalId(args.id, 'Task')) },
  }),
  tasks: t.connection(
    {
      type: Task,
      description: "The clinic's tasks",
      args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
      resolve: (_root, args, ctx, info) => taskList(ctx, info, args) as never,
      extensions: {
        sql: rootListSql({
          where: (args: TaskListArgs, { ctx, now }) => taskListWhere(ctx, args, {}, now),
          order: taskListOrder,
        }),
      },
    },
    TaskConnection,
  ),
  myTasks: t.connection(
    {
      type: Task,
      description: "Tasks assigned to the viewer: the viewer's work queue",
      args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
      resolve: (_root, args, ctx, info) => taskList(ctx, info, args, { assignedTo: ctx.viewer.id }) as never,
      extensions: {
        sql: rootListSql({
          where: (args: TaskListArgs, { ctx, now }) =>
            taskListWhere(ctx, args, { assignedTo: ctx.viewer.id }, now),
          order: taskListOrder,
        }),
      },
    },
    TaskConnection,
  ),
}));
