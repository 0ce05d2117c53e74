import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { IngestionStatus } from '../common/enums.js';
import { NEWEST_FIRST, type PageArgs, rootList, rootListSql } from '../common/pagination.js';
import { Ingestion, IngestionConnection } from './types.js';

builder.queryField('ingestions', (t) =>
  t.connection(
    {
      type: Ingestion,
      description: "The clinic's ingestions (e-mails and PDFs), newest first",
      args: { status: t.arg({ type: IngestionStatus, description: 'Only ingestions in this state' }) },
      resolve: (_root, args, ctx, info) =>
        rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.ingestion,
          where: ingestionsWhere(ctx.viewer.tenantId, args),
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
        }) as never,
      extensions: {
        sql: rootListSql({
          where: (args: PageArgs & { status?: string | null }, { ctx }) =>
            ingestionsWhere(ctx.viewer.tenantId, args),
          order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
        }),
      },
    },
    IngestionConnection,
  ),
);

/** `ingestions`' filter (the resolver's and the compiled query's). */
export function ingestionsWhere(
  tenantId: string,
  args: { status?: string | null },
): Prisma.IngestionWhereInput {
  return { tenantId, ...(args.status ? { status: args.status } : {}) };
}
