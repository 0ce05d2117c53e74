import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';
import {
  CHANGES,
  type ChangeResult,
  CREATE_TASK,
  cursorNumber,
  post as postAs,
  tokenFor,
} from '../helpers/realtime.js';
import { type SseSubscription, subscribeSse } from '../helpers/sse.js';

// Subscription.changes over SSE on a real port (API.md, "Realtime"; docs/realtime.md).

const ADMIN = 'admin@test-clinic.com';
const CLINICIAN = 'clinician@test-clinic.com';
const STAFF = 'staff@test-clinic.com';
const OTHER_ADMIN = 'admin@second-clinic.com';
const MAX_PER_USER = 3;

let app: TestApp;
let url: string;
const open: SseSubscription[] = [];
beforeAll(async () => {
  app = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_USER: String(MAX_PER_USER) } });
  url = `${await listenLocally(app)}/graphql`;
});
afterEach(() => {
  for (const subscription of open.splice(0)) subscription.close();
});
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

const post = <T = Record<string, unknown>>(
  email: string,
  text: string,
  variables?: Record<string, unknown>,
) => postAs<T>(url, email, text, variables);

async function subscribe(email: string, variables: Record<string, unknown> = {}): Promise<SseSubscription> {
  const subscription = await subscribeSse(url, await tokenFor(email), CHANGES, variables);
  open.push(subscription);
  return subscription;
}

/** The changes of a subscription's first `count` results (failing on any error). */
async function changes(subscription: SseSubscription, count: number): Promise<ChangeResult[]> {
  const results = await subscription.waitFor(count);
  for (const result of results) expect(result.errors).toBeUndefined();
  return results.map((result) => (result.data as { changes: ChangeResult }).changes);
}

async function firstCase(email: string): Promise<string> {
  const result = await post<{ cases: { edges: { node: { id: string } }[] } }>(
    email,
    '{ cases(first: 1) { edges { node { id } } } }',
  );
  return result.data?.cases.edges[0]?.node.id as string;
}

async function createTask(
  email: string,
  caseId: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const result = await post<{ createTask: { task: { id: string } } }>(email, CREATE_TASK, {
    input: { caseId, title: 'Call the payer', ...extra },
  });
  const id = result.data?.createTask.task?.id;
  if (!id) throw new Error(`createTask: ${JSON.stringify(result)}`);
  return id;
}

