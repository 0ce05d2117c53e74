import type { PrismaClient } from '../generated/prisma/client.js';

/** A Prisma client bound to one transaction in which `app.tenant_id` is set: RLS sees one tenant. */
export type TenantDb = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export interface TenantTransactionOptions {
  /** Upper bound for the whole transaction; the statement timeout bounds each statement. */
  timeoutMs: number;
}

/**
 * Runs `fn` in a transaction whose RLS tenant is `tenantId`. The setting is transaction-local
 * (`set_config(…, true)`), so it ends with the transaction and is safe on a pooled connection,
 * PgBouncer in transaction mode included. Every tenant read and write goes through here.
 */
export function withTenant<T>(
  prisma: PrismaClient,
  tenantId: string,
  fn: (db: TenantDb) => Promise<T>,
  options: TenantTransactionOptions,
): Promise<T> {
  return prisma.$transaction(
    async (db) => {
      await db.$executeRaw`SELECT set_config('app.tenant_id', ${tenantId}, true)`;
      return fn(db);
    },
    { timeout: options.timeoutMs, maxWait: options.timeoutMs },
  );
}
