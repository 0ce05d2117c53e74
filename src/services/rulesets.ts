import type { Actor } from '../context.js';
import { likeLiteral } from '../db/like.js';
import type { TenantDb } from '../db/tenant.js';
import type { Prisma, Ruleset } from '../generated/prisma/client.js';
import { type AuditedTable, createAudited, updateAudited } from './mutation.js';

/** A ruleset's rules as the API shows them: camelCased, lists always lists. */
export interface Rules {
  requirements: string[];
  documentation: string[];
  typicalTurnaround: string;
  notes: string | null;
}

export interface CreateRulesetInput {
  payer: string;
  procedure: string;
  rules: Rules;
  isActive: boolean;
}

export interface UpdateRulesetInput {
  id: string;
  payer?: string;
  procedure?: string;
  rules?: Rules;
  expectedUpdatedAt?: Date | null;
}

/** `rules_json` as stored: the seed plan's snake_case keys, which other tools read and write too. */
export function toRulesJson(rules: Rules): Prisma.JsonObject {
  return {
    requirements: rules.requirements,
    documentation: rules.documentation,
    typical_turnaround: rules.typicalTurnaround,
    notes: rules.notes,
  };
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/**
 * `rules_json` read back. Rows written by other tools may lack keys or hold other shapes: a
 * missing or malformed list is `[]`, a missing turnaround `''`, anything but a string note `null`.
 */
export function fromRulesJson(json: unknown): Rules {
  const value = (json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {}) as Record<
    string,
    unknown
  >;
  const turnaround = value.typical_turnaround ?? value.typicalTurnaround;
  return {
    requirements: strings(value.requirements),
    documentation: strings(value.documentation),
    typicalTurnaround: typeof turnaround === 'string' ? turnaround : '',
    notes: typeof value.notes === 'string' ? value.notes : null,
  };
}

/**
 * The tenant's active rulesets for (payer, procedure) pairs, in one query: the payer matched
 * exactly, the procedure without case (as the one-active-ruleset index compares it). Keys of the
 * result are `matchKey(payer, procedure)`; each list keeps the order payer, procedure, id.
 */
export async function activeRulesetsFor(
  db: TenantDb,
  tenantId: string,
  pairs: readonly { payer: string; procedure: string }[],
): Promise<Map<string, Ruleset[]>> {
  const byKey = new Map<string, Ruleset[]>();
  if (pairs.length === 0) return byKey;
  const byPayer = new Map<string, Set<string>>();
  for (const { payer, procedure } of pairs) {
    const procedures = byPayer.get(payer) ?? new Set<string>();
    procedures.add(procedure.toUpperCase());
    byPayer.set(payer, procedures);
  }
  const rows = await db.ruleset.findMany({
    where: {
      tenantId,
      isActive: true,
      OR: [...byPayer].map(([payer, procedures]) => ({
        payer,
        OR: [...procedures].map((procedure) => ({
          procedure: { equals: likeLiteral(procedure), mode: 'insensitive' },
        })),
      })),
    },
    orderBy: [{ payer: 'asc' }, { procedure: 'asc' }, { id: 'asc' }],
  });
  for (const row of rows) {
    const key = matchKey(row.payer, row.procedure);
    // ILIKE folds case by lower-casing, the unique index by upper-casing: keep what both match.
    if (!byPayer.get(row.payer)?.has(row.procedure.toUpperCase())) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  return byKey;
}

/** The key of a (payer, procedure) pair: payer exact, procedure upper-cased. */
export function matchKey(payer: string, procedure: string): string {
  return JSON.stringify([payer, procedure.toUpperCase()]);
}

/**
 * A write that would make a second active ruleset for the same payer and procedure is refused by
 * the unique index (race-free); mapDatabaseError's ConflictError says why.
 */
export const rulesetTable: AuditedTable<Ruleset> = {
  entityType: 'ruleset',
  model: 'Ruleset',
  // The API's field names, rules camelCased.
  snapshot: (ruleset) => ({
    ...payerAndProcedure(ruleset),
    rules: fromRulesJson(ruleset.rulesJson),
    isActive: ruleset.isActive,
  }),
  eventMetadata: payerAndProcedure,
  feedScope: () => ({ caseId: null }),
};

export function createRuleset(actor: Actor, input: CreateRulesetInput): Promise<Ruleset> {
  return createAudited(actor, rulesetTable, {
    fields: {
      tenantId: actor.tenantId,
      payer: input.payer,
      procedure: input.procedure,
      rulesJson: toRulesJson(input.rules),
      isActive: input.isActive,
    },
    eventType: 'ruleset.created',
  });
}

export function updateRuleset(actor: Actor, input: UpdateRulesetInput): Promise<Ruleset> {
  return updateAudited(actor, rulesetTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    data: {
      payer: input.payer,
      procedure: input.procedure,
      // Left out: the stored JSON stays as it is, keys another tool added included.
      rulesJson: input.rules ? toRulesJson(input.rules) : undefined,
    },
    eventType: 'ruleset.updated',
    eventMetadata: (_before, after) => payerAndProcedure(after),
  });
}

/**
 * Activates or deactivates a ruleset. Setting the state it already has succeeds and is recorded
 * like any other call (the audit row then lists no changed field).
 */
export function setRulesetActive(actor: Actor, input: { id: string; isActive: boolean }): Promise<Ruleset> {
  return updateAudited(actor, rulesetTable, {
    id: input.id,
    data: { isActive: input.isActive },
    eventType: input.isActive ? 'ruleset.activated' : 'ruleset.deactivated',
    eventMetadata: (_before, after) => payerAndProcedure(after),
  });
}

/** Which payer and procedure a ruleset is for: its events' metadata, and the start of its snapshot. */
function payerAndProcedure(ruleset: Pick<Ruleset, 'payer' | 'procedure'>): {
  payer: string;
  procedure: string;
} {
  return { payer: ruleset.payer, procedure: ruleset.procedure };
}
