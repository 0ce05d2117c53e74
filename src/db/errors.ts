import { ConflictError, NotFoundError } from '../errors.js';

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
 * restarting, or refused us). Undefined for everything else.
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
  const message = error instanceof Error ? error.message : String(error);
  return /Connection terminated|ECONNREFUSED|ECONNRESET|Can't reach database|connection timeout|timeout exceeded when trying to connect|Transaction already closed|Transaction not found/i.test(
    message,
  )
    ? 'unavailable'
    : undefined;
}

interface DriverCause {
  kind?: string;
  code?: string;
  originalCode?: string;
  originalMessage?: string;
  message?: string;
  constraint?: unknown;
}

/** An error of Prisma, of its driver adapter, or of node-postgres (which has a `severity`). */
function isDatabaseError(error: unknown): error is Error & Record<string, unknown> {
  if (!(error instanceof Error)) return false;
  return (
    error.name.startsWith('PrismaClient') ||
    error.name === 'DriverAdapterError' ||
    typeof (error as { severity?: unknown }).severity === 'string'
  );
}

function driverCause(error: Record<string, unknown>): DriverCause | undefined {
  const meta = error.meta as { driverAdapterError?: { cause?: DriverCause } } | undefined;
  return (
    meta?.driverAdapterError?.cause ??
    (error.name === 'DriverAdapterError' ? (error.cause as DriverCause) : undefined)
  );
}

/** The SQLSTATE PostgreSQL answered with, through Prisma or straight from node-postgres. */
function sqlStateOf(error: unknown): string | undefined {
  if (!isDatabaseError(error)) return undefined;
  const cause = driverCause(error);
  const state =
    cause?.originalCode ?? cause?.code ?? (typeof error.severity === 'string' ? error.code : undefined);
  return typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) ? state : undefined;
}

/**
 * A value PostgreSQL refused as data: SQLSTATE class 22 (text that is not a uuid, a date out of
 * range, U+0000, a number past its type, …). The inputs are checked where they enter
 * (src/schema/common/input-limits.ts), so this means one check is missing. It is the last net,
 * so that the client still hears that the value was theirs (BAD_USER_INPUT, src/context.ts)
 * rather than "Unexpected error"; the warning logged with it tells us which check to add.
 */
export function dataException(error: unknown): string | undefined {
  const state = sqlStateOf(error);
  return state?.startsWith('22') ? state : undefined;
}

/**
 * A database error as the log may keep it, or undefined for any other error. Its message cannot
 * be kept: Prisma renders the whole call into it (a `where` with its search text, a cursor's
 * values), and PostgreSQL quotes the value it refused (`invalid input syntax for type uuid:
 * "…"`); its `detail` holds a row's values. What names the failure is kept: the class, the codes,
 * the model, the constraint, the call that failed and the stack's frames.
 */
export function describeDatabaseError(error: unknown): Record<string, unknown> | undefined {
  if (!isDatabaseError(error)) return undefined;
  const cause = driverCause(error);
  const sqlState = sqlStateOf(error);
  const original = cause?.originalMessage ?? cause?.message ?? (error.severity ? error.message : undefined);
  const constraint =
    (typeof error.constraint === 'string' ? error.constraint : undefined) ??
    // Integrity violations (class 23) name their constraint in the message, and hold no value
    // there (their `detail` does); any other message might quote the value itself.
    (typeof original === 'string' && sqlState?.startsWith('23')
      ? /constraint "([^"]+)"/.exec(original)?.[1]
      : undefined) ??
    (cause?.constraint as unknown);
  const call = /Invalid `([^`]+)` invocation/.exec(error.message)?.[1];
  const type = error.constructor?.name ?? error.name;
  const message = [call ? `${call} failed` : 'database error', sqlState && `SQLSTATE ${sqlState}`]
    .filter(Boolean)
    .join(': ');
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return {
    type,
    message,
    stack: [`${type}: ${message}`, ...frames].join('\n'),
    code: typeof error.code === 'string' ? error.code : undefined,
    sqlState,
    kind: cause?.kind,
    model: (error.meta as { modelName?: string } | undefined)?.modelName,
    constraint,
    table: typeof error.table === 'string' ? error.table : undefined,
    column: typeof error.column === 'string' ? error.column : undefined,
  };
}
