import { builder } from '../../builder.js';
import { rowById } from '../../compiled/roots.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { type PageArgs, rootList, rootListSql } from '../common/pagination.js';
import { RULESET_ORDER, RulesetFilter, type RulesetFilterValue, rulesetWhere } from './inputs.js';
import { RulesetConnection } from './types.js';

/** The tenant's rulesets matching the filter. */
function rulesetsWhere(
  tenantId: string,
  filter: RulesetFilterValue | null | undefined,
): Prisma.RulesetWhereInput {
  return { AND: [{ tenantId }, rulesetWhere(filter)] };
}

builder.queryFields((t) => ({
  ruleset: t.prismaField({
    type: 'Ruleset',
    nullable: true,
    description: "One ruleset of the viewer's clinic, or null",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.ruleset.findUnique({
        ...query,
        where: { id: rowIdFromGlobalId(args.id, 'Ruleset'), tenantId: ctx.viewer.tenantId },
      }),
    extensions: { sql: rowById((args: { id: string }) => rowIdFromGlobalId(args.id, 'Ruleset')) },
  }),
  // A plain field rather than t.connection: the contract pages forward only (first/after).
  rulesets: t.field({
    type: RulesetConnection,
    description: "The clinic's rulesets, newest first",
    args: {
      first: t.arg.int(),
      after: t.arg.string(),
      filter: t.arg({ type: RulesetFilter }),
    },
    resolve: (_root, args, ctx, info) =>
      rootList({
        context: ctx,
        info,
        args,
        delegate: ctx.db.ruleset,
        where: rulesetsWhere(ctx.viewer.tenantId, args.filter),
        orderName: 'CREATED_AT_DESC',
        order: RULESET_ORDER,
      }) as never,
    extensions: {
      sql: rootListSql({
        where: (args: PageArgs & { filter?: RulesetFilterValue | null }, { ctx }) =>
          rulesetsWhere(ctx.viewer.tenantId, args.filter),
        order: () => ({ name: 'CREATED_AT_DESC', keys: RULESET_ORDER }),
      }),
    },
  }),
}));
