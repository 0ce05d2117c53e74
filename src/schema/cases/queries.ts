import { builder } from '../../builder.js';
import { rowById } from '../../compiled/roots.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { type PageArgs, rootList, rootListSql } from '../common/pagination.js';
import {
  CASE_ORDERS,
  CaseFilter,
  type CaseFilterValue,
  type CaseOrder,
  CaseOrderBy,
  caseWhere,
} from './inputs.js';
import { Case, CaseConnection } from './types.js';

interface CasesArgs extends PageArgs {
  filter?: CaseFilterValue | null;
  orderBy?: CaseOrder | null;
}

function casesOrder(args: CasesArgs) {
  const name = args.orderBy ?? 'CREATED_AT_DESC';
  return { name, keys: CASE_ORDERS[name] };
}

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
    extensions: { sql: rowById((args: { id: string }) => rowIdFromGlobalId(args.id, 'Case')) },
  }),
  cases: t.connection(
    {
      type: Case,
      description: "The clinic's cases: the work queue",
      args: { filter: t.arg({ type: CaseFilter }), orderBy: t.arg({ type: CaseOrderBy }) },
      resolve: (_root, args, ctx, info) => {
        const order = casesOrder(args);
        return rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.case,
          where: caseWhere(ctx, args.filter),
          orderName: order.name,
          order: order.keys,
        }) as never;
      },
      extensions: {
        sql: rootListSql({
          where: (args: CasesArgs, { ctx }) => caseWhere(ctx, args.filter),
          order: casesOrder,
        }),
      },
    },
    CaseConnection,
  ),
}));
