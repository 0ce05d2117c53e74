import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { documentId } from '../../docs/clients/trusted-documents.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase } from '../../src/db/seed.js';
import { CreateTaskDocument, MeDocument, WorkQueueChangesDocument } from '../generated/graphql/graphql.js';
import { listenLocally, startTestApp, TEST_MEMBER_ID_HASH_KEY, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { tokenFor } from '../helpers/realtime.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { subscribeSse } from '../helpers/sse.js';

// Review of issue 15 (trusted documents, metrics, realtime's Accept check) as an attacker and an
// operator would try it: hostile request shapes, label growth, refusals that leave nothing behind.

const ADMIN = 'admin@test-clinic.com';
const MANIFEST = 'tests/generated/graphql/persisted-documents.json';
const METRICS_TOKEN = 'review-scraper-secret-5b1e0c';

let app: TestApp;
let token: string;
/** The admin's User id, for WorkQueueChanges' `$me`. */
let me: string;
beforeAll(async () => {
  app = await startTestApp({
    env: { TRUSTED_DOCUMENTS: MANIFEST, TRUSTED_DOCUMENTS_ONLY: 'true', METRICS_TOKEN },
  });
  token = await app.token(ADMIN);
  me = JSON.parse((await post({ documentId: documentId(MeDocument) })).text).data.me.id;
});
afterAll(async () => {
  app?.http.closeAllConnections();
  if (app?.http.listening) await new Promise((resolve) => app.http.close(resolve));
  await app?.close();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await app.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

const codesOf = (text: string): unknown[] => {
  try {
    return (JSON.parse(text).errors ?? []).map(
      (e: { extensions?: { code?: unknown } }) => e.extensions?.code,
    );
  } catch {
    return [`<not JSON: ${text.slice(0, 80)}>`];
  }
};

async function waitUntil(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
}

describe('a subscription whose client accepts no stream yoga can write', () => {
  // Found by review: src/plugins/event-stream.ts (acceptsStream) counted multipart/mixed,
  // multipart/* and an SSE of any charset as streams, but yoga writes a subscription only as SSE,
  // in UTF-8: it answered a bare 406 (no body, no code) after the subscription opened. The response ends normally ('finish'),
  // so the request's signal never aborts and nothing ever reads the stream: it holds its place in
  // MAX_SUBSCRIPTIONS_PER_USER (and graphql_subscriptions_open) until the process stops. Apollo
  // Client sends `Accept: multipart/mixed;subscriptionSpec=1.0,application/json` for subscriptions
  // over HTTP: each attempt leaks one.
  let url: string;
  beforeAll(async () => {
    url = `${await listenLocally(app)}/graphql`;
  });

  test.each([
    ['multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'],
    ['multipart/*'],
    ['text/event-stream; charset=iso-8859-1'],
  ])('Accept: %s: 406 NOT_ACCEPTABLE, and no subscription left open', async (accept) => {
    const before = app.changeFeed.size;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, accept },
      body: JSON.stringify({ documentId: documentId(WorkQueueChangesDocument), variables: { me } }),
    });
    const text = await response.text();
    const leftOpen = !(await waitUntil(() => app.changeFeed.size === before));
    expect({ status: response.status, leftOpen }).toEqual({ status: 406, leftOpen: false });
    // The refusal's body is JSON when the client accepts JSON; else yoga can send no body at all.
    if (accept.includes('application/json')) expect(codesOf(text)).toEqual(['NOT_ACCEPTABLE']);
  });
  // What it costs the user: each leaked one counts against MAX_SUBSCRIPTIONS_PER_USER for good.
  test('after ten such attempts the user can still subscribe over SSE', async () => {
    const subscribe = (accept: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, accept },
        body: JSON.stringify({ documentId: documentId(WorkQueueChangesDocument), variables: { me } }),
      });
    for (let i = 0; i < 10; i++) await (await subscribe('multipart/mixed')).text();
    const sse = await subscribeSse(url, token, { documentId: documentId(WorkQueueChangesDocument) }, { me });
    try {
      // A subscription that opened writes a heartbeat at once; a refused one, its error.
      await waitUntil(() => sse.results.length > 0 || sse.heartbeats() > 0);
      const codes = sse.results.flatMap((result) => (result.errors ?? []).map((e) => e.extensions?.code));
      expect(codes).toEqual([]);
    } finally {
      sse.close();
    }
  });
});

