import { builder } from '../../builder.js';
import { relatedConnection } from '../../compiled/connections.js';
import { column, enumOf, isNull, timestamp } from '../../compiled/fields.js';
import { singleRow } from '../../compiled/roots.js';
import type { Role } from '../../domain/vocabulary.js';
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
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    email: t.exposeString('email', { extensions: { sql: column('email') } }),
    name: t.exposeString('name', { nullable: true, extensions: { sql: column('name') } }),
    role: t.field({
      type: UserRole,
      resolve: (user) => user.role as Role,
      extensions: { sql: enumOf('role') },
    }),
    isActive: t.boolean({
      description:
        'false once deactivated: the user is refused, keeps their tasks and cannot be given new ones',
      resolve: (user) => user.deactivatedAt === null,
      extensions: { sql: isNull('deactivatedAt') },
    }),
    deactivatedAt: t.expose('deactivatedAt', {
      type: 'DateTime',
      nullable: true,
      extensions: { sql: timestamp('deactivatedAt') },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', extensions: { sql: timestamp('updatedAt') } }),
    assignedTasks: t.relatedConnection(
      'assignedTasks',
      {
        description: 'Tasks assigned to this user, newest first unless ordered otherwise',
        cursor: 'id',
        totalCount: true,
        maxSize: relatedMaxSize,
        args: { filter: t.arg({ type: TaskFilter }), orderBy: t.arg({ type: TaskOrderBy }) },
        query: (args) => nestedTaskQuery(args),
        extensions: { sql: relatedConnection('assignedTasks', nestedTaskQuery) },
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
    extensions: {
      sql: singleRow((g, row) => `${row}.id = ${g.viewer()} AND ${row}.tenant_id = ${g.tenant()}`),
    },
  }),
);
