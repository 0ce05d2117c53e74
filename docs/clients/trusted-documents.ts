// A client for a server that runs only trusted documents (docs/operations.md, "Trusted documents").
// `npm run codegen` (the client preset with `persistedDocuments: { hashAlgorithm: 'sha256' }`) gives
// every generated document its id, `__meta__.hash`, and writes the manifest of them all
// (persisted-documents.json) that the server loads with TRUSTED_DOCUMENTS. A request then names
// its document by that id and never carries the text. tests/integration/trusted-documents.test.ts
// runs this file against the server.
import type { ExecutionResult } from 'graphql';
import type { TypedDocumentString } from '../../tests/generated/graphql/graphql.js';

/** The id the server knows the document by: `sha256:<hex>` (GraphQL over HTTP, persisted documents). */
export function documentId(document: { __meta__?: Record<string, unknown> }): string {
  const hash: unknown = document.__meta__?.hash;
  if (typeof hash !== 'string') {
    throw new Error('this document has no id: generate it with the persistedDocuments option');
  }
  return `sha256:${hash}`;
}

/**
 * Runs a generated document by its id, typed with its result and variables. A query may also go
 * as a GET (`?documentId=…&variables=…`), which a CDN can cache; a mutation must be a POST.
 */
export async function requestTrusted<TResult, TVariables>(
  url: string,
  token: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<ExecutionResult<TResult>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ documentId: documentId(document), variables }),
  });
  // A refusal (an unknown id: PERSISTED_QUERY_NOT_FOUND, after a deploy that dropped this
  // client's manifest) is a 400 with the same JSON shape: its code is in `errors[0].extensions`.
  return (await response.json()) as ExecutionResult<TResult>;
}
