import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { getMetricsFromIterator, type PromMetrics } from 'prom2javascript';
import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { exampleTabs } from '../../src/graphiql.js';
import { knownOperationNames, OTHER_OPERATION } from '../../src/plugins/metrics.js';
import {
  CaseListDocument,
  CreateTaskDocument,
  DashboardDocument,
  MeDocument,
  WorkQueueChangesDocument,
} from '../generated/graphql/graphql.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { startServerProcess } from '../helpers/server-process.js';
import { subscribeSse } from '../helpers/sse.js';

// /metrics (src/plugins/metrics.ts, docs/operations.md "Metrics"): requests go through HTTP on a
// real socket, the scrape is parsed by a Prometheus text-format parser (a port of prom2json), and
// each check is the difference between two scrapes.

const METRICS_TOKEN = 'scraper-secret-0f3b9c1d2e7a';
const ADMIN = 'admin@test-clinic.com';
/** A variable's value and an operation's name that must never reach a label. */
const VARIABLE_VALUE = 'variable-value-7d3f';
const SECRET_NAME = 'Patient_Jane_Doe_1984';

let app: TestApp;
let base: string;
let adminToken: string;

beforeAll(async () => {
  app = await startTestApp({ env: { METRICS_TOKEN } });
  base = await listenLocally(app);
  adminToken = await app.token(ADMIN);
});
afterAll(async () => {
  app?.http.closeAllConnections();
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

interface Scrape {
  text: string;
  metrics: PromMetrics;
}

async function scrape(
  url = `${base}/metrics`,
  authorization: string | null = `Bearer ${METRICS_TOKEN}`,
): Promise<Scrape> {
  const response = await fetch(url, { headers: authorization ? { authorization } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  // prom2javascript throws on any line it cannot read, NaN included, which the format allows
  // (Prometheus reads values with Go's ParseFloat) and prom-client writes as `Nan` for the event
  // loop's lag when no sample came since the last scrape (its resolution is 10 ms): only those
  // may be NaN, and they are set aside.
  const lines = text.split('\n');
  for (const line of lines.filter((each) => each.endsWith(' Nan'))) {
    expect(line).toMatch(/^nodejs_eventloop_lag_\w+ Nan$/);
  }
  const numeric = lines.filter((line) => !line.endsWith(' Nan'));
  return { text, metrics: await getMetricsFromIterator(numeric[Symbol.iterator]()) };
}

/** Every series of a metric: its labels, and its value (a histogram's: its count and sum). */
function series(
  scraped: Scrape,
  name: string,
): { labels: Record<string, string>; value: number; sum: number }[] {
  const metric = scraped.metrics[name];
  if (!metric) throw new Error(`no metric ${name} in the scrape`);
  return metric.data.map((sample) => ({
    labels: sample.labels,
    value: 'value' in sample ? sample.value : (sample.count ?? 0),
    sum: 'sum' in sample ? (sample.sum ?? 0) : 0,
  }));
}

/** A counter's or gauge's value, or a histogram's count (or sum), over the series with `labels`. */
function total(
  scraped: Scrape,
  name: string,
  labels: Record<string, string> = {},
  part: 'value' | 'sum' = 'value',
) {
  return series(scraped, name)
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample[part], 0);
}

function moved(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) {
  return total(after, name, labels) - total(before, name, labels);
}

async function post(body: Record<string, unknown>, token: string | null = adminToken) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { extensions?: { code?: string } }[];
  };
  return { status: response.status, ...json };
}

/** Waits for a condition the server reaches on its own (a stream's end), polling. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never happened: ${what}`);
}

async function firstCaseId(): Promise<string> {
  const list = await post({ query: '{ cases(first: 1) { edges { node { id } } } }' });
  return (list.data?.cases as { edges: { node: { id: string } }[] } | undefined)?.edges[0]?.node.id as string;
}

test('a compiled query, an interpreted one and a mutation: requests, phases, engine and statements', async () => {
  const caseId = await firstCaseId();
  const before = await scrape();
  app.statements.length = 0;
  expect((await post({ query: String(CaseListDocument), variables: { first: 5 } })).errors).toBeUndefined();
  const caseListStatements = app.statements.length;
  expect((await post({ query: String(DashboardDocument) })).errors).toBeUndefined();
  const created = await post({
    query: String(CreateTaskDocument),
    variables: { input: { caseId, title: VARIABLE_VALUE, priority: 'HIGH' } },
  });
  expect((created.data?.createTask as { __typename: string } | undefined)?.__typename).toBe(
    'CreateTaskPayload',
  );
  const after = await scrape();

  const caseList = { operation_name: 'CaseList', operation_type: 'query' };
  const requests = 'graphql_http_request_duration_seconds';
  expect(moved(before, after, requests, { ...caseList, status_code: '200' })).toBe(1);
  expect(moved(before, after, 'graphql_envelop_phase_parse', caseList)).toBe(1);
  expect(moved(before, after, 'graphql_envelop_phase_validate', caseList)).toBe(1);
  expect(moved(before, after, 'graphql_envelop_phase_execute', { ...caseList, engine: 'compiled' })).toBe(1);
  expect(moved(before, after, 'graphql_envelop_phase_execute', { ...caseList, engine: 'resolvers' })).toBe(0);
  // The histogram of statements per request: one more request, with the statements it sent.
  expect(moved(before, after, 'graphql_sql_statements', caseList)).toBe(1);
  expect(caseListStatements).toBeGreaterThan(0);
  expect(
    total(after, 'graphql_sql_statements', caseList, 'sum') -
      total(before, 'graphql_sql_statements', caseList, 'sum'),
  ).toBe(caseListStatements);

  const dashboard = { operation_name: 'Dashboard', operation_type: 'query' };
  expect(moved(before, after, requests, { ...dashboard, status_code: '200' })).toBe(1);
  expect(moved(before, after, 'graphql_envelop_phase_execute', { ...dashboard, engine: 'resolvers' })).toBe(
    1,
  );
  expect(
    moved(before, after, 'graphql_compiled_fallbacks_total', {
      operation_name: 'Dashboard',
      cause: 'untranslatable',
    }),
  ).toBe(1);

  // The mutation by its resolvers, its payload's task read by a compiled statement.
  const createTask = { operation_name: 'CreateTask', operation_type: 'mutation' };
  expect(moved(before, after, requests, { ...createTask, status_code: '200' })).toBe(1);
  expect(
    moved(before, after, 'graphql_envelop_phase_execute', { ...createTask, engine: 'compiled_payload' }),
  ).toBe(1);
  expect(moved(before, after, 'graphql_sql_statements', createTask)).toBe(1);
  expect(moved(before, after, 'graphql_errors_total')).toBe(0);

  // Read at the scrape: the request pool (5 connections in tests/helpers/app.ts), the process.
  expect(total(after, 'db_pool_max_connections')).toBe(5);
  expect(total(after, 'db_pool_connections')).toBeGreaterThanOrEqual(1);
  expect(total(after, 'db_pool_idle_connections')).toBeLessThanOrEqual(total(after, 'db_pool_connections'));
  expect(total(after, 'db_pool_waiting_requests')).toBe(0);
  expect(total(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  expect(after.metrics.nodejs_eventloop_lag_seconds?.type).toBe('gauge');
});

test('errors by the code clients see, whatever refused the request, each request counted with its status', async () => {
  const before = await scrape();
  // The resolvers' own check refuses the page size (the compiler leaves it to them).
  const refused = await post({ query: String(CaseListDocument), variables: { first: -1 } });
  expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  // Refused before the body is read: no operation is known.
  const anonymous = await post({ query: String(CaseListDocument) }, null);
  expect(anonymous.status).toBe(401);
  // Not a document at all.
  expect((await post({ query: '{ cases(' })).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  const after = await scrape();

  const caseList = { operation_name: 'CaseList', operation_type: 'query' };
  expect(moved(before, after, 'graphql_errors_total', { ...caseList, code: 'BAD_USER_INPUT' })).toBe(1);
  expect(
    moved(before, after, 'graphql_compiled_fallbacks_total', {
      operation_name: 'CaseList',
      cause: 'arguments',
    }),
  ).toBe(1);
  expect(moved(before, after, 'graphql_http_request_duration_seconds', caseList)).toBe(1);
  const unparsed = { operation_name: OTHER_OPERATION, operation_type: 'unknown' };
  expect(moved(before, after, 'graphql_errors_total', { ...unparsed, code: 'UNAUTHENTICATED' })).toBe(1);
  expect(moved(before, after, 'graphql_errors_total', { ...unparsed, code: 'GRAPHQL_PARSE_FAILED' })).toBe(1);
  expect(
    moved(before, after, 'graphql_http_request_duration_seconds', { ...unparsed, status_code: '401' }),
  ).toBe(1);
  expect(moved(before, after, 'graphql_errors_total')).toBe(3);
});

test('an unknown operation is labelled other; no label holds a name, token or value of a request', async () => {
  const before = await scrape();
  expect((await post({ query: `query ${SECRET_NAME} { me { id } }` })).errors).toBeUndefined();
  // A name the document does not have: no operation runs, none is named.
  await post({ query: String(CaseListDocument), operationName: `${SECRET_NAME}_2` });
  const after = await scrape();
  expect(
    moved(before, after, 'graphql_envelop_phase_execute', {
      operation_name: OTHER_OPERATION,
      operation_type: 'query',
    }),
  ).toBe(1);
  expect(
    moved(before, after, 'graphql_http_request_duration_seconds', { operation_name: OTHER_OPERATION }),
  ).toBe(2);

  const known = knownOperationNames(exampleTabs().map((tab) => tab.query));
  expect(known.has('CaseList') && known.has('WorkQueueChanges')).toBe(true);
  for (const secret of [SECRET_NAME, VARIABLE_VALUE, adminToken, METRICS_TOKEN, 'Bearer']) {
    expect(after.text).not.toContain(secret);
  }
  for (const name of Object.keys(after.metrics)) {
    for (const sample of series(after, name)) {
      const { operation_name: name, operation_type: type, code } = sample.labels;
      if (name !== undefined) expect([...known, OTHER_OPERATION]).toContain(name);
      if (type !== undefined) expect(['query', 'mutation', 'subscription', 'unknown']).toContain(type);
      if (code !== undefined) expect(code).toMatch(/^([A-Z_]+|none)$/);
    }
  }
});

test("a trusted document's operation is a known name too (TRUSTED_DOCUMENTS)", async () => {
  const text = 'query OlderClientMe { me { id } }';
  const id = createHash('sha256').update(text).digest('hex');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'metrics-manifest-'));
  const manifest = path.join(dir, 'older-client.json');
  await writeFile(manifest, JSON.stringify({ [id]: text }));
  const withManifest = await startTestApp({ env: { METRICS_TOKEN, TRUSTED_DOCUMENTS: manifest } });
  try {
    const origin = await listenLocally(withManifest);
    const before = await scrape(`${origin}/metrics`);
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ documentId: `sha256:${id}` }),
    });
    expect(response.status).toBe(200);
    await response.text();
    const after = await scrape(`${origin}/metrics`);
    expect(
      moved(before, after, 'graphql_http_request_duration_seconds', { operation_name: 'OlderClientMe' }),
    ).toBe(1);
  } finally {
    withManifest.http.closeAllConnections();
    await new Promise((resolve) => withManifest.http.close(resolve));
    await withManifest.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('subscriptions over SSE and over graphql-ws are requests, open while they last', async () => {
  const me = ((await post({ query: String(MeDocument) })).data?.me as { id: string } | undefined)?.id;
  const caseId = await firstCaseId();
  const before = await scrape();
  const query = String(WorkQueueChangesDocument);
  const sse = await subscribeSse(`${base}/graphql`, adminToken, query, { me });
  expect(sse.status).toBe(200);
  const ws = createClient({
    url: `${base.replace('http', 'ws')}/graphql`,
    connectionParams: { authorization: `Bearer ${adminToken}` },
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  const wsResults: unknown[] = [];
  const unsubscribe = ws.subscribe(
    { query, variables: { me } },
    { next: (result) => wsResults.push(result), error: () => {}, complete: () => {} },
  );
  await until(
    async () => total(await scrape(), 'graphql_subscriptions_open') === 2,
    'both subscriptions open',
  );
  // A change of a task assigned to the viewer reaches both.
  await post({
    query: String(CreateTaskDocument),
    variables: { input: { caseId, title: 'metrics', assigneeId: me } },
  });
  await sse.waitFor(1);
  await until(async () => wsResults.length > 0, 'the graphql-ws subscription delivered');
  const during = await scrape();
  const subscription = { operation_name: 'WorkQueueChanges', operation_type: 'subscription' };
  expect(
    moved(before, during, 'graphql_http_request_duration_seconds', { ...subscription, status_code: '200' }),
  ).toBe(2);
  expect(moved(before, during, 'graphql_sql_statements', subscription)).toBe(2);
  expect(moved(before, during, 'graphql_errors_total')).toBe(0);

  sse.close();
  unsubscribe();
  await ws.dispose();
  await until(
    async () => total(await scrape(), 'graphql_subscriptions_open') === 0,
    'both subscriptions closed',
  );
});

test('/metrics needs METRICS_TOKEN as a bearer token, a user’s JWT is not one; GraphQL never sees it', async () => {
  for (const authorization of [
    null,
    'Bearer wrong-token-of-some-length',
    `Bearer ${adminToken}`,
    METRICS_TOKEN,
  ]) {
    const response = await fetch(`${base}/metrics`, { headers: authorization ? { authorization } : {} });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await response.text()).not.toContain('metrics_');
  }
  const post = await fetch(`${base}/metrics`, {
    method: 'POST',
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(post.status).toBe(405);
  // The scheme is case-insensitive (RFC 9110).
  await scrape(`${base}/metrics`, `bearer ${METRICS_TOKEN}`);
});

test('with neither METRICS_TOKEN nor METRICS_PORT, /metrics is 404 and nothing is collected', async () => {
  const plugins = new Set<string>();
  const observePlugin = (name: string, plugin: object) => {
    plugins.add(name);
    return plugin;
  };
  const plain = await startTestApp({ seed: false, observePlugin });
  try {
    const response = await plain.fetch('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(404);
    // The metrics plugin is not in the pipeline at all.
    expect(plugins.has('executor')).toBe(true);
    expect(plugins.has('metrics')).toBe(false);
  } finally {
    await plain.close();
  }
});

test('METRICS_PORT: its own listener on HOST, /metrics only and no token; the server’s port has none; closed at shutdown', async () => {
  const server = await startServerProcess(app.db.runtimeUrl, { METRICS_PORT: '0' });
  try {
    const ready = server.lines.find((line) => line.msg === 'ready') as { metricsUrl: string };
    expect(ready.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const origin = new URL(server.url).origin;
    expect((await fetch(`${origin}/metrics`)).status).toBe(404);
    await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query: String(MeDocument) }),
    });
    const scraped = await scrape(ready.metricsUrl, null);
    expect(
      total(scraped, 'graphql_http_request_duration_seconds', { operation_name: 'Me', status_code: '200' }),
    ).toBe(1);
    expect((await fetch(ready.metricsUrl.replace('/metrics', '/graphql'))).status).toBe(404);
    await server.stop();
    expect((await server.exited).code).toBe(0);
    expect(server.lines.some((line) => line.msg === 'stopped')).toBe(true);
    await expect(fetch(ready.metricsUrl)).rejects.toThrow();
  } finally {
    server.kill();
  }
}, 60_000);
