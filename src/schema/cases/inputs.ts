import { builder } from '../../builder.js';
import type { Context } from '../../context.js';
import { hashMemberId } from '../../domain/member-id.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { CaseStatus, Priority } from '../common/enums.js';
import type { SortKey } from '../common/pagination.js';

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
  if (filter?.status) and.push({ status: { in: filter.status } });
  if (filter?.priority) and.push({ priority: { in: filter.priority } });
  if (filter?.payer != null) and.push({ payer: filter.payer });
  if (filter?.memberId != null) {
    and.push({ memberIdHash: hashMemberId(ctx.memberIdHashKey, ctx.viewer.tenantId, filter.memberId) });
  }
  if (filter?.memberIdHash != null) and.push({ memberIdHash: filter.memberIdHash });
  if (filter?.createdAfter) and.push({ createdAt: { gt: filter.createdAfter } });
  if (filter?.createdBefore) and.push({ createdAt: { lt: filter.createdBefore } });
  const search = filter?.search?.trim();
  if (search) {
    and.push({
      OR: [
        { payer: { contains: search, mode: 'insensitive' } },
        { codes: { some: { code: { equals: search, mode: 'insensitive' } } } },
      ],
    });
  }
  return { AND: and };
}
