import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Actor } from '../../src/context.js';
import { stableUuid } from '../../src/db/seed.js';
import { type TenantDb, withTenant } from '../../src/db/tenant.js';
import { diff } from '../../src/domain/changes.js';
import {
  addCaseCode,
  caseCodeTable,
  caseTable,
  createCase,
  deleteCase,
  removeCaseCode,
  transitionCaseStatus,
  updateCase,
} from '../../src/services/cases.js';
import { createIngestion, ingestionTable, transitionIngestionStatus } from '../../src/services/ingestions.js';
import type { AuditedTable } from '../../src/services/mutation.js';
import { createRuleset, rulesetTable, setRulesetActive, updateRuleset } from '../../src/services/rulesets.js';
import {
  assignTask,
  createTask,
  deleteTask,
  taskTable,
  transitionTaskStatus,
  updateTask,
} from '../../src/services/tasks.js';
import { startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// The audited writes (src/services/audited-statements.ts) write their SQL by hand, from the
// datamodel: the differential check against Prisma, the interpreted path. Every row a write
// returns is the row Prisma reads back, field for field and type for type (Date, parsed JSON,
// arrays, nulls); every audit row holds what the tables' snapshots of Prisma's rows before and
// after say changed; every event row is there with it.

const TENANT = stableUuid('tenant', 'test-clinic');
const actor: Actor = {
  userId: stableUuid('test-clinic', 'user', 'admin'),
  tenantId: TENANT,
  role: 'admin',
  ipAddress: '203.0.113.9',
  userAgent: 'differential',
};

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const inTenant = <T>(fn: (db: TenantDb) => Promise<T>) =>
  withTenant(app.prisma, TENANT, fn, { statementTimeoutMs: 5_000 });

type Delegate = { findUnique(args: { where: { id: string } }): Promise<unknown> };
const delegates: Record<string, (db: TenantDb) => Delegate> = {
  Task: (db) => db.task as unknown as Delegate,
  Case: (db) => db.case as unknown as Delegate,
  CaseCode: (db) => db.caseCode as unknown as Delegate,
  Ruleset: (db) => db.ruleset as unknown as Delegate,
  Ingestion: (db) => db.ingestion as unknown as Delegate,
};

/**
 * Runs `write` in a tenant transaction and checks it against Prisma: the row it returns (none for
 * a delete) is Prisma's read of it, and its audit and event rows are the last of the entity.
 */
async function check<Row extends { id: string }>(
  table: AuditedTable<Row>,
  id: string | null,
  write: () => Promise<Row | string>,
): Promise<Row | null> {
  return inTenant(async (db) => {
    const rows = delegates[table.model] as (db: TenantDb) => Delegate;
    const before = id ? ((await rows(db).findUnique({ where: { id } })) as Row) : null;
    const result = await write();
    const written = typeof result === 'string' ? null : result;
    const entityId = written?.id ?? (id as string);
    const after = (await rows(db).findUnique({ where: { id: entityId } })) as Row | null;
    // A delete returns the row as it was (or its id), and leaves none.
    expect(written).toEqual(after ?? (written && before));
    const [audit] = await db.auditLog.findMany({
      where: { entityId },
      orderBy: { createdAt: 'desc' },
      take: 1,
    });
    const snapshot = (row: Row | null) => (row ? table.snapshot(row) : null);
    const expected = diff(snapshot(before), snapshot(after));
    // A case's creation also lists its codes; compared below where it is made.
    if (before) expect(audit?.changes).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(audit).toMatchObject({
      tenantId: TENANT,
      userId: actor.userId,
      entityType: table.entityType,
      ipAddress: actor.ipAddress,
      userAgent: actor.userAgent,
    });
    const events = await db.event.count({ where: { entityId, entityType: table.entityType } });
    expect(events).toBeGreaterThan(0);
    return written;
  });
}

describe('every audited write returns the row Prisma reads, and audits what changed', () => {
  test('cases: create with codes, update, transition, add and remove a code, delete', async () => {
    const created = (await check(caseTable, null, () =>
      createCase(actor, TEST_MEMBER_ID_HASH_KEY, {
        memberId: 'M-DIFF',
        payer: 'Aetna',
        priority: 'urgent',
        diagnosisCodes: ['M54.5', 'G89.29'],
        codes: [
          { codeType: 'CPT', code: '72148', description: 'MRI lumbar', confidence: 0.875 },
          { codeType: 'HCPCS', code: 'E0601' },
        ],
        confidence: { overall: 0.91, fields: { payer: 0.5 } },
        extractedData: { nested: { list: [1, 'two', null], flag: true } },
        metadata: { b: 1, a: [2] },
      }),
    )) as { id: string };
    // Awaited inside: a Prisma query runs when awaited, and only inside is the transaction its own.
    const codes = await inTenant(
      async (db) => await db.caseCode.findMany({ where: { caseId: created.id }, orderBy: { code: 'asc' } }),
    );
    expect(codes.map((c) => [c.codeType, c.code, c.description, c.confidence])).toEqual([
      ['CPT', '72148', 'MRI lumbar', 0.875],
      ['HCPCS', 'E0601', null, null],
    ]);
    await check(caseTable, created.id, () =>
      updateCase(actor, { id: created.id, payer: 'Cigna', diagnosisCodes: [], metadata: null }),
    );
    await check(caseTable, created.id, () =>
      updateCase(actor, { id: created.id, metadata: { b: 1, a: [2] } }),
    );
    // The same JSON again, in the client's key order: no change, as jsonb compares it.
    await check(caseTable, created.id, () =>
      updateCase(actor, { id: created.id, metadata: { b: 1, a: [2] } }),
    );
    await check(caseTable, created.id, () =>
      transitionCaseStatus(actor, { id: created.id, status: 'approved' }),
    );
    const code = (await check(caseCodeTable, null, () =>
      addCaseCode(actor, { caseId: created.id, code: { codeType: 'CPT', code: '99213', confidence: 1 } }),
    )) as { id: string };
    await check(caseCodeTable, code.id, () => removeCaseCode(actor, { id: code.id }));
    await check(caseTable, created.id, () => deleteCase(actor, { id: created.id }));
  });

  test('tasks: create, update, assign, transition in and out of COMPLETED, delete', async () => {
    const [someCase] = await inTenant(
      async (db) => await db.case.findMany({ take: 1, orderBy: { id: 'asc' } }),
    );
    const task = (await check(taskTable, null, () =>
      createTask(actor, {
        caseId: someCase?.id as string,
        title: 'Differential',
        description: 'both paths',
        priority: 'high',
        dueDate: new Date('2027-01-02T03:04:05.678Z'),
        assigneeId: stableUuid('test-clinic', 'user', 'staff'),
      }),
    )) as { id: string };
    await check(taskTable, task.id, () =>
      updateTask(actor, { id: task.id, title: 'Renamed', description: null, dueDate: null }),
    );
    await check(taskTable, task.id, () => assignTask(actor, { id: task.id, assigneeId: null }));
    await check(taskTable, task.id, () => transitionTaskStatus(actor, { id: task.id, status: 'completed' }));
    await check(taskTable, task.id, () =>
      transitionTaskStatus(actor, { id: task.id, status: 'in_progress' }),
    );
    await check(taskTable, task.id, () => deleteTask(actor, { id: task.id }));
  });

  test('rulesets: create, update, deactivate', async () => {
    const ruleset = (await check(rulesetTable, null, () =>
      createRuleset(actor, {
        payer: 'Differential Health',
        procedure: '72148',
        rules: { requirements: ['a', 'b'], documentation: [], typicalTurnaround: '2 days', notes: null },
        isActive: true,
      }),
    )) as { id: string };
    await check(rulesetTable, ruleset.id, () =>
      updateRuleset(actor, {
        id: ruleset.id,
        rules: { requirements: [], documentation: ['x'], typicalTurnaround: '', notes: 'n' },
      }),
    );
    await check(rulesetTable, ruleset.id, () => setRulesetActive(actor, { id: ruleset.id, isActive: false }));
  });

  test('ingestions: create, transition into and out of FAILED', async () => {
    const ingestion = (await check(ingestionTable, null, () =>
      createIngestion(actor, {
        sourceType: 'pdf',
        sourceMetadata: { filename: 'fax.pdf', pages: 3, nested: { list: [1, 'two', null] } },
        storagePath: null,
      }),
    )) as { id: string };
    await check(ingestionTable, ingestion.id, () =>
      transitionIngestionStatus(actor, { id: ingestion.id, status: 'processing' }),
    );
    await check(ingestionTable, ingestion.id, () =>
      transitionIngestionStatus(actor, { id: ingestion.id, status: 'failed', errorMessage: 'unreadable' }),
    );
    await check(ingestionTable, ingestion.id, () =>
      transitionIngestionStatus(actor, { id: ingestion.id, status: 'pending' }),
    );
  });
});

describe('concurrent writers of one row take turns', () => {
  // assignTask has no ConflictError in its result union: concurrent assignments must not need one.
  test('ten concurrent assignments of one task all succeed, each with its audit and event rows', async () => {
    const [someCase] = await inTenant(
      async (db) => await db.case.findMany({ take: 1, orderBy: { id: 'asc' } }),
    );
    const task = await inTenant(() =>
      createTask(actor, { caseId: someCase?.id as string, title: 'Contended', priority: 'normal' }),
    );
    const users = ['staff', 'jordan', 'clinician', 'admin'].map((name) =>
      encodeGlobalID('User', stableUuid('test-clinic', 'user', name)),
    );
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        app.gql<{ assignTask: { __typename: string } }>(
          'mutation ($i: AssignTaskInput!) { assignTask(input: $i) { __typename } }',
          { i: { id: encodeGlobalID('Task', task.id), assigneeId: users[i % users.length] } },
          { email: 'admin@test-clinic.com' },
        ),
      ),
    );
    expect(results.map((r) => r.body)).toEqual(
      Array.from({ length: 10 }, () => ({ data: { assignTask: { __typename: 'AssignTaskPayload' } } })),
    );
    // Each one wrote its audit and event rows, none was refused as stale.
    const [audits, events] = await inTenant(async (db) => [
      await db.auditLog.count({ where: { entityId: task.id, action: 'update' } }),
      await db.event.count({ where: { entityId: task.id, eventType: 'task.assigned' } }),
    ]);
    expect([audits, events]).toEqual([10, 10]);
    // And each started from what the one before it left: the changes (before → after, the ones
    // that changed something) form one path from the unassigned task to its final assignee. Two
    // writers that read the same state would leave that state with two ways out and one way in.
    const trail = await inTenant(
      async (db) => await db.auditLog.findMany({ where: { entityId: task.id, action: 'update' } }),
    );
    const final = await inTenant(async (db) => await db.task.findUnique({ where: { id: task.id } }));
    const balance = new Map<string, number>();
    const bump = (state: unknown, by: number) =>
      balance.set(String(state ?? 'none'), (balance.get(String(state ?? 'none')) ?? 0) + by);
    for (const { changes } of trail) {
      const { before, after } = changes as {
        before: { assigneeId?: string };
        after: { assigneeId?: string };
      };
      if (!('assigneeId' in after)) continue;
      bump(before.assigneeId, 1);
      bump(after.assigneeId, -1);
    }
    bump(null, -1);
    bump(final?.assignedTo, 1);
    expect([...balance.values()].filter((n) => n !== 0)).toEqual([]);
  });
});

