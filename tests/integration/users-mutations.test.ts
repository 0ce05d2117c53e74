import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { firstCaseId, query } from '../helpers/db.js';
import { bearerFor } from '../helpers/users.js';

// createUser, updateUser, setUserActive (API.md, "Administration and intake"): what they write,
// what they refuse, the last-ADMIN and self-deactivation rules under concurrent requests, and
// what deactivation and a role change do to the user's next request.

const TENANT = stableUuid('tenant', 'test-clinic');
const OTHER_TENANT = stableUuid('tenant', 'second-clinic');
const ADMIN = 'admin@test-clinic.com';
const seeded = (local: string, slug = 'test-clinic') =>
  encodeGlobalID('User', stableUuid(slug, 'user', local));

const USER = 'user { id uuid email name role isActive deactivatedAt updatedAt }';
const CREATE = `mutation ($input: CreateUserInput!) { createUser(input: $input) {
  __typename ... on CreateUserPayload { ${USER} }
  ... on ValidationError { fieldErrors { path message } } ... on ConflictError { message } } }`;
const UPDATE = `mutation ($input: UpdateUserInput!) { updateUser(input: $input) {
  __typename ... on UpdateUserPayload { ${USER} }
  ... on ValidationError { fieldErrors { path message } } ... on ConflictError { message } ... on NotFoundError { message } } }`;
const SET_ACTIVE = `mutation ($input: SetUserActiveInput!) { setUserActive(input: $input) {
  __typename ... on SetUserActivePayload { ${USER} }
  ... on ValidationError { fieldErrors { path message } } ... on NotFoundError { message } } }`;

interface UserRow {
  id: string;
  uuid: string;
  email: string;
  name: string | null;
  role: string;
  isActive: boolean;
  deactivatedAt: string | null;
  updatedAt: string;
}
type Result = { __typename: string; user?: UserRow; fieldErrors?: { path: string[]; message: string }[] };

let app: TestApp;
let caseId: string;
beforeAll(async () => {
  app = await startTestApp();
  caseId = await firstCaseId(app.db.ownerUrl, TENANT);
});
afterAll(() => app?.close());

const counts = async () =>
  (
    await query<{ users: number; audit: number; events: number }>(
      app.db.ownerUrl,
      `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM audit_logs)::int AS audit,
         (SELECT count(*) FROM events)::int AS events`,
    )
  )[0];

const bearer = bearerFor;

async function mutate(
  document: string,
  input: Record<string, unknown>,
  as: { email?: string; authorization?: string } = { email: ADMIN },
) {
  const res = await app.gql<Record<string, Result>>(document, { input }, as);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return Object.values(res.body.data ?? {})[0] as Result;
}

/** A new user of the test clinic, created by its ADMIN; its subject, to sign in with. */
async function newUser(role = 'STAFF'): Promise<UserRow & { authId: string }> {
  const authId = `idp|${randomUUID()}`;
  const result = await mutate(CREATE, { email: `${randomUUID()}@test-clinic.com`, role, authId });
  expect(result.__typename).toBe('CreateUserPayload');
  return { ...(result.user as UserRow), authId };
}

