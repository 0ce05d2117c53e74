import { createHash } from 'node:crypto';
import type pg from 'pg';
import { createTextKeyedCache } from '../bounded-cache.js';

/**
 * Named prepared statements a pooled connection keeps, at most. Each costs its backend the parsed
 * statement and its plans: 0.12 MB (Q3), 0.25 MB (Q1), 0.40 MB (Q2) measured with
 * bench/prepared-memory.ts (docs/operations.md, "Prepared statements"). 50 keep a backend within
 * ~20 MB of that, whatever texts clients make up, while a client mix of a few dozen statements
 * still runs prepared.
 */
export const DEFAULT_PREPARED_STATEMENTS_MAX = 50;

/**
 * duplicate_prepared_statement, invalid_sql_statement_name: on a named statement, the connection
 * behind us is not the one that prepared it (a pooler that does not keep them per client).
 */
const UNKEPT_STATEMENT = new Set(['42P05', '26000']);

export function isUnkeptStatement(sqlState: unknown): boolean {
  return UNKEPT_STATEMENT.has(String(sqlState));
}

/** Logged once, when a pooler is found not to keep named statements. */
export const PREPARED_STATEMENTS_UNSUPPORTED =
  'the database pooler does not keep named prepared statements (PgBouncer before 1.21, or max_prepared_statements = 0): they are off for this process from now on; set DB_PREPARED_STATEMENTS=false';

/** The part of node-postgres' Client that knows which statements the server has parsed. */
interface ClientInternals {
  readyForQuery: boolean;
  _queryQueue?: unknown[];
  connection: {
    parsedStatements: Record<string, string>;
    close(message: { type: 'S'; name: string }): void;
  };
}

type Send = (...args: unknown[]) => Promise<unknown>;

export interface PreparedStatementOptions {
  /** Default: DEFAULT_PREPARED_STATEMENTS_MAX. */
  max?: number;
  onUnsupported?: (error: Error) => void;
}

/**
 * A pool's named statements: whether they are on (DB_PREPARED_STATEMENTS, and until a pooler is
 * found not to keep them) and how many each connection keeps (DB_PREPARED_STATEMENTS_MAX).
 */
export class PreparedStatements {
  readonly max: number;
  private on: boolean;
  private readonly onUnsupported: ((error: Error) => void) | undefined;

  constructor(options: PreparedStatementOptions = {}) {
    this.max = options.max ?? DEFAULT_PREPARED_STATEMENTS_MAX;
    this.on = this.max > 0;
    this.onUnsupported = options.onUnsupported;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Named statements off for good: once, on the first error that shows the pooler loses them. */
  failed(error: unknown): void {
    if (!this.on || !isUnkeptStatement((error as { code?: unknown } | null)?.code)) return;
    this.on = false;
    this.onUnsupported?.(error as Error);
  }

  forConnection(client: pg.PoolClient): ConnectionStatements {
    return new ConnectionStatements(this, client as unknown as ClientInternals);
  }
}

/**
 * One connection's named statements, least recently used first. A new name beyond the cap closes
 * the oldest with the protocol's Close message, not SQL `DEALLOCATE`: PgBouncer (1.21+) renames
 * statements on their way to the server, and understands only Close.
 */
export class ConnectionStatements {
  private readonly names = new Set<string>();

  constructor(
    private readonly policy: PreparedStatements,
    private readonly client: ClientInternals,
  ) {}

  /**
   * Sends one queued statement (`args` of `client.query`) through `send`. Called when the previous
   * one has settled, so that a Close goes out right before this statement's Parse, and nothing of
   * another statement's messages lies between them.
   */
  async send(send: Send, args: unknown[]): Promise<unknown> {
    const [first, ...rest] = args;
    const name = typeof first === 'object' && first !== null ? (first as pg.QueryConfig).name : undefined;
    if (!name) return send(...args);
    const config = this.use(name) ? first : { ...(first as pg.QueryConfig), name: undefined };
    try {
      return await send(config, ...rest);
    } catch (error) {
      this.policy.failed(error);
      throw error;
    } finally {
      // A Parse that failed left nothing on the server to close.
      if (this.client.connection.parsedStatements[name] === undefined) this.names.delete(name);
    }
  }

  /** Whether `name` may be sent as a named statement now; closes the oldest to make room for it. */
  private use(name: string): boolean {
    if (!this.policy.enabled) return false;
    if (this.names.delete(name)) {
      this.names.add(name);
      return true;
    }
    if (this.names.size >= this.policy.max) {
      // Only on an idle connection: the Close then goes out right before this statement's Parse,
      // inside its transaction, where a pooler in transaction mode routes both to the same server.
      if (this.client.readyForQuery !== true || (this.client._queryQueue?.length ?? 0) > 0) return false;
      const [oldest] = this.names;
      if (oldest === undefined) return false;
      this.names.delete(oldest);
      // node-postgres ignores the CloseComplete; without its entry it parses the name again if it comes back.
      this.client.connection.close({ type: 'S', name: oldest });
      delete this.client.connection.parsedStatements[oldest];
    }
    this.names.add(name);
    return true;
  }
}

/** Names of recently sent texts, about this many bytes of text in all at most. */
const names = createTextKeyedCache<string>({ maxBytes: 2 * 1024 * 1024 });

/**
 * A prepared statement's name, from its text: node-postgres prepares a name once per connection
 * and then only binds and executes it. PostgreSQL plans it with each execution's values 5 times,
 * then may keep a generic plan: a statement whose plan depends on a value (a partial index's
 * condition) should carry that value as a literal. Hashing a 10 KB text takes ~7 µs, a cache hit
 * well under 1 µs: the recently used names are kept, least recently used dropped first.
 */
export function preparedName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `q${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}
