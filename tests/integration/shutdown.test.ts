import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity, stableUuid } from '../../src/db/seed.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// The server as it runs in production, a process of its own: SIGTERM arrives in the middle of a
// stream of mutations. Every mutation that was answered with success must be in the database
// with its audit row, and no task may exist without one.

let db: TestDatabase;
let server: ServerProcess;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  server = await startServerProcess(db.runtimeUrl);
  url = server.url;
}, 60_000);

afterAll(async () => {
  server?.kill();
  await db?.drop();
});

test('SIGTERM mid-stream: every acknowledged mutation is stored with its audit row, none without', async () => {
  const token = await signToken(TEST_JWT_SECRET, seedIdentity('admin@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
  });
  const [row] = await query<{ id: string }>(
    db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1',
    [stableUuid('tenant', 'test-clinic')],
  );
  const caseId = encodeGlobalID('Case', row?.id as string);
  const acknowledged: string[] = [];
  let refused = 0;
  let sent = 0;
  const exited = server.exited.then(({ code }) => code);

  const worker = async () => {
    for (;;) {
      const n = sent++;
      if (n === 60) server.child.kill('SIGTERM');
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            query: `mutation ($input: CreateTaskInput!) { createTask(input: $input) { ... on CreateTaskPayload { task { uuid } } } }`,
            variables: { input: { caseId, title: `shutdown-${n}` } },
          }),
        });
        const body = (await res.json()) as { data?: { createTask?: { task?: { uuid: string } } } };
        const uuid = body.data?.createTask?.task?.uuid;
        if (res.status === 200 && uuid) acknowledged.push(uuid);
      } catch {
        refused++; // the server stopped listening: expected after SIGTERM
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  expect(await exited).toBe(0);

  expect(acknowledged.length).toBeGreaterThanOrEqual(50);
  expect(refused).toBeGreaterThan(0);
  const stored = await query<{ id: string; audits: number; events: number }>(
    db.ownerUrl,
    `SELECT t.id,
            (SELECT count(*) FROM audit_logs a WHERE a.entity_id = t.id AND a.action = 'create')::int AS audits,
            (SELECT count(*) FROM events e WHERE e.entity_id = t.id AND e.event_type = 'task.created')::int AS events
     FROM tasks t WHERE t.title LIKE 'shutdown-%'`,
  );
  const storedIds = new Set(stored.map((r) => r.id));
  expect(acknowledged.filter((id) => !storedIds.has(id))).toEqual([]);
  expect(stored.filter((r) => r.audits !== 1 || r.events !== 1)).toEqual([]);
  console.info(
    `shutdown: ${sent} sent, ${acknowledged.length} acknowledged and stored, ${stored.length} tasks in all`,
  );
}, 60_000);