describe('createUser', () => {
  test('creates an active user (email trimmed and lower-cased) with one audit row and one event, and the subject signs in', async () => {
    const authId = `auth0|${randomUUID()}`;
    const before = await counts();
    const result = await mutate(CREATE, {
      email: '  New.Person@Test-Clinic.COM ',
      name: ' New Person ',
      role: 'CLINICIAN',
      authId,
    });
    expect(result.user).toMatchObject({
      email: 'new.person@test-clinic.com',
      name: 'New Person',
      role: 'CLINICIAN',
      isActive: true,
      deactivatedAt: null,
    });
    const after = await counts();
    expect(after).toEqual({
      users: (before?.users ?? 0) + 1,
      audit: (before?.audit ?? 0) + 1,
      events: (before?.events ?? 0) + 1,
    });
    const [audit] = await query(
      app.db.ownerUrl,
      `SELECT a.action, a.entity_type, a.changes, u.email AS actor, e.event_type, e.metadata
       FROM audit_logs a JOIN events e ON e.entity_id = a.entity_id JOIN users u ON u.id = a.user_id WHERE a.entity_id = $1`,
      [result.user?.uuid],
    );
    expect(audit).toEqual({
      action: 'create',
      entity_type: 'user',
      changes: {
        before: null,
        after: {
          email: 'new.person@test-clinic.com',
          name: 'New Person',
          role: 'CLINICIAN',
          authId,
          isActive: true,
        },
      },
      actor: ADMIN,
      event_type: 'user.created',
      metadata: { role: 'CLINICIAN' },
    });
    const me = await app.gql<{ me: { email: string; role: string } }>(
      '{ me { email role } }',
      {},
      {
        authorization: await bearer(authId),
      },
    );
    expect(me.body.data?.me).toEqual({ email: 'new.person@test-clinic.com', role: 'CLINICIAN' });
  });

  test.each([
    ['an email without @', { email: 'nobody' }, ['email']],
    ['a blank email', { email: '   ' }, ['email']],
    ['an authId with whitespace', { authId: ' idp|1' }, ['authId']],
    ['an empty authId', { authId: '' }, ['authId']],
    ['a 256-character name', { name: 'n'.repeat(256) }, ['name']],
  ])('%s: ValidationError at that field, nothing written', async (_name, change, path) => {
    const before = await counts();
    const result = await mutate(CREATE, {
      email: `${randomUUID()}@test-clinic.com`,
      role: 'STAFF',
      authId: `idp|${randomUUID()}`,
      ...change,
    });
    expect(result.__typename).toBe('ValidationError');
    expect(result.fieldErrors?.map((e) => e.path)).toEqual([path]);
    expect(await counts()).toEqual(before);
  });

  test('an email of the tenant (in any case) or a subject of any tenant is ConflictError, naming no tenant', async () => {
    const before = await counts();
    const email = await mutate(CREATE, {
      email: 'ADMIN@test-clinic.com',
      role: 'STAFF',
      authId: `idp|${randomUUID()}`,
    });
    expect(email).toEqual({
      __typename: 'ConflictError',
      message: 'A user with this email exists in this tenant',
    });
    // The second clinic's admin's subject: unique across tenants, and the message says no more.
    const subject = await mutate(CREATE, {
      email: `${randomUUID()}@test-clinic.com`,
      role: 'STAFF',
      authId: 'seed|admin@second-clinic.com',
    });
    expect(subject).toEqual({ __typename: 'ConflictError', message: 'A user with this authId exists' });
    expect(await counts()).toEqual(before);
    // The same email in another tenant is another user.
    const elsewhere = await mutate(
      CREATE,
      { email: 'admin@test-clinic.com', role: 'STAFF', authId: `idp|${randomUUID()}` },
      {
        email: 'admin@second-clinic.com',
      },
    );
    expect(elsewhere.__typename).toBe('CreateUserPayload');
  });
});

