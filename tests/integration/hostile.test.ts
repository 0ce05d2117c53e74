import { afterAll, beforeAll, expect, test } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ARGUMENT_REQUESTS, BODY_REQUESTS } from '../hostile/bodies.js';
import { hostileRequests } from '../hostile/requests.js';
import { alarmingLines, roleTokens, sendAll, type Tokens } from '../hostile/run.js';
import { inputCoordinates } from '../hostile/schema-walk.js';

// Every bad input a clear error (issue 10, item 5): the table of tests/hostile, queries and request
// bodies here (mutations: hostile-mutations.test.ts). Each request gets its HTTP status and error
// code, never "Unexpected error" or a 500, and the server stays healthy and quiet afterwards.

const TABLE = [...hostileRequests(schema), ...BODY_REQUESTS, ...ARGUMENT_REQUESTS];

const lines: Record<string, unknown>[] = [];
let app: TestApp;
let tokens: Tokens;
beforeAll(async () => {
  app = await startTestApp({ logStream: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  tokens = await roleTokens(app);
});
afterAll(() => app?.close());

test('the table covers every ID, UUID, DateTime, cursor, string and JSON input of the schema', () => {
  const covered = new Set(TABLE.map((request) => request.covers));
  const missing = inputCoordinates(schema)
    .map((c) => c.coordinate)
    .filter((coordinate) => !covered.has(coordinate));
  // A coordinate listed here is a new input without hostile requests: give an ID argument its type
  // in ID_TYPES, a string filter its limit in FILTER_MAX_LENGTH, a mutation its valid input.
  expect(missing).toEqual([]);
  expect(TABLE.length).toBeGreaterThanOrEqual(200);
  expect(new Set(TABLE.map((request) => request.name)).size).toBe(TABLE.length);
});

test('every hostile query and request body gets its status and code', async () => {
  const failures = await sendAll(
    app.fetch,
    tokens,
    TABLE.filter((request) => !request.mutation),
  );
  expect(failures).toEqual([]);
}, 120_000);

test('afterwards the server is healthy, answers a normal query, and logged no unexpected error', async () => {
  expect((await app.fetch('/healthz')).status).toBe(200);
  const res = await app.gql<{ cases: { totalCount: number } }>('{ cases(first: 1) { totalCount } }');
  expect(res.status).toBe(200);
  expect(res.body.data?.cases.totalCount).toBeGreaterThan(0);
  expect(alarmingLines(lines)).toEqual([]);
});
