import { builder } from '../../builder.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { rootList } from '../common/pagination.js';
import { CASE_ORDERS, CaseFilter, CaseOrderBy, caseWhere } from './inputs.js';
import { Case, CaseConnection } from './types.js';

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
  cases: t.connection(
    {
      type: Case,
      description: "The clinic's cases: the work queue",
      args: { filter: t.arg({ type: CaseFilter }), orderBy: t.arg({ type: CaseOrderBy }) },
      resolve: (_root, args, ctx, info) => {
        const where = caseWhere(ctx, args.filter);
        const orderName = args.orderBy ?? 'CREATED_AT_DESC';
        return rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.case,
          where: where,
          orderName: orderName,
          order: CASE_ORDERS[orderName],
        }) as never;
      },
    },
    CaseConnection,
  ),
}));