describe('updateUser', () => {
  test('a role change applies from the next request of a token issued before it', async () => {
    const user = await newUser('CLINICIAN');
    const authorization = await bearer(user.authId);
    const read = () =>
      app.gql<{ cases: { edges: { node: { extractedData: unknown } }[] } }>(
        '{ cases(first: 1) { edges { node { extractedData } } } }',
        {},
        { authorization },
      );
    expect((await read()).body.data?.cases.edges[0]?.node.extractedData).not.toBeNull();
    const result = await mutate(UPDATE, { id: user.id, role: 'STAFF', name: 'Moved' });
    expect(result.user).toMatchObject({ role: 'STAFF', name: 'Moved' });
    expect((await read()).body.data?.cases.edges[0]?.node.extractedData).toBeNull();
    const [event] = await query(
      app.db.ownerUrl,
      `SELECT event_type, metadata FROM events WHERE entity_id = $1 AND event_type = 'user.updated'`,
      [user.uuid],
    );
    expect(event).toEqual({ event_type: 'user.updated', metadata: { from: 'CLINICIAN', to: 'STAFF' } });
  });

  test('expectedUpdatedAt: ConflictError when the user changed since; another tenant’s user is NotFoundError', async () => {
    const user = await newUser();
    const stale = await mutate(UPDATE, {
      id: user.id,
      name: 'x',
      expectedUpdatedAt: '2001-01-01T00:00:00.000Z',
    });
    expect(stale).toEqual({
      __typename: 'ConflictError',
      message: 'The user changed since expectedUpdatedAt',
    });
    const fresh = await mutate(UPDATE, { id: user.id, name: 'y', expectedUpdatedAt: user.updatedAt });
    expect(fresh.__typename).toBe('UpdateUserPayload');
    const other = await mutate(UPDATE, { id: seeded('staff', 'second-clinic'), name: 'z' });
    expect(other).toEqual({ __typename: 'NotFoundError', message: 'User not found' });
  });
});

describe('the last active ADMIN, and deactivating oneself', () => {
  test('the only ADMIN cannot demote themselves nor be deactivated; nobody deactivates themselves', async () => {
    const before = await counts();
    const demote = await mutate(UPDATE, { id: seeded('admin'), role: 'CLINICIAN' });
    expect(demote.__typename).toBe('ValidationError');
    expect(demote.fieldErrors?.map((e) => e.path)).toEqual([['role']]);
    const self = await mutate(SET_ACTIVE, { id: seeded('admin'), isActive: false });
    expect(self.fieldErrors).toEqual([{ path: ['isActive'], message: 'you cannot deactivate yourself' }]);
    expect(await counts()).toEqual(before);
  });

  test('two ADMINs demoting (or deactivating) each other at the same moment leave exactly one ADMIN, every round', async () => {
    const second = await newUser('ADMIN');
    const secondAuth = await bearer(second.authId);
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 8; round++) {
      const [viaUpdate] = [round % 2 === 0];
      const document = viaUpdate ? UPDATE : SET_ACTIVE;
      const change = viaUpdate ? { role: 'CLINICIAN' } : { isActive: false };
      const results = await Promise.all([
        app.gql<Record<string, Result>>(document, { input: { id: second.id, ...change } }, { email: ADMIN }),
        app.gql<Record<string, Result>>(
          document,
          { input: { id: seeded('admin'), ...change } },
          { authorization: secondAuth },
        ),
      ]);
      const kinds = results.map((res) => {
        const result = Object.values(res.body.data ?? {})[0] as Result | undefined;
        return result?.__typename ?? String(res.body.errors?.[0]?.extensions?.code);
      });
      // One wins; the other is refused either as the last ADMIN or, demoted meanwhile, as no ADMIN.
      expect(kinds.filter((kind) => kind?.endsWith('Payload'))).toHaveLength(1);
      const key = [...kinds].sort().join(' + ');
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      const admins = await query<{ n: number }>(
        app.db.ownerUrl,
        `SELECT count(*)::int AS n FROM users WHERE tenant_id = $1 AND role = 'admin' AND deactivated_at IS NULL`,
        [TENANT],
      );
      expect(admins).toEqual([{ n: 1 }]);
      // Both ADMINs again for the next round.
      await query(
        app.db.ownerUrl,
        `UPDATE users SET role = 'admin', deactivated_at = NULL WHERE id IN ($1, $2)`,
        [second.uuid, stableUuid('test-clinic', 'user', 'admin')],
      );
    }
    console.info('concurrent demotions, outcomes:', Object.fromEntries(outcomes));
  });
});

