import { z } from 'zod';
import { builder } from '../../builder.js';
import { INGESTION_SOURCE_TYPES, INGESTION_STATUSES } from '../../domain/vocabulary.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { IngestionSourceType, IngestionStatus } from '../common/enums.js';
import { globalIdOf } from '../common/ids.js';
import { MAX_DESCRIPTION_LENGTH } from '../common/input-limits.js';
import { optionalText } from '../common/validation.js';

/** API.md: JSON inputs are at most 256 KiB. */
const MAX_SOURCE_METADATA_BYTES = 256 * 1024;
/** A storage key or URL: far more than any bucket path, far less than a document. */
const MAX_STORAGE_PATH_LENGTH = 1_024;

export const CreateIngestionInput = builder.inputType('CreateIngestionInput', {
  fields: (t) => ({
    sourceType: t.field({ type: IngestionSourceType, required: true }),
    sourceMetadata: t.field({
      type: 'JSON',
      required: true,
      description: 'A JSON object (e.g. the subject or file name), at most 256 KiB',
    }),
    storagePath: t.string({ description: 'Where the e-mail or file is kept; at most 1,024 characters' }),
  }),
});

const isJsonObject = (value: unknown): value is Prisma.JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export const createIngestionSchema = z.object({
  sourceType: z.enum(INGESTION_SOURCE_TYPES),
  sourceMetadata: z.custom<Prisma.JsonObject>().superRefine((value, ctx) => {
    if (!isJsonObject(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
    } else if (Buffer.byteLength(JSON.stringify(value), 'utf8') > MAX_SOURCE_METADATA_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${MAX_SOURCE_METADATA_BYTES / 1024} KiB of JSON`,
      });
    }
  }),
  // Whitespace-only is absent (null), as for every optional text.
  storagePath: optionalText(MAX_STORAGE_PATH_LENGTH).transform((v) => v ?? null),
});

export const TransitionIngestionStatusInput = builder.inputType('TransitionIngestionStatusInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    status: t.field({ type: IngestionStatus, required: true }),
    errorMessage: t.string({
      description: 'Required when moving to FAILED, and only then; cleared when the ingestion leaves FAILED',
    }),
    expectedUpdatedAt: t.field({
      type: 'DateTime',
      description: 'Optimistic concurrency: ConflictError when the ingestion changed since',
    }),
  }),
});

/** A message was given: after trimming (or, when the field itself failed, as sent) not empty. */
const hasMessage = (value: unknown) => typeof value === 'string' && value.trim() !== '';
const parsedObject = (payload: { value: unknown }) =>
  typeof payload.value === 'object' && payload.value !== null;

export const transitionIngestionStatusSchema = z
  .object({
    id: globalIdOf('Ingestion'),
    status: z.enum(INGESTION_STATUSES),
    errorMessage: optionalText(MAX_DESCRIPTION_LENGTH),
    expectedUpdatedAt: z.date().nullish(),
  })
  // An error message belongs to FAILED: required there, refused elsewhere (it would be dropped, as
  // leaving FAILED clears it). Checked even when another field is invalid (`when`), so that every
  // mistake is reported at once.
  .refine((input) => input.status !== 'failed' || hasMessage(input.errorMessage), {
    path: ['errorMessage'],
    message: 'is required when moving to FAILED',
    when: parsedObject,
  })
  .refine((input) => input.status === 'failed' || !hasMessage(input.errorMessage), {
    path: ['errorMessage'],
    message: 'may be given only when moving to FAILED',
    when: parsedObject,
  });
