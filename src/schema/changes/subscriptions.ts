import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { builder } from '../../builder.js';
import { notCompiled } from '../../compiled/field-sql.js';
import { badUserInput, unauthenticated } from '../../errors.js';
import { type ChangeRow, SUBSCRIBER_DEACTIVATED, subscriptionStart } from '../../realtime/changes.js';
import { decodeCursor, encodeCursor } from '../../realtime/cursor.js';
import { SubscriptionLimitError } from '../../realtime/feed.js';
import { decodeRowId } from '../common/ids.js';
import { Event } from '../events/types.js';

/** The feed's entities: the events rows' `entity_type`, and the Node type of their rows. */
const ENTITIES = {
  CASE: { entityType: 'case', typename: 'Case' },
  CASE_CODE: { entityType: 'case_code', typename: 'CaseCode' },
  TASK: { entityType: 'task', typename: 'Task' },
  RULESET: { entityType: 'ruleset', typename: 'Ruleset' },
} as const;
type EntityName = keyof typeof ENTITIES;
const ENTITY_BY_TYPE = new Map(
  Object.entries(ENTITIES).map(([name, entity]) => [entity.entityType as string, name as EntityName]),
);
const KINDS = { create: 'CREATED', update: 'UPDATED', delete: 'DELETED' } as const;

const ChangeEntity = builder.enumType('ChangeEntity', {
  description: 'What kind of row a change is of',
  values: Object.keys(ENTITIES) as EntityName[],
});

const ChangeKind = builder.enumType('ChangeKind', {
  description: 'What the change did to its row',
  values: ['CREATED', 'UPDATED', 'DELETED'] as const,
});

function entityOf(change: ChangeRow): (typeof ENTITIES)[EntityName] {
  const name = ENTITY_BY_TYPE.get(change.entityType ?? '');
  if (!name || !change.entityId) throw new Error(`event ${change.id} is no change of a feed entity`);
  return ENTITIES[name];
}

const Change = builder.objectRef<ChangeRow>('Change').implement({
  description: 'A committed change of a case, case code, task or ruleset (docs/realtime.md)',
  fields: (t) => ({
    cursor: t.string({
      description: 'Opaque, increasing per tenant in commit order: changes(after:) resumes right after it',
      resolve: (change) => encodeCursor(change.cursor),
    }),
    kind: t.field({
      type: ChangeKind,
      resolve: (change) => KINDS[(change.action ?? 'update') as keyof typeof KINDS] ?? 'UPDATED',
    }),
    entity: t.field({
      type: ChangeEntity,
      resolve: (change) => ENTITY_BY_TYPE.get(change.entityType ?? '') as EntityName,
    }),
    entityId: t.id({
      description: 'Global ID of the changed row, also when it was deleted',
      resolve: (change) => encodeGlobalID(entityOf(change).typename, change.entityId as string),
    }),
    node: t.node({
      description: 'The row as the subscriber may read it at delivery; null after DELETED (or deleted since)',
      id: (change) =>
        change.action === 'delete'
          ? null
          : { type: entityOf(change).typename, id: change.entityId as string },
    }),
    event: t.field({
      type: Event,
      nullable: false,
      description: 'The events row the mutation wrote',
      // The events row as Prisma reads it, its cursor a bigint there.
      resolve: (change) => ({ ...change, metadata: change.metadata as never, cursor: BigInt(change.cursor) }),
    }),
  }),
});

builder.subscriptionFields((t) => ({
  changes: t.field({
    type: Change,
    description:
      "Every committed change in the subscriber's tenant, narrowed by the arguments; with `after`, first every change after that cursor, then live ones: none twice, none missed (docs/realtime.md)",
    args: {
      entities: t.arg({
        type: [ChangeEntity],
        required: false,
        description: 'Only these kinds of row (null: all four)',
      }),
      caseId: t.arg.id({ required: false, description: 'Only that case, its codes and its tasks' }),
      assigneeId: t.arg.id({
        required: false,
        description: 'Only tasks assigned to that user before or after the change',
      }),
      after: t.arg.string({ required: false, description: 'A cursor of this feed: resume right after it' }),
    },
    extensions: { sql: notCompiled('a subscription streams') },
    subscribe: async (_root, args, ctx) => {
      const caseId = args.caseId == null ? undefined : decodeRowId(args.caseId, 'Case');
      if (args.caseId != null && !caseId) throw badUserInput('Argument "caseId" is not a Case ID');
      const assigneeId = args.assigneeId == null ? undefined : decodeRowId(args.assigneeId, 'User');
      if (args.assigneeId != null && !assigneeId)
        throw badUserInput('Argument "assigneeId" is not a User ID');
      // An empty list would select nothing, for good: a client's mistake, not a feed to keep open.
      if (args.entities?.length === 0)
        throw badUserInput('Argument "entities" is empty: name at least one entity, or leave it out for all');
      const head = await subscriptionStart(ctx.viewer.tenantId, ctx.viewer.id);
      if (head === undefined) throw unauthenticated(SUBSCRIBER_DEACTIVATED);
      let position = head;
      if (args.after != null) {
        const after = decodeCursor(args.after);
        if (after === undefined) throw badUserInput('Argument "after" is not a cursor of this feed');
        if (after > head) throw badUserInput('Argument "after" is a cursor this tenant has not reached');
        position = after;
      }
      try {
        return ctx.changeFeed.subscribe(
          {
            tenantId: ctx.viewer.tenantId,
            userId: ctx.viewer.id,
            position,
            filter: {
              // Users' and ingestions' events are not changes of the feed: "all" is its four entities.
              entityTypes: new Set(
                (args.entities ?? (Object.keys(ENTITIES) as EntityName[])).map(
                  (name) => ENTITIES[name].entityType,
                ),
              ),
              caseId,
              assigneeId,
              deactivationOf: { userId: ctx.viewer.id, after: head },
            },
          },
          head,
        );
      } catch (error) {
        if (!(error instanceof SubscriptionLimitError)) throw error;
        throw new GraphQLError(error.message, { extensions: { code: error.code } });
      }
    },
    resolve: (change) => change,
  }),
}));
