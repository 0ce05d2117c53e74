/**
 * The closed vocabularies of the data: each declared once, in the order the API lists it (the
 * GraphQL enums and the stats keep this order). The database stores these lower-case words in
 * plain text columns that a CHECK constraint of the migrations guards; the GraphQL enums
 * (src/schema/common/enums.ts), the SQL compiler (src/compiled/models.ts), the where-builders and
 * the seed all take them from here, and tests/integration/vocabulary.test.ts holds the CHECK
 * constraints to them.
 */

/** `service`: a machine principal, the intake pipeline (API.md, "Administration and intake"). */
export const ROLES = ['admin', 'clinician', 'staff', 'service'] as const;
export type Role = (typeof ROLES)[number];

export const CASE_STATUSES = ['pending', 'approved', 'denied', 'more_info_needed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A task still to be done: what `isOverdue`, the `overdue` filter and the work-queue index mean by open. */
export const OPEN_TASK_STATUSES = ['pending', 'in_progress'] as const satisfies readonly TaskStatus[];

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const CODE_TYPES = ['CPT', 'HCPCS'] as const;
export type CodeType = (typeof CODE_TYPES)[number];

export const INGESTION_SOURCE_TYPES = ['email', 'pdf'] as const;
export type IngestionSourceType = (typeof INGESTION_SOURCE_TYPES)[number];

export const INGESTION_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const;
export type IngestionStatus = (typeof INGESTION_STATUSES)[number];

export const AUDIT_ACTIONS = ['create', 'update', 'delete', 'view'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * The columns a CHECK constraint confines to a vocabulary, by Prisma model and field: the one
 * thing about them that prisma/schema.prisma cannot say.
 */
export const CHECKED_COLUMNS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  User: { role: ROLES },
  Ingestion: { sourceType: INGESTION_SOURCE_TYPES, status: INGESTION_STATUSES },
  Case: { status: CASE_STATUSES, priority: PRIORITIES },
  CaseCode: { codeType: CODE_TYPES },
  Task: { status: TASK_STATUSES, priority: PRIORITIES },
  AuditLog: { action: AUDIT_ACTIONS },
};
