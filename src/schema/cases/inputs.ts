import { z } from 'zod';
import { builder } from '../../builder.js';
import type { Context } from '../../context.js';
import { likeLiteral } from '../../db/like.js';
import { hashMemberId } from '../../domain/member-id.js';
import { CASE_STATUSES, CODE_TYPES, PRIORITIES } from '../../domain/vocabulary.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { CaseStatus, CodeType, Priority } from '../common/enums.js';
import { globalIdOf } from '../common/ids.js';
import {
  distinct,
  FILTER_MAX_LENGTH,
  filterText,
  MAX_CASE_CODES,
  MAX_CODE_DESCRIPTION_LENGTH,
  MAX_DIAGNOSIS_CODES,
} from '../common/input-limits.js';
import type { SortKey } from '../common/pagination.js';
import { optionalText, requiredText } from '../common/validation.js';

export const CaseFilter = builder.inputType('CaseFilter', {
  description: 'All given conditions must hold',
  fields: (t) => ({
    status: t.field({ type: [CaseStatus] }),
    priority: t.field({ type: [Priority] }),
    payer: t.string({ description: 'Exact payer name' }),
    memberId: t.string({ description: 'Raw member id: hashed on the server, never stored or logged' }),
    memberIdHash: t.string(),
    createdAfter: t.field({ type: 'DateTime', description: 'Created strictly after this instant' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created strictly before this instant' }),
    search: t.string({
      description:
        "Case-insensitive substring of the payer, or case-insensitive exact match of one of the case's procedure codes",
    }),
  }),
});

export const CaseOrderBy = builder.enumType('CaseOrderBy', {
  description: 'Case list orders; each ends with the id as tie-breaker',
  values: {
    CREATED_AT_DESC: { description: 'Newest first (the default)' },
    CREATED_AT_ASC: { description: 'Oldest first' },
    UPDATED_AT_DESC: { description: 'Most recently changed first' },
    PRIORITY_DESC: { description: 'URGENT, HIGH, NORMAL, LOW' },
  } as const,
});

export type CaseOrder = 'CREATED_AT_DESC' | 'CREATED_AT_ASC' | 'UPDATED_AT_DESC' | 'PRIORITY_DESC';

export const CASE_ORDERS: Record<CaseOrder, SortKey[]> = {
  CREATED_AT_DESC: [
    { field: 'createdAt', direction: 'desc' },
    { field: 'id', direction: 'desc' },
  ],
  CREATED_AT_ASC: [
    { field: 'createdAt', direction: 'asc' },
    { field: 'id', direction: 'asc' },
  ],
  UPDATED_AT_DESC: [
    { field: 'updatedAt', direction: 'desc' },
    { field: 'id', direction: 'desc' },
  ],
  PRIORITY_DESC: [
    { field: 'priorityRank', direction: 'desc' },
    { field: 'id', direction: 'desc' },
  ],
};

export interface CaseFilterValue {
  status?: string[] | null;
  priority?: string[] | null;
  payer?: string | null;
  memberId?: string | null;
  memberIdHash?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  search?: string | null;
}

/** The tenant's cases matching `filter`. Used by `cases` and `caseStats` alike. */
export function caseWhere(
  ctx: Pick<Context, 'viewer' | 'memberIdHashKey'>,
  filter?: CaseFilterValue | null,
): Prisma.CaseWhereInput {
  const and: Prisma.CaseWhereInput[] = [{ tenantId: ctx.viewer.tenantId }];
  const text = (name: keyof typeof FILTER_MAX_LENGTH, value: string) =>
    filterText(value, `filter.${name}`, FILTER_MAX_LENGTH[name]);
  if (filter?.status) and.push({ status: { in: distinct(filter.status) } });
  if (filter?.priority) and.push({ priority: { in: distinct(filter.priority) } });
  if (filter?.payer != null) and.push({ payer: text('payer', filter.payer) });
  if (filter?.memberId != null) {
    const memberId = text('memberId', filter.memberId);
    and.push({ memberIdHash: hashMemberId(ctx.memberIdHashKey, ctx.viewer.tenantId, memberId) });
  }
  if (filter?.memberIdHash != null) and.push({ memberIdHash: text('memberIdHash', filter.memberIdHash) });
  if (filter?.createdAfter) and.push({ createdAt: { gt: filter.createdAfter } });
  if (filter?.createdBefore) and.push({ createdAt: { lt: filter.createdBefore } });
  const search = filter?.search == null ? undefined : text('search', filter.search).trim();
  if (search) {
    and.push({
      OR: [
        { payer: { contains: likeLiteral(search), mode: 'insensitive' } },
        { codes: { some: { code: { equals: likeLiteral(search), mode: 'insensitive' } } } },
      ],
    });
  }
  return { AND: and };
}

// ---- mutation inputs -------------------------------------------------------------------------

const MAX_JSON_BYTES = 256 * 1024;
const jsonWithin = (limit: number) =>
  z.unknown().refine((value) => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8') <= limit, {
    message: `must be at most ${limit / 1024} KiB of JSON`,
  });
const code = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .transform((v) => v.toUpperCase());
const unit = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const priority = z.enum(PRIORITIES);

export const CaseCodeInput = builder.inputType('CaseCodeInput', {
  fields: (t) => ({
    codeType: t.field({ type: CodeType, required: true }),
    code: t.string({ required: true, description: 'Trimmed and upper-cased' }),
    description: t.string(),
    confidence: t.float({ description: '0..1' }),
  }),
});

const caseCodeSchema = z.object({
  codeType: z.enum(CODE_TYPES),
  code: code(20),
  description: optionalText(MAX_CODE_DESCRIPTION_LENGTH),
  confidence: unit.nullish(),
});

export const ConfidenceInput = builder.inputType('ConfidenceInput', {
  fields: (t) => ({
    overall: t.float({ required: true, description: '0..1' }),
    fields: t.field({ type: 'JSON', description: '{ [fieldName]: number 0..1 }' }),
  }),
});

export const CreateCaseInput = builder.inputType('CreateCaseInput', {
  fields: (t) => ({
    memberId: t.string({
      description: 'Exactly one of memberId / memberIdHash. Hashed on the server; never stored',
    }),
    memberIdHash: t.string(),
    payer: t.string({ required: true }),
    priority: t.field({ type: Priority, defaultValue: 'normal' }),
    diagnosisCodes: t.stringList({ defaultValue: [] }),
    codes: t.field({ type: [CaseCodeInput], defaultValue: [] }),
    confidence: t.field({ type: ConfidenceInput, required: true }),
    extractedData: t.field({ type: 'JSON', required: true }),
    metadata: t.field({ type: 'JSON' }),
    ingestionId: t.id(),
  }),
});

export const createCaseSchema = z
  .object({
    memberId: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(255, 'must be at most 255 characters')
      .nullish(),
    memberIdHash: z
      .string()
      .min(1, 'must not be empty')
      .max(255, 'must be at most 255 characters')
      .regex(/^\S+$/, 'must not contain whitespace')
      .nullish(),
    payer: requiredText(255),
    priority: priority.nullish().transform((v) => v ?? 'normal'),
    diagnosisCodes: z
      .array(code(20))
      .max(MAX_DIAGNOSIS_CODES, `must hold at most ${MAX_DIAGNOSIS_CODES} codes`)
      .nullish()
      .transform((v) => v ?? []),
    codes: z
      .array(caseCodeSchema)
      .max(MAX_CASE_CODES, `must hold at most ${MAX_CASE_CODES} codes`)
      .nullish()
      .transform((v) => v ?? []),
    confidence: z.object({
      overall: unit,
      fields: z
        .record(z.string(), unit)
        .nullish()
        .transform((v) => v ?? {}),
    }),
    extractedData: jsonWithin(MAX_JSON_BYTES).refine((v) => v !== null && v !== undefined, 'is required'),
    metadata: jsonWithin(MAX_JSON_BYTES).nullish(),
    ingestionId: globalIdOf('Ingestion').nullish(),
  })
  // Exactly one of the two, checked even when other fields are invalid (`when`), so that every
  // mistake is reported at once. The message never repeats the raw value.
  .refine((input) => (input.memberId == null) !== (input.memberIdHash == null), {
    path: ['memberId'],
    message: 'give exactly one of memberId and memberIdHash',
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });

export const UpdateCaseInput = builder.inputType('UpdateCaseInput', {
  description: 'Fields left out stay as they are; metadata can be cleared with null',
  fields: (t) => ({
    id: t.id({ required: true }),
    payer: t.string(),
    priority: t.field({ type: Priority }),
    diagnosisCodes: t.stringList(),
    metadata: t.field({ type: 'JSON' }),
    expectedUpdatedAt: t.field({
      type: 'DateTime',
      description: 'Optimistic concurrency: ConflictError when the case changed since',
    }),
  }),
});

export const updateCaseSchema = z.object({
  id: globalIdOf('Case'),
  payer: requiredText(255)
    .nullish()
    .transform((v) => v ?? undefined),
  priority: priority.nullish().transform((v) => v ?? undefined),
  diagnosisCodes: z
    .array(code(20))
    .max(MAX_DIAGNOSIS_CODES, `must hold at most ${MAX_DIAGNOSIS_CODES} codes`)
    .nullish()
    .transform((v) => v ?? undefined),
  metadata: jsonWithin(MAX_JSON_BYTES).optional(),
  expectedUpdatedAt: z.date().nullish(),
});

export const TransitionCaseStatusInput = builder.inputType('TransitionCaseStatusInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    status: t.field({ type: CaseStatus, required: true }),
    reason: t.string({ description: 'Required to reopen an APPROVED or DENIED case (ADMIN only)' }),
    expectedUpdatedAt: t.field({ type: 'DateTime' }),
  }),
});

export const transitionCaseStatusSchema = z.object({
  id: globalIdOf('Case'),
  status: z.enum(CASE_STATUSES),
  reason: optionalText(2000),
  expectedUpdatedAt: z.date().nullish(),
});

export const AddCaseCodeInput = builder.inputType('AddCaseCodeInput', {
  fields: (t) => ({
    caseId: t.id({ required: true }),
    code: t.field({ type: CaseCodeInput, required: true }),
  }),
});

export const addCaseCodeSchema = z.object({ caseId: globalIdOf('Case'), code: caseCodeSchema });

export const RemoveCaseCodeInput = builder.inputType('RemoveCaseCodeInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

export const removeCaseCodeSchema = z.object({ id: globalIdOf('CaseCode') });

export const DeleteCaseInput = builder.inputType('DeleteCaseInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

export const deleteCaseSchema = z.object({ id: globalIdOf('Case') });
