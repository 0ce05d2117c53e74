import { builder } from '../../builder.js';
import { column, timestamp } from '../../compiled/fields.js';
import { singleRow } from '../../compiled/roots.js';

export const Tenant = builder.prismaNode('Tenant', {
  description: 'A clinic. Every other row belongs to exactly one tenant.',
  id: { field: 'id' },
  // The viewer's own tenant only: any other tenant's ID behaves as unknown.
  findUnique: (id, ctx) => ({ id, AND: [{ id: ctx.viewer.tenantId }] }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    slug: t.exposeString('slug', { extensions: { sql: column('slug') } }),
    name: t.exposeString('name', { extensions: { sql: column('name') } }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', extensions: { sql: timestamp('updatedAt') } }),
  }),
});

builder.queryField('tenant', (t) =>
  t.prismaField({
    type: 'Tenant',
    description: "The viewer's clinic",
    resolve: (query, _root, _args, ctx) =>
      ctx.db.tenant.findUniqueOrThrow({ ...query, where: { id: ctx.viewer.tenantId } }),
    extensions: { sql: singleRow((g, row) => `${row}.id = ${g.tenant()}`) },
  }),
);
