import { builder } from '../../builder.js';
import { payloadRow } from '../../compiled/payloads.js';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationError } from '../../errors.js';
import { createIngestion, transitionIngestionStatus } from '../../services/ingestions.js';
import { parseInput } from '../common/validation.js';
import {
  CreateIngestionInput,
  createIngestionSchema,
  TransitionIngestionStatusInput,
  transitionIngestionStatusSchema,
} from './inputs.js';

/** `{ ingestion }` payloads: the ingestion is read back with the selection the client asked for. */
function ingestionPayload(name: string) {
  return builder.objectRef<{ ingestionId: string }>(name).implement({
    fields: (t) => ({
      ingestion: t.prismaField({
        type: 'Ingestion',
        extensions: payloadRow('ingestionId'),
        resolve: (query, payload, _args, ctx) =>
          ctx.db.ingestion.findUniqueOrThrow({
            ...query,
            where: { id: payload.ingestionId, tenantId: ctx.viewer.tenantId },
          }),
      }),
    }),
  });
}

builder.mutationFields((t) => ({
  createIngestion: t.field({
    type: ingestionPayload('CreateIngestionPayload'),
    authScopes: { can: 'ingestion:create' },
    errors: {
      types: [ValidationError],
      directResult: true,
      union: { name: 'CreateIngestionResult' },
    },
    args: { input: t.arg({ type: CreateIngestionInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const ingestion = await createIngestion(ctx.actor, parseInput(createIngestionSchema, args.input));
      return { ingestionId: ingestion.id };
    },
  }),
  transitionIngestionStatus: t.field({
    type: ingestionPayload('TransitionIngestionStatusPayload'),
    authScopes: { can: 'ingestion:transition' },
    errors: {
      types: [ValidationError, NotFoundError, InvalidTransitionError, ConflictError],
      directResult: true,
      union: { name: 'TransitionIngestionStatusResult' },
    },
    args: { input: t.arg({ type: TransitionIngestionStatusInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const ingestion = await transitionIngestionStatus(
        ctx.actor,
        parseInput(transitionIngestionStatusSchema, args.input),
      );
      return { ingestionId: ingestion.id };
    },
  }),
}));
