import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
}

/** One pool per process. Every statement is bounded by the statement timeout. */
export function createPrismaClient(options: DatabaseOptions): PrismaClient {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'prior-auth-api',
  });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return new PrismaClient({ adapter });
}
