import { createTokenVerifier } from '../src/auth/jwt.js';
import { loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import {
  BENCH_JWT,
  BENCH_MEMBER_ID_HASH_KEY,
  type RequestContext,
  requestsFor,
  type Shape,
  sendable,
} from './shapes.js';

/** One statement as the server sent it. */
export interface SentStatement {
  text: string;
  values: unknown[];
  /** Sent as a named prepared statement (planned once per connection, then possibly generically). */
  prepared: boolean;
}

/**
 * The server's own code (src/server.ts), in this process, over `prisma`: for the counting and
 * capturing passes, which need to see the statements. The measured server is `node dist/index.js`.
 */
async function inProcessServer(runtimeUrl: string, prisma: PrismaClient) {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    DATABASE_URL: runtimeUrl,
    MEMBER_ID_HASH_KEY: BENCH_MEMBER_ID_HASH_KEY,
    JWT_SECRET: BENCH_JWT.secret,
    JWT_ISSUER: BENCH_JWT.issuer,
    JWT_AUDIENCE: BENCH_JWT.audience,
  });
  if (!config.jwt.key) throw new Error('unreachable: JWT_SECRET is set');
  const verifyToken = await createTokenVerifier({ ...config.jwt, key: config.jwt.key });
  const { yoga } = createServer({
    config,
    prisma,
    databaseUrl: runtimeUrl,
    logger: createLogger(config),
    verifyToken,
    memberIdHashKey: BENCH_MEMBER_ID_HASH_KEY,
  });
  return async (shape: Shape, ctx: RequestContext) => {
    const [built] = requestsFor(shape, [ctx]);
    if (!built) throw new Error('no request');
    const request = sendable(built);
    const response = await yoga.fetch(`http://localhost${request.path}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
    });
    const text = await response.text();
    request.onResponse?.(response.status, text);
    const body = JSON.parse(text) as { errors?: unknown[] };
    if (response.status !== 200 || body.errors) {
      throw new Error(`${shape}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
    }
    return body;
  };
}

export interface StatementCount {
  requests: number;
  perRequest: number;
  /** Distinct statements (first words), with how many times each ran per request. */
  statements: { perRequest: number; text: string }[];
}

/**
 * Statements per request, counted with the `onStatement` hook of src/db/client.ts (the same
 * client the server builds), over `n` sequential requests rotating over the contexts.
 */
export async function countStatements(
  runtimeUrl: string,
  shapes: readonly Shape[],
  contexts: RequestContext[],
  n = 20,
): Promise<Record<string, StatementCount>> {
  const sent: string[] = [];
  const prisma = createPrismaClient({ url: runtimeUrl, poolMax: 2, onStatement: (sql) => sent.push(sql) });
  try {
    const send = await inProcessServer(runtimeUrl, prisma);
    const result: Record<string, StatementCount> = {};
    for (const shape of shapes) {
      await send(shape, contexts[0] as RequestContext); // connections opened, caches warm
      sent.length = 0;
      for (let i = 0; i < n; i++) await send(shape, contexts[i % contexts.length] as RequestContext);
      const byText = new Map<string, number>();
      for (const sql of sent) {
        const text = summarizeSql(sql);
        byText.set(text, (byText.get(text) ?? 0) + 1);
      }
      result[shape] = {
        requests: n,
        perRequest: sent.length / n,
        statements: [...byText].map(([text, count]) => ({ perRequest: count / n, text })),
      };
    }
    return result;
  } finally {
    await prisma.$disconnect();
  }
}

/** The statement's start, whitespace collapsed: enough to tell BEGIN, set_config and each query apart. */
export function summarizeSql(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 90 ? `${flat.slice(0, 90)}…` : flat;
}

/** The statements of one request of each shape, with their parameters (for EXPLAIN). */
export async function captureStatements(
  runtimeUrl: string,
  shapes: readonly Shape[],
  ctx: RequestContext,
): Promise<Record<string, SentStatement[]>> {
  let sent: SentStatement[] = [];
  const prisma = createPrismaClient({
    url: runtimeUrl,
    poolMax: 1,
    onStatement: (text, values, prepared) => sent.push({ text, values, prepared }),
  });
  try {
    const send = await inProcessServer(runtimeUrl, prisma);
    const result: Record<string, SentStatement[]> = {};
    for (const shape of shapes) {
      await send(shape, ctx);
      sent = [];
      await send(shape, ctx);
      result[shape] = [...sent];
    }
    return result;
  } finally {
    await prisma.$disconnect();
  }
}
