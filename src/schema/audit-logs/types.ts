import { builder } from '../../builder.js';
import { column, enumOf, jsonColumn, timestamp, toOne } from '../../compiled/fields.js';
import type { AuditAction as Action } from '../../domain/vocabulary.js';
import { forbidden } from '../../errors.js';
import { AuditAction } from '../common/enums.js';

export const AuditLog = builder.prismaNode('AuditLog', {
  description: 'One row of the audit trail: who created, changed, deleted or viewed what, from where',
  id: { field: 'id' },
  // node(id)/nodes(ids) reach audit rows too: refused before the read for anyone but an ADMIN,
  // as the auditLogs list is (API.md, Roles).
  findUnique: (id, ctx) => {
    if (ctx.viewer.role !== 'admin') {
      throw forbidden(`a ${ctx.viewer.role.toUpperCase()} may not read audit logs`);
    }
    return { id, tenantId: ctx.viewer.tenantId };
  },
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    action: t.field({
      type: AuditAction,
      resolve: (row) => row.action as Action,
      extensions: { sql: enumOf('action') },
    }),
    entityType: t.exposeString('entityType', {
      description: 'case, case_code, task, ruleset, user or ingestion',
      extensions: { sql: column('entityType') },
    }),
    entityId: t.expose('entityId', {
      type: 'UUID',
      description: "The entity's UUID",
      extensions: { sql: column('entityId') },
    }),
    changes: t.expose('changes', {
      type: 'JSON',
      nullable: true,
      description: '{ before, after } of the fields that changed; null for a VIEW',
      extensions: { sql: jsonColumn('changes') },
    }),
    user: t.relation('user', {
      nullable: true,
      description: 'Who acted, when known',
      extensions: { sql: toOne('user') },
    }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, extensions: { sql: column('ipAddress') } }),
    userAgent: t.exposeString('userAgent', { nullable: true, extensions: { sql: column('userAgent') } }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
  }),
});

export const AuditLogConnection = builder.connectionObject(
  { type: AuditLog, name: 'AuditLogConnection' },
  { name: 'AuditLogEdge' },
);
