import type { AddressInfo } from 'node:net';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedIdentity } from '../../src/db/seed.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createLogger } from '../../src/logger.js';
import { createServer } from '../../src/server.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from './app.js';

/** The server in this process, listening on a free port as in production. */
export interface ListeningServer {
  url: string;
  /** The server's log lines (JSON, at LOG_LEVEL, `info` unless the env says otherwise). */
  lines: Record<string, unknown>[];
  prisma: PrismaClient;
  token(email: string): Promise<string>;
  /** POST /graphql; the status, the first error's code, Retry-After and how long it took. */
  post(
    query: string,
    variables?: Record<string, unknown>,
    email?: string,
  ): Promise<{
    status: number;
    code: string | undefined;
    retryAfter: string | null;
    ms: number;
    body: string;
  }>;
  close(): Promise<void>;
}

export async function listen(
  databaseUrl: string,
  env: Record<string, string> = {},
  poolMax = 4,
): Promise<ListeningServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: databaseUrl,
    MEMBER_ID_HASH_KEY: TEST_MEMBER_ID_HASH_KEY,
    ...env,
  });
  if (!config.jwt.key) throw new Error('JWT_SECRET is set above');
  const lines: Record<string, unknown>[] = [];
  const prisma = createPrismaClient({
    url: databaseUrl,
    poolMax,
    connectTimeoutMs: config.statementTimeoutMs,
  });
  const server = createServer({
    config,
    prisma,
    databaseUrl,
    logger: createLogger(config, { write: (line: string) => void lines.push(JSON.parse(line)) }),
    verifyToken: await createTokenVerifier({ ...config.jwt, key: config.jwt.key }),
    memberIdHashKey: TEST_MEMBER_ID_HASH_KEY,
  });
  await new Promise<void>((resolve) => server.http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.http.address() as AddressInfo).port}`;
  const tokens = new Map<string, string>();
  const token = async (email: string) => {
    let signed = tokens.get(email);
    if (!signed) {
      signed = await signToken(TEST_JWT_SECRET, seedIdentity(email) as never, config.jwt);
      tokens.set(email, signed);
    }
    return signed;
  };
  return {
    url,
    lines,
    prisma,
    token,
    async post(query, variables, email = 'admin@test-clinic.com') {
      const started = Date.now();
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(email)}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = await res.text();
      let code: string | undefined;
      try {
        code = (JSON.parse(body) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions
          ?.code;
      } catch {
        code = 'NOT_JSON';
      }
      return {
        status: res.status,
        code,
        retryAfter: res.headers.get('retry-after'),
        ms: Date.now() - started,
        body,
      };
    },
    async close() {
      server.http.closeAllConnections();
      await new Promise((resolve) => server.http.close(resolve));
      await server.close();
      await prisma.$disconnect().catch(() => {});
    },
  };
}
