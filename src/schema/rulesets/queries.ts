import { builder } from '../../builder.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { rowIdFromGlobalId } from '../common/node.js';
import { rootList } from '../common/pagination.js';
import { RULESET_ORDER, RulesetFilter, rulesetWhere } from './inputs.js';
import { RulesetConnection } from './types.js';

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
    resolve: (_root, args, ctx, info) => {
      const where: Prisma.RulesetWhereInput = {
        AND: [{ tenantId: ctx.viewer.tenantId }, rulesetWhere(args.filter)],
      };
      return rootList({
        context: ctx,
        info,
        args,
        delegate: ctx.db.ruleset,
        where: where,
        orderName: 'CREATED_AT_DESC',
        order: RULESET_ORDER,
      }) as never;
    },
  }),
}));
