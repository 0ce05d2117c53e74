import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { UserRole } from '../common/enums.js';
import { NEWEST_FIRST, type PageArgs, rootList, rootListSql } from '../common/pagination.js';
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
          where: usersWhere(ctx.viewer.tenantId, args),
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
        }) as never,
      extensions: {
        sql: rootListSql({
          where: (args: PageArgs & { role?: string | null }, { ctx }) =>
            usersWhere(ctx.viewer.tenantId, args),
          order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
        }),
      },
    },
    UserConnection,
  ),
);

/** `users`' filter (the resolver's and the compiled query's). */
export function usersWhere(tenantId: string, args: { role?: string | null }): Prisma.UserWhereInput {
  return { tenantId, ...(args.role ? { role: args.role } : {}) };
}
