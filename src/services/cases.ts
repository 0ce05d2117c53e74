import type { TenantDb } from '../db/tenant.js';
import { diff, type Snapshot } from '../domain/changes.js';
import { hashMemberId } from '../domain/member-id.js';
import { CASE_REOPENINGS, CASE_TRANSITIONS, type CaseStatus, enumName } from '../domain/workflow.js';
import { ConflictError, InvalidTransitionError, NotFoundError, ValidationError } from '../errors.js';
import { type Case, type CaseCode, Prisma } from '../generated/prisma/client.js';
import { type Actor, recordChange } from './audit.js';
import { inSavepoint, isStale, sameMillisecond } from './mutation.js';

type Priority = 'low' | 'normal' | 'high' | 'urgent';
type Json = Prisma.InputJsonValue;

export interface CaseCodeInput {
  codeType: 'CPT' | 'HCPCS';
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

/**
 * A case as the audit trail shows it. `extractedData` is left out on purpose: it may hold
 * clinical text, and the audit trail is readable by every admin.
 */
export function caseSnapshot(row: Case): Snapshot {
  return {
    memberIdHash: row.memberIdHash,
    payer: row.payer,
    status: enumName(row.status),
    priority: enumName(row.priority),
    diagnosisCodes: row.diagnosisCodes ?? [],
    confidence: row.confidenceJson,
    metadata: row.metadataJson ?? null,
    ingestionId: row.ingestionId,
  };
}

export function caseCodeSnapshot(code: CaseCode): Snapshot {
  return {
    caseId: code.caseId,
    codeType: code.codeType,
    code: code.code,
    description: code.description,
    confidence: code.confidence,
  };
}

async function findCase(db: TenantDb, actor: Actor, id: string): Promise<Case> {
  const row = await db.case.findFirst({ where: { id, tenantId: actor.tenantId } });
  if (!row) throw new NotFoundError('Case not found');
  return row;
}

/** See tasks.ts: write only if the row is still the version read, else ConflictError. */
async function updateIfUnchanged(
  db: TenantDb,
  row: Case,
  data: Parameters<TenantDb['case']['update']>[0]['data'],
) {
  const { count } = await db.case.updateMany({
    where: { id: row.id, updatedAt: sameMillisecond(row.updatedAt) },
    data,
  });
  if (count === 0) throw new ConflictError('The case changed meanwhile; read it again');
  return db.case.findUniqueOrThrow({ where: { id: row.id } });
}

export function createCase(
  db: TenantDb,
  actor: Actor,
  memberIdHashKey: string,
  input: CreateCaseInput,
): Promise<Case> {
  return inSavepoint(db, async (tx) => {
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
    await recordChange(tx, actor, {
      action: 'create',
      entityType: 'case',
      entityId: row.id,
      changes: diff(null, {
        ...caseSnapshot(row),
        codes: input.codes.map((c) => ({ codeType: c.codeType, code: c.code })),
      }),
      eventType: 'case.created',
      eventMetadata: { payer: row.payer },
    });
    return row;
  });
}

export function updateCase(db: TenantDb, actor: Actor, input: UpdateCaseInput): Promise<Case> {
  return inSavepoint(db, async (tx) => {
    const row = await findCase(tx, actor, input.id);
    if (isStale(row.updatedAt, input.expectedUpdatedAt))
      throw new ConflictError('The case changed since expectedUpdatedAt');
    const updated = await updateIfUnchanged(tx, row, {
      payer: input.payer,
      priority: input.priority,
      diagnosisCodes: input.diagnosisCodes,
      // null clears the metadata; absent leaves it
      metadataJson: input.metadata === null ? Prisma.DbNull : input.metadata,
    });
    await recordChange(tx, actor, {
      action: 'update',
      entityType: 'case',
      entityId: row.id,
      changes: diff(caseSnapshot(row), caseSnapshot(updated)),
      eventType: 'case.updated',
    });
    return updated;
  });
}

export function transitionCaseStatus(
  db: TenantDb,
  actor: Actor,
  input: { id: string; status: CaseStatus; reason?: string | null; expectedUpdatedAt?: Date | null },
): Promise<Case> {
  return inSavepoint(db, async (tx) => {
    const row = await findCase(tx, actor, input.id);
    const from = row.status as CaseStatus;
    const to = input.status;
    const reopening = CASE_REOPENINGS[from].includes(to);
    if (reopening) {
      if (actor.role !== 'admin') {
        throw new InvalidTransitionError(
          enumName(from),
          enumName(to),
          `${enumName(from)} is final; only an ADMIN may reopen it`,
        );
      }
      if (!input.reason)
        throw new ValidationError([{ path: ['reason'], message: 'a reason is required to reopen a case' }]);
    } else if (!CASE_TRANSITIONS[from].includes(to)) {
      throw new InvalidTransitionError(enumName(from), enumName(to));
    }
    if (isStale(row.updatedAt, input.expectedUpdatedAt))
      throw new ConflictError('The case changed since expectedUpdatedAt');
    const updated = await updateIfUnchanged(tx, row, { status: to });
    await recordChange(tx, actor, {
      action: 'update',
      entityType: 'case',
      entityId: row.id,
      changes: diff(caseSnapshot(row), caseSnapshot(updated)),
      eventType: 'case.status_changed',
      eventMetadata: {
        from: enumName(from),
        to: enumName(to),
        ...(input.reason ? { reason: input.reason } : {}),
      },
    });
    return updated;
  });
}

export function addCaseCode(
  db: TenantDb,
  actor: Actor,
  input: { caseId: string; code: CaseCodeInput },
): Promise<CaseCode> {
  return inSavepoint(db, async (tx) => {
    const row = await findCase(tx, actor, input.caseId);
    const code = await tx.caseCode.create({
      data: { ...input.code, caseId: row.id, tenantId: actor.tenantId },
    });
    await recordChange(tx, actor, {
      action: 'create',
      entityType: 'case_code',
      entityId: code.id,
      changes: diff(null, caseCodeSnapshot(code)),
      eventType: 'case_code.added',
      eventMetadata: { caseId: row.id },
    });
    return code;
  });
}

export function removeCaseCode(db: TenantDb, actor: Actor, input: { id: string }): Promise<CaseCode> {
  return inSavepoint(db, async (tx) => {
    const code = await tx.caseCode.findFirst({ where: { id: input.id, tenantId: actor.tenantId } });
    if (!code) throw new NotFoundError('Case code not found');
    await tx.caseCode.delete({ where: { id: code.id } });
    await recordChange(tx, actor, {
      action: 'delete',
      entityType: 'case_code',
      entityId: code.id,
      changes: diff(caseCodeSnapshot(code), null),
      eventType: 'case_code.removed',
      eventMetadata: { caseId: code.caseId },
    });
    return code;
  });
}

export function deleteCase(db: TenantDb, actor: Actor, input: { id: string }): Promise<string> {
  return inSavepoint(db, async (tx) => {
    const row = await findCase(tx, actor, input.id);
    await tx.case.delete({ where: { id: row.id } }); // its codes and tasks go with it (ON DELETE CASCADE)
    await recordChange(tx, actor, {
      action: 'delete',
      entityType: 'case',
      entityId: row.id,
      changes: diff(caseSnapshot(row), null),
      eventType: 'case.deleted',
      eventMetadata: { payer: row.payer },
    });
    return row.id;
  });
}
