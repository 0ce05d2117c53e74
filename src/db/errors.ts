import { ConflictError, NotFoundError, roleChanged, unauthenticated, ValidationError } from '../errors.js';
import { isUnkeptStatement } from './prepared.js';

/**
 * Database failures that are the client's, mapped in one place: a unique violation is a conflict,
 * a foreign key that points nowhere is a missing row. Anything else stays as it is. Both Prisma's
 * codes and PostgreSQL's own (the audited writes of src/services send their SQL with node-postgres).
 */
export function mapDatabaseError(error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'P2002':
    case '23505':
      return new ConflictError(
        UNIQUE_CONFLICT[violatedConstraint(error) ?? ''] ??
          'A row with the same unique values already exists',
      );
    case 'P2003':
    case '23503':
      return new NotFoundError(
        MISSING_REFERENCE[violatedConstraint(error) ?? ''] ?? 'A referenced row does not exist',
      );
    case 'P2025':
      return new NotFoundError('Not found');
    case '42501': {
      // The events trigger (migration 20261206000000): the request's user lost their rights while
      // it waited for the tenant's lock. Nothing it wrote is kept.
      const constraint = violatedConstraint(error);
      if (constraint === 'events_actor_active') {
        return unauthenticated('this user was deactivated while the request ran: nothing was written');
      }
      if (constraint === 'events_actor_role') return roleChanged();
      return error instanceof Error ? error : new Error(String(error));
    }
    case '23514': {
      const refusal = CHECK_REFUSAL[violatedConstraint(error) ?? ''];
      if (refusal) return new ValidationError([refusal]);
      return error instanceof Error ? error : new Error(String(error));
    }
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

/** Why a unique index refused a write, where its name says more than "already exists". */
const UNIQUE_CONFLICT: Record<string, string> = {
  rulesets_one_active_per_payer_procedure: 'Another active ruleset exists for this payer and procedure',
  users_email_tenant_id_key: 'A user with this email exists in this tenant',
  // Unique across tenants: the message cannot say where, and does not.
  users_auth_id_key: 'A user with this authId exists',
};

/**
 * The checks of a trigger (migration 20261206000000) that refuse a client's input: the field and
 * why. Other CHECK violations are the server's own bugs (its inputs are validated first).
 */
const CHECK_REFUSAL: Record<string, { path: string[]; message: string }> = {
  tasks_assignee_active: { path: ['assigneeId'], message: 'is a deactivated user: tasks go to active users' },
  tasks_assignee_person: { path: ['assigneeId'], message: 'is a SERVICE user: tasks go to people' },
};

function violatedConstraint(error: unknown): string | undefined {
  // node-postgres: the constraint's (or unique index's) name; Prisma: in its driver adapter's cause.
  const constraint = (error as { constraint?: unknown }).constraint;
  if (typeof constraint === 'string') return constraint;
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { constraint?: { index?: string } } } } })
    .meta;
  return meta?.driverAdapterError?.cause?.constraint?.index;
}

/**
 * The database did not answer a statement before the request's deadline (a stalled server, a
 * network partition): the connection it ran on is closed, and the request gets a 503.
 */
export class DatabaseStalledError extends Error {
  override name = 'DatabaseStalledError';
}

/**
 * The request's database work ran past its time limit (twice the statement timeout) while the
 * database kept answering: many statements, or one started late. The request's own doing, like a
 * statement timeout, not an outage.
 */
export class RequestTimeLimitError extends Error {
  override name = 'RequestTimeLimitError';
}

/** The process is stopping and takes no new database work (src/db/shutdown.ts). */
export class DatabaseClosingError extends Error {
  override name = 'DatabaseClosingError';
}

/**
 * Failures of the database itself, which the client can do nothing about but wait and retry:
 * `timeout` (a statement ran past the statement timeout), `unavailable` (the server is gone,
 * restarting, stalled, refused us, or a pooler lost a prepared statement) or `conflict` (the
 * database ended the transaction to break a deadlock with another request's). Undefined for
 * everything else.
 */
export function databaseFailure(error: unknown): 'timeout' | 'unavailable' | 'conflict' | undefined {
  if (error instanceof DatabaseStalledError || error instanceof DatabaseClosingError) return 'unavailable';
  if (error instanceof RequestTimeLimitError) return 'timeout';
  const sqlState = sqlStateOf(error) ?? '';
  if (sqlState === '57014') return 'timeout'; // query_canceled: the statement timeout
  // deadlock_detected, serialization_failure: two requests wrote the same rows in opposite orders.
  if (sqlState === '40P01' || sqlState === '40001') return 'conflict';
  // P1001 unreachable, P1002 timed out reaching it, P1017 connection closed, P2024 no pooled connection in time
  if (['P1001', 'P1002', 'P1017', 'P2024'].includes(String((error as { code?: unknown }).code))) {
    return 'unavailable';
  }
  const kind = isDatabaseError(error) ? driverCause(error)?.kind : undefined;
  if (kind === 'DatabaseNotReachable' || kind === 'ConnectionClosed') return 'unavailable';
  // 08xxx connection exceptions; 57P01-57P03 admin shutdown, crash shutdown, cannot connect now;
  // 25P03 idle_in_transaction_session_timeout (the server ended a transaction it saw abandoned)
  if (/^08|^57P0[123]$|^25P03$/.test(sqlState)) return 'unavailable';
  // A pooler that lost a named statement: they are off from now on (src/db/prepared.ts), a retry works.
  if (isUnkeptStatement(sqlState)) return 'unavailable';
  const message = error instanceof Error ? error.message : String(error);
  return CONNECTION_LOST.test(message) ? 'unavailable' : undefined;
}

/**
 * What node-postgres, pg-pool and Prisma say when the connection itself failed, in whichever
 * layer noticed first: a terminated backend, a restart, a refused or timed-out connect, a client
 * whose socket broke earlier in the same request ("not queryable"), a client-side read timeout.
 */
const CONNECTION_LOST =
  /Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|Can't reach database|connection timeout|timeout exceeded when trying to connect|Transaction already closed|Transaction not found|not queryable|Query read timeout|Connection is closed|server closed the connection unexpectedly/i;

/**
 * A database failure in a few words, for a log line and to tell repeated failures apart: its
 * class, codes and the connection failure named, never its message (a Prisma message can quote
 * the statement's arguments: a search text, a filter).
 */
export function failureCause(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  const parts = [typeof name === 'string' ? name : 'Error'];
  if (typeof code === 'string' || typeof code === 'number') parts.push(String(code));
  const cause = isDatabaseError(error) ? driverCause(error) : undefined;
  if (cause?.kind) parts.push(cause.kind);
  const sqlState = sqlStateOf(error);
  if (sqlState && sqlState !== code) parts.push(sqlState);
  const lost = error instanceof Error ? CONNECTION_LOST.exec(error.message)?.[0] : undefined;
  if (lost) parts.push(lost);
  return parts.join(' ');
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
export function isDatabaseError(error: unknown): error is Error & Record<string, unknown> {
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
    // Prisma's, or the model an audited write (src/services/audited-statements.ts) names.
    model: (error.meta as { modelName?: string } | undefined)?.modelName ?? error.model,
    constraint,
    table: typeof error.table === 'string' ? error.table : undefined,
    column: typeof error.column === 'string' ? error.column : undefined,
  };
}
