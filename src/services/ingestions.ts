import type { Actor } from '../context.js';
import type { IngestionSourceType } from '../domain/vocabulary.js';
import { enumName, INGESTION_TRANSITIONS, type IngestionStatus } from '../domain/workflow.js';
import { InvalidTransitionError } from '../errors.js';
import type { Ingestion, Prisma } from '../generated/prisma/client.js';
import { type AuditedTable, createAudited, updateAudited } from './mutation.js';

export interface CreateIngestionInput {
  sourceType: IngestionSourceType;
  sourceMetadata: Prisma.JsonObject;
  storagePath: string | null;
}

export interface TransitionIngestionStatusInput {
  id: string;
  status: IngestionStatus;
  /** Given exactly when `status` is FAILED (the input schema sees to it). */
  errorMessage?: string | null;
  expectedUpdatedAt?: Date | null;
}

/**
 * Ingestions belong to no case: their events reach the change feed with no case scope. Their
 * `sourceMetadata` is in the audit trail, as a case's `metadata` is: it describes the e-mail or
 * file (every role reads it on `Query.ingestions`), not the clinical text extracted from it.
 */
export const ingestionTable: AuditedTable<Ingestion> = {
  entityType: 'ingestion',
  model: 'Ingestion',
  // API field names, enum names.
  snapshot: (ingestion) => ({
    sourceType: enumName(ingestion.sourceType),
    sourceMetadata: ingestion.sourceMetadata,
    storagePath: ingestion.storagePath,
    status: enumName(ingestion.status),
    errorMessage: ingestion.errorMessage,
  }),
  eventMetadata: (ingestion) => ({ sourceType: enumName(ingestion.sourceType) }),
  feedScope: () => ({ caseId: null }),
};

/** A new ingestion is PENDING: the pipeline records what arrived before it starts on it. */
export function createIngestion(actor: Actor, input: CreateIngestionInput): Promise<Ingestion> {
  return createAudited(actor, ingestionTable, {
    fields: {
      tenantId: actor.tenantId,
      sourceType: input.sourceType,
      sourceMetadata: input.sourceMetadata,
      storagePath: input.storagePath,
      status: 'pending',
      errorMessage: null,
    },
    eventType: 'ingestion.created',
  });
}

/**
 * Moves an ingestion through INGESTION_TRANSITIONS. The row is read and locked first: of two
 * concurrent moves from one state, the second sees the first's result (and is refused when the
 * workflow does not allow the move from there).
 */
export function transitionIngestionStatus(
  actor: Actor,
  input: TransitionIngestionStatusInput,
): Promise<Ingestion> {
  return updateAudited(actor, ingestionTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    check(ingestion) {
      if (!INGESTION_TRANSITIONS[ingestion.status as IngestionStatus].includes(input.status)) {
        throw new InvalidTransitionError(enumName(ingestion.status), enumName(input.status));
      }
    },
    data: {
      status: input.status,
      // Set on entering FAILED, cleared on leaving it.
      errorMessage: input.status === 'failed' ? (input.errorMessage ?? null) : null,
    },
    eventType: 'ingestion.status_changed',
    eventMetadata: (ingestion) => ({ from: enumName(ingestion.status), to: enumName(input.status) }),
  });
}
