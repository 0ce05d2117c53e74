import { builder } from '../../builder.js';

export const Event = builder.prismaNode('Event', {
  description:
    'Something that happened in the clinic (case.created, task.status_changed, …), for timelines and feeds',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    eventType: t.exposeString('eventType', { description: 'e.g. case.created, task.status_changed' }),
    entityType: t.exposeString('entityType', {
      nullable: true,
      description: 'case, case_code, task or ruleset',
    }),
    entityId: t.expose('entityId', { type: 'UUID', nullable: true, description: "The entity's UUID" }),
    metadata: t.expose('metadata', {
      type: 'JSON',
      nullable: true,
      description: "Context of the event, e.g. a transition's from, to and reason",
    }),
    user: t.relation('user', { nullable: true, description: 'Who caused it, when known' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const EventConnection = builder.connectionObject(
  { type: Event, name: 'EventConnection' },
  { name: 'EventEdge' },
);
