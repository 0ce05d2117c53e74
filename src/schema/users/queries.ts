import { builder } from '../../builder.js';
import { UserRole } from '../common/enums.js';
import { NEWEST_FIRST, rootList } from '../common/pagination.js';
import { User, UserConnection } from './types.js';

builder.queryField('users', (t) =>
  t.connection(
    {
      type: User,
      description: "The clinic's users, newest first",
      args: { role: t.arg({ type: UserRole, description: 'Only users with this role' }) },
      resolve: (_root, args, ctx, info) =>
        rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.user,
          where: { tenantId: ctx.viewer.tenantId, ...(args.role ? { role: args.role } : {}) },
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
        }) as never,
    },
    UserConnection,
  ),
);
