import { can } from '../../auth/permissions.js';
import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { AuditAction } from '../common/enums.js';
import { NEWEST_FIRST, type PageArgs, rootList, rootListSql } from '../common/pagination.js';
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
      extensions: {
        sql: rootListSql({
          where: (args: PageArgs & { entityId?: string | null; action?: string | null }, { ctx }) =>
            auditLogsWhere(ctx.viewer.tenantId, args),
          order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
          visibleTo: (role) => can(role, 'auditLog:read'),
        }),
      },
    },
    AuditLogConnection,
  ),
);

/** `auditLogs`' filter (the resolver's and the compiled query's). */
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
