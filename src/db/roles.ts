import pg from 'pg';
import { StartupError } from '../startup-error.js';

/** The NOLOGIN role the migrations grant the runtime privileges to. */
export const APP_ROLE = 'prior_auth_app';

/**
 * Creates (or updates the password of) a LOGIN role that is a member of `prior_auth_app`: the
 * role the server connects as. Needs a role with CREATEROLE. Roles are cluster-wide, so a
 * concurrent creator is tolerated.
 */
export async function ensureRuntimeLogin(ownerUrl: string, login: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const ident = client.escapeIdentifier(login);
    const secret = client.escapeLiteral(password);
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login]);
    try {
      await client.query(
        rowCount
          ? `ALTER ROLE ${ident} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD ${secret}`
          : `CREATE ROLE ${ident} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD ${secret}`,
      );
    } catch (error) {
      if ((error as { code?: string }).code !== '42710') throw error; // duplicate_object: created meanwhile
    }
    await client.query(`GRANT ${APP_ROLE} TO ${ident}`);
  } finally {
    await client.end();
  }
}

/** `url` with another user and password: the runtime login's URL on the owner's server. */
export function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/**
 * Refuses a runtime connection that row-level security would not hold: a superuser, a role with
 * BYPASSRLS, or one that owns (or is a member of the owner of) the tables.
 */
export async function assertRoleRespectsRls(query: (sql: string) => Promise<RoleFacts[]>): Promise<void> {
  const [facts] = await query(`
    SELECT current_user AS "role", r.rolsuper AS "superuser", r.rolbypassrls AS "bypassRls",
      (SELECT string_agg(t.tablename, ', ') FROM pg_tables t
        WHERE t.schemaname = current_schema() AND t.tablename IN ('cases', 'tasks', 'users')
          AND pg_has_role(current_user, t.tableowner, 'USAGE')) AS "ownedTables"
    FROM pg_roles r WHERE r.rolname = current_user`);
  if (!facts) throw new StartupError('Cannot read the database role of DATABASE_URL');
  const problem = facts.superuser
    ? 'is a superuser'
    : facts.bypassRls
      ? 'has BYPASSRLS'
      : facts.ownedTables
        ? `owns the tables (${facts.ownedTables})`
        : undefined;
  if (problem) {
    throw new StartupError(
      `Refusing to start: DATABASE_URL's role "${facts.role}" ${problem}, so row-level security would not ` +
        `isolate tenants. Connect as a login role that is only a member of ${APP_ROLE} (see README, "Database roles").`,
    );
  }
}

export interface RoleFacts {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  ownedTables: string | null;
}
