import pg from 'pg';
import { readMigrations } from './migrate.js';

/** What `/readyz` asks: null when the database answers and is fully migrated, else why not. */
export interface ReadinessCheck {
  check(): Promise<string | null>;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 2_000;

/**
 * A connection of its own for the readiness probe: when requests exhaust the request pool (a lock
 * storm, a slow query), the instance is busy, not broken, and must not leave the load balancer
 * because its probe queued behind them. One connection, answers within 2 s or names why not.
 */
export function createReadinessCheck(url: string, timeoutMs = PROBE_TIMEOUT_MS): ReadinessCheck {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
    keepAlive: true,
  });
  // An idle probe connection that broke is replaced at the next probe, which reports the cause.
  pool.on('error', () => {});
  // The migrations this build ships do not change while it runs: read from disk once, not per probe.
  let shipped: Promise<string[]> | undefined;
  const shippedMigrations = () => {
    shipped ??= readMigrations()
      .then((migrations) => migrations.map((migration) => migration.name))
      .catch((error: unknown) => {
        shipped = undefined;
        throw error;
      });
    return shipped;
  };
  return {
    async check() {
      try {
        const { rows } = await pool.query<{ migration_name: string }>(
          'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        );
        const applied = new Set(rows.map((row) => row.migration_name));
        const pending = (await shippedMigrations()).filter((name) => !applied.has(name));
        return pending.length > 0 ? `pending migrations: ${pending.join(', ')}` : null;
      } catch (error) {
        return `database: ${describeFailure(error, timeoutMs)}`;
      }
    },
    close: () => pool.end(),
  };
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** One line an operator can act on; never empty, never a stack or a connection string. */
export function describeFailure(error: unknown, timeoutMs: number): string {
  const { code, message = '' } = error as { code?: unknown; message?: string };
  const firstLine = String(message).trim().split('\n')[0]?.trim() ?? '';
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `${firstLine} (SQLSTATE ${code})`;
  if (typeof code === 'string' && NETWORK_ERRORS[code]) return `${NETWORK_ERRORS[code]} (${code})`;
  if (/Query read timeout/.test(firstLine)) return `no answer within ${timeoutMs} ms`;
  if (/timeout exceeded when trying to connect|due to connection timeout/.test(firstLine))
    return `could not connect within ${timeoutMs} ms`;
  if (/Connection terminated/.test(firstLine)) return 'the server closed the connection';
  return firstLine || (error instanceof Error ? error.name : 'unknown failure');
}
