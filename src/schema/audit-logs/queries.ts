import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { AuditAction } from '../common/enums.js';
import { NEWEST_FIRST, rootList } from '../common/pagination.js';
import { AuditLog, AuditLogConnection } from './types.js';

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
        return rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.auditLog,
          where: where,
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
        }) as never;
      },
    },
    AuditLogConnection,
  ),
);
