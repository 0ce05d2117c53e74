import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import type { TaskStatus } from '../../src/domain/vocabulary.js';
import { TASK_TRANSITIONS } from '../../src/domain/workflow.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const userId = (local: string, slug = 'test-clinic') => stableUuid(slug, 'user', local);
const gid = (type: string, id: string) => encodeGlobalID(type, id);
const STATUSES: TaskStatus[] = ['pending', 'in_progress', 'completed', 'cancelled'];

const CREATE = /* GraphQL */ `
  mutation ($input: CreateTaskInput!) {
    createTask(input: $input) {
      __typename
      ... on CreateTaskPayload { task { id uuid title status priority assignee { email } case { uuid } } }
      ... on Error { message code }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;
const TRANSITION = /* GraphQL */ `
  mutation ($input: TransitionTaskStatusInput!) {
    transitionTaskStatus(input: $input) {
      __typename
      ... on TransitionTaskStatusPayload { task { status completedAt updatedAt } }
      ... on InvalidTransitionError { from to }
      ... on Error { code message }
    }
  }`;

let app: TestApp;
let caseId: string;
beforeAll(async () => {
  app = await startTestApp();
  const [row] = await query<{ id: string }>(
    app.db.ownerUrl,
    'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY id LIMIT 1',
    [A],
  );
  caseId = row?.id as string;
});
afterAll(() => app?.close());

async function newTask(as = 'admin@test-clinic.com', extra: Record<string, unknown> = {}) {
  const res = await app.gql<{ createTask: { __typename: string; task: { uuid: string; id: string } } }>(
    CREATE,
    { input: { caseId: gid('Case', caseId), title: 'Fax records', ...extra } },
    { email: as },
  );
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.createTask.__typename).toBe('CreateTaskPayload');
  return res.body.data?.createTask.task as { uuid: string; id: string };
}

const auditCount = async () =>
  (
    await query<{ n: number }>(
      app.db.ownerUrl,
      'SELECT (SELECT count(*) FROM audit_logs)::int + (SELECT count(*) FROM events)::int AS n',
    )
  )[0]?.n;

describe('createTask', () => {
  test('creates the task with one audit row and one event in the same transaction', async () => {
    const res = await app.gql<{
      createTask: { task: { uuid: string; title: string; status: string; priority: string } };
    }>(
      CREATE,
      {
        input: {
          caseId: gid('Case', caseId),
          title: '  Call payer  ',
          priority: 'HIGH',
          assigneeId: gid('User', userId('staff')),
        },
      },
      { email: 'clinician@test-clinic.com' },
    );
    const task = res.body.data?.createTask.task;
    expect(task).toMatchObject({
      title: 'Call payer',
      status: 'PENDING',
      priority: 'HIGH',
      assignee: { email: 'staff@test-clinic.com' },
      case: { uuid: caseId },
    });
    const audits = await query(
      app.db.ownerUrl,
      'SELECT action, entity_type, user_id, changes FROM audit_logs WHERE entity_id = $1',
      [task?.uuid],
    );
    expect(audits).toEqual([
      {
        action: 'create',
        entity_type: 'task',
        user_id: userId('clinician'),
        changes: {
          before: null,
          after: {
            caseId,
            assigneeId: userId('staff'),
            title: 'Call payer',
            description: null,
            status: 'PENDING',
            priority: 'HIGH',
            dueDate: null,
            completedAt: null,
          },
        },
      },
    ]);
    const events = await query(
      app.db.ownerUrl,
      'SELECT event_type, entity_type FROM events WHERE entity_id = $1',
      [task?.uuid],
    );
    expect(events).toEqual([{ event_type: 'task.created', entity_type: 'task' }]);
  });

  test('invalid input is one ValidationError with a path per field, and writes nothing', async () => {
    const before = await auditCount();
    const res = await app.gql<{
      createTask: { __typename: string; code: string; fieldErrors: { path: string[] }[] };
    }>(CREATE, {
      input: { caseId: 'nope', title: '   ', assigneeId: gid('Task', caseId) },
    });
    expect(res.body.data?.createTask).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION' });
    expect(res.body.data?.createTask.fieldErrors.map((e) => e.path).sort()).toEqual([
      ['assigneeId'],
      ['caseId'],
      ['title'],
    ]);
    expect(await auditCount()).toBe(before);
  });

  test('a case of another tenant is NotFoundError, and nothing is written', async () => {
    const [other] = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1',
      [B],
    );
    const before = await query(app.db.ownerUrl, 'SELECT count(*)::int AS n FROM tasks');
    const res = await app.gql(CREATE, { input: { caseId: gid('Case', other?.id as string), title: 'x' } });
    expect(res.body.data).toEqual({
      createTask: { __typename: 'NotFoundError', message: 'Case not found', code: 'NOT_FOUND' },
    });
    expect(await query(app.db.ownerUrl, 'SELECT count(*)::int AS n FROM tasks')).toEqual(before);
  });

  test('STAFF may create tasks unassigned or for themselves only', async () => {
    await newTask('staff@test-clinic.com');
    await newTask('staff@test-clinic.com', { assigneeId: gid('User', userId('staff')) });
    const res = await app.gql(
      CREATE,
      { input: { caseId: gid('Case', caseId), title: 'x', assigneeId: gid('User', userId('admin')) } },
      { email: 'staff@test-clinic.com' },
    );
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['FORBIDDEN', ['createTask']],
    ]);
  });
});

describe('transitionTaskStatus', () => {
  const cases = STATUSES.flatMap((from) =>
    STATUSES.map((to) => [from, to, TASK_TRANSITIONS[from].includes(to)] as const),
  );

  test.each(cases)('%s → %s allowed: %s', async (from, to, allowed) => {
    const task = await newTask();
    await query(
      app.db.ownerUrl,
      "UPDATE tasks SET status = $2::varchar, completed_at = CASE WHEN $2::varchar = 'completed' THEN now() END WHERE id = $1",
      [task.uuid, from],
    );
    const audits = await auditCount();
    const res = await app.gql<{ transitionTaskStatus: Record<string, unknown> }>(TRANSITION, {
      input: { id: task.id, status: to.toUpperCase() },
    });
    const result = res.body.data?.transitionTaskStatus;
    if (allowed) {
      expect(result?.__typename).toBe('TransitionTaskStatusPayload');
      const status = (result?.task as { status: string; completedAt: string | null }) ?? {};
      expect(status.status).toBe(to.toUpperCase());
      expect(status.completedAt !== null).toBe(to === 'completed');
      expect(await auditCount()).toBe((audits ?? 0) + 2);
    } else {
      expect(result).toMatchObject({
        __typename: 'InvalidTransitionError',
        from: from.toUpperCase(),
        to: to.toUpperCase(),
        code: 'INVALID_TRANSITION',
      });
      expect(await auditCount()).toBe(audits);
    }
  });

  test('a stale expectedUpdatedAt is ConflictError and changes nothing', async () => {
    const task = await newTask();
    const res = await app.gql(TRANSITION, {
      input: { id: task.id, status: 'IN_PROGRESS', expectedUpdatedAt: '2000-01-01T00:00:00.000Z' },
    });
    expect(res.body.data?.transitionTaskStatus).toMatchObject({
      __typename: 'ConflictError',
      code: 'CONFLICT',
    });
    expect(await query(app.db.ownerUrl, 'SELECT status FROM tasks WHERE id = $1', [task.uuid])).toEqual([
      { status: 'pending' },
    ]);
  });

  test('ten concurrent transitions from the same state: exactly one succeeds, one event', async () => {
    const task = await newTask();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        app.gql<{ transitionTaskStatus: { __typename: string } }>(TRANSITION, {
          input: { id: task.id, status: 'IN_PROGRESS' },
        }),
      ),
    );
    const kinds = results.map((r) => r.body.data?.transitionTaskStatus.__typename);
    expect(kinds.filter((k) => k === 'TransitionTaskStatusPayload')).toHaveLength(1);
    expect(
      kinds
        .filter((k) => k !== 'TransitionTaskStatusPayload')
        .every((k) => k === 'ConflictError' || k === 'InvalidTransitionError'),
    ).toBe(true);
    expect(
      await query(
        app.db.ownerUrl,
        "SELECT count(*)::int AS n FROM events WHERE entity_id = $1 AND event_type = 'task.status_changed'",
        [task.uuid],
      ),
    ).toEqual([{ n: 1 }]);
  });

  test('STAFF may move only tasks assigned to them', async () => {
    const mine = await newTask('admin@test-clinic.com', { assigneeId: gid('User', userId('staff')) });
    const theirs = await newTask('admin@test-clinic.com', { assigneeId: gid('User', userId('jordan')) });
    const ok = await app.gql(
      TRANSITION,
      { input: { id: mine.id, status: 'IN_PROGRESS' } },
      { email: 'staff@test-clinic.com' },
    );
    expect(ok.body.data?.transitionTaskStatus).toMatchObject({ __typename: 'TransitionTaskStatusPayload' });
    const refused = await app.gql(
      TRANSITION,
      { input: { id: theirs.id, status: 'IN_PROGRESS' } },
      { email: 'staff@test-clinic.com' },
    );
    expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(await query(app.db.ownerUrl, 'SELECT status FROM tasks WHERE id = $1', [theirs.uuid])).toEqual([
      { status: 'pending' },
    ]);
  });
});

describe('assignTask, updateTask, deleteTask', () => {
  const ASSIGN = `mutation ($input: AssignTaskInput!) { assignTask(input: $input) { __typename ... on AssignTaskPayload { task { assignee { email } } } ... on Error { code } } }`;

  test('STAFF take unassigned tasks for themselves and release their own, nothing else', async () => {
    const task = await newTask();
    const staff = { email: 'staff@test-clinic.com' };
    const forOther = await app.gql(
      ASSIGN,
      { input: { id: task.id, assigneeId: gid('User', userId('jordan')) } },
      staff,
    );
    expect(forOther.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const take = await app.gql(
      ASSIGN,
      { input: { id: task.id, assigneeId: gid('User', userId('staff')) } },
      staff,
    );
    expect(take.body.data).toEqual({
      assignTask: { __typename: 'AssignTaskPayload', task: { assignee: { email: 'staff@test-clinic.com' } } },
    });
    const release = await app.gql(ASSIGN, { input: { id: task.id, assigneeId: null } }, staff);
    expect(release.body.data).toEqual({
      assignTask: { __typename: 'AssignTaskPayload', task: { assignee: null } },
    });
    const events = await query(
      app.db.ownerUrl,
      "SELECT count(*)::int AS n FROM events WHERE entity_id = $1 AND event_type = 'task.assigned'",
      [task.uuid],
    );
    expect(events).toEqual([{ n: 2 }]);
  });

  test('a user of another tenant cannot be assigned (NotFoundError)', async () => {
    const task = await newTask();
    const res = await app.gql(ASSIGN, {
      input: { id: task.id, assigneeId: gid('User', userId('staff', 'second-clinic')) },
    });
    expect(res.body.data).toEqual({ assignTask: { __typename: 'NotFoundError', code: 'NOT_FOUND' } });
  });

  test('updateTask records before/after of the changed fields only', async () => {
    const task = await newTask();
    const res = await app.gql(
      `mutation ($input: UpdateTaskInput!) { updateTask(input: $input) { __typename ... on UpdateTaskPayload { task { title description } } } }`,
      { input: { id: task.id, title: 'Renamed', description: 'notes', priority: 'NORMAL' } },
    );
    expect(res.body.data).toEqual({
      updateTask: { __typename: 'UpdateTaskPayload', task: { title: 'Renamed', description: 'notes' } },
    });
    const [audit] = await query(
      app.db.ownerUrl,
      "SELECT changes FROM audit_logs WHERE entity_id = $1 AND action = 'update'",
      [task.uuid],
    );
    expect(audit?.changes).toEqual({
      before: { title: 'Fax records', description: null },
      after: { title: 'Renamed', description: 'notes' },
    });
  });

  test('deleteTask is for ADMIN only and returns the global id', async () => {
    const task = await newTask();
    const DELETE = `mutation ($input: DeleteTaskInput!) { deleteTask(input: $input) { __typename ... on DeleteTaskPayload { deletedId } } }`;
    const refused = await app.gql(DELETE, { input: { id: task.id } }, { email: 'clinician@test-clinic.com' });
    expect(refused.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([
      ['FORBIDDEN', ['deleteTask']],
    ]);
    const res = await app.gql(DELETE, { input: { id: task.id } });
    expect(res.body.data).toEqual({ deleteTask: { __typename: 'DeleteTaskPayload', deletedId: task.id } });
    const [audit] = await query(
      app.db.ownerUrl,
      "SELECT changes FROM audit_logs WHERE entity_id = $1 AND action = 'delete'",
      [task.uuid],
    );
    expect(audit?.changes).toMatchObject({ before: { title: 'Fax records' }, after: null });
  });
});
