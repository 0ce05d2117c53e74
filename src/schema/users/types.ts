import { builder } from '../../builder.js';
import type { Role } from '../../context.js';
import { UserRole } from '../common/enums.js';
import { relatedMaxSize } from '../common/pagination.js';
import { nestedTaskQuery, TaskFilter, TaskOrderBy } from '../tasks/inputs.js';
import { TaskConnection } from '../tasks/types.js';

export const User = builder.prismaNode('User', {
  description: 'A member of staff of the clinic',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    email: t.exposeString('email'),
    name: t.exposeString('name', { nullable: true }),
    role: t.field({ type: UserRole, resolve: (user) => user.role as Role }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    assignedTasks: t.relatedConnection(
      'assignedTasks',
      {
        description: 'Tasks assigned to this user, newest first unless ordered otherwise',
        cursor: 'id',
        totalCount: true,
        maxSize: relatedMaxSize,
        args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
        query: (args) => nestedTaskQuery(args),
      },
      TaskConnection,
    ),
  }),
});

export const UserConnection = builder.connectionObject(
  { type: User, name: 'UserConnection' },
  { name: 'UserEdge' },
);

builder.queryField('me', (t) =>
  t.prismaField({
    type: 'User',
    description: 'The authenticated user',
    resolve: (query, _root, _args, ctx) =>
      ctx.db.user.findUniqueOrThrow({
        ...query,
        where: { id: ctx.viewer.id, tenantId: ctx.viewer.tenantId },
      }),
  }),
);
