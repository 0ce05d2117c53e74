import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

// MAX_TOKENS counts a string literal as one token and never sees comments: the document's size and
// its literals have limits of their own (MAX_DOCUMENT_BYTES, MAX_STRING_LITERAL_BYTES), checked
// before anything is cached or run. Small limits here, so that the documents stay small.

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { MAX_DOCUMENT_BYTES: '2000', MAX_STRING_LITERAL_BYTES: '100' } });
});
afterAll(() => app?.close());

async function expectRefused(query: string, message: string, variables?: Record<string, unknown>) {
  app.statements.length = 0;
  const res = await app.gql(query, variables);
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([
    [message, 'GRAPHQL_PARSE_FAILED'],
  ]);
  expect(app.statements).toEqual([]);
}

test('a document over MAX_DOCUMENT_BYTES is refused before parsing, however few its tokens; at the limit it runs', async () => {
  const query = (padding: number) => `{ me { email } } #${'x'.repeat(padding)}`;
  const base = query(0).length;
  await expectRefused(
    query(2001 - base),
    'Document too large: 2001 bytes, the limit is 2000 (MAX_DOCUMENT_BYTES)',
  );
  // Bytes, not characters: 700 three-byte characters are 2,100 bytes.
  await expectRefused(
    `{ me { email } } #${'€'.repeat(700)}`,
    `Document too large: ${base + 2100} bytes, the limit is 2000 (MAX_DOCUMENT_BYTES)`,
  );
  const ok = await app.gql(query(2000 - base));
  expect(ok.status).toBe(200);
  expect(ok.body.errors).toBeUndefined();
});

test('a string literal over MAX_STRING_LITERAL_BYTES is refused; the same value in a variable is not', async () => {
  const literal = (value: string) => `{ cases(filter: { payer: "${value}" }) { totalCount } }`;
  await expectRefused(
    literal('x'.repeat(101)),
    'String literal too long: 101 bytes, the limit is 100 (MAX_STRING_LITERAL_BYTES); pass long values as variables',
  );
  await expectRefused(
    `mutation { createTask(input: { caseId: "x", title: """${'y'.repeat(150)}""" }) { __typename } }`,
    'String literal too long: 150 bytes, the limit is 100 (MAX_STRING_LITERAL_BYTES); pass long values as variables',
  );
  expect((await app.gql(literal('x'.repeat(100)))).body.errors).toBeUndefined();
  const variable = await app.gql(
    'query ($payer: String) { cases(filter: { payer: $payer }) { totalCount } }',
    {
      payer: 'x'.repeat(150),
    },
  );
  expect(variable.body.errors).toBeUndefined();
  expect(variable.body.data).toEqual({ cases: { totalCount: 0 } });
});

test('the same refused document sent again is refused again (and the refusal names the limit each time)', async () => {
  const query = `{ me { email } } #${'z'.repeat(2100)}`;
  for (let i = 0; i < 3; i++) {
    await expectRefused(
      query,
      `Document too large: ${query.length} bytes, the limit is 2000 (MAX_DOCUMENT_BYTES)`,
    );
  }
});
