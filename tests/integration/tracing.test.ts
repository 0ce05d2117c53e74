import { randomBytes } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { stableUuid } from '../../src/db/seed.js';
import { hashMemberId } from '../../src/domain/member-id.js';
import { createSeededTestDatabase, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { firstCaseId, type TestDatabase } from '../helpers/db.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { CHANGES, CREATE_TASK, tokenFor } from '../helpers/realtime.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { type SseSubscription, subscribeSse } from '../helpers/sse.js';

// Tracing (docs/operations.md, "Tracing"): the server, in a process of its own as deployed
// (OpenTelemetry's context is process-wide), sends its spans to a real OTLP/HTTP receiver on
// 127.0.0.1. One request's spans: the caller's trace, the request under the caller's span, the
// operation under the request, every statement under the operation; no token, member id or
// variable value anywhere in what was exported. Off, not one module of OpenTelemetry loads.

const ADMIN = 'admin@test-clinic.com';
const TENANT = stableUuid('tenant', 'test-clinic');
const SERVER_SPAN = 2;
const CONSUMER_SPAN = 5;
/** Values a request sends that must reach no span: recognisable wherever they would show up. */
const MEMBER_ID = 'M-TRACE-CANARY-80417';
const PAYER = 'Payer Canary 55271';
const PROCEDURE = 'Procedure canary 31337';

let db: TestDatabase;
let receiver: OtlpReceiver;
let server: ServerProcess;
let caseId: string;
const clients: Client[] = [];
const streams: SseSubscription[] = [];

beforeAll(async () => {
  db = await createSeededTestDatabase();
  caseId = await firstCaseId(db.ownerUrl, TENANT);
  receiver = await startOtlpReceiver();
  // Exported within 50 ms of their end rather than 5 s: the test waits for them.
  server = await startServerProcess(db.runtimeUrl, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
}, 60_000);

afterAll(async () => {
  for (const stream of streams) stream.close();
  for (const client of clients) await client.dispose();
  await server?.stop();
  await receiver?.close();
  await db?.drop();
});

/** A caller's span: a W3C `traceparent` header naming it (sampled unless said otherwise). */
function callerSpan(sampled = true) {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

async function postTraced(
  url: string,
  traceparent: string | undefined,
  body: { query: string; variables?: Record<string, unknown> },
) {
  const token = await tokenFor(ADMIN);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(traceparent ? { traceparent } : {}),
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: Record<string, unknown> },
    token,
  };
}

/** Whether `span` is `ancestor` or lies beneath it, in `spans` (one trace's). */
function descendsFrom(span: ReceivedSpan, ancestor: ReceivedSpan, spans: ReceivedSpan[]): boolean {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  for (
    let at: ReceivedSpan | undefined = span;
    at;
    at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined
  ) {
    if (at.spanId === ancestor.spanId) return true;
  }
  return false;
}

const isStatement = (span: ReceivedSpan) => span.attributes['db.system.name'] === 'postgresql';
const requestSpan = (spans: ReceivedSpan[]) => spans.find((span) => span.kind === SERVER_SPAN);
/** The request line of the request whose trace is `traceId`. */
const requestLine = (traceId: string) =>
  server.waitForLine((line) => line.msg === 'request' && line.traceId === traceId);

test("a mutation: the caller's trace, request → operation → every statement, and no value of the request anywhere", async () => {
  const caller = callerSpan();
  const variables = {
    input: {
      memberId: MEMBER_ID,
      payer: PAYER,
      confidence: { overall: 0.9 },
      extractedData: { procedure: PROCEDURE },
    },
  };
  const { status, body, token } = await postTraced(server.url, caller.traceparent, {
    query: /* GraphQL */ `mutation CreateCase($input: CreateCaseInput!) {
      createCase(input: $input) { __typename ... on CreateCasePayload { case { id payer memberIdHash } } }
    }`,
    variables,
  });
  expect(status).toBe(200);
  expect(body.data?.createCase).toMatchObject({ __typename: 'CreateCasePayload' });
  const spans = await receiver.waitForTrace(caller.traceId, (all) => requestSpan(all) !== undefined);

  const request = requestSpan(spans) as ReceivedSpan;
  expect(request).toMatchObject({
    parentSpanId: caller.spanId,
    name: 'POST /graphql',
    attributes: { 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 },
    resource: { 'service.name': 'prior-auth-api' },
  });
  const operation = spans.find((span) => span.parentSpanId === request.spanId);
  expect(operation).toMatchObject({
    name: 'mutation CreateCase',
    attributes: { 'graphql.operation.type': 'mutation', 'graphql.operation.name': 'CreateCase' },
  });
  const statements = spans.filter(isStatement);
  // As many as the request's log line counts, each beneath the operation; BEGIN's literals gone.
  const line = await requestLine(caller.traceId);
  expect(line).toMatchObject({ operationName: 'CreateCase', status: 200 });
  expect(statements).toHaveLength(line?.statementCount as number);
  for (const statement of statements)
    expect(descendsFrom(statement, operation as ReceivedSpan, spans)).toBe(true);
  expect(statements.map((statement) => statement.name)).toEqual(
    expect.arrayContaining(['BEGIN', expect.stringMatching(/^(INSERT|WITH) /), 'COMMIT']),
  );
  expect(statements.find((statement) => statement.name === 'BEGIN')?.attributes['db.query.text']).toMatch(
    /begin_request\(\?::uuid, \?, \?\)$/,
  );

  const exported = receiver.bodies.join('\n');
  const memberIdHash = hashMemberId(TEST_MEMBER_ID_HASH_KEY, TENANT, MEMBER_ID);
  for (const value of [token, MEMBER_ID, memberIdHash, PAYER, PROCEDURE, TENANT]) {
    expect(exported).not.toContain(value);
  }
});

test('queries, compiled to one statement or run by the resolvers through Prisma: their statements lie under the operation', async () => {
  const compiled = callerSpan();
  const resolved = callerSpan();
  const cases = await postTraced(server.url, compiled.traceparent, {
    query: '{ cases(first: 2) { edges { node { id payer } } } }',
  });
  // `node` is left to the resolvers (tests/unit/compiled-fallbacks.test.ts): Prisma reads the case.
  const node = await postTraced(server.url, resolved.traceparent, {
    query: 'query NodeRefetch($id: ID!) { node(id: $id) { id ... on Case { payer } } }',
    variables: { id: caseId },
  });
  expect([cases.status, node.status]).toEqual([200, 200]);
  expect(node.body.data?.node).toMatchObject({ id: caseId });

  const compiledSpans = await receiver.waitForTrace(
    compiled.traceId,
    (all) => requestSpan(all) !== undefined,
  );
  const compiledOperation = compiledSpans.find((span) => span.name === 'query') as ReceivedSpan;
  const [select] = compiledSpans.filter(isStatement).filter((span) => span.name.startsWith('SELECT'));
  expect(select?.parentSpanId).toBe(compiledOperation.spanId);
  // Field names and aliases are the client's text, written into the SQL as literals: gone too.
  expect(select?.attributes['db.query.text']).toMatch(/^SELECT json_build_object\(\?::text, /);

  const resolvedSpans = await receiver.waitForTrace(
    resolved.traceId,
    (all) => requestSpan(all) !== undefined,
  );
  const operation = resolvedSpans.find((span) => span.name === 'query NodeRefetch') as ReceivedSpan;
  const prisma = resolvedSpans.find((span) => span.name === 'prisma:client:operation');
  expect(prisma).toMatchObject({
    scope: 'prisma',
    parentSpanId: operation.spanId,
    attributes: { model: 'Case', method: 'findUnique' },
  });
  expect(resolvedSpans.filter((span) => span.parentSpanId === prisma?.spanId && isStatement(span))).toEqual([
    expect.objectContaining({ name: 'SELECT cases' }),
  ]);
  for (const statement of resolvedSpans.filter(isStatement)) {
    expect(descendsFrom(statement, operation, resolvedSpans)).toBe(true);
  }
  expect(receiver.bodies.join('\n')).not.toContain(caseId);
});

test('a subscription delivery: a trace of its own, linked to the subscription, its statements beneath it', async () => {
  const subscriber = callerSpan();
  const stream = await subscribeSse(
    server.url,
    await tokenFor(ADMIN),
    `subscription WorkQueueChanges${CHANGES.slice('subscription '.length)}`,
    { entities: ['TASK'] },
    { traceparent: subscriber.traceparent },
  );
  streams.push(stream);
  expect(stream.status).toBe(200);
  const opened = await receiver.waitForTrace(subscriber.traceId, (all) => requestSpan(all) !== undefined);
  const subscription = opened.find((span) => span.name === 'subscription WorkQueueChanges') as ReceivedSpan;
  expect(subscription.attributes).toMatchObject({ 'graphql.operation.type': 'subscription' });

  const writer = callerSpan();
  await postTraced(server.url, writer.traceparent, {
    query: CREATE_TASK,
    variables: { input: { caseId, title: 'traced' } },
  });
  await stream.waitFor(1);
  const all = await receiver.waitFor((spans) =>
    spans.some(
      (span) => span.name === 'subscription delivery' && span.links[0]?.spanId === subscription.spanId,
    ),
  );
  const delivery = all.find((span) => span.name === 'subscription delivery') as ReceivedSpan;
  expect(delivery).toMatchObject({
    kind: CONSUMER_SPAN,
    links: [{ traceId: subscriber.traceId, spanId: subscription.spanId }],
    attributes: { 'graphql.operation.type': 'subscription', 'graphql.operation.name': 'WorkQueueChanges' },
  });
  expect(delivery.parentSpanId).toBeUndefined();
  expect([subscriber.traceId, writer.traceId]).not.toContain(delivery.traceId);
  const deliverySpans = await receiver.waitForTrace(delivery.traceId, (spans) => spans.some(isStatement));
  const statements = deliverySpans.filter(isStatement);
  expect(statements.map((statement) => statement.name)).toEqual(expect.arrayContaining(['BEGIN', 'COMMIT']));
  for (const statement of statements) expect(descendsFrom(statement, delivery, deliverySpans)).toBe(true);
});

test('an operation over graphql-ws, forwarded through yoga, gets the same spans', async () => {
  const token = await tokenFor(ADMIN);
  const client = createClient({
    url: server.url.replace(/^http/, 'ws'),
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    webSocketImpl: WebSocket,
  });
  clients.push(client);
  const result = await new Promise((resolve, reject) => {
    client.subscribe(
      { query: 'query Me { me { email } }' },
      { next: resolve, error: reject, complete: () => {} },
    );
  });
  expect(result).toMatchObject({ data: { me: { email: ADMIN } } });
  const spans = await receiver.waitFor((all) => all.some((span) => span.name === 'query Me'));
  const operation = spans.find((span) => span.name === 'query Me') as ReceivedSpan;
  const trace = spans.filter((span) => span.traceId === operation.traceId);
  expect(trace.find((span) => span.spanId === operation.parentSpanId)?.kind).toBe(SERVER_SPAN);
  expect(trace.filter(isStatement).length).toBeGreaterThan(0);
  expect(await requestLine(operation.traceId)).toMatchObject({ operationName: 'Me' });
});

test("a caller's unsampled trace is not recorded, and its id is still in the request's log line", async () => {
  const unsampled = callerSpan(false);
  const sampled = callerSpan();
  expect((await postTraced(server.url, unsampled.traceparent, { query: '{ me { email } }' })).status).toBe(
    200,
  );
  expect((await postTraced(server.url, sampled.traceparent, { query: '{ me { email } }' })).status).toBe(200);
  // Spans leave in the order they end: once the later request's are in, the earlier's would be.
  await receiver.waitForTrace(sampled.traceId, (all) => requestSpan(all) !== undefined);
  expect(receiver.spans.filter((span) => span.traceId === unsampled.traceId)).toEqual([]);
  expect(await requestLine(unsampled.traceId)).toMatchObject({ status: 200, operationType: 'query' });
});

test('OTEL_TRACES_SAMPLER: parentbased_traceidratio at 0 records only the traces a caller sampled; OTEL_SERVICE_NAME names the service', async () => {
  const ratio = await startServerProcess(db.runtimeUrl, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_SERVICE_NAME: 'prior-auth-api-sampled',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0',
  });
  try {
    const ofService = () =>
      receiver.spans.filter((span) => span.resource['service.name'] === 'prior-auth-api-sampled');
    expect((await postTraced(ratio.url, undefined, { query: '{ me { email } }' })).status).toBe(200);
    const caller = callerSpan();
    expect((await postTraced(ratio.url, caller.traceparent, { query: '{ me { email } }' })).status).toBe(200);
    await receiver.waitForTrace(caller.traceId, (all) => requestSpan(all) !== undefined);
    expect(new Set(ofService().map((span) => span.traceId))).toEqual(new Set([caller.traceId]));
  } finally {
    await ratio.stop();
  }
});

test('a collector that cannot be reached fails no request: the server warns that spans were not sent', async () => {
  // A port nothing listens on (the receiver's, once closed), and a short export deadline.
  const gone = await startOtlpReceiver();
  await gone.close();
  const unreachable = await startServerProcess(db.runtimeUrl, {
    OTEL_EXPORTER_OTLP_ENDPOINT: gone.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_EXPORTER_OTLP_TIMEOUT: '500',
  });
  try {
    for (let i = 0; i < 3; i++) {
      expect((await postTraced(unreachable.url, undefined, { query: '{ me { email } }' })).status).toBe(200);
    }
    const warning = await unreachable.waitForLine((line) => line.msg === 'tracing: spans were not sent');
    expect(warning).toMatchObject({
      level: 40,
      component: 'tracing',
      cause: expect.stringContaining('ECONNREFUSED'),
    });
    // Not tagged with the trace of whichever request's spans happened to fail.
    expect(warning).not.toHaveProperty('traceId');
  } finally {
    await unreachable.stop();
  }
});

test('off (no endpoint): the server runs with every module of OpenTelemetry but its no-op API unloadable', async () => {
  // The guard itself: with an endpoint, the start fails on the first module it refuses.
  const refuse = ['--import', './tests/helpers/refuse-tracing-modules.mjs'];
  await expect(
    startServerProcess(db.runtimeUrl, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, refuse),
  ).rejects.toThrow(/refused by refuse-tracing-modules.mjs: @(opentelemetry|prisma\/instrumentation)/);
  const off = await startServerProcess(db.runtimeUrl, {}, refuse);
  try {
    const { status, body } = await postTraced(off.url, callerSpan().traceparent, {
      query: '{ me { email } }',
    });
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: { email: ADMIN } });
    expect(await off.waitForLine((line) => line.msg === 'request')).not.toHaveProperty('traceId');
  } finally {
    await off.stop();
  }
});
