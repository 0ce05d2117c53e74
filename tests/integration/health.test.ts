import { afterAll, beforeAll, expect, test } from 'vitest';
import { createPrismaClient } from '../../src/db/client.js';
import { assertRoleRespectsRls, type RoleFacts } from '../../src/db/roles.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ seed: false });
});
afterAll(() => app?.close());

test('/healthz answers without the database', async () => {
  const res = await app.fetch('/healthz');
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
});

test('/readyz is 200 when the database answers and every migration is applied, 503 naming what is pending', async () => {
  const ready = await app.fetch('/readyz');
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ status: 'ok' });

  const [last] = await query<{ migration_name: string }>(
    app.db.ownerUrl,
    'DELETE FROM "_prisma_migrations" WHERE migration_name = (SELECT max(migration_name) FROM "_prisma_migrations") RETURNING migration_name',
  );
  const pending = await app.fetch('/readyz');
  expect(pending.status).toBe(503);
  expect(await pending.json()).toEqual({
    status: 'unavailable',
    reason: `pending migrations: ${last?.migration_name}`,
  });
});

test('the server refuses a database role that could bypass row-level security, and accepts the runtime role', async () => {
  const check = (url: string) => {
    const prisma = createPrismaClient({ url, poolMax: 1 });
    return assertRoleRespectsRls((sql) => prisma.$queryRawUnsafe<RoleFacts[]>(sql)).finally(() =>
      prisma.$disconnect(),
    );
  };
  await expect(check(app.db.ownerUrl)).rejects.toThrow(/Refusing to start: .* is a superuser/);
  await expect(check(app.db.runtimeUrl)).resolves.toBeUndefined();
});