/** Lets a change that should not arrive have the time to. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

test('SSE: a token is required; the stream carries no-buffering headers and heartbeats', async () => {
  const anonymous = await subscribeSse(url, null, CHANGES);
  expect(anonymous.status).toBe(401);
  const subscription = await subscribe(ADMIN);
  expect(subscription.status).toBe(200);
  expect(subscription.headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(subscription.headers.get('cache-control')).toBe('no-cache');
  expect(subscription.headers.get('x-accel-buffering')).toBe('no');
  // Every 12 s in production, 300 ms under NODE_ENV=test (src/plugins/event-stream.ts).
  await new Promise((resolve) => setTimeout(resolve, 800));
  expect(subscription.heartbeats()).toBeGreaterThan(1);
});

test('each of the 14 mutations publishes one change after commit: entity, kind, event, dense cursors', async () => {
  const subscription = await subscribe(ADMIN);
  const steps: [string, string, Record<string, unknown>][] = [];
  const run = async (field: string, text: string, input: Record<string, unknown>) => {
    const result = await post<Record<string, Record<string, unknown>>>(ADMIN, text, { input });
    expect(result.errors).toBeUndefined();
    steps.push([field, text, input]);
    return result.data?.[field] as Record<string, { id: string }>;
  };
  const m = (field: string, input: string, payload: string) =>
    `mutation ($input: ${input}!) { ${field}(input: $input) { __typename ${payload} } }`;
  const created = await run(
    'createCase',
    m('createCase', 'CreateCaseInput', '... on CreateCasePayload { case { id } }'),
    {
      memberIdHash: 'realtime',
      payer: 'Aetna',
      confidence: { overall: 0.9 },
      extractedData: { note: 'x' },
    },
  );
  const caseId = created.case?.id as string;
  await run('updateCase', m('updateCase', 'UpdateCaseInput', ''), { id: caseId, payer: 'Cigna' });
  await run('transitionCaseStatus', m('transitionCaseStatus', 'TransitionCaseStatusInput', ''), {
    id: caseId,
    status: 'APPROVED',
  });
  const code = await run(
    'addCaseCode',
    m('addCaseCode', 'AddCaseCodeInput', '... on AddCaseCodePayload { caseCode { id } }'),
    {
      caseId,
      code: { codeType: 'CPT', code: '70553' },
    },
  );
  await run('removeCaseCode', m('removeCaseCode', 'RemoveCaseCodeInput', ''), { id: code.caseCode?.id });
  const task = await run(
    'createTask',
    m('createTask', 'CreateTaskInput', '... on CreateTaskPayload { task { id } }'),
    {
      caseId,
      title: 'Fax the notes',
    },
  );
  const taskId = task.task?.id;
  await run('updateTask', m('updateTask', 'UpdateTaskInput', ''), { id: taskId, title: 'Fax all notes' });
  await run('assignTask', m('assignTask', 'AssignTaskInput', ''), { id: taskId, assigneeId: null });
  await run('transitionTaskStatus', m('transitionTaskStatus', 'TransitionTaskStatusInput', ''), {
    id: taskId,
    status: 'IN_PROGRESS',
  });
  await run('deleteTask', m('deleteTask', 'DeleteTaskInput', ''), { id: taskId });
  const ruleset = await run(
    'createRuleset',
    m('createRuleset', 'CreateRulesetInput', '... on CreateRulesetPayload { ruleset { id } }'),
    {
      payer: 'Realtime Payer',
      procedure: '70553',
      rules: { requirements: ['MRI'], documentation: [], typicalTurnaround: '2 days' },
    },
  );
  const rulesetId = ruleset.ruleset?.id;
  await run('updateRuleset', m('updateRuleset', 'UpdateRulesetInput', ''), {
    id: rulesetId,
    procedure: '70551',
  });
  await run('setRulesetActive', m('setRulesetActive', 'SetRulesetActiveInput', ''), {
    id: rulesetId,
    isActive: false,
  });
  await run('deleteCase', m('deleteCase', 'DeleteCaseInput', ''), { id: caseId });
  expect(steps).toHaveLength(14);

  const received = await changes(subscription, 14);
  expect(received.map((c) => `${c.entity} ${c.kind} ${c.event.eventType}`)).toEqual([
    'CASE CREATED case.created',
    'CASE UPDATED case.updated',
    'CASE UPDATED case.status_changed',
    'CASE_CODE CREATED case_code.added',
    'CASE_CODE DELETED case_code.removed',
    'TASK CREATED task.created',
    'TASK UPDATED task.updated',
    'TASK UPDATED task.assigned',
    'TASK UPDATED task.status_changed',
    'TASK DELETED task.deleted',
    'RULESET CREATED ruleset.created',
    'RULESET UPDATED ruleset.updated',
    'RULESET UPDATED ruleset.deactivated',
    'CASE DELETED case.deleted',
  ]);
  const cursors = received.map((c) => cursorNumber(c.cursor));
  expect(cursors).toEqual(cursors.map((_, i) => (cursors[0] as number) + i));
  expect(received[0]?.entityId).toBe(caseId);
  // `node` is the row as it is at delivery: by then updated, or deleted already.
  expect([caseId, undefined]).toContain(received[0]?.node?.id);
  expect(received[9]).toMatchObject({ entityId: taskId, node: null });
  expect(received[13]).toMatchObject({ entityId: caseId, node: null });
  expect(received.every((c) => c.event.user?.email === ADMIN)).toBe(true);
  await settle();
  expect(subscription.results).toHaveLength(14);
});

test('tenants never see each other’s changes, of any entity, nor through a filter', async () => {
  const mine = await subscribe(ADMIN);
  const theirs = await subscribe(OTHER_ADMIN);
  const caseId = await firstCase(ADMIN);
  const peeking = await subscribe(OTHER_ADMIN, { caseId });
  await post(ADMIN, 'mutation ($input: AddCaseCodeInput!) { addCaseCode(input: $input) { __typename } }', {
    input: { caseId, code: { codeType: 'CPT', code: '99213' } },
  });
  await createTask(ADMIN, caseId);
  await post(ADMIN, 'mutation ($input: UpdateCaseInput!) { updateCase(input: $input) { __typename } }', {
    input: { id: caseId, priority: 'HIGH' },
  });
  await post(
    ADMIN,
    'mutation ($input: CreateRulesetInput!) { createRuleset(input: $input) { __typename } }',
    {
      input: {
        payer: 'Tenant A Payer',
        procedure: '1',
        rules: { requirements: [], documentation: [], typicalTurnaround: '1d' },
      },
    },
  );
  await createTask(OTHER_ADMIN, await firstCase(OTHER_ADMIN));
  expect((await changes(mine, 4)).map((c) => c.entity)).toEqual(['CASE_CODE', 'TASK', 'CASE', 'RULESET']);
  const [own] = await changes(theirs, 1);
  expect(own?.event.user?.email).toBe(OTHER_ADMIN);
  await settle();
  expect(mine.results).toHaveLength(4);
  expect(theirs.results).toHaveLength(1);
  expect(peeking.results).toHaveLength(0);
});

test('node is read for each subscriber with its role: STAFF gets extractedData null, each admin device audits a view', async () => {
  const staff = await subscribe(STAFF);
  const admin = await subscribe(ADMIN);
  const adminElsewhere = await subscribe(ADMIN); // the same user on a second device
  const caseId = await firstCase(ADMIN);
  const views = async () =>
    (
      await query<{ n: number }>(
        app.db.ownerUrl,
        "SELECT count(*)::int AS n FROM audit_logs WHERE action = 'view' AND entity_type = 'case'",
      )
    )[0]?.n;
  const before = await views();
  await post(ADMIN, 'mutation ($input: UpdateCaseInput!) { updateCase(input: $input) { __typename } }', {
    input: { id: caseId, priority: 'URGENT' },
  });
  const [seenByStaff] = await changes(staff, 1);
  const [seenByAdmin] = await changes(admin, 1);
  const [seenElsewhere] = await changes(adminElsewhere, 1);
  expect(seenByStaff?.node).toMatchObject({ id: caseId, extractedData: null });
  expect(seenByAdmin?.node?.extractedData).not.toBeNull();
  expect(seenElsewhere?.node?.extractedData).toEqual(seenByAdmin?.node?.extractedData);
  // Each device's delivery is a read of its own; STAFF read nothing.
  expect(await views()).toBe((before as number) + 2);
});

test('subscribers of one role and operation share one resolution of a change; another role has its own', async () => {
  const plain =
    'subscription { changes { cursor entity node { id ... on Task { title status } } event { user { email } } } }';
  const admins = await Promise.all(
    [1, 2, 3].map(async () => subscribeSse(url, await tokenFor(ADMIN), plain)),
  );
  const clinicians = await Promise.all(
    [1, 2].map(async () => subscribeSse(url, await tokenFor(CLINICIAN), plain)),
  );
  open.push(...admins, ...clinicians);
  const caseId = await firstCase(ADMIN);
  const before = app.statements.length;
  await createTask(ADMIN, caseId);
  const results = await Promise.all([...admins, ...clinicians].map(async (s) => (await s.waitFor(1))[0]));
  const openings = app.statements.slice(before).filter((sql) => sql.includes('begin_request'));
  // The mutation's request, one resolution for the three admins, one for the two clinicians.
  expect(openings).toHaveLength(3);
  expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
  expect(results[0]?.errors).toBeUndefined();
});

test('a mutation that is rolled back publishes nothing, and takes no cursor', async () => {
  const subscription = await subscribe(ADMIN);
  const caseId = await firstCase(CLINICIAN);
  await createTask(CLINICIAN, caseId);
  // The second field is FORBIDDEN to a clinician: `data` is null, the first task is rolled back.
  const failed = await post(
    CLINICIAN,
    `mutation ($input: CreateTaskInput!, $id: ID!) {
    a: createTask(input: $input) { __typename }
    b: deleteCase(input: { id: $id }) { __typename }
  }`,
    { input: { caseId, title: 'never kept' }, id: caseId },
  );
  expect(failed.data ?? null).toBeNull();
  await createTask(CLINICIAN, caseId);
  const [first, second] = await changes(subscription, 2);
  expect(cursorNumber(second?.cursor as string)).toBe(cursorNumber(first?.cursor as string) + 1);
  await settle();
  expect(subscription.results).toHaveLength(2);
});

describe('filters', () => {
  test('entities, caseId and assigneeId (before or after the change)', async () => {
    const caseId = await firstCase(ADMIN);
    const me = async (email: string) =>
      (await post<{ me: { id: string } }>(email, '{ me { id } }')).data?.me.id;
    const [clinician, staff] = [await me(CLINICIAN), await me(STAFF)];
    const tasksOnly = await subscribe(ADMIN, { entities: ['TASK'] });
    const ofCase = await subscribe(CLINICIAN, { caseId });
    const forStaff = await subscribe(STAFF, { assigneeId: staff });
    await post(ADMIN, 'mutation ($input: UpdateCaseInput!) { updateCase(input: $input) { __typename } }', {
      input: { id: caseId, priority: 'LOW' },
    });
    const taskId = await createTask(ADMIN, caseId, { assigneeId: clinician });
    const assign = 'mutation ($input: AssignTaskInput!) { assignTask(input: $input) { __typename } }';
    await post(ADMIN, assign, { input: { id: taskId, assigneeId: staff } });
    await post(ADMIN, assign, { input: { id: taskId, assigneeId: clinician } });
    await post(ADMIN, assign, { input: { id: taskId, assigneeId: clinician } });
    const taskChanges = await changes(tasksOnly, 4);
    expect(taskChanges.map((c) => c.event.eventType)).toEqual([
      'task.created',
      'task.assigned',
      'task.assigned',
      'task.assigned',
    ]);
    expect((await changes(ofCase, 5)).map((c) => c.entity)).toEqual(['CASE', 'TASK', 'TASK', 'TASK', 'TASK']);
    // Assigned to STAFF, then away from STAFF; not the creation (to the clinician) nor the last.
    // (Compared by cursor: `node` is read at delivery, and may show a later assignee already.)
    expect((await changes(forStaff, 2)).map((c) => c.cursor)).toEqual(
      taskChanges.slice(1, 3).map((c) => c.cursor),
    );
    await settle();
    expect(forStaff.results).toHaveLength(2);
  });

  test('bad arguments are BAD_USER_INPUT and stream nothing', async () => {
    const caseId = await firstCase(ADMIN);
    const taskId = await createTask(ADMIN, caseId);
    for (const variables of [
      { after: 'not-a-cursor' },
      { after: Buffer.from('change:99999999').toString('base64url') },
      { caseId: taskId },
      { assigneeId: caseId },
      { entities: [] },
    ]) {
      const subscription = await subscribe(ADMIN, variables);
      const [result] = await subscription.waitFor(1);
      expect(result?.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
      expect(await subscription.ended).toBe('complete');
    }
  });
});

test('after: every change after the cursor, then live ones, none twice', async () => {
  const caseId = await firstCase(ADMIN);
  const live = await subscribe(ADMIN);
  for (let i = 0; i < 3; i++) await createTask(ADMIN, caseId);
  const [first, ...rest] = await changes(live, 3);
  const resumed = await subscribe(ADMIN, { after: first?.cursor });
  await createTask(ADMIN, caseId);
  const got = await changes(resumed, 3);
  expect(got.map((c) => c.cursor)).toEqual([
    ...rest.map((c) => c.cursor),
    (await changes(live, 4))[3]?.cursor,
  ]);
  await settle();
  expect(resumed.results).toHaveLength(3);
});

test(`at most ${MAX_PER_USER} subscriptions per user; a closed one frees its place`, async () => {
  const held = [];
  for (let i = 0; i < MAX_PER_USER; i++) held.push(await subscribe(CLINICIAN));
  const refused = await subscribe(CLINICIAN);
  const [result] = await refused.waitFor(1);
  expect(result?.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
  expect(result?.errors?.[0]?.message).toMatch(/MAX_SUBSCRIPTIONS_PER_USER/);
  expect((await subscribe(STAFF)).status).toBe(200); // per user, not per tenant
  held[0]?.close();
  // The server learns of the closed connection asynchronously.
  for (let attempt = 0; ; attempt++) {
    const again = await subscribe(CLINICIAN);
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (again.results.length === 0) break;
    again.close();
    if (attempt > 30) throw new Error('the closed subscription never freed its place');
  }
});

test('a token that expires mid-stream ends it with UNAUTHENTICATED', async () => {
  // exp 1 s from now, accepted for 5 s more (the clock tolerance): the stream ends then.
  const subscription = await subscribeSse(url, await tokenFor(ADMIN, '1s'), CHANGES);
  open.push(subscription);
  const [result] = await subscription.waitFor(1, 15_000);
  expect(result?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(await subscription.ended).toBe('complete');
}, 20_000);
