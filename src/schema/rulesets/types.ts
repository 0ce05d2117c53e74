import DataLoader from 'dataloader';
import { builder } from '../../builder.js';
import { rowField, valueField } from '../../compiled/field-sql.js';
import { column, jsonObject, timestamp } from '../../compiled/fields.js';
import { objectTypeOf } from '../../compiled/gen.js';
import { objectEmit } from '../../compiled/objects.js';
import { SENTINEL } from '../../compiled/sql.js';
import type { Ruleset as RulesetRow } from '../../generated/prisma/client.js';
import { perRequest } from '../../loaders.js';
import { activeRulesetsFor, fromRulesJson, matchKey, type Rules } from '../../services/rulesets.js';

// Each field's SQL (over the jsonb `rules_json`, `v`) is fromRulesJson's: lists keep their
// strings, turnaround a string or '', notes a string or null. `->` of a value that is not an
// object is NULL, as a key of `{}` would be.

/** The string elements of an array, in order (strict: of anything else, silently none). */
const strings = (v: string, key: string) =>
  `coalesce(jsonb_path_query_array(${v}->'${key}', 'strict $[*] ? (@.type() == "string")', '{}', true), '[]'::jsonb)`;

const RulesetRules = builder.objectRef<Rules>('RulesetRules').implement({
  description: "A payer's prior-auth requirements for one procedure",
  fields: (t) => ({
    requirements: t.exposeStringList('requirements', {
      extensions: { sql: valueField((v) => strings(v, 'requirements')) },
    }),
    documentation: t.exposeStringList('documentation', {
      description: 'Documents to submit',
      extensions: { sql: valueField((v) => strings(v, 'documentation')) },
    }),
    typicalTurnaround: t.exposeString('typicalTurnaround', {
      description: 'e.g. "5 business days"',
      extensions: {
        sql: valueField((v) => {
          const alternative = `CASE WHEN jsonb_typeof(${v}->'typicalTurnaround') = 'string' THEN ${v}->'typicalTurnaround' ELSE '""'::jsonb END`;
          return `CASE coalesce(jsonb_typeof(${v}->'typical_turnaround'), 'null') WHEN 'string' THEN ${v}->'typical_turnaround' WHEN 'null' THEN ${alternative} ELSE '""'::jsonb END`;
        }),
      },
    }),
    notes: t.exposeString('notes', {
      nullable: true,
      extensions: {
        sql: valueField(
          (v) => `CASE WHEN jsonb_typeof(${v}->'notes') = 'string' THEN ${v}->'notes' ELSE 'null'::jsonb END`,
        ),
      },
    }),
  }),
});

export const Ruleset = builder.prismaNode('Ruleset', {
  description: "A payer's rules for one procedure code; at most one is active per payer and procedure",
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: ctx.viewer.tenantId }),
  nullable: true,
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID', extensions: { sql: column('id') } }),
    payer: t.exposeString('payer', { extensions: { sql: column('payer') } }),
    procedure: t.exposeString('procedure', {
      description: 'A CPT or HCPCS code',
      extensions: { sql: column('procedure') },
    }),
    rules: t.field({
      type: RulesetRules,
      resolve: (ruleset) => fromRulesJson(ruleset.rulesJson),
      extensions: { sql: jsonObject('rulesJson') },
    }),
    isActive: t.exposeBoolean('isActive', { extensions: { sql: column('isActive') } }),
    createdAt: t.expose('createdAt', { type: 'DateTime', extensions: { sql: timestamp('createdAt') } }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', extensions: { sql: timestamp('updatedAt') } }),
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
const matchLoader = perRequest(
  (ctx) =>
    new DataLoader<Pair, RulesetRow[], string>(
      async (pairs) => {
        const found = await activeRulesetsFor(ctx.db, ctx.viewer.tenantId, pairs);
        return pairs.map((pair) => found.get(matchKey(pair.payer, pair.procedure)) ?? []);
      },
      { cacheKeyFn: (pair) => matchKey(pair.payer, pair.procedure) },
    ),
);

/** A ruleset write makes what the request loaded before it stale. */
export const forgetMatchingRulesets = matchLoader.forget;

/** By code point, not by locale: the same order on every server, whatever its collation. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byPayerProcedureId = (a: RulesetRow, b: RulesetRow) =>
  compare(a.payer, b.payer) || compare(a.procedure, b.procedure) || compare(a.id, b.id);

/**
 * Case.matchingRulesets as its loader finds them: active, same payer, procedure equal to one of the
 * case's codes ignoring case, ordered by payer, procedure, id by code point. The loader folds case
 * with JavaScript's toUpperCase: where a code or a candidate procedure is not ASCII, upper() might
 * disagree, and the request falls back. One pass over the case's codes (their upper forms, whether
 * any is not ASCII), one over the candidates (the matching ones aggregated, whether any candidate
 * is not ASCII).
 */
const matchingRulesetsSql = rowField(({ b, alias, def, nodes }) => {
  const r = b.alias('m');
  const k = b.alias('k');
  const inner = objectEmit(b, objectTypeOf(def), r, nodes);
  return (g) => {
    const candidates = `${r}.tenant_id = ${g.tenant()} AND ${r}.is_active AND ${r}.payer = ${alias}.payer`;
    const codes = `(SELECT array_agg(upper(${k}.code)) AS codes, bool_or(octet_length(${k}.code) <> length(${k}.code)) AS odd FROM case_codes ${k} WHERE ${k}.case_id = ${alias}.id AND ${k}.tenant_id = ${alias}.tenant_id) ${k}`;
    const list = `LATERAL (SELECT coalesce(json_agg(${inner(g)} ORDER BY ${r}.payer COLLATE "C", ${r}.procedure COLLATE "C", ${r}.id) FILTER (WHERE upper(${r}.procedure) = ANY(${k}.codes)), '[]'::json) AS list, bool_or(octet_length(${r}.procedure) <> length(${r}.procedure)) AS odd FROM rulesets ${r} WHERE ${candidates}) ${r}_l`;
    return `(SELECT CASE WHEN ${k}.odd OR ${r}_l.odd THEN ${SENTINEL} ELSE ${r}_l.list END FROM ${codes}, ${list})`;
  };
});

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
    extensions: { sql: matchingRulesetsSql },
  }),
);
