import type { Actor } from '../context.js';
import { mapDatabaseError } from '../db/errors.js';
import { likeLiteral } from '../db/like.js';
import type { TenantDb } from '../db/tenant.js';
import { ConflictError } from '../errors.js';
import type { Prisma, Ruleset } from '../generated/prisma/client.js';
import { createAudited, updateAudited, type VersionedTable } from './mutation.js';

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
export function toRulesJson(rules: Rules): Prisma.InputJsonObject {
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
 * A write that may make a second active ruleset for the same payer and procedure: the unique
 * index refuses it (race-free), and the refusal becomes a ConflictError that says why.
 */
async function guardOneActive<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (mapDatabaseError(error) instanceof ConflictError) {
      throw new ConflictError('Another active ruleset exists for this payer and procedure');
    }
    throw error;
  }
}

const rulesetTable: VersionedTable<Ruleset, Prisma.RulesetUpdateManyMutationInput> = {
  entityType: 'ruleset',
  // The API's field names, rules camelCased.
  snapshot: (ruleset) => ({
    ...payerAndProcedure(ruleset),
    rules: fromRulesJson(ruleset.rulesJson),
    isActive: ruleset.isActive,
  }),
  eventMetadata: payerAndProcedure,
  rows: (db) => db.ruleset,
  // An update may make a second active ruleset for its payer and procedure.
  updateVersion: (db, where, data) => guardOneActive(() => db.ruleset.updateManyAndReturn({ where, data })),
};

export function createRuleset(db: TenantDb, actor: Actor, input: CreateRulesetInput): Promise<Ruleset> {
  return createAudited(db, actor, rulesetTable, {
    create: (tx) =>
      guardOneActive(() =>
        tx.ruleset.create({
          data: {
            tenantId: actor.tenantId,
            payer: input.payer,
            procedure: input.procedure,
            rulesJson: toRulesJson(input.rules),
            isActive: input.isActive,
          },
        }),
      ),
    eventType: 'ruleset.created',
  });
}

export function updateRuleset(db: TenantDb, actor: Actor, input: UpdateRulesetInput): Promise<Ruleset> {
  return updateAudited(db, actor, rulesetTable, {
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
export function setRulesetActive(
  db: TenantDb,
  actor: Actor,
  input: { id: string; isActive: boolean },
): Promise<Ruleset> {
  return updateAudited(db, actor, rulesetTable, {
    id: input.id,
    data: { isActive: input.isActive },
    eventType: input.isActive ? 'ruleset.activated' : 'ruleset.deactivated',
    eventMetadata: (_before, after) => payerAndProcedure(after),
  });
}

/** Which payer and procedure a ruleset is for: its events' metadata, and the start of its snapshot. */
function payerAndProcedure(ruleset: Ruleset): { payer: string; procedure: string } {
  return { payer: ruleset.payer, procedure: ruleset.procedure };
}