describe('requests by id with hostile shapes: a 4xx with a code, never a 500', () => {
  const meId = documentId(MeDocument);
  const meHash = meId.slice('sha256:'.length);
  test.each<[string, unknown, number, string]>([
    ['documentId an array', { documentId: [meId] }, 400, 'PERSISTED_QUERY_NOT_FOUND'],
    ['documentId an object', { documentId: { id: meId } }, 400, 'PERSISTED_QUERY_NOT_FOUND'],
    ['documentId a number', { documentId: 42 }, 400, 'PERSISTED_QUERY_NOT_FOUND'],
    ['documentId huge', { documentId: `sha256:${'a'.repeat(200_000)}` }, 400, 'PERSISTED_QUERY_NOT_FOUND'],
    ['documentId upper-case hex', { documentId: meId.toUpperCase().replace('SHA256', 'sha256') }, 200, ''],
    ['both query and documentId', { query: '{ me { id } }', documentId: meId }, 400, 'PERSISTED_QUERY_ONLY'],
    [
      'an operationName the document lacks',
      { documentId: meId, operationName: 'Nope' },
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ],
    ['variables a string', { documentId: meId, variables: 'x' }, 400, 'BAD_REQUEST'],
    [
      'persistedQuery version 2',
      { extensions: { persistedQuery: { version: 2, sha256Hash: meHash } } },
      400,
      'BAD_REQUEST',
    ],
    [
      'persistedQuery hash a number',
      { extensions: { persistedQuery: { version: 1, sha256Hash: 1 } } },
      400,
      'BAD_REQUEST',
    ],
    ['persistedQuery a string', { extensions: { persistedQuery: meHash } }, 400, 'BAD_REQUEST'],
    ['a batch', [{ documentId: meId }], 400, 'BAD_REQUEST'],
  ])('%s', async (_kind, body, status, code) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    if (code) expect(codesOf(response.text)).toEqual([code]);
    expect(response.text).not.toContain('Unexpected error');
  });

  test('GET: a mutation by id stays 405; a subscription by id without a stream Accept is NOT_ACCEPTABLE', async () => {
    const get = async (params: Record<string, string>, accept = 'application/json') => {
      const response = await app.fetch(`/graphql?${new URLSearchParams(params)}`, {
        headers: { authorization: `Bearer ${token}`, accept },
      });
      return { status: response.status, text: await response.text() };
    };
    const before = app.changeFeed.size;
    const mutation = await get({ documentId: documentId(CreateTaskDocument), variables: '{"input":{}}' });
    expect(mutation.status).toBe(405);
    const subscription = await get({
      documentId: documentId(WorkQueueChangesDocument),
      variables: JSON.stringify({ me }),
    });
    expect([subscription.status, codesOf(subscription.text)]).toEqual([406, ['NOT_ACCEPTABLE']]);
    expect(await waitUntil(() => app.changeFeed.size === before)).toBe(true);
  });

  // Low: yoga's form parser keeps only the four standard parameters, and requestedDocumentId reads
  // the URL for GET only: the id sent is dropped. The client is told where an id is read from.
  test('a form body naming a documentId is told what is wrong with it, not that it lacks one', async () => {
    const response = await app.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
      body: new URLSearchParams({ documentId: meId }).toString(),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toContain('Must provide a document id');
    expect(text).toContain('a form-encoded body carries only query, variables, operationName and extensions');
  });

  // Low: Apollo's `persistedQuery` of a version other than 1, or with a hash that is no string, was
  // answered "Must provide a document id" as if none was sent.
  test.each([[{ version: 2, sha256Hash: 'x' }], [{ version: 1, sha256Hash: 1 }], ['a string']])(
    'extensions.persistedQuery %j is told the shape it must have',
    async (persistedQuery) => {
      const response = await post({ extensions: { persistedQuery } });
      expect(response.status).toBe(400);
      expect(response.text).toContain(
        '`extensions.persistedQuery` must be `{ \\"version\\": 1, \\"sha256Hash\\": \\"<hex>\\" }`',
      );
    },
  );
});

