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
      resolve: (_root, args, ctx, info) =>
        rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.auditLog,
          where: auditLogsWhere(ctx.viewer.tenantId, args),
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
        }) as never,
    },
    AuditLogConnection,
  ),
);

/** `auditLogs`' filter (the resolver's and the compiled query's, src/compiled). */
export function auditLogsWhere(
  tenantId: string,
  args: { entityId?: string | null; action?: string | null },
): Prisma.AuditLogWhereInput {
  return {
    tenantId,
    ...(args.entityId ? { entityId: args.entityId } : {}),
    ...(args.action ? { action: args.action } : {}),
  };
}
