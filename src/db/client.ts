import { AsyncLocalStorage } from 'node:async_hooks';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  /** An idle connection that broke (the server restarted, a backend was terminated). */
  onIdleError?: (error: Error) => void;
  /** Called with the text of every statement sent: tests count statements per request with it. */
  onStatement?: (sql: string) => void;
}

const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Counts the statements sent on behalf of whatever runs inside `statementCounter.run(counter, …)`:
 * a request's count for its log line.
 */
export const statementCounter = new AsyncLocalStorage<{ count: number }>();

/**
 * One pool per process. No connection-time settings (a pooler such as PgBouncer refuses them):
 * the statement timeout is set per transaction by `withTenant`.
 */
export function createPrismaClient(options: DatabaseOptions): PrismaClient {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    // A database that does not answer fails the request fast (503) instead of queueing it forever.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  pool.on('connect', (client) => queueStatements(client, options.onStatement));
  // The pool drops the broken connection and opens a new one on the next request; unhandled,
  // this event would end the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return new PrismaClient({ adapter });
}

/**
 * A request runs in one transaction, so resolvers that run in parallel share its connection.
 * node-postgres queues overlapping queries itself but deprecates relying on it (an error in pg 9):
 * send them one after another here instead.
 */
function queueStatements(client: pg.PoolClient, onStatement?: (sql: string) => void): void {
  const send = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let previous: Promise<unknown> = Promise.resolve();
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [first] = args;
    onStatement?.(typeof first === 'string' ? first : String((first as { text?: string })?.text ?? ''));
    const counter = statementCounter.getStore();
    if (counter) counter.count++;
    // Callback-style calls (pool internals) are not queued: they return nothing to chain on.
    if (typeof args.at(-1) === 'function') return send(...args);
    const result = previous.then(() => send(...args));
    previous = result.catch(() => undefined);
    return result;
  };
}
