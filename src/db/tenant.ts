import { clearLogs as clearPrismaDebugHistory } from '@prisma/debug';
import pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';
import { poolOf, type RequestConnection, requestConnection, setDeadline } from './client.js';
import { preparedName } from './prepared.js';
import { trackTransaction } from './shutdown.js';

const { escapeLiteral } = pg;

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
  /** Told after COMMIT of a transaction that wrote changes (src/realtime/fanout.ts). */
  fanout?: CommitListener;
}

/** What a transaction that wrote changes tells the change feed's fan-out (src/realtime/fanout.ts). */
export interface CommitListener {
  /** Whether the events trigger's NOTIFY is heard (else app.change_notify is 'off'). */
  readonly notifies: boolean;
  /** After COMMIT of a transaction that wrote changes of `tenantId`. */
  committed(tenantId: string): void;
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
    tenantId,
    `SELECT set_config('app.tenant_id', ${escapeLiteral(tenantId)}, true)`,
    (tx) => fn(tx.db),
    options,
  );
}

/**
 * Runs `fn` for a GraphQL request: `begin_request` (migration 20261122000500) sets the tenant and
 * the statement timeout and looks up the token's user. It goes in the BEGIN's own round trip
 * (`openingStatement`), so a request costs that, its own statements, COMMIT.
 */
export function withRequest<T>(
  prisma: PrismaClient,
  identity: { tenantId: string; authId: string },
  fn: (tx: RequestTransaction) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  return inTenantTransaction(
    prisma,
    identity.tenantId,
    `SELECT * FROM begin_request(${escapeLiteral(identity.tenantId)}::uuid, ${escapeLiteral(identity.authId)}, ${Math.trunc(options.statementTimeoutMs)})`,
    fn,
    options,
  );
}

/**
 * Runs `fn` in one transaction on one pooled connection, opened with plain node-postgres: BEGIN
 * with `settings` (which set the RLS tenant transaction-locally with `set_config(…, true)`, and
 * may return the user) in one round trip, `fn`'s statements, COMMIT. Nothing outlives
 * the transaction, so this is safe on a pooled connection, PgBouncer in transaction mode included.
 * Prisma's statements in `fn` reach this connection through the pool (src/db/client.ts). A
 * failure in BEGIN, `fn` or COMMIT rolls everything back.
 */
async function inTenantTransaction<T>(
  prisma: PrismaClient,
  tenantId: string,
  settings: string,
  fn: (tx: RequestTransaction) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  const startedAt = Date.now();
  const pool = poolOf(prisma);
  // A connection of its own, also when started from inside another request's asynchronous
  // context (a subscription's deliveries and the change feed's reads run after that request
  // ended): the pool would hand out that request's connection (src/db/client.ts).
  const client = await requestConnection.exit(() => pool.connect());
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
    wroteChanges: false,
  };
  let broken: Error | undefined;
  let untrack: (() => void) | undefined;
  try {
    untrack = trackTransaction(pool, { client, startedAt, close: () => (request.open = false) });
    setDeadline(client, {
      at: startedAt + 2 * options.statementTimeoutMs,
      statementTimeoutMs: options.statementTimeoutMs,
    });
    // Nobody LISTENs when Redis carries the fan-out: the events trigger's NOTIFY is left out.
    const quiet = options.fanout?.notifies === false ? "SET LOCAL app.change_notify = 'off'; " : '';
    const opened = await client.query(openingStatement(options.statementTimeoutMs, quiet + settings));
    const results = opened as unknown as pg.QueryResult<{ id?: string; tenant_id?: string; role?: string }>[];
    const [user] = results.at(-1)?.rows ?? [];
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
    if (request.wroteChanges && !request.rollbackOnly) options.fanout?.committed(tenantId);
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
 * Ends the current request's transaction in ROLLBACK instead of COMMIT: nothing it wrote is kept
 * (a mutation operation whose answer has no data, src/plugins/executor.ts).
 */
export function rollBackRequest(): void {
  const request = requestConnection.getStore();
  if (request) request.rollbackOnly = true;
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
 * `settings` is bounded too), and `settings`, in one round trip (a simple-query message: one
 * network round trip and one message for the request's opening, instead of two; the values in
 * `settings` are literals escaped by node-postgres, or integers). `statement_timeout` bounds each
 * statement, and `idle_in_transaction_session_timeout` is the last guard for a transaction whose
 * process stopped sending (killed, partitioned away): PostgreSQL ends it and releases its locks.
 * Both end with the transaction, so a pooled connection keeps nothing.
 */
function openingStatement(statementTimeoutMs: number, settings: string): string {
  const timeout = Math.trunc(statementTimeoutMs);
  return `BEGIN; SET LOCAL statement_timeout = ${timeout}; SET LOCAL idle_in_transaction_session_timeout = ${2 * timeout}; ${settings}`;
}
