import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { UserRole } from '../common/enums.js';
import { keysetPage, type SortKey } from '../common/pagination.js';
import { User, UserConnection } from './types.js';

/** Newest first; the index (tenant_id, created_at, id) serves every page. */
const NEWEST_FIRST: SortKey[] = [
  { field: 'createdAt', direction: 'desc' },
  { field: 'id', direction: 'desc' },
];

builder.queryField('users', (t) =>
  t.connection(
    {
      type: User,
      description: "The clinic's users, newest first",
      args: { role: t.arg({ type: UserRole, description: 'Only users with this role' }) },
      resolve: (_root, args, ctx, info) => {
        const where: Prisma.UserWhereInput = {
          tenantId: ctx.viewer.tenantId,
          ...(args.role ? { role: args.role } : {}),
        };
        const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'] });
        return keysetPage({
          args,
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
          fetch: (page) =>
            ctx.db.user.findMany({
              ...query,
              where: { AND: [where, page.where] },
              orderBy: page.orderBy as Prisma.UserOrderByWithRelationInput[],
              take: page.take,
            }),
          count: () => ctx.db.user.count({ where }),
        }) as never;
      },
    },
    UserConnection,
  ),
);
