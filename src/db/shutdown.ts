import pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.js';
import { closeSocket, poolOf } from './client.js';
import { DatabaseClosingError } from './errors.js';

/** A request transaction while it holds its connection (src/db/tenant.ts registers it). */
export interface OpenTransaction {
  client: pg.PoolClient;
  startedAt: number;
  /** Refuses the transaction's further statements (the request connection's `open` flag). */
  close(): void;
}

interface PoolState {
  open: Set<OpenTransaction>;
  closing: boolean;
  /** Resolves when the last open transaction ends, once closing. */
  idle?: () => void;
}

const states = new WeakMap<pg.Pool, PoolState>();

function stateOf(pool: pg.Pool): PoolState {
  let state = states.get(pool);
  if (!state) {
    state = { open: new Set(), closing: false };
    states.set(pool, state);
  }
  return state;
}

/**
 * Registers a transaction for as long as it runs; returns the function that ends its
 * registration. Refused once the database is closing: a request that arrives during the drain
 * gets a 503, not a transaction that could outlive the pool.
 */
export function trackTransaction(pool: pg.Pool, transaction: OpenTransaction): () => void {
  const state = stateOf(pool);
  if (state.closing) throw new DatabaseClosingError('the server is shutting down');
  state.open.add(transaction);
  return () => {
    state.open.delete(transaction);
    if (state.open.size === 0) state.idle?.();
  };
}

/** What `closeDatabase` had to cut short. */
export interface AbandonedTransaction {
  runningMs: number;
}

/**
 * Ends the database side of a shutdown, in an order that cannot hang: new transactions are
 * refused; open ones get `waitMs` to commit or roll back on their own; those still open after
 * that are abandoned (their statement cancelled, their socket closed, so PostgreSQL rolls them
 * back and releases their locks at once); then the pool closes, for at most `waitMs` more.
 * Prisma's `$disconnect` is not used: a request still running would wait forever on its next
 * Prisma call, and with it the pool.
 */
export async function closeDatabase(
  prisma: PrismaClient,
  options: { waitMs: number },
): Promise<AbandonedTransaction[]> {
  const pool = poolOf(prisma);
  const state = stateOf(pool);
  state.closing = true;
  if (state.open.size > 0) {
    const idle = new Promise<void>((resolve) => {
      state.idle = resolve;
    });
    await Promise.race([idle, sleep(options.waitMs)]);
  }
  const now = Date.now();
  const abandoned = [...state.open].map((transaction) => {
    transaction.close();
    abandon(transaction.client);
    return { runningMs: now - transaction.startedAt };
  });
  await Promise.race([pool.end().catch(() => {}), sleep(options.waitMs)]);
  return abandoned;
}

/**
 * Cancels what the connection's backend is running (a lock wait would otherwise hold on until
 * its statement timeout), then closes the socket: a backend idle in its transaction sees the end
 * of its input and rolls back. The cancel request is PostgreSQL's own (the backend's key, on a
 * connection of its own), so it works through PgBouncer too; best effort, bounded.
 */
function abandon(client: pg.PoolClient): void {
  const { processID, secretKey, connectionParameters } = client as unknown as {
    processID: number | null;
    secretKey: number | null;
    connectionParameters: { host: string; port: number };
  };
  if (processID == null || secretKey == null) {
    closeSocket(client);
    return;
  }
  const canceller = new pg.Connection() as unknown as CancelConnection;
  const { host, port } = connectionParameters;
  const finish = () => {
    closeSocket(client);
    canceller.stream.destroy();
  };
  const timer = setTimeout(finish, 1_000);
  canceller.on('connect', () => {
    canceller.cancel(processID, secretKey);
    clearTimeout(timer);
    // The server closes a cancel connection itself; the socket goes once it has read the request.
    setTimeout(finish, 50);
  });
  canceller.on('error', finish);
  canceller.connect(host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : port, host);
}

/** The parts of node-postgres' protocol connection a cancel request uses (untyped in @types/pg). */
interface CancelConnection {
  stream: { destroy(): void };
  connect(port: number | string, host: string): void;
  cancel(processID: number, secretKey: number): void;
  on(event: 'connect' | 'error', listener: () => void): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
