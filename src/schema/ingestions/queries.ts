import { builder } from '../../builder.js';
import { rowById } from '../../compiled/roots.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { IngestionStatus } from '../common/enums.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { NEWEST_FIRST, type PageArgs, rootList, rootListSql } from '../common/pagination.js';
import { Ingestion, IngestionConnection } from './types.js';

// By id like case(id:), task(id:) and ruleset(id:): also what a mutation's payload is read by
// (src/compiled/payloads.ts).
builder.queryField('ingestion', (t) =>
  t.prismaField({
    type: 'Ingestion',
    nullable: true,
    description: "One ingestion of the viewer's clinic, or null",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.ingestion.findUnique({
        ...query,
        where: { id: rowIdFromGlobalId(args.id, 'Ingestion'), tenantId: ctx.viewer.tenantId },
      }),
    extensions: { sql: rowById((args: { id: string }) => rowIdFromGlobalId(args.id, 'Ingestion')) },
  }),
);

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
