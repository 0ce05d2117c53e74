import { builder } from '../../builder.js';
import {
  AUDIT_ACTIONS,
  CASE_STATUSES,
  CODE_TYPES,
  INGESTION_SOURCE_TYPES,
  INGESTION_STATUSES,
  PRIORITIES,
  ROLES,
  TASK_STATUSES,
} from '../../domain/vocabulary.js';

/**
 * The database keeps the plan's lower-case vocabularies (CHECK constraints guard them); GraphQL
 * shows them as enums: `more_info_needed` ↔ `MORE_INFO_NEEDED`.
 */
function vocabulary<const T extends string>(name: string, dbValues: readonly T[], description: string) {
  return builder.enumType(name, {
    description,
    values: Object.fromEntries(dbValues.map((value) => [value.toUpperCase(), { value }])) as Record<
      Uppercase<T>,
      { value: T }
    >,
  });
}

export const UserRole = vocabulary('UserRole', ROLES, 'What a user may do (see API.md, Roles)');
export const CaseStatus = vocabulary(
  'CaseStatus',
  CASE_STATUSES,
  'Where a prior-auth case stands with the payer',
);
export const TaskStatus = vocabulary('TaskStatus', TASK_STATUSES, 'Task state');
export const Priority = vocabulary('Priority', PRIORITIES, 'Urgency of a case or task');
export const CodeType = vocabulary('CodeType', CODE_TYPES, 'Procedure code system');
export const IngestionSourceType = vocabulary(
  'IngestionSourceType',
  INGESTION_SOURCE_TYPES,
  'What an ingestion came from',
);
export const IngestionStatus = vocabulary(
  'IngestionStatus',
  INGESTION_STATUSES,
  'Processing state of an ingestion',
);
export const AuditAction = vocabulary(
  'AuditAction',
  AUDIT_ACTIONS,
  'What an audit row records: a write, or a read of extracted clinical text (VIEW)',
);
