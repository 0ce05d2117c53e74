import { builder } from '../../builder.js';
import { rowById } from '../../compiled/roots.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { UserRole } from '../common/enums.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { NEWEST_FIRST, type PageArgs, rootList, rootListSql } from '../common/pagination.js';
import { User, UserConnection } from './types.js';

// By id like case(id:), task(id:) and ruleset(id:): also what a mutation's payload is read by
// (src/compiled/payloads.ts).
builder.queryField('user', (t) =>
  t.prismaField({
    type: 'User',
    nullable: true,
    description: "One user of the viewer's clinic, or null",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.user.findUnique({
        ...query,
        where: { id: rowIdFromGlobalId(args.id, 'User'), tenantId: ctx.viewer.tenantId },
      }),
    extensions: { sql: rowById((args: { id: string }) => rowIdFromGlobalId(args.id, 'User')) },
  }),
);

builder.queryField('users', (t) =>
  t.connection(
    {
      type: User,
      description: "The clinic's users, newest first",
      args: {
        role: t.arg({ type: UserRole, description: 'Only users with this role' }),
        isActive: t.arg.boolean({
          description:
            'true: only active users (whom tasks may be assigned to); false: only deactivated ones',
        }),
      },
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
          where: (args: PageArgs & UsersArgs, { ctx }) => usersWhere(ctx.viewer.tenantId, args),
          order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
        }),
      },
    },
    UserConnection,
  ),
);

interface UsersArgs {
  role?: string | null;
  isActive?: boolean | null;
}

/** `users`' filter (the resolver's and the compiled query's). */
export function usersWhere(tenantId: string, args: UsersArgs): Prisma.UserWhereInput {
  return {
    tenantId,
    ...(args.role ? { role: args.role } : {}),
    ...(args.isActive == null ? {} : { deactivatedAt: args.isActive ? null : { not: null } }),
  };
}
