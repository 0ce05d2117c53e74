import { expect } from 'vitest';
import type { TypedDocumentString } from '../generated/graphql/graphql.js';
import type { TestApp } from './app.js';

/**
 * Sends a generated document's text with variables of its own generated type, as the seeded user
 * `email`; returns its own generated result type. Any GraphQL error fails the test, with the
 * errors in the message (the typed client's tests and the intake story).
 */
export async function executeTyped<TResult, TVariables extends Record<string, unknown>>(
  app: TestApp,
  document: TypedDocumentString<TResult, TVariables>,
  variables: NoInfer<TVariables>,
  email: string,
): Promise<TResult> {
  const res = await app.gql<TResult>(document.toString(), variables, { email });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  expect(res.status).toBe(200);
  if (res.body.data == null) throw new Error(`no data for ${email}`);
  return res.body.data;
}
