import { decodeGlobalID } from '@pothos/plugin-relay';
import { type GraphQLResolveInfo, isObjectType } from 'graphql';
import { builder } from '../../builder.js';
import { notCompiled } from '../../compiled/field-sql.js';
import { badUserInput } from '../../errors.js';
import { decodeRowId } from './ids.js';
import { MAX_NODE_IDS } from './input-limits.js';

/**
 * A global ID for `node`/`nodes`: of a type that implements Node, around a row id (every Node's
 * key is a UUID). The relay plugin's own fields would send any key to the database (an invalid
 * UUID there is a data exception) and answer an unknown type with a message that repeats the ID.
 */
function nodeGlobalId(globalId: string, argument: string, info: GraphQLResolveInfo): string {
  let typename: string | undefined;
  try {
    typename = decodeGlobalID(globalId).typename;
  } catch {
    typename = undefined;
  }
  const type = typename === undefined ? undefined : info.schema.getType(typename);
  const isNode = isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
  if (!isNode || !decodeRowId(globalId, type.name)) {
    throw badUserInput(`Argument "${argument}" is not the global ID of a Node`);
  }
  return globalId;
}

/** IDs the `nodes` fields of a request have asked for so far, by the request's context. */
const nodeIdsAsked = new WeakMap<object, number>();

builder.queryFields((t) => ({
  node: t.node({
    args: { id: t.arg.id({ required: true }) },
    id: (_root, args, _ctx, info) => nodeGlobalId(args.id, 'id', info),
    extensions: { sql: notCompiled('Node is an interface: the type is known only once the id is read') },
  }),
  nodes: t.nodeList({
    args: { ids: t.arg.idList({ required: true }) },
    ids: (_root, args, ctx, info) => {
      if (args.ids.length > MAX_NODE_IDS) {
        throw badUserInput(`Argument "ids" must hold at most ${MAX_NODE_IDS} IDs (got ${args.ids.length})`);
      }
      // Aliases would multiply the list (30 × 100 IDs, each its own lookup): the bound is per request.
      const asked = (nodeIdsAsked.get(ctx) ?? 0) + args.ids.length;
      if (asked > MAX_NODE_IDS) {
        throw badUserInput(
          `At most ${MAX_NODE_IDS} IDs in all the nodes fields of one request (got ${asked})`,
        );
      }
      nodeIdsAsked.set(ctx, asked);
      return args.ids.map((id, i) => nodeGlobalId(id, `ids[${i}]`, info));
    },
    extensions: { sql: notCompiled('Node is an interface: the types are known only once the ids are read') },
  }),
}));
