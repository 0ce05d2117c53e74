import { builder } from '../../builder.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { CaseConnection } from './types.js';

builder.queryFields((t) => ({
  case: t.prismaField({
    type: 'Case',
    nullable: true,
    description: "One case of the viewer's clinic, or null",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.case.findUnique({
        ...query,
        where: { id: rowIdFromGlobalId(args.id, 'Case'), tenantId: ctx.viewer.tenantId },
      }),
  }),
  cases: t.prismaConnection(
    {
      type: 'Case',
      cursor: 'id',
      description: "The clinic's cases, newest first",
      totalCount: (_connection, _args, ctx) =>
        ctx.db.case.count({ where: { tenantId: ctx.viewer.tenantId } }),
      resolve: (query, _root, _args, ctx) =>
        ctx.db.case.findMany({
          ...query,
          where: { tenantId: ctx.viewer.tenantId },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    CaseConnection,
  ),
}));
