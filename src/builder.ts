import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { type Action, can } from './auth/permissions.js';
import { nodeId } from './compiled/fields.js';
import {
  edgeCursorSql,
  edgeNodeSql,
  edgesSql,
  endCursorSql,
  hasNextPageSql,
  hasPreviousPageSql,
  pageInfoSql,
  startCursorSql,
} from './compiled/relay-fields.js';
import type { Context } from './context.js';
import { forbidden } from './errors.js';
import type PrismaTypes from './generated/pothos-types.js';
import { getDatamodel } from './generated/pothos-types.js';
import type { PrismaClient } from './generated/prisma/client.js';

/** The one schema builder. Types are defined in src/schema/<domain>/, never here. */
export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  /** Every connection can count its rows; the count query runs only when `totalCount` is selected. */
  Connection: { totalCount?: number | (() => number | Promise<number>) };
  AuthScopes: {
    /** The viewer's role may attempt this action (src/auth/permissions.ts). */
    can: Action;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    UUID: { Input: string; Output: string };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({ can: (action) => can(ctx.viewer.role, action) }),
    // Role checks run before the resolver: nothing is read or written for a refused field.
    unauthorizedError: (_parent, ctx, info) =>
      forbidden(`a ${ctx.viewer.role.toUpperCase()} may not use ${info.parentType.name}.${info.fieldName}`),
  },
  errors: { defaultTypes: [] },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // The fields the relay plugin makes carry their compiled SQL too (src/compiled/relay-fields.ts).
    idFieldOptions: { extensions: { sql: nodeId } },
    edgesFieldOptions: { nullable: false, extensions: { sql: edgesSql } },
    pageInfoFieldOptions: { extensions: { sql: pageInfoSql } },
    nodeFieldOptions: { nullable: false, extensions: { sql: edgeNodeSql } },
    cursorFieldOptions: { extensions: { sql: edgeCursorSql } },
    hasNextPageFieldOptions: { extensions: { sql: hasNextPageSql } },
    hasPreviousPageFieldOptions: { extensions: { sql: hasPreviousPageSql } },
    startCursorFieldOptions: { extensions: { sql: startCursorSql } },
    endCursorFieldOptions: { extensions: { sql: endCursorSql } },
    // node and nodes are defined in src/schema/common/node-queries.ts, which checks their IDs first.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  prisma: {
    // Every Prisma query of a request goes through its tenant transaction (src/context.ts).
    // A transaction client has the model delegates Pothos uses, not $connect & co.
    client: (ctx) => ctx.db as unknown as PrismaClient,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    // A resolver that forgets to spread `query` loses the planned joins: fail loudly, tests catch it.
    onUnusedQuery: 'error',
  },
});
