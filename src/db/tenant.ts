import { clearLogs as clearPrismaDebugHistory } from '@prisma/debug';
import type pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';
import { poolOf, type RequestConnection, requestConnection, setDeadline } from './client.js';
import { preparedName } from './prepared.js';
import { trackTransaction } from './shutdown.js';

/**
 * The Prisma client as resolvers and services use it: inside `withRequest` its statements run in
 * the request's transaction, in which `app.tenant_id` is set, so RLS sees one tenant.
 */
export type TenantDb = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$use' | '$extends'>;

export interface TenantTransactionOptions {
  /**
   * Upper bound for each statement of the transaction (PostgreSQL's statement_timeout), and half
   * the bound of the whole transaction, connection wait included (checked on the client side).
   */
  statementTimeoutMs: number;
  /** The operation is a single mutation field (see `inSavepoint`). */
  soleMutation?: boolean;
}

/** The authenticated user as `begin_request` finds them; the role is the row's, never a claim. */
export interface RequestUser {
  id: string;
  tenantId: string;
  role: string;
}

/** What `fn` of `withRequest` gets: the tenant's Prisma client and its raw connection. */
export interface RequestTransaction {
  db: TenantDb;
  /**
   * One statement on the request's connection, inside its transaction. `prepare`: as a named
   * prepared statement, parsed and planned once per connection (see `preparedName`).
   */
  sql<Row>(text: string, values?: unknown[], options?: { prepare?: boolean }): Promise<Row[]>;
  /** Null when the token's subject is not a user of the claimed tenant. */
  user: RequestUser | null;
}

/**
 * Runs `fn` in a transaction whose RLS tenant is `tenantId` (the seed, tests): like `withRequest`
 * without a user.
 */
export function withTenant<T>(
  prisma: PrismaClient,
  tenantId: string,
  fn: (db: TenantDb) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  return inTenantTransaction(
    prisma,
    {
      text: `SELECT set_config('app.tenant_id', $1, true), set_config('statement_timeout', $2, true)`,
      values: [tenantId, String(options.statementTimeoutMs)],
    },
    (tx) => fn(tx.db),
    options,
  );
}

/**
 * Runs `fn` for a GraphQL request: `begin_request` (migration 20261122000500) sets the tenant and
 * the statement timeout and looks up the token's user in one statement, so a request costs BEGIN,
 * this, its own statements, COMMIT.
 */
export function withRequest<T>(
  prisma: PrismaClient,
  identity: { tenantId: string; authId: string },
  fn: (tx: RequestTransaction) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  return inTenantTransaction(
    prisma,
    {
      text: 'SELECT * FROM begin_request($1::uuid, $2, $3::integer)',
      values: [identity.tenantId, identity.authId, options.statementTimeoutMs],
    },
    fn,
    options,
  );
}

/**
 * Runs `fn` in one transaction on one pooled connection, opened with plain node-postgres: BEGIN,
 * `settings` (which set the RLS tenant and the statement timeout transaction-locally with
 * `set_config(…, true)`, and may return the user), `fn`'s statements, COMMIT. Nothing outlives
 * the transaction, so this is safe on a pooled connection, PgBouncer in transaction mode included.
 * Prisma's statements in `fn` reach this connection through the pool (src/db/client.ts). A
 * failure in BEGIN, `fn` or COMMIT rolls everything back.
 */
async function inTenantTransaction<T>(
  prisma: PrismaClient,
  settings: { text: string; values: unknown[] },
  fn: (tx: RequestTransaction) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  const startedAt = Date.now();
  const pool = poolOf(prisma);
  const client = await pool.connect();
  // A connection that breaks while checked out emits here; unheard, the process would end. The
  // statement that was running fails with the same error.
  const ignore = () => {};
  client.on('error', ignore);
  const request: RequestConnection = {
    client,
    open: true,
    savepoints: 0,
    soleMutation: options.soleMutation ?? false,
    rollbackOnly: false,
  };
  let broken: Error | undefined;
  let untrack: (() => void) | undefined;
  try {
    untrack = trackTransaction(pool, { client, startedAt, close: () => (request.open = false) });
    setDeadline(client, {
      at: startedAt + 2 * options.statementTimeoutMs,
      statementTimeoutMs: options.statementTimeoutMs,
    });
    await client.query(beginStatement(options.statementTimeoutMs));
    const { rows } = await client.query<{ id?: string; tenant_id?: string; role?: string }>(settings);
    const [user] = rows;
    const result = await requestConnection.run(request, () =>
      fn({
        db: prisma,
        sql: requestSql,
        user:
          user?.id && user.tenant_id && user.role
            ? { id: user.id, tenantId: user.tenant_id, role: user.role }
            : null,
      }),
    );
    // Whatever `fn` started and left running (a resolver still going when a sibling failed) is
    // refused from here on: it must not run after COMMIT, outside the transaction.
    request.open = false;
    await client.query(request.rollbackOnly ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (error) {
    request.open = false;
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    // @prisma/debug keeps the arguments of its last 100 calls whether debugging is on or not, and
    // adapter-pg passes it every statement with its values: up to 100 statements' parameters (a
    // 256 KiB extractedData each) would stay in memory after their requests ended.
    clearPrismaDebugHistory();
    setDeadline(client, undefined);
    untrack?.();
    client.removeListener('error', ignore);
    (client as pg.PoolClient).release(broken);
  }
}

/**
 * One statement on the current request's connection, inside its transaction (savepoint included):
 * `RequestTransaction.sql`, and what services use for the statements they write by hand, without
 * Prisma's per-statement planning. `prepare`: as a named prepared statement (see `preparedName`).
 */
export async function requestSql<Row>(
  text: string,
  values: unknown[] = [],
  options?: { prepare?: boolean },
): Promise<Row[]> {
  const request = requestConnection.getStore();
  if (!request?.open) throw new Error('the request transaction has ended');
  const name = options?.prepare ? preparedName(text) : undefined;
  return (await request.client.query({ name, text, values })).rows as Row[];
}

/**
 * BEGIN, with the transaction's own time limits set before its first statement runs (so
 * `begin_request` is bounded too), in one round trip: `statement_timeout` for each statement, and
 * `idle_in_transaction_session_timeout` as the last guard for a transaction whose process stopped
 * sending (killed, partitioned away): PostgreSQL ends it and releases its locks. Both end with
 * the transaction, so a pooled connection keeps nothing. The values are integers from the config.
 */
function beginStatement(statementTimeoutMs: number): string {
  const timeout = Math.trunc(statementTimeoutMs);
  return `BEGIN; SET LOCAL statement_timeout = ${timeout}; SET LOCAL idle_in_transaction_session_timeout = ${2 * timeout}`;
}