describe('/metrics: what a client sends creates no series', () => {
  async function seriesCount(): Promise<number> {
    const response = await app.fetch('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  }
  async function hostileRound(tag: string) {
    const requests: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `Op_${tag}_${i}`;
      requests.push(
        post({ documentId: documentId(MeDocument), operationName: name }),
        post({ query: `query ${name} { me { id } }` }),
        post({ documentId: `sha256:${tag}${i}` }),
        app.fetch(`/graphql_${tag}_${i}`, { headers: { authorization: `Bearer ${token}` } }),
        app.fetch('/graphql', {
          method: i % 2 ? 'PUT' : 'DELETE',
          headers: { authorization: `Bearer ${tag}` },
        }),
        app.fetch(`/metrics?${tag}=${i}`, { headers: { authorization: `Bearer ${tag}${i}` } }),
        post(`{"documentId": "${tag}`, { accept: `application/${tag}${i}` }),
      );
    }
    await Promise.all(requests);
  }

  test('two rounds of the same hostile kinds with other values: the second adds no series', async () => {
    await hostileRound('a');
    const after = await seriesCount();
    await hostileRound('b');
    expect(await seriesCount()).toBe(after);
  });
});

describe('METRICS_TOKEN as operators set it', () => {
  // A Kubernetes secret made from a file (`kubectl create secret generic --from-file`) keeps the
  // file's trailing newline in the variable; Prometheus trims its credentials_file. The token is
  // kept as given (src/config.ts: optionalString, no trim), and no Authorization header can carry
  // a newline: every scrape is 401, with nothing saying why.
  test('a trailing newline is refused at start or trimmed, not kept as part of the token', () => {
    let token: string | undefined;
    try {
      token = loadConfig({ METRICS_TOKEN: `${METRICS_TOKEN}\n` }).metrics.token;
    } catch {
      return; // refused with a startup error: fine
    }
    expect(token).toBe(METRICS_TOKEN);
  });
});

describe('tracing: span names a client chooses', () => {
  // src/tracing/operations.ts names the operation span `${type} ${name}` with any name the
  // document holds (TRUSTED_DOCUMENTS_ONLY off: the default without manifests). A client makes
  // one span name per request (random names), each up to MAX_DOCUMENT_BYTES (64 KB): unbounded
  // cardinality in Jaeger's/Tempo's operation index, where metrics are careful to use `other`.
  let db: TestDatabase;
  let receiver: OtlpReceiver;
  let server: ServerProcess;
  beforeAll(async () => {
    db = await createTestDatabase();
    const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
    await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
    await owner.$disconnect();
    receiver = await startOtlpReceiver();
    server = await startServerProcess(db.runtimeUrl, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await db?.drop();
  });

  test('an operation name of 60,000 characters does not become a span name', async () => {
    const name = `A${'Z'.repeat(60_000)}`;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(ADMIN)}` },
      body: JSON.stringify({ query: `query ${name} { me { id } }` }),
    });
    expect(response.status).toBe(200);
    const line = await server.waitForLine(
      (each) => each.msg === 'request' && typeof each.traceId === 'string',
    );
    const spans = await receiver.waitForTrace(String(line.traceId), (all) =>
      all.some((span) => span.attributes['graphql.operation.type'] === 'query'),
    );
    expect(Math.max(...spans.map((span) => span.name.length))).toBeLessThanOrEqual(1024);
  });
});
