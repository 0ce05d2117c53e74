import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { AuditAction } from '../common/enums.js';
import { keysetPage, type SortKey } from '../common/pagination.js';
import { AuditLog, AuditLogConnection } from './types.js';

/** Newest first; the index (tenant_id, created_at, id) serves every page. */
const NEWEST_FIRST: SortKey[] = [
  { field: 'createdAt', direction: 'desc' },
  { field: 'id', direction: 'desc' },
];

builder.queryField('auditLogs', (t) =>
  t.connection(
    {
      type: AuditLog,
      description: "The clinic's audit trail, newest first. ADMIN only",
      // Checked before the resolver runs: for anyone else nothing is read.
      authScopes: { can: 'auditLog:read' },
      args: {
        entityId: t.arg({ type: 'UUID', description: 'Only rows about this entity' }),
        action: t.arg({ type: AuditAction, description: 'Only rows of this action' }),
      },
      resolve: (_root, args, ctx, info) => {
        const where: Prisma.AuditLogWhereInput = {
          tenantId: ctx.viewer.tenantId,
          ...(args.entityId ? { entityId: args.entityId } : {}),
          ...(args.action ? { action: args.action } : {}),
        };
        const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'] });
        return keysetPage({
          args,
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
          fetch: (page) =>
            ctx.db.auditLog.findMany({
              ...query,
              where: { AND: [where, page.where] },
              orderBy: page.orderBy as Prisma.AuditLogOrderByWithRelationInput[],
              take: page.take,
            }),
          count: () => ctx.db.auditLog.count({ where }),
        }) as never;
      },
    },
    AuditLogConnection,
  ),
);
