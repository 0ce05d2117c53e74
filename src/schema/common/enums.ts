import { builder } from '../../builder.js';

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

export const UserRole = vocabulary(
  'UserRole',
  ['admin', 'clinician', 'staff'],
  'What a user may do (see API.md, Roles)',
);
export const CaseStatus = vocabulary(
  'CaseStatus',
  ['pending', 'approved', 'denied', 'more_info_needed'],
  'Where a prior-auth case stands with the payer',
);
export const TaskStatus = vocabulary(
  'TaskStatus',
  ['pending', 'in_progress', 'completed', 'cancelled'],
  'Task state',
);
export const Priority = vocabulary(
  'Priority',
  ['low', 'normal', 'high', 'urgent'],
  'Urgency of a case or task',
);
export const CodeType = vocabulary('CodeType', ['CPT', 'HCPCS'], 'Procedure code system');
export const IngestionSourceType = vocabulary(
  'IngestionSourceType',
  ['email', 'pdf'],
  'What an ingestion came from',
);
export const IngestionStatus = vocabulary(
  'IngestionStatus',
  ['pending', 'processing', 'completed', 'failed'],
  'Processing state of an ingestion',
);
export const AuditAction = vocabulary(
  'AuditAction',
  ['create', 'update', 'delete', 'view'],
  'What an audit row records: a write, or a read of extracted clinical text (VIEW)',
);
