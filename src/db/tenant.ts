import type { PrismaClient } from '../generated/prisma/client.js';

/** A Prisma client bound to one transaction in which `app.tenant_id` is set: RLS sees one tenant. */
export type TenantDb = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export interface TenantTransactionOptions {
  /** Upper bound for each statement of the transaction. */
  statementTimeoutMs: number;
  /** Upper bound for the whole transaction, and for waiting for a pooled connection. */
  timeoutMs: number;
}

/**
 * Runs `fn` in a transaction whose RLS tenant is `tenantId`. Both settings are transaction-local
 * (`set_config(…, true)`) and set in one statement, so they end with the transaction and are safe
 * on a pooled connection, PgBouncer in transaction mode included (which refuses connection-time
 * settings such as a statement_timeout startup parameter). Every tenant read and write goes
 * through here.
 */
export function withTenant<T>(
  prisma: PrismaClient,
  tenantId: string,
  fn: (db: TenantDb) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  return prisma.$transaction(
    async (db) => {
      await db.$executeRaw`SELECT set_config('app.tenant_id', ${tenantId}, true),
        set_config('statement_timeout', ${String(options.statementTimeoutMs)}, true)`;
      return fn(db);
    },
    { timeout: options.timeoutMs, maxWait: options.timeoutMs },
  );
}

/** The authenticated user as `begin_request` finds them; the role is the row's, never a claim. */
export interface RequestUser {
  id: string;
  tenantId: string;
  role: string;
}

/**
 * `withTenant` for a GraphQL request: the settings and the lookup of the token's user happen in
 * one statement (the `begin_request` function, migration 20261122000500), so a request costs
 * BEGIN, this, its own statements, COMMIT. `user` is null when the subject is not a user of the
 * claimed tenant.
 */
export function withRequest<T>(
  prisma: PrismaClient,
  identity: { tenantId: string; authId: string },
  fn: (db: TenantDb, user: RequestUser | null) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  return prisma.$transaction(
    async (db) => {
      const [user] = await db.$queryRaw<{ id: string; tenant_id: string; role: string }[]>`
        SELECT * FROM begin_request(${identity.tenantId}::uuid, ${identity.authId}, ${options.statementTimeoutMs}::integer)`;
      return fn(db, user ? { id: user.id, tenantId: user.tenant_id, role: user.role } : null);
    },
    { timeout: options.timeoutMs, maxWait: options.timeoutMs },
  );
}
