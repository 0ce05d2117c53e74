import { builder } from '../../builder.js';

export const Tenant = builder.prismaNode('Tenant', {
  description: 'A clinic. Every other row belongs to exactly one tenant.',
  id: { field: 'id' },
  // The viewer's own tenant only: any other tenant's ID behaves as unknown.
  findUnique: (id, ctx) => ({ id, AND: [{ id: ctx.viewer.tenantId }] }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryField('tenant', (t) =>
  t.prismaField({
    type: 'Tenant',
    description: "The viewer's clinic",
    resolve: (query, _root, _args, ctx) =>
      ctx.db.tenant.findUniqueOrThrow({ ...query, where: { id: ctx.viewer.tenantId } }),
  }),
);
