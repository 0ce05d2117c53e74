import DataLoader from 'dataloader';
import { builder } from '../../builder.js';
import type { Context } from '../../context.js';
import type { Ruleset as RulesetRow } from '../../generated/prisma/client.js';
import { activeRulesetsFor, fromRulesJson, matchKey, type Rules } from '../../services/rulesets.js';

const RulesetRules = builder.objectRef<Rules>('RulesetRules').implement({
  description: "A payer's prior-auth requirements for one procedure",
  fields: (t) => ({
    requirements: t.exposeStringList('requirements'),
    documentation: t.exposeStringList('documentation', { description: 'Documents to submit' }),
    typicalTurnaround: t.exposeString('typicalTurnaround', { description: 'e.g. "5 business days"' }),
    notes: t.exposeString('notes', { nullable: true }),
  }),
});

export const Ruleset = builder.prismaNode('Ruleset', {
  description: "A payer's rules for one procedure code; at most one is active per payer and procedure",
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    payer: t.exposeString('payer'),
    procedure: t.exposeString('procedure', { description: 'A CPT or HCPCS code' }),
    rules: t.field({ type: RulesetRules, resolve: (ruleset) => fromRulesJson(ruleset.rulesJson) }),
    isActive: t.exposeBoolean('isActive'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const RulesetConnection = builder.connectionObject(
  { type: Ruleset, name: 'RulesetConnection' },
  { name: 'RulesetEdge' },
);

// ---- Case.matchingRulesets -------------------------------------------------------------------

type Pair = { payer: string; procedure: string };

/**
 * One loader per request (keyed on its context object, which lives exactly as long as the
 * request): every case of a page asks for its (payer, code) pairs, and one query answers them all.
 */
const matchLoaders = new WeakMap<Context, DataLoader<Pair, RulesetRow[], string>>();

function matchLoader(ctx: Context): DataLoader<Pair, RulesetRow[], string> {
  let loader = matchLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(
      async (pairs) => {
        const found = await activeRulesetsFor(ctx.db, ctx.viewer.tenantId, pairs);
        return pairs.map((pair) => found.get(matchKey(pair.payer, pair.procedure)) ?? []);
      },
      { cacheKeyFn: (pair) => matchKey(pair.payer, pair.procedure) },
    );
    matchLoaders.set(ctx, loader);
  }
  return loader;
}

/** A ruleset write makes what the request loaded before it stale. */
export function forgetMatchingRulesets(ctx: Context): void {
  matchLoaders.delete(ctx);
}

/** By code point, not by locale: the same order on every server, whatever its collation. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byPayerProcedureId = (a: RulesetRow, b: RulesetRow) =>
  compare(a.payer, b.payer) || compare(a.procedure, b.procedure) || compare(a.id, b.id);

builder.prismaObjectField('Case', 'matchingRulesets', (t) =>
  t.field({
    type: [Ruleset],
    description:
      "Active rulesets with the case's exact payer whose procedure is one of the case's codes (case-insensitive); ordered by payer, procedure, id",
    // Planned into the query that loads the case: the resolver needs no query of its own for them.
    select: { payer: true, codes: { select: { code: true } } },
    resolve: async (parent, _args, ctx) => {
      const codes = [...new Set(parent.codes.map((c) => c.code.toUpperCase()))];
      const lists = await matchLoader(ctx).loadMany(
        codes.map((procedure) => ({ payer: parent.payer, procedure })),
      );
      const rulesets = lists.flatMap((list) => {
        if (list instanceof Error) throw list;
        return list;
      });
      return rulesets.sort(byPayerProcedureId);
    },
  }),
);
