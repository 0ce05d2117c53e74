import { builder } from '../../builder.js';
import { payloadRow } from '../../compiled/payloads.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { createRuleset, setRulesetActive, updateRuleset } from '../../services/rulesets.js';
import { parseInput } from '../common/validation.js';
import {
  CreateRulesetInput,
  createRulesetSchema,
  SetRulesetActiveInput,
  setRulesetActiveSchema,
  UpdateRulesetInput,
  updateRulesetSchema,
} from './inputs.js';
import { forgetMatchingRulesets } from './types.js';

/** `{ ruleset }` payloads: the ruleset is read back with the selection the client asked for. */
function rulesetPayload(name: string) {
  return builder.objectRef<{ rulesetId: string }>(name).implement({
    fields: (t) => ({
      ruleset: t.prismaField({
        type: 'Ruleset',
        extensions: payloadRow('rulesetId'),
        resolve: (query, payload, _args, ctx) =>
          ctx.db.ruleset.findUniqueOrThrow({
            ...query,
            where: { id: payload.rulesetId, tenantId: ctx.viewer.tenantId },
          }),
      }),
    }),
  });
}

builder.mutationFields((t) => ({
  createRuleset: t.field({
    type: rulesetPayload('CreateRulesetPayload'),
    authScopes: { can: 'ruleset:create' },
    errors: {
      types: [ValidationError, ConflictError],
      directResult: true,
      union: { name: 'CreateRulesetResult' },
    },
    args: { input: t.arg({ type: CreateRulesetInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const ruleset = await createRuleset(ctx.actor, parseInput(createRulesetSchema, args.input));
      forgetMatchingRulesets(ctx);
      return { rulesetId: ruleset.id };
    },
  }),
  updateRuleset: t.field({
    type: rulesetPayload('UpdateRulesetPayload'),
    authScopes: { can: 'ruleset:update' },
    errors: {
      types: [ValidationError, NotFoundError, ConflictError],
      directResult: true,
      union: { name: 'UpdateRulesetResult' },
    },
    args: { input: t.arg({ type: UpdateRulesetInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const ruleset = await updateRuleset(ctx.actor, parseInput(updateRulesetSchema, args.input));
      forgetMatchingRulesets(ctx);
      return { rulesetId: ruleset.id };
    },
  }),
  setRulesetActive: t.field({
    type: rulesetPayload('SetRulesetActivePayload'),
    authScopes: { can: 'ruleset:setActive' },
    errors: {
      types: [NotFoundError, ConflictError, ValidationError],
      directResult: true,
      union: { name: 'SetRulesetActiveResult' },
    },
    args: { input: t.arg({ type: SetRulesetActiveInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const ruleset = await setRulesetActive(ctx.actor, parseInput(setRulesetActiveSchema, args.input));
      forgetMatchingRulesets(ctx);
      return { rulesetId: ruleset.id };
    },
  }),
}));
