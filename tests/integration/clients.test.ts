import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import * as graphqlRequest from '../../docs/clients/graphql-request.js';
import * as urql from '../../docs/clients/urql.js';
import * as feed from '../../docs/clients/work-queue-feed.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { tokenFor } from '../helpers/realtime.js';

// The client recipes of docs/clients.md, run as written against the server on a real port: they
// compile under the repository's strict tsconfig (npm test's tsc) and must keep working.

let app: TestApp;
let url: string;
beforeAll(async () => {
  app = await startTestApp();
  url = `${await listenLocally(app)}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

describe('graphql-request', () => {
  const client = async (email: string) => graphqlRequest.createApiClient(url, await app.token(email));

  test('allCases walks every page once', async () => {
    const admin = await client('admin@test-clinic.com');
    const cases = await graphqlRequest.allCases(admin, 7);
    const [{ count }] = await app.owner.$queryRaw<[{ count: number }]>`
      SELECT count(*)::int AS count FROM cases c JOIN tenants t ON t.id = c.tenant_id WHERE t.name = 'Test Clinic'`;
    expect(cases).toHaveLength(count);
    expect(new Set(cases.map((c) => c.id)).size).toBe(count);
  });

  test('createTask: the task, a ValidationError with its fields, a NotFoundError', async () => {
    const clinician = await client('clinician@test-clinic.com');
    const [target] = await graphqlRequest.allCases(clinician, 1);
    if (!target) throw new Error('no case');
    const created = await graphqlRequest.createTask(clinician, {
      caseId: target.id,
      title: 'Call the payer',
    });
    expect(created).toMatchObject({ ok: true, task: { title: 'Call the payer', status: 'PENDING' } });

    const blank = await graphqlRequest.createTask(clinician, { caseId: target.id, title: '   ' });
    expect(blank).toMatchObject({ ok: false, fields: ['title'] });

    const [elsewhere] = await graphqlRequest.allCases(await client('admin@second-clinic.com'), 1);
    if (!elsewhere) throw new Error('no case in the second clinic');
    const foreign = await graphqlRequest.createTask(clinician, { caseId: elsewhere.id, title: 'x' });
    expect(foreign).toEqual({ ok: false, message: expect.any(String), fields: [] });
  });

  test('an error outside the union rejects with its code', async () => {
    const signedOut = graphqlRequest.createApiClient(url, 'not-a-token');
    const failure = await graphqlRequest.allCases(signedOut).catch((error: unknown) => error);
    expect(graphqlRequest.errorCode(failure)).toBe('UNAUTHENTICATED');
  });
});

describe('urql', () => {
  const client = async (email: string) => urql.createApiClient(url, await app.token(email));

  test('myWorkQueue walks every page, soonest due first', async () => {
    const staff = await client('staff@test-clinic.com');
    const paged = await urql.myWorkQueue(staff, 2);
    const whole = await urql.myWorkQueue(staff, 100);
    expect(paged.length).toBeGreaterThan(2);
    expect(paged.map((t) => t.id)).toEqual(whole.map((t) => t.id));
  });

  test('refetch by global ID: the row, null in another clinic, BAD_USER_INPUT when malformed', async () => {
    const staff = await client('staff@test-clinic.com');
    const [task] = await urql.myWorkQueue(staff, 1);
    if (!task) throw new Error('no task');
    expect(await urql.refetch(staff, task.id)).toMatchObject({ __typename: 'Task', id: task.id });

    expect(await urql.refetch(await client('staff@second-clinic.com'), task.id)).toBeNull();

    const malformed = await urql.refetch(staff, 'not-an-id').catch((error: unknown) => error);
    expect(malformed).toBeInstanceOf(urql.ApiError);
    expect((malformed as urql.ApiError).code).toBe('BAD_USER_INPUT');
  });
});

describe('work-queue-feed (SSE with fetch)', () => {
  const STAFF = 'staff@test-clinic.com';

  /** The admin creates a task with this title for `assigneeId`. */
  async function createTask(assigneeId: string, title: string): Promise<void> {
    const admin = graphqlRequest.createApiClient(url, await app.token('admin@test-clinic.com'));
    const [target] = await graphqlRequest.allCases(admin, 1);
    const created = await graphqlRequest.createTask(admin, { caseId: target?.id ?? '', title, assigneeId });
    expect(created.ok).toBe(true);
  }

  test('follows the queue across a token expiry, and resumes after the cursor it returned', async () => {
    const viewer = await app.gql<{ me: { id: string } }>('{ me { id } }', {}, { email: STAFF });
    const me = viewer.body.data?.me.id as string;
    const titles: string[] = [];
    let tokens = 0;
    const follow = (after: string | null) => {
      const stop = new AbortController();
      const done = feed.followWorkQueue({
        url,
        // Tokens that expire 1 s after they are made (accepted 5 s more): the stream ends each time.
        token: () => {
          tokens += 1;
          return tokenFor(STAFF, '1s');
        },
        me,
        after,
        onChange: (change) => {
          if (change.node?.__typename === 'Task') titles.push(change.node.title);
        },
        signal: stop.signal,
      });
      return { stop: () => stop.abort(), done };
    };

    const first = follow(null);
    onTestFinished(first.stop);
    await expect.poll(() => app.changeFeed.size).toBe(1);
    await createTask(me, 'before the expiry');
    await expect.poll(() => titles).toEqual(['before the expiry']);
    // The first token's stream ends with UNAUTHENTICATED; the feed subscribes again with a new one.
    await expect.poll(() => tokens, { timeout: 15_000 }).toBe(2);
    await expect.poll(() => app.changeFeed.size).toBe(1);
    await createTask(me, 'after the expiry');
    await expect.poll(() => titles).toEqual(['before the expiry', 'after the expiry']);
    first.stop();
    const stored = await first.done;
    await expect.poll(() => app.changeFeed.size).toBe(0);

    // Changed while nobody followed: the next run, from the stored cursor, gets exactly that.
    await createTask(me, 'while stopped');
    const second = follow(stored);
    onTestFinished(second.stop);
    await expect.poll(() => titles).toEqual(['before the expiry', 'after the expiry', 'while stopped']);
    second.stop();
    await second.done;
  }, 30_000);

  test('an argument the server refuses is a FeedError, not a retry', async () => {
    const failure = await feed
      .followWorkQueue({
        url,
        token: () => tokenFor(STAFF),
        me: 'not-a-user-id',
        onChange: () => {},
        signal: new AbortController().signal,
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(feed.FeedError);
    expect((failure as feed.FeedError).code).toBe('BAD_USER_INPUT');
  });
});
