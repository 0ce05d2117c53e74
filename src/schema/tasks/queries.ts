import type { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../builder.js';
import type { Context } from '../../context.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { type PageArgs, rootList } from '../common/pagination.js';
import {
  TASK_ORDERS,
  TaskFilter,
  type TaskFilterValue,
  type TaskOrder,
  TaskOrderBy,
  taskWhere,
} from './inputs.js';
import { Task, TaskConnection } from './types.js';

/** A root task list: the tenant's tasks matching `where`, keyset-paginated, nested fields planned. */
function taskList(
  ctx: Context,
  info: Parameters<typeof queryFromInfo>[0]['info'],
  args: PageArgs & { filter?: TaskFilterValue | null; orderBy?: TaskOrder | null },
  scope: Prisma.TaskWhereInput = {},
) {
  const where: Prisma.TaskWhereInput = {
    AND: [{ tenantId: ctx.viewer.tenantId }, scope, taskWhere(args.filter)],
  };
  const orderName = args.orderBy ?? 'CREATED_AT_DESC';
  return rootList({
    context: ctx,
    info,
    args,
    delegate: ctx.db.task,
    where: where,
    orderName: orderName,
    order: TASK_ORDERS[orderName],
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
  }),
  tasks: t.connection(
    {
      type: Task,
      description: "The clinic's tasks",
      args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
      resolve: (_root, args, ctx, info) => taskList(ctx, info, args) as never,
    },
    TaskConnection,
  ),
  myTasks: t.connection(
    {
      type: Task,
      description: "Tasks assigned to the viewer: the viewer's work queue",
      args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
      resolve: (_root, args, ctx, info) => taskList(ctx, info, args, { assignedTo: ctx.viewer.id }) as never,
    },
    TaskConnection,
  ),
}));
