import { builder } from '../../builder.js';
import { column, jsonColumn, timestamp, toOne } from '../../compiled/fields.js';

export const Event = builder.prismaNode('Event', {
  description:
    'Something that happened in the clinic (case.created, task.status_changed, …), for timelines and feeds',
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    eventType: t.exposeString('eventType', {
      description: 'e.g. case.created, task.status_changed',
      extensions: { sql: column('eventType') },
    }),
    entityType: t.exposeString('entityType', {
      nullable: true,
      description: 'case, case_code, task, ruleset, user or ingestion',
      extensions: { sql: column('entityType') },
    }),
    entityId: t.expose('entityId', {
      type: 'UUID',
      nullable: true,
      description: "The entity's UUID",
      extensions: { sql: column('entityId') },
    }),
    metadata: t.expose('metadata', {
      type: 'JSON',
      nullable: true,
      description: "Context of the event, e.g. a transition's from, to and reason",
      extensions: { sql: jsonColumn('metadata') },
    }),
    user: t.relation('user', {
      nullable: true,
      description: 'Who caused it, when known',
      extensions: { sql: toOne('user') },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
  }),
});

export const EventConnection = builder.connectionObject(
  { type: Event, name: 'EventConnection' },
  { name: 'EventEdge' },
);
