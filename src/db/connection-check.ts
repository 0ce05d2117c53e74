import pg from 'pg';
import { StartupError } from '../startup-error.js';
import { describeFailure } from './readiness.js';

/**
 * Connects once to DATABASE_URL before anything else uses it, so that a database that cannot be
 * reached or refuses the login stops the start with one line naming where and what to fix,
 * instead of a driver's stack trace from whichever query came first.
 */
export async function checkDatabaseConnection(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A connection that breaks after connecting reports through its query; this only keeps the
  // event from ending the process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new StartupError(connectionFailure(error, url, timeoutMs));
  } finally {
    await client.end().catch(() => {});
  }
}

/** One line for a failed connection: where, why, and the fix. Never the password. */
export function connectionFailure(error: unknown, url: string, timeoutMs: number): string {
  const { host, port, user, database } = connectionTarget(url);
  const at = `the database at ${host}:${port} (DATABASE_URL)`;
  const { code } = error as { code?: unknown };
  switch (code) {
    case 'ECONNREFUSED':
      return `Cannot reach ${at}: connection refused: is PostgreSQL running there, on that port?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Cannot reach ${at}: the host name ${host} does not resolve (${code}): check the host in DATABASE_URL`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `Cannot reach ${at}: no route to the host (${code}): check the host in DATABASE_URL and the network`;
    case '28P01':
      return `${capitalized(at)} refused the password of role "${user}" (SQLSTATE 28P01): fix the password in DATABASE_URL`;
    case '3D000':
      return (
        `${capitalized(at)} has no database "${database}" (SQLSTATE 3D000): create it (createdb ${database}) and ` +
        'run npm run db:deploy, or fix the database name in DATABASE_URL'
      );
    case '28000':
      return `${capitalized(at)} refused the login: ${firstLine(error)} (SQLSTATE 28000): check the role in DATABASE_URL and the server's pg_hba.conf`;
    case '57P03':
      return `${capitalized(at)} is starting up or shutting down (SQLSTATE 57P03): start again once it is up`;
  }
  if (/timeout|ETIMEDOUT/i.test(`${String(code)} ${firstLine(error)}`)) {
    return (
      `${capitalized(at)} did not answer within ${timeoutMs} ms (DB_STATEMENT_TIMEOUT_MS): check the host and ` +
      'port in DATABASE_URL, and that no firewall drops the connection'
    );
  }
  return `Cannot connect to ${at}: ${describeFailure(error, timeoutMs)}: check that DATABASE_URL names a PostgreSQL server and its port`;
}

/** Where DATABASE_URL points, with node-postgres' defaults for what it leaves out. */
function connectionTarget(url: string): { host: string; port: string; user: string; database: string } {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username) || 'postgres';
  return {
    host: parsed.searchParams.get('host') ?? (parsed.hostname || 'localhost'),
    port: parsed.port || '5432',
    user,
    database: decodeURIComponent(parsed.pathname.slice(1)) || user,
  };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().split('\n')[0]?.trim() ?? '';
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
