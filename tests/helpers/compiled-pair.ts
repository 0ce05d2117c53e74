import { readFileSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect } from 'vitest';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { compiledStats } from '../../src/compiled/index.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity, stableUuid } from '../../src/db/seed.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createLogger } from '../../src/logger.js';
import { createServer } from '../../src/server.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from './app.js';
import { createTestDatabase, query, type TestDatabase } from './db.js';

// The compiled path (src/compiled) against the resolvers, on the same database: two servers, one
// compiled and one with COMPILED_QUERIES=false, over the seed plus rows the seed does not make.
// tests/integration/compiled-*.test.ts compare their response bodies byte for byte (same keys,
// same order) and check which requests took the compiled path.

export const A = stableUuid('tenant', 'test-clinic');
export const B = stableUuid('tenant', 'second-clinic');
export const ROLES = ['admin@test-clinic.com', 'clinician@test-clinic.com', 'staff@test-clinic.com'];

export interface App {
  post(query: string, variables: Record<string, unknown> | undefined, email: string): Promise<string>;
  statements: string[];
  /** Every statement with its values. */
  sent: { text: string; values: unknown[] }[];
  prisma: PrismaClient;
}

/** The two servers and the ids of the rows the tests name; filled in before the file's tests run. */
export interface CompiledPair {
  db: TestDatabase;
  compiled: App;
  resolvers: App;
  /** Test Clinic's cases, newest first (global ids). */
  caseIds: string[];
  /** A case of Second Clinic. */
  caseB: string;
  taskId: string;
  rulesetId: string;
  /** Test Clinic's STAFF user. */
  userId: string;
  /** Runs `text` on both apps as `email`: the bodies must be identical. */
  same(
    text: string,
    variables: Record<string, unknown> | undefined,
    email: string,
  ): Promise<{ compiled: boolean; fellBack: boolean; body: ReturnType<typeof JSON.parse> }>;
}

export const file = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

async function app(db: TestDatabase, compiledQueries: boolean): Promise<App> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.runtimeUrl,
    MEMBER_ID_HASH_KEY: TEST_MEMBER_ID_HASH_KEY,
    JWT_SECRET: TEST_JWT_SECRET,
    COMPILED_QUERIES: String(compiledQueries),
  });
  if (!config.jwt.key) throw new Error('no key');
  const statements: string[] = [];
  const sent: App['sent'] = [];
  const prisma = createPrismaClient({
    url: db.runtimeUrl,
    poolMax: 3,
    onStatement: (text, values) => {
      statements.push(text);
      if (sent.length < 1000) sent.push({ text, values });
    },
  });
  const { yoga } = createServer({
    config,
    prisma,
    databaseUrl: db.runtimeUrl,
    logger: createLogger(config),
    verifyToken: await createTokenVerifier({ ...config.jwt, key: config.jwt.key }),
    memberIdHashKey: TEST_MEMBER_ID_HASH_KEY,
  });
  const tokens = new Map<string, string>();
  return {
    statements,
    sent,
    prisma,
    async post(text, variables, email) {
      let token = tokens.get(email);
      if (!token) {
        const identity = seedIdentity(email);
        if (!identity) throw new Error(email);
        token = await signToken(TEST_JWT_SECRET, identity, config.jwt);
        tokens.set(email, token);
      }
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: text, variables }),
      });
      // Masked errors carry the request's id: the one thing that differs between two requests.
      // The compiled path writes PostgreSQL's JSON text as it is (`"key" : value`): compared without
      // whitespace, key order included.
      const body = JSON.stringify(JSON.parse(await response.text())).replace(
        /"requestId":"[^"]*"/g,
        '"requestId":"…"',
      );
      return `${response.status} ${body}`;
    },
  };
}

/** The database of this test file, seeded, and its two servers, for the file's tests. */
export function useCompiledPair(): CompiledPair {
  const pair = {} as CompiledPair;
  let owner: PrismaClient | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase();
    pair.db = db;
    owner = createPrismaClient({ url: db.ownerUrl, poolMax: 2 });
    await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
    // Rows the seed does not make: NULL diagnosis codes, odd JSON, a code with % and _, a ruleset
    // matched without case, a task due exactly like another (ties), events of a case.
    await query(
      db.ownerUrl,
      `UPDATE cases SET diagnosis_codes = NULL, confidence_json = '{"overall": "high"}', metadata_json = 'null'
       WHERE id = (SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1)`,
      [A],
    );
    await query(
      db.ownerUrl,
      `UPDATE cases SET confidence_json = '[1, 2]', metadata_json = '{"b": 1, "a": [1.50, "x\\u00e9"], "c": null}'
       WHERE id = (SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id OFFSET 1 LIMIT 1)`,
      [A],
    );
    await query(
      db.ownerUrl,
      `UPDATE rulesets SET rules_json = '{"requirements": ["a", 1, null, "b"], "typicalTurnaround": "3 days", "notes": 5}'
       WHERE id = (SELECT id FROM rulesets WHERE tenant_id = $1 ORDER BY id LIMIT 1)`,
      [A],
    );
    await query(
      db.ownerUrl,
      `UPDATE case_codes SET code = 'X_1%\\' WHERE id = (SELECT id FROM case_codes WHERE tenant_id = $1 ORDER BY id OFFSET 5 LIMIT 1)`,
      [A],
    );
    const ids = await query<{ id: string }>(
      db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC',
      [A],
    );
    pair.caseIds = ids.map((r) => encodeGlobalID('Case', r.id));
    const [b] = await query<{ id: string }>(
      db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1',
      [B],
    );
    pair.caseB = encodeGlobalID('Case', b?.id as string);
    const [t] = await query<{ id: string }>(
      db.ownerUrl,
      'SELECT id FROM tasks WHERE tenant_id = $1 LIMIT 1',
      [A],
    );
    pair.taskId = encodeGlobalID('Task', t?.id as string);
    const [r] = await query<{ id: string }>(
      db.ownerUrl,
      'SELECT id FROM rulesets WHERE tenant_id = $1 LIMIT 1',
      [A],
    );
    pair.rulesetId = encodeGlobalID('Ruleset', r?.id as string);
    pair.userId = encodeGlobalID('User', stableUuid('test-clinic', 'user', 'staff'));
    pair.compiled = await app(db, true);
    pair.resolvers = await app(db, false);
  });
  afterAll(async () => {
    await pair.compiled?.prisma.$disconnect();
    await pair.resolvers?.prisma.$disconnect();
    await owner?.$disconnect();
    await pair.db?.drop();
  });
  pair.same = async (text, variables, email) => {
    const before = compiledStats.executed;
    const fallbacksBefore = compiledStats.fallbacks;
    const fast = await pair.compiled.post(text, variables, email);
    const took = compiledStats.executed - before;
    const fellBack = compiledStats.fallbacks - fallbacksBefore;
    const slow = await pair.resolvers.post(text, variables, email);
    expect(fast, `${email}: ${text} ${JSON.stringify(variables)}`).toBe(slow);
    return { compiled: took === 1, fellBack: fellBack === 1, body: JSON.parse(fast.slice(4)) };
  };
  return pair;
}