describe('two operations writing two rows in opposite orders', () => {
  // Each is two mutations; run at once they wait for each other's row lock, and PostgreSQL ends one
  // of them (deadlock_detected). That one answers TRANSACTION_CONFLICT and keeps nothing, its first
  // mutation included; the other keeps both.
  test('the one the database ends keeps nothing, the other keeps both', async () => {
    const rows = await inTenant(async (db) => await db.task.findMany({ take: 2, orderBy: { id: 'asc' } }));
    const [x, y] = rows.map((row) => encodeGlobalID('Task', row.id));
    const op = `mutation ($a: UpdateTaskInput!, $b: UpdateTaskInput!) {
      a: updateTask(input: $a) { __typename } b: updateTask(input: $b) { __typename } }`;
    let conflicts = 0;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([
        app.gql(op, { a: { id: x, title: `r${round} 1a` }, b: { id: y, title: `r${round} 1b` } }),
        app.gql(op, { a: { id: y, title: `r${round} 2a` }, b: { id: x, title: `r${round} 2b` } }),
      ]);
      let kept = 0;
      for (const answer of answers) {
        if (answer.body.errors) {
          expect(answer.body.data ?? null).toBeNull();
          expect(answer.body.errors.map((e) => e.extensions?.code)).toEqual(['TRANSACTION_CONFLICT']);
          conflicts += 1;
        } else {
          expect(answer.body.data).toEqual({
            a: { __typename: 'UpdateTaskPayload' },
            b: { __typename: 'UpdateTaskPayload' },
          });
          kept += 2;
        }
      }
      const [{ audits } = { audits: -1 }] = await query<{ audits: number }>(
        app.db.ownerUrl,
        "SELECT count(*)::int AS audits FROM audit_logs WHERE action = 'update' AND changes::text LIKE $1",
        [`%r${round} %`],
      );
      expect(audits).toBe(kept);
    }
    console.info(`opposite-order operations: ${conflicts} of 3 rounds ended by a deadlock`);
  });
});