describe('deactivation', () => {
  test('the next request is 401, tasks stay assigned showing isActive false, new assignments are refused; reactivation lets the token in again', async () => {
    const user = await newUser();
    const authorization = await bearer(user.authId);
    const task = await app.gql<{ createTask: { task: { id: string } } }>(
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { ... on CreateTaskPayload { task { id } } } }`,
      { input: { caseId, title: 'kept', assigneeId: user.id } },
      { email: ADMIN },
    );
    const taskId = task.body.data?.createTask.task.id as string;
    expect((await app.gql('{ __typename }', {}, { authorization })).status).toBe(200);

    const off = await mutate(SET_ACTIVE, { id: user.id, isActive: false });
    expect(off.user).toMatchObject({ isActive: false });
    expect(off.user?.deactivatedAt).toEqual(expect.any(String));
    for (const document of ['{ __typename }', '{ me { id } }']) {
      const refused = await app.gql(document, {}, { authorization });
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    }
    const shown = await app.gql<{ node: { assignee: { isActive: boolean } } }>(
      'query ($id: ID!) { node(id: $id) { ... on Task { assignee { isActive } } } }',
      { id: taskId },
      { email: ADMIN },
    );
    expect(shown.body.data?.node.assignee).toEqual({ isActive: false });

    const assign = `mutation ($input: AssignTaskInput!) { assignTask(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }`;
    const create = `mutation ($input: CreateTaskInput!) { createTask(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }`;
    const before = await counts();
    for (const [document, input] of [
      [assign, { id: taskId, assigneeId: null }],
      [create, { caseId, title: 'refused', assigneeId: user.id }],
    ] as const) {
      const res = await app.gql<Record<string, Result>>(document, { input }, { email: ADMIN });
      const result = Object.values(res.body.data ?? {})[0];
      if (input.assigneeId === null) {
        expect(result?.__typename).toBe('AssignTaskPayload');
        const again = await app.gql<Record<string, Result>>(
          assign,
          { input: { id: taskId, assigneeId: user.id } },
          { email: ADMIN },
        );
        expect(Object.values(again.body.data ?? {})[0]?.fieldErrors).toEqual([
          { path: ['assigneeId'], message: 'is a deactivated user: tasks go to active users' },
        ]);
      } else {
        expect(result?.fieldErrors?.map((e) => e.path)).toEqual([['assigneeId']]);
      }
    }
    // The unassignment was written; the refused writes were not.
    expect(await counts()).toEqual({
      ...before,
      audit: (before?.audit ?? 0) + 1,
      events: (before?.events ?? 0) + 1,
    });

    // Deactivating again keeps the moment of the first deactivation.
    const again = await mutate(SET_ACTIVE, { id: user.id, isActive: false });
    expect(again.user?.deactivatedAt).toBe(off.user?.deactivatedAt);
    const on = await mutate(SET_ACTIVE, { id: user.id, isActive: true });
    expect(on.user).toMatchObject({ isActive: true, deactivatedAt: null });
    expect((await app.gql('{ me { id } }', {}, { authorization })).body.data).toEqual({
      me: { id: user.id },
    });
  });

  test('tasks go to people: assigning one to the intake SERVICE user is a ValidationError', async () => {
    const res = await app.gql<Record<string, Result>>(
      `mutation ($input: CreateTaskInput!) { createTask(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }`,
      { input: { caseId, title: 'for a machine', assigneeId: seeded('intake') } },
      { email: ADMIN },
    );
    expect(Object.values(res.body.data ?? {})[0]?.fieldErrors).toEqual([
      { path: ['assigneeId'], message: 'is a SERVICE user: tasks go to people' },
    ]);
  });
});

test('users are managed only in the ADMIN’s own tenant', async () => {
  const res = await mutate(SET_ACTIVE, { id: seeded('staff', 'second-clinic'), isActive: false });
  expect(res).toEqual({ __typename: 'NotFoundError', message: 'User not found' });
  const [row] = await query(app.db.ownerUrl, 'SELECT deactivated_at FROM users WHERE id = $1', [
    stableUuid('second-clinic', 'user', 'staff'),
  ]);
  expect(row).toEqual({ deactivated_at: null });
  expect(OTHER_TENANT).not.toBe(TENANT);
});
