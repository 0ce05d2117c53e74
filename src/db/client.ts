import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export { PrismaClient };

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  /** Called with the text of every statement sent: tests count statements per request with it. */
  onStatement?: (sql: string) => void;
}

/**
 * One pool per process. No connection-time settings (a pooler such as PgBouncer refuses them):
 * the statement timeout is set per transaction by `withTenant`.
 */
export function createPrismaClient(options: DatabaseOptions): PrismaClient {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolMax });
  const { onStatement } = options;
  if (onStatement) {
    pool.on('connect', (client) => {
      const send = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const [first] = args;
        onStatement(typeof first === 'string' ? first : String((first as { text?: string })?.text ?? ''));
        return send(...args);
      };
    });
  }
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  return new PrismaClient({ adapter });
}
