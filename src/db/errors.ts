import { ConflictError, NotFoundError } from '../errors.js';
import { isUnkeptStatement } from './prepared.js';

/**
 * Database failures that are the client's, mapped in one place: a unique violation is a conflict,
 * a foreign key that points nowhere is a missing row. Anything else stays as it is.
 */
export function mapDatabaseError(error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'P2002':
      return new ConflictError('A row with the same unique values already exists');
    case 'P2003':
      return new NotFoundError(
        MISSING_REFERENCE[violatedConstraint(error) ?? ''] ?? 'A referenced row does not exist',
      );
    case 'P2025':
      return new NotFoundError('Not found');
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * What is missing when a composite foreign key (x_id, tenant_id) refuses a write: a row that does
 * not exist and one of another tenant look the same, as they must. Writes rely on these instead
 * of reading the referenced row first.
 */
const MISSING_REFERENCE: Record<string, string> = {
  tasks_case_id_tenant_id_fkey: 'Case not found',
  tasks_assigned_to_tenant_id_fkey: 'Assignee not found',
  case_codes_case_id_tenant_id_fkey: 'Case not found',
  cases_ingestion_id_tenant_id_fkey: 'Ingestion not found',
};

function violatedConstraint(error: unknown): string | undefined {
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { constraint?: { index?: string } } } } })
    .meta;
  return meta?.driverAdapterError?.cause?.constraint?.index;
}

/**
 * Failures of the database itself, which the client can do nothing about but wait:
 * `timeout` (a statement ran past the statement timeout) or `unavailable` (the server is gone,
 * restarting, refused us, or a pooler lost a prepared statement). Undefined for everything else.
 */
export function databaseFailure(error: unknown): 'timeout' | 'unavailable' | undefined {
  const prismaCode = (error as { code?: unknown }).code;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string } } } })
    .meta?.driverAdapterError?.cause;
  const sqlState =
    cause?.code ?? (typeof prismaCode === 'string' && /^[0-9A-Z]{5}$/.test(prismaCode) ? prismaCode : '');
  if (sqlState === '57014') return 'timeout'; // query_canceled: the statement timeout
  // P1001 unreachable, P1002 timed out reaching it, P1017 connection closed, P2024 no pooled connection in time
  if (['P1001', 'P1002', 'P1017', 'P2024'].includes(String(prismaCode))) return 'unavailable';
  if (cause?.kind === 'DatabaseNotReachable' || cause?.kind === 'ConnectionClosed') return 'unavailable';
  // 08xxx connection exceptions; 57P01-57P03 admin shutdown, crash shutdown, cannot connect now
  if (/^08|^57P0[123]$/.test(sqlState)) return 'unavailable';
  // A pooler that lost a named statement: they are off from now on (src/db/prepared.ts), a retry works.
  if (isUnkeptStatement(sqlState)) return 'unavailable';
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|ECONNREFUSED|ECONNRESET|Can't reach database|connection timeout|timeout exceeded when trying to connect|Transaction already closed|Transaction not found/i.test(
    message,
  )
    ? 'unavailable'
    : undefined;
}
