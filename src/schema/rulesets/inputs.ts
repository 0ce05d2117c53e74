import { z } from 'zod';
import { builder } from '../../builder.js';
import { likeLiteral } from '../../db/like.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { toRulesJson } from '../../services/rulesets.js';
import { globalIdOf } from '../common/ids.js';
import { FILTER_MAX_LENGTH, filterText, MAX_DESCRIPTION_LENGTH } from '../common/input-limits.js';
import type { SortKey } from '../common/pagination.js';
import { optionalText, requiredText } from '../common/validation.js';

export const RulesetFilter = builder.inputType('RulesetFilter', {
  description: 'All given conditions must hold',
  fields: (t) => ({
    payer: t.string({ description: 'Exact payer name' }),
    procedure: t.string({ description: 'Procedure code, compared without case' }),
    isActive: t.boolean(),
  }),
});

export interface RulesetFilterValue {
  payer?: string | null;
  procedure?: string | null;
  isActive?: boolean | null;
}

/** The only ruleset list order: newest first, the id as tie-breaker (index tenant_id, created_at, id). */
export const RULESET_ORDER: SortKey[] = [
  { field: 'createdAt', direction: 'desc' },
  { field: 'id', direction: 'desc' },
];

export function rulesetWhere(filter: RulesetFilterValue | null | undefined): Prisma.RulesetWhereInput {
  if (!filter) return {};
  const and: Prisma.RulesetWhereInput[] = [];
  if (filter.payer != null) {
    and.push({ payer: filterText(filter.payer, 'filter.payer', FILTER_MAX_LENGTH.payer) });
  }
  if (filter.procedure != null) {
    const procedure = filterText(filter.procedure, 'filter.procedure', FILTER_MAX_LENGTH.procedure);
    and.push({ procedure: { equals: likeLiteral(procedure), mode: 'insensitive' } });
  }
  if (filter.isActive != null) and.push({ isActive: filter.isActive });
  return { AND: and };
}

// ---- mutation inputs -------------------------------------------------------------------------

const MAX_RULES_JSON_BYTES = 256 * 1024;

export const RulesInput = builder.inputType('RulesInput', {
  description: 'Stored as rules_json with the keys requirements, documentation, typical_turnaround, notes',
  fields: (t) => ({
    requirements: t.stringList({ required: true }),
    documentation: t.stringList({ required: true }),
    typicalTurnaround: t.string({ required: true, description: 'e.g. "5 business days"' }),
    notes: t.string(),
  }),
});

const listItem = z.string().trim().min(1, 'must not be empty');

const rulesSchema = z
  .object({
    requirements: z.array(listItem),
    documentation: z.array(listItem),
    typicalTurnaround: z.string().trim().min(1, 'must not be empty'),
    notes: optionalText(MAX_DESCRIPTION_LENGTH).transform((v) => v ?? null),
  })
  .refine((rules) => Buffer.byteLength(JSON.stringify(toRulesJson(rules)), 'utf8') <= MAX_RULES_JSON_BYTES, {
    message: `must be at most ${MAX_RULES_JSON_BYTES / 1024} KiB of JSON`,
  });

export const CreateRulesetInput = builder.inputType('CreateRulesetInput', {
  fields: (t) => ({
    payer: t.string({ required: true }),
    procedure: t.string({ required: true }),
    rules: t.field({ type: RulesInput, required: true }),
    isActive: t.boolean({
      defaultValue: true,
      description: 'ConflictError when another active ruleset has this payer and procedure',
    }),
  }),
});

export const createRulesetSchema = z.object({
  payer: requiredText(255),
  procedure: requiredText(255),
  rules: rulesSchema,
  isActive: z
    .boolean()
    .nullish()
    .transform((v) => v ?? true),
});

export const UpdateRulesetInput = builder.inputType('UpdateRulesetInput', {
  description: 'Fields left out stay as they are; rules are replaced as a whole',
  fields: (t) => ({
    id: t.id({ required: true }),
    payer: t.string(),
    procedure: t.string(),
    rules: t.field({ type: RulesInput }),
    expectedUpdatedAt: t.field({
      type: 'DateTime',
      description: 'Optimistic concurrency: ConflictError when the ruleset changed since',
    }),
  }),
});

export const updateRulesetSchema = z.object({
  id: globalIdOf('Ruleset'),
  // null for a required field means "leave it", as absent does
  payer: requiredText(255)
    .nullish()
    .transform((v) => v ?? undefined),
  procedure: requiredText(255)
    .nullish()
    .transform((v) => v ?? undefined),
  rules: rulesSchema.nullish().transform((v) => v ?? undefined),
  expectedUpdatedAt: z.date().nullish(),
});

export const SetRulesetActiveInput = builder.inputType('SetRulesetActiveInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    isActive: t.boolean({
      required: true,
      description: 'true: ConflictError when another active ruleset has the same payer and procedure',
    }),
  }),
});

export const setRulesetActiveSchema = z.object({ id: globalIdOf('Ruleset'), isActive: z.boolean() });
