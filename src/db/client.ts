import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };

export interface DatabaseOptions {
  url: string;
  poolMax: number;
}

/**
 * One pool per process. No connection-time settings (a pooler such as PgBouncer refuses them):
 * the statement timeout is set per transaction by `withTenant`.
 */
export function createPrismaClient(options: DatabaseOptions): PrismaClient {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolMax });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return new PrismaClient({ adapter });
}
