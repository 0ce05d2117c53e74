import type { Actor } from '../context.js';
import type { TenantDb } from '../db/tenant.js';
import { hashMemberId } from '../domain/member-id.js';
import type { CodeType, Priority } from '../domain/vocabulary.js';
import { CASE_REOPENINGS, CASE_TRANSITIONS, type CaseStatus, enumName } from '../domain/workflow.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../errors.js';
import { type Case, type CaseCode, Prisma } from '../generated/prisma/client.js';
import {
  type AuditedTable,
  createAudited,
  deleteAudited,
  findInTenant,
  updateAudited,
  type VersionedTable,
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

const caseTable: VersionedTable<Case, Prisma.CaseUpdateManyMutationInput> = {
  entityType: 'case',
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
  rows: (db) => db.case,
  updateVersion: (db, where, data) => db.case.updateManyAndReturn({ where, data }),
};

const caseCodeTable: AuditedTable<CaseCode> = {
  entityType: 'case_code',
  snapshot: (code) => ({
    caseId: code.caseId,
    codeType: code.codeType,
    code: code.code,
    description: code.description,
    confidence: code.confidence,
  }),
  eventMetadata: (code) => ({ caseId: code.caseId }),
  rows: (db) => db.caseCode,
};

export function createCase(
  db: TenantDb,
  actor: Actor,
  memberIdHashKey: string,
  input: CreateCaseInput,
): Promise<Case> {
  return createAudited(db, actor, caseTable, {
    async create(tx) {
      if (input.ingestionId) {
        const ingestion = await tx.ingestion.findFirst({
          where: { id: input.ingestionId, tenantId: actor.tenantId },
          select: { id: true },
        });
        if (!ingestion) throw new NotFoundError('Ingestion not found');
      }
      const memberIdHash =
        input.memberIdHash ?? hashMemberId(memberIdHashKey, actor.tenantId, input.memberId as string);
      const row = await tx.case.create({
        data: {
          tenantId: actor.tenantId,
          createdBy: actor.userId,
          ingestionId: input.ingestionId ?? null,
          memberIdHash,
          payer: input.payer,
          status: 'pending',
          priority: input.priority,
          diagnosisCodes: input.diagnosisCodes,
          confidenceJson: input.confidence,
          extractedData: input.extractedData,
          metadataJson: input.metadata ?? Prisma.DbNull,
        },
      });
      if (input.codes.length > 0) {
        await tx.caseCode.createMany({
          data: input.codes.map((code) => ({ ...code, caseId: row.id, tenantId: actor.tenantId })),
        });
      }
      return row;
    },
    // The audit row lists the codes created with the case, which have no audit rows of their own.
    snapshot: (row) => ({
      ...caseTable.snapshot(row),
      codes: input.codes.map((c) => ({ codeType: c.codeType, code: c.code })),
    }),
    eventType: 'case.created',
  });
}

export function updateCase(db: TenantDb, actor: Actor, input: UpdateCaseInput): Promise<Case> {
  return updateAudited(db, actor, caseTable, {
    id: input.id,
    expectedUpdatedAt: input.expectedUpdatedAt,
    data: {
      payer: input.payer,
      priority: input.priority,
      diagnosisCodes: input.diagnosisCodes,
      // null clears the metadata; absent leaves it
      metadataJson: input.metadata === null ? Prisma.DbNull : input.metadata,
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
  db: TenantDb,
  actor: Actor,
  input: { id: string; status: CaseStatus; reason?: string | null; expectedUpdatedAt?: Date | null },
): Promise<Case> {
  return updateAudited(db, actor, caseTable, {
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

export function addCaseCode(
  db: TenantDb,
  actor: Actor,
  input: { caseId: string; code: CaseCodeInput },
): Promise<CaseCode> {
  return createAudited(db, actor, caseCodeTable, {
    async create(tx) {
      const row = await findInTenant(tx, actor, caseTable, input.caseId);
      return tx.caseCode.create({ data: { ...input.code, caseId: row.id, tenantId: actor.tenantId } });
    },
    eventType: 'case_code.added',
  });
}

export function removeCaseCode(db: TenantDb, actor: Actor, input: { id: string }): Promise<CaseCode> {
  return deleteAudited(db, actor, caseCodeTable, input.id, 'case_code.removed');
}

/** Deletes the case; its codes and tasks go with it (ON DELETE CASCADE). */
export async function deleteCase(db: TenantDb, actor: Actor, input: { id: string }): Promise<string> {
  const row = await deleteAudited(db, actor, caseTable, input.id, 'case.deleted');
  return row.id;
}
