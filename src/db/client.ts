import { AsyncLocalStorage } from 'node:async_hooks';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseStalledError, RequestTimeLimitError } from './errors.js';
import { type PreparedStatementOptions, PreparedStatements, preparedName } from './prepared.js';

export { PrismaClient };

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  /**
   * How long a caller waits for a pooled connection, a new one's connect included (pg-pool's
   * `connectionTimeoutMillis`). The server passes DB_STATEMENT_TIMEOUT_MS; tools keep 2 s.
   */
  connectTimeoutMs?: number;
  /** An idle connection that broke (the server restarted, a backend was terminated). */
  onIdleError?: (error: Error) => void;
  /** Called with every statement sent (`prepared`: a named one): tests count statements per request with it. */
  onStatement?: (sql: string, values: unknown[], prepared: boolean) => void;
  /**
   * Named prepared statements: at most `max` per connection, the least recently used closed first
   * (0: none, every statement is sent unnamed). `onUnsupported`: the pooler turned out not to keep
   * them, and they are now off for this pool (src/db/prepared.ts).
   */
  preparedStatements?: PreparedStatementOptions;
  /**
   * Tracing (src/tracing/statements.ts): sends one statement of a checked-out connection inside
   * `send`, timed as a span; only those `statementCounter` counts. Unset (tracing off): statements
   * are sent as they come.
   */
  traceStatement?: StatementTracer;
}

/** Runs `send`, the sending of the statement `sql`, and returns what it returns. */
export type StatementTracer = <T>(sql: string, send: () => Promise<T>) => Promise<T>;

const CONNECT_TIMEOUT_MS = 2_000;
/**
 * TCP keepalive on every connection: a peer that vanished without closing (a crashed host, a
 * partition) is noticed on idle pooled connections instead of at the next request's statement.
 */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * Counts the statements sent on behalf of whatever runs inside `statementCounter.run(counter, …)`:
 * a request's count for its log line.
 */
export const statementCounter = new AsyncLocalStorage<{ count: number }>();

/** The connection a request's transaction runs on, while it is open (src/db/tenant.ts). */
export interface RequestConnection {
  client: pg.PoolClient;
  open: boolean;
  savepoints: number;
  /** The operation is one mutation field: it needs no savepoint, a failure rolls back it all. */
  soleMutation: boolean;
  /** Set when that mutation failed: the transaction ends with ROLLBACK instead of COMMIT. */
  rollbackOnly: boolean;
  /** An events row was written: the change feed's fan-out is told after COMMIT. */
  wroteChanges: boolean;
}

export const requestConnection = new AsyncLocalStorage<RequestConnection>();

const pools = new WeakMap<PrismaClient, pg.Pool>();

/** The pool behind a client of `createPrismaClient`: request transactions check out from it. */
export function poolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('not a client of createPrismaClient');
  return pool;
}

/**
 * Inside a request, Prisma's statements go to the request's own connection, in the transaction
 * that `withRequest` opened there with plain node-postgres (BEGIN, begin_request, COMMIT). Prisma
 * never sees that transaction: its `$transaction` would cost a millisecond of bookkeeping per
 * request (docs/benchmarks.md). A transaction Prisma starts inside a request (`inSavepoint`,
 * or a write it splits into several statements) becomes a savepoint of the request's.
 */
class RequestRoutingPool extends pg.Pool {
  override query(...args: unknown[]): never {
    const request = requestConnection.getStore();
    const target = request ? openClient(request) : undefined;
    return (target ? target.query(...(args as [string])) : super.query(...(args as [string]))) as never;
  }

  override connect(...args: unknown[]): never {
    const request = requestConnection.getStore();
    if (!request || args.length > 0) return super.connect(...(args as [])) as never;
    return Promise.resolve(savepointClient(request)) as never;
  }
}

function openClient(request: RequestConnection): pg.PoolClient {
  if (!request.open) throw new Error('the request transaction has ended');
  return request.client;
}

/** A pool client for Prisma whose BEGIN, COMMIT and ROLLBACK are a savepoint's. */
function savepointClient(request: RequestConnection): pg.PoolClient {
  const name = `request_sp_${request.savepoints++}`;
  const client = openClient(request);
  const statement: Record<string, string> = {
    BEGIN: `SAVEPOINT ${name}`,
    COMMIT: `RELEASE SAVEPOINT ${name}`,
    ROLLBACK: `ROLLBACK TO SAVEPOINT ${name}`,
  };
  const nested = {
    query(config: unknown, ...rest: unknown[]) {
      const text = typeof config === 'string' ? config : (config as { text?: string }).text;
      const replaced = text === undefined ? undefined : statement[text];
      if (replaced) return client.query(replaced);
      return client.query(config as string, ...(rest as []));
    },
    release() {},
    on() {
      return nested;
    },
    removeListener() {
      return nested;
    },
  };
  return nested as unknown as pg.PoolClient;
}

/**
 * One pool per process. No connection-time settings (a pooler such as PgBouncer refuses them):
 * the tenant and the statement timeout are set per transaction by `withRequest`.
 */
