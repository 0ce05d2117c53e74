import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity } from '../../src/db/seed.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createLogger } from '../../src/logger.js';
import type { ChangeFeed } from '../../src/realtime/feed.js';
import { createServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long';
export const TEST_MEMBER_ID_HASH_KEY = 'test-member-id-hash-key-of-32-bytes!!';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  body: {
    data?: T | null;
    errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
  };
}

export interface TestApp {
  db: TestDatabase;
  /** Connected as the schema owner: seeding and checks behind the API's back. */
  owner: PrismaClient;
  /** Connected as the runtime login, like the server. */
  prisma: PrismaClient;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The same server on node:http, not listening: for tests that need a real socket. */
  http: Server;
  /** The server's change feed: `size` is its open subscriptions. */
  changeFeed: ChangeFeed;
  /** POST /graphql as the given seeded user (or with an explicit Authorization header). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    as?: { email?: string; authorization?: string | null },
  ): Promise<GraphQLResponse<T>>;
  token(email: string): Promise<string>;
  /** Every statement the server sent as the runtime role since the last `statements.length = 0`. */
  statements: string[];
  close(): Promise<void>;
}

/** How the app verifies tokens; each field is the JWT_* variable of the same name. */
export interface TestJwtConfig {
  secret?: string;
  publicKey?: string;
  jwksUrl?: string;
  jwksCooldownMs?: number;
  issuer?: string;
  audience?: string;
  tenantClaim?: string;
}

export interface TestAppOptions {
  seed?: boolean;
  jwt?: TestJwtConfig;
  /** More environment variables for the server's config, e.g. `{ MAX_QUERY_DEPTH: '3' }`. */
  env?: Record<string, string>;
  /** Receives the server's JSON log lines, at LOG_LEVEL (default here: `trace`). */
  logStream?: DestinationStream;
  /** Wraps each plugin of the server by name (src/server.ts, `observePlugin`). */
  observePlugin?: (name: string, plugin: object) => object;
  /** A seeded user whose token GraphiQL's headers hold, as `npm start` does for the admin. */
  graphiqlSignedInAs?: string;
}

/**
 * The server over its own seeded database, driven in-process through yoga.fetch (no port).
 * `jwt` defaults to `{ secret: TEST_JWT_SECRET }`; `token()` and `gql()`'s default sign with it.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const jwt = options.jwt ?? { secret: TEST_JWT_SECRET };
  const db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 2 });
  if (options.seed !== false) await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? (options.logStream ? 'trace' : 'silent'),
    DATABASE_URL: db.runtimeUrl,
    MEMBER_ID_HASH_KEY: TEST_MEMBER_ID_HASH_KEY,
    JWT_SECRET: jwt.secret,
    JWT_PUBLIC_KEY: jwt.publicKey,
    JWT_JWKS_URL: jwt.jwksUrl,
    JWT_JWKS_COOLDOWN_MS: jwt.jwksCooldownMs?.toString(),
    JWT_ISSUER: jwt.issuer,
    JWT_AUDIENCE: jwt.audience,
    JWT_TENANT_CLAIM: jwt.tenantClaim,
    ...options.env,
  });
  if (!config.jwt.key) throw new Error('startTestApp: jwt needs a secret, publicKey or jwksUrl');
  const statements: string[] = [];
  const prisma = createPrismaClient({
    url: db.runtimeUrl,
    poolMax: 5,
    onStatement: (sql) => statements.push(sql),
    preparedStatements: { max: config.preparedStatementsMax },
  });
  const verifyToken = await createTokenVerifier({ ...config.jwt, key: config.jwt.key });
  const token = async (email: string) => {
    const identity = seedIdentity(email);
    if (!identity) throw new Error(`not a seeded user: ${email}`);
    if (!jwt.secret) throw new Error("token(): this app has no secret; sign with the test's own key");
    return signToken(jwt.secret, identity, config.jwt);
  };
  const server = createServer({
    config,
    prisma,
    databaseUrl: db.runtimeUrl,
    logger: createLogger(config, options.logStream),
    verifyToken,
    memberIdHashKey: TEST_MEMBER_ID_HASH_KEY,
    observePlugin: options.observePlugin,
    graphiqlToken: options.graphiqlSignedInAs && (await token(options.graphiqlSignedInAs)),
  });
  const { yoga, http } = server;

  const fetch = async (path: string, init?: RequestInit) =>
    yoga.fetch(`http://localhost${path}`, init ?? {}, {});
  return {
    db,
    owner,
    prisma,
    fetch,
    http,
    changeFeed: server.changeFeed,
    token,
    statements,
    async gql(query, variables, as = { email: 'admin@test-clinic.com' }) {
      const authorization =
        as.authorization !== undefined
          ? as.authorization
          : `Bearer ${await token(as.email ?? 'admin@test-clinic.com')}`;
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(authorization === null ? {} : { authorization }),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as GraphQLResponse['body'] } as never;
    },
    async close() {
      await server.close();
      await prisma.$disconnect();
      await owner.$disconnect();
      await db.drop();
    },
  };
}

/**
 * Puts a server's node:http listener on a free port of 127.0.0.1, for tests that need a real
 * socket (SSE, WebSocket, a browser): its origin, `http://127.0.0.1:<port>`.
 */
export async function listenLocally(server: { http: Server }): Promise<string> {
  await new Promise<void>((resolve) => server.http.listen(0, '127.0.0.1', resolve));
  const address = server.http.address();
  if (typeof address !== 'object' || !address) throw new Error('not listening');
  return `http://127.0.0.1:${address.port}`;
}

/** A database of its own, migrated and seeded, for tests that run the server as a process. */
export async function createSeededTestDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  return db;
}
