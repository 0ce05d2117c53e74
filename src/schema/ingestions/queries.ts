import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { IngestionStatus } from '../common/enums.js';
import { keysetPage, type SortKey } from '../common/pagination.js';
import { Ingestion, IngestionConnection } from './types.js';

/** Newest first; the index (tenant_id, created_at, id) serves every page. */
const NEWEST_FIRST: SortKey[] = [
  { field: 'createdAt', direction: 'desc' },
  { field: 'id', direction: 'desc' },
];

builder.queryField('ingestions', (t) =>
  t.connection(
    {
      type: Ingestion,
      description: "The clinic's ingestions (e-mails and PDFs), newest first",
      args: { status: t.arg({ type: IngestionStatus, description: 'Only ingestions in this state' }) },
      resolve: (_root, args, ctx, info) => {
        const where: Prisma.IngestionWhereInput = {
          tenantId: ctx.viewer.tenantId,
          ...(args.status ? { status: args.status } : {}),
        };
        const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'] });
        return keysetPage({
          args,
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
          fetch: (page) =>
            ctx.db.ingestion.findMany({
              ...query,
              where: { AND: [where, page.where] },
              orderBy: page.orderBy as Prisma.IngestionOrderByWithRelationInput[],
              take: page.take,
            }),
          count: () => ctx.db.ingestion.count({ where }),
        }) as never;
      },
    },
    IngestionConnection,
  ),
);
