import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { tokenFor } from '../helpers/realtime.js';
import { type SseSubscription, subscribeSse } from '../helpers/sse.js';

// Review: what one user's replays cost the others. A replay (`after`) whose filter matches nothing
// reads the tenant's whole history, a page of 100 after another, without waiting for its client;
// MAX_SUBSCRIPTIONS_PER_USER of them keep as many pooled connections busy.

const STAFF = 'staff@test-clinic.com';
// A measurement, not a check (slow: it writes HISTORY events first): REVIEW_HISTORY=200000 runs it.
const HISTORY = Number(process.env.REVIEW_HISTORY ?? 0);

let app: TestApp;
let url: string;
beforeAll(async () => {
  if (!HISTORY) return;
  app = await startTestApp({ env: { DB_POOL_MAX: '10', MAX_SUBSCRIPTIONS_PER_USER: '10' } });
  url = `${await listenLocally(app)}/graphql`;
  // A tenant with a long history: HISTORY task changes.
  const owner = new pg.Client({ connectionString: app.db.ownerUrl });
  await owner.connect();
  // In transactions of 1,000: the trigger updates the tenant's cursor row once per event, and a
  // transaction's own versions of that row make each update slower than the last.
  for (let done = 0; done < HISTORY; done += 1_000) {
    await owner.query('BEGIN');
    await owner.query(
      "SELECT set_config('app.tenant_id', $1, true), set_config('app.change_notify', 'off', true)",
      [stableUuid('tenant', 'test-clinic')],
    );
    await owner.query(
      `INSERT INTO events (id, tenant_id, event_type, entity_type, entity_id, action, metadata)
       SELECT gen_random_uuid(), $1, 'task.updated', 'task', gen_random_uuid(), 'update', '{}'
       FROM generate_series(1, 1000)`,
      [stableUuid('tenant', 'test-clinic')],
    );
    await owner.query('COMMIT');
  }
  await owner.end();
}, 300_000);
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

async function latencies(n: number): Promise<number[]> {
  const token = await tokenFor('admin@test-clinic.com');
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(response.status).toBe(200);
    await response.json();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

test.skipIf(!HISTORY)(
  'ten replays of a long history with a filter that matches nothing, by one STAFF user',
  async () => {
    const quiet = await latencies(30);
    const token = await tokenFor(STAFF);
    const nowhere = Buffer.from(`Case:${crypto.randomUUID()}`).toString('base64');
    const replays: SseSubscription[] = [];
    const started = performance.now();
    for (let i = 0; i < 10; i++) {
      replays.push(
        await subscribeSse(
          url,
          token,
          'subscription ($after: String, $caseId: ID) { changes(after: $after, caseId: $caseId) { cursor } }',
          {
            after: Buffer.from('change:0').toString('base64url'),
            caseId: nowhere,
          },
        ),
      );
    }
    const busy = await latencies(30);
    const statements = app.statements.length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const perSecond = app.statements.length - statements;
    for (const replay of replays) replay.close();
    const p = (times: number[], q: number) => Math.round(times[Math.floor(times.length * q)] as number);
    console.log(
      JSON.stringify({
        history: HISTORY,
        quietMs: { p50: p(quiet, 0.5), p90: p(quiet, 0.9) },
        duringReplaysMs: { p50: p(busy, 0.5), p90: p(busy, 0.9) },
        replayStatementsPerSecond: perSecond,
        elapsedMs: Math.round(performance.now() - started),
      }),
    );
  },
  300_000,
);