export function createPrismaClient(options: DatabaseOptions): PrismaClient {
  const pool = new RequestRoutingPool({
    connectionString: options.url,
    max: options.poolMax,
    // A database that does not answer fails the request (503) instead of queueing it forever.
    connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
  });
  const prepared = new PreparedStatements(options.preparedStatements);
  pool.on('connect', (client) => queueStatements(client, options, prepared));
  // The pool drops the broken connection and opens a new one on the next request; unhandled,
  // this event would end the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  const adapter = new PrismaPg(pool, {
    disposeExternalPool: true,
    // Prisma's statements inside a request are prepared too: adapter-pg sends them unnamed
    // otherwise, and PostgreSQL parses and plans each one every time (a create-task mutation:
    // ~1 ms of the database's CPU). Outside a request (start-up, tools) they stay unnamed: those
    // go through pg-pool's callback path, which the per-connection cap does not see.
    statementNameGenerator: (query) =>
      prepared.enabled && requestConnection.getStore() ? preparedName(query.sql) : '',
  });
  const prisma = new PrismaClient({ adapter });
  pools.set(prisma, pool);
  return prisma;
}

/**
 * When the statements of a checked-out connection must have been answered (epoch ms): set by the
 * request transaction (src/db/tenant.ts) for as long as it holds the connection.
 */
const deadlines = new WeakMap<pg.PoolClient, { at: number; statementTimeoutMs: number }>();

/**
 * Bounds every statement sent on `client` by `at` on the client side. The server's own
 * statement_timeout cancels slow statements; this catches the server that does not answer at all
 * (stopped, partitioned away, a pooler waiting for it), which no server-side setting can.
 */
export function setDeadline(
  client: pg.PoolClient,
  deadline: { at: number; statementTimeoutMs: number } | undefined,
): void {
  if (deadline === undefined) deadlines.delete(client);
  else deadlines.set(client, deadline);
}

/**
 * A request runs in one transaction, so resolvers that run in parallel share its connection.
 * node-postgres queues overlapping queries itself but deprecates relying on it (an error in pg 9):
 * send them one after another here instead. Each is sent with the time left before the
 * connection's deadline as its read timeout.
 */
function queueStatements(
  client: pg.PoolClient,
  { onStatement, traceStatement }: Pick<DatabaseOptions, 'onStatement' | 'traceStatement'>,
  prepared: PreparedStatements,
): void {
  const send = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  // Named statements go out one at a time too: this is where they are capped (src/db/prepared.ts).
  const statements = prepared.forConnection(client);
  let previous: Promise<unknown> = Promise.resolve();
  (client as { query: unknown }).query = (...args: unknown[]) => {
    if (onStatement) {
      const [first, second] = args;
      const config: pg.QueryConfig =
        typeof first === 'string' ? { text: first, values: second as unknown[] } : (first as pg.QueryConfig);
      const named = Boolean(config.name) && prepared.enabled;
      onStatement(config.text ?? '', Array.isArray(config.values) ? config.values : [], named);
    }
    const counter = statementCounter.getStore();
    if (counter) counter.count++;
    // Callback-style calls (pool internals) are not queued: they return nothing to chain on.
    if (typeof args.at(-1) === 'function') return send(...args);
    const sendInTurn = () =>
      statements.send((...sent: unknown[]) => sendBeforeDeadline(client, send, sent), args);
    // Traced where counted: the statements sent on behalf of a request or a delivery, so that a
    // request's trace holds as many as its log line counts (not the change feed's reads). Timed
    // from its turn, not from its call: a sibling's statement ahead of it is not its time.
    const result = previous.then(
      traceStatement && counter ? () => traceStatement(statementText(args[0]), sendInTurn) : sendInTurn,
    );
    previous = result.catch(() => undefined);
    return result;
  };
}

/** A statement's SQL, whichever way it was passed (`query(text, …)` or `query({ text, … })`). */
function statementText(first: unknown): string {
  if (typeof first === 'string') return first;
  return (first as { text?: string } | null)?.text ?? '';
}

function sendBeforeDeadline(
  client: pg.PoolClient,
  send: (...args: unknown[]) => Promise<unknown>,
  args: unknown[],
): Promise<unknown> {
  const deadline = deadlines.get(client);
  const [first, second] = args;
  // A submittable (a Query object) carries its own options; nothing of ours is sent that way.
  if (deadline === undefined || (typeof first === 'object' && first !== null && 'submit' in first)) {
    return send(...args);
  }
  const remaining = deadline.at - Date.now();
  if (remaining <= 0) return Promise.reject(overTime(client, new RequestTimeLimitError(REQUEST_TIME_LIMIT)));
  const config = typeof first === 'string' ? { text: first, values: second } : (first as object);
  return send({ ...config, query_timeout: remaining }).catch((error: unknown) => {
    if (!(error instanceof Error) || error.message !== 'Query read timeout') throw error;
    // With more time than the statement timeout, PostgreSQL would have cancelled the statement
    // itself and answered: it is not answering. With less, the request ran out of its time.
    throw overTime(
      client,
      remaining > deadline.statementTimeoutMs
        ? new DatabaseStalledError('the database did not answer')
        : new RequestTimeLimitError(REQUEST_TIME_LIMIT),
    );
  });
}

const REQUEST_TIME_LIMIT = "the request's database work ran past twice the statement timeout";

/**
 * The connection is past its deadline: whatever it is waiting for will never be used, and the
 * protocol state is unknown, so its socket is closed (the server rolls back the transaction
 * when it notices) and the pool replaces it.
 */
function overTime<E extends Error>(client: pg.PoolClient, error: E): E {
  closeSocket(client);
  return error;
}

/**
 * Closes a checked-out connection's socket at once, whatever it is waiting for: its statements
 * fail, the pool drops it on release, and PostgreSQL rolls its transaction back when it reads
 * the end of its input. node-postgres has no public call for it (`end()` waits for the server).
 */
export function closeSocket(client: pg.PoolClient): void {
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}
