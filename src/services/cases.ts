import type { Actor } from '../context.js';
import { hashMemberId } from '../domain/member-id.js';
import type { CodeType, Priority } from '../domain/vocabulary.js';
import { CASE_REOPENINGS, CASE_TRANSITIONS, type CaseStatus, enumName } from '../domain/workflow.js';
import { InvalidTransitionError, ValidationError } from '../errors.js';
import type { Case, CaseCode, Prisma } from '../generated/prisma/client.js';
import {
  type AuditedTable,
  createAudited,
  deleteAudited,
  type RowFields,
  updateAudited,
} from './mutation.js';

type Json = Prisma.InputJsonValue;

export interface CaseCodeInput {
  codeType: CodeType;
  code: string;
  description?: string | null;
  confidence?: number | null;
}

export interface CreateCaseInput {
  /** Exactly one of the two; the raw id is hashed here and goes no further. */
  memberId?: string | null;
  memberIdHash?: string | null;
  payer: string;
  priority: Priority;
  diagnosisCodes: string[];
  codes: CaseCodeInput[];
  confidence: { overall: number; fields: Record<string, number> };
  extractedData: Json;
  metadata?: Json | null;
  ingestionId?: string | null;
}

export interface UpdateCaseInput {
  id: string;
  payer?: string;
  priority?: Priority;
  diagnosisCodes?: string[];
  metadata?: Json | null;
  expectedUpdatedAt?: Date | null;
}

export const caseTable: AuditedTable<Case> = {
  entityType: 'case',
  model: 'Case',
  // `extractedData` is left out on purpose: it may hold clinical text, and every admin reads the
  // audit trail.
  snapshot: (row) => ({
    memberIdHash: row.memberIdHash,
    payer: row.payer,
    status: enumName(row.status),
    priority: enumName(row.priority),
    diagnosisCodes: row.diagnosisCodes ?? [],
    confidence: row.confidenceJson,
    metadata: row.metadataJson ?? null,
    ingestionId: row.ingestionId,
  }),
  eventMetadata: (row) => ({ payer: row.payer }),
  feedScope: (row) => ({ caseId: row.id }),
};

export const caseCodeTable: AuditedTable<CaseCode> = {
  entityType: 'case_code',
  model: 'CaseCode',
  snapshot: (code) => ({
    caseId: code.caseId,
    codeType: code.codeType,
    code: code.code,
    description: code.description,
    confidence: code.confidence,
  }),
  eventMetadata: (code) => ({ caseId: code.caseId }),
  feedScope: (code) => ({ caseId: code.caseId }),
};

/**
 * The case and its codes in one statement. An ingestion that is not the tenant's is refused by the
 * foreign key (ingestion_id, tenant_id): mapDatabaseError names it. The intake SERVICE creates
 * cases from what it extracted, so each of its cases names the ingestion it came from.
 */
export function createCase(actor: Actor, memberIdHashKey: string, input: CreateCaseInput): Promise<Case> {
  if (actor.role === 'service' && input.ingestionId == null) {
    throw new ValidationError([
      {
        path: ['ingestionId'],
        message: 'is required of the intake SERVICE: a case names the ingestion it came from',
      },
    ]);
  }
  const fields: RowFields<Case> = {
    tenantId: actor.tenantId,
    createdBy: actor.userId,
    ingestionId: input.ingestionId ?? null,
    memberIdHash:
      input.memberIdHash ?? hashMemberId(memberIdHashKey, actor.tenantId, input.memberId as string),
    payer: input.payer,
    status: 'pending',
    priority: input.priority,
    diagnosisCodes: input.diagnosisCodes,
    confidenceJson: input.confidence,
    extractedData: input.extractedData as Prisma.JsonValue,
    metadataJson: (input.metadata ?? null) as Prisma.JsonValue,
  };
  return createAudited(actor, caseTable, {
    fields,
    children: {
      model: 'CaseCode',
      parentField: 'caseId',
      rows: input.codes.map((code) => ({
        tenantId: actor.tenantId,
        codeType: code.codeType,
        code: code.code,
        description: code.description ?? null,
        confidence: code.confidence ?? null,
      })),
    },
    // The audit row lists the codes created with the case, which have no audit rows of their own.
    snapshot: (row) => ({
      ...caseTable.snapshot(row),
      codes: input.codes.map((c) => ({ codeType: c.codeType, code: c.code })),
    }),
    eventType: 'case.created',
  });
}

export function updateCase(actor: Actor, input: UpdateCaseInput): Promise<Case> {
  return updateAudited(actor, caseTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    data: {
      payer: input.payer,
      priority: input.priority,
      diagnosisCodes: input.diagnosisCodes,
      // null clears the metadata; absent leaves it
      metadataJson: input.metadata as Prisma.JsonValue | undefined,
    },
    eventType: 'case.updated',
  });
}

/**
 * The workflow's moves, plus reopening: APPROVED and DENIED are final, except that an ADMIN may
 * move them back to PENDING, giving a reason.
 */
function assertCaseTransition(actor: Actor, from: CaseStatus, to: CaseStatus, reason?: string | null): void {
  if (CASE_REOPENINGS[from].includes(to)) {
    if (actor.role !== 'admin') {
      throw new InvalidTransitionError(
        enumName(from),
        enumName(to),
        `${enumName(from)} is final; only an ADMIN may reopen it`,
      );
    }
    if (!reason)
      throw new ValidationError([{ path: ['reason'], message: 'a reason is required to reopen a case' }]);
  } else if (!CASE_TRANSITIONS[from].includes(to)) {
    throw new InvalidTransitionError(enumName(from), enumName(to));
  }
}

export function transitionCaseStatus(
  actor: Actor,
  input: { id: string; status: CaseStatus; reason?: string | null; expectedUpdatedAt?: Date | null },
): Promise<Case> {
  return updateAudited(actor, caseTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    check: (row) => assertCaseTransition(actor, row.status as CaseStatus, input.status, input.reason),
    data: { status: input.status },
    eventType: 'case.status_changed',
    eventMetadata: (row) => ({
      from: enumName(row.status),
      to: enumName(input.status),
      ...(input.reason ? { reason: input.reason } : {}),
    }),
  });
}

/** A case that is not the tenant's is refused by the foreign key (case_id, tenant_id). */
export function addCaseCode(actor: Actor, input: { caseId: string; code: CaseCodeInput }): Promise<CaseCode> {
  return createAudited(actor, caseCodeTable, {
    fields: {
      tenantId: actor.tenantId,
      caseId: input.caseId,
      codeType: input.code.codeType,
      code: input.code.code,
      description: input.code.description ?? null,
      confidence: input.code.confidence ?? null,
    },
    eventType: 'case_code.added',
  });
}

export function removeCaseCode(actor: Actor, input: { id: string }): Promise<CaseCode> {
  return deleteAudited(actor, caseCodeTable, input.id, 'case_code.removed');
}

/** Deletes the case; its codes and tasks go with it (ON DELETE CASCADE). */
export async function deleteCase(actor: Actor, input: { id: string }): Promise<string> {
  const row = await deleteAudited(actor, caseTable, input.id, 'case.deleted');
  return row.id;
}
