import { afterAll, beforeAll, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity } from '../../src/db/seed.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// A signed-in user sends documents made to fill memory: every cache keyed by a client's text is
// bounded by bytes, so the server started as `npm run start:prod` starts it (production, a
// 128 MB old generation) stays up and its heap stays bounded. The heap is read inside the server
// process after a full collection (tests/helpers/heap-reporter.mjs).

const JWT = { issuer: 'memory-test', audience: 'prior-auth-api' };
const MB = 1024 * 1024;
let db: TestDatabase;
let server: ServerProcess;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  server = await startServerProcess(
    db.runtimeUrl,
    { NODE_ENV: 'production', JWT_ISSUER: JWT.issuer, JWT_AUDIENCE: JWT.audience },
    ['--max-old-space-size=128', '--expose-gc', '--import', './tests/helpers/heap-reporter.mjs'],
  );
  token = await signToken(TEST_JWT_SECRET, seedIdentity('staff@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
    ...JWT,
  });
}, 60_000);

afterAll(async () => {
  server?.kill();
  await db?.drop();
});

async function post(query: string): Promise<{ status: number; message: string | undefined }> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { errors?: { message: string }[] };
  return { status: res.status, message: body.errors?.[0]?.message };
}

/** `count` createCase mutations by a CLINICIAN, each with 250 KB of extractedData and of metadata. */
async function createLargeCases(count: number): Promise<Record<string, number>> {
  const clinician = await signToken(TEST_JWT_SECRET, seedIdentity('clinician@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
    ...JWT,
  });
  const blob = (i: number) => ({ text: `${i}-${'x'.repeat(250_000)}` });
  const results: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clinician}` },
      body: JSON.stringify({
        query: 'mutation ($input: CreateCaseInput!) { createCase(input: $input) { __typename } }',
        variables: {
          input: {
            memberId: `MBR-BIG-${i}`,
            payer: 'Memory Payer',
            confidence: { overall: 0.5 },
            extractedData: blob(i),
            metadata: blob(i),
          },
        },
      }),
    });
    const body = (await res.json()) as { data?: { createCase?: { __typename: string } } };
    const kind = body.data?.createCase?.__typename ?? `HTTP ${res.status}`;
    results[kind] = (results[kind] ?? 0) + 1;
  }
  return results;
}

/** Sends `count` documents made by `make`, `concurrency` at a time; the statuses seen, counted. */
async function flood(count: number, make: (i: number) => string, concurrency = 4) {
  const statuses: Record<string, number> = {};
  const messages = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const { status, message } = await post(make(next++));
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (message) messages.add(message.replace(/\d+/g, 'N'));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { statuses, messages: [...messages] };
}

test('500 distinct 900 KB documents, then documents at each limit, thousands of distinct valid, invalid and broken ones: the server stays up, its heap bounded', async () => {
  expect((await post('{ me { email } }')).status).toBe(200);
  const baseline = await server.heap();

  const huge = await flood(
    500,
    (i) => `{ cases(filter: {payer: "${i}-${'x'.repeat(900_000)}"}) { totalCount } }`,
  );
  expect(huge.statuses).toEqual({ 400: 500 });
  expect(huge.messages).toEqual(['Document too large: N bytes, the limit is N (MAX_DOCUMENT_BYTES)']);
  const afterHuge = await server.heap();

  // Just under the document limit (a long comment: not a token, so MAX_TOKENS does not see it).
  const padded = await flood(300, (i) => `{ me { email } } # ${i} ${'x'.repeat(60_000)}`);
  expect(padded.statuses).toEqual({ 200: 300 });
  // Just over the string literal limit, and just under it.
  const longLiteral = await flood(
    200,
    (i) => `{ cases(filter: {payer: "${i}-${'x'.repeat(i % 2 ? 9_000 : 8_000)}"}) { totalCount } }`,
  );
  expect(longLiteral.statuses).toEqual({ 200: 100, 400: 100 });
  // Valid documents the application could send, all different (each sent twice): they fill the
  // parse cache and the compiled statements' cache.
  const small = await flood(4_000, (i) => {
    const n = Math.floor(i / 2);
    return `query Q${n} { a${n}: cases(first: ${(n % 50) + 1}) { totalCount edges { node { id payer } } } }`;
  });
  expect(small.statuses).toEqual({ 200: 4_000 });
  // Documents that parse but fail validation, each with as many errors as graphql-js reports
  // (100), and documents that do not parse: neither is kept.
  const invalid = await flood(400, (i) => {
    const fields = Array.from({ length: 120 }, (_, f) => `f${i}_${f}`).join(' ');
    return `{ ${fields} }`;
  });
  expect(invalid.statuses).toEqual({ 400: 400 });
  const broken = await flood(5_000, (i) => `{${i.toString(36)}`, 8);
  expect(broken.statuses).toEqual({ 400: 5_000 });
  // Writes of the largest JSON inputs allowed: nothing of them may stay once they are answered.
  const written = await createLargeCases(100);
  expect(written).toEqual({ CreateCasePayload: 100 });
  const after = await server.heap();

  console.info(
    `memory: heap after a full collection: ${(baseline.heapUsed / MB).toFixed(1)} MB at start, ` +
      `${(afterHuge.heapUsed / MB).toFixed(1)} MB after 500 × 900 KB documents, ` +
      `${(after.heapUsed / MB).toFixed(1)} MB after 300 × 60 KB, 200 long literals, 4,000 small documents, ` +
      `400 invalid ones with 100 errors each, 5,000 that do not parse and 100 cases written with 2 × 250 KB of JSON; ` +
      `RSS ${(after.rss / MB).toFixed(0)} MB`,
  );
  expect(server.child.exitCode).toBeNull();
  expect((await post('{ me { email } }')).status).toBe(200);
  // The caches' bounds add up to about 25 MB of estimated size (src/plugins/document-cache.ts,
  // src/compiled/index.ts, src/auth/jwt.ts); the estimates are generous.
  expect(after.heapUsed - baseline.heapUsed).toBeLessThan(48 * MB);
}, 300_000);
