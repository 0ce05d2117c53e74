import { afterAll, beforeAll, expect, test } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { hostileRequests } from '../hostile/requests.js';
import { alarmingLines, databaseFingerprint, roleTokens, sendAll, type Tokens } from '../hostile/run.js';

// The mutations of the hostile table (tests/hostile): each refused with its status and code (a
// ValidationError in the result union, or BAD_USER_INPUT, FORBIDDEN for STAFF where the action is
// not theirs), and the database unchanged after each one: no partial row, no audit or event row.

const MUTATIONS = hostileRequests(schema).filter((request) => request.mutation);

const lines: Record<string, unknown>[] = [];
let app: TestApp;
let tokens: Tokens;
beforeAll(async () => {
  app = await startTestApp({ logStream: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  tokens = await roleTokens(app);
});
afterAll(() => app?.close());

test('every hostile mutation is refused and writes nothing', async () => {
  expect(MUTATIONS.length).toBeGreaterThanOrEqual(100);
  const before = await databaseFingerprint(app);
  const failures = await sendAll(app.fetch, tokens, MUTATIONS, async (request) =>
    (await databaseFingerprint(app)) === before ? undefined : `${request.name}: the database changed`,
  );
  expect(failures).toEqual([]);
}, 120_000);

test('afterwards the server is healthy, a mutation works, and no unexpected error was logged', async () => {
  expect((await app.fetch('/healthz')).status).toBe(200);
  const res = await app.gql<{ createRuleset: { __typename: string } }>(
    `mutation { createRuleset(input: { payer: "Healthy", procedure: "99213",
       rules: { requirements: [], documentation: [], typicalTurnaround: "1 day" } }) { __typename } }`,
  );
  expect(res.body.data?.createRuleset.__typename).toBe('CreateRulesetPayload');
  expect(alarmingLines(lines)).toEqual([]);
});
