// A typed client with urql's core (@urql/core; the React, Vue and Svelte bindings take the same
// Client). The documents and their types come from `npm run codegen`, as in graphql-request.ts;
// tests/integration/clients.test.ts runs this file against the server.
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import {
  type AnyVariables,
  Client,
  type CombinedError,
  fetchExchange,
  gql,
  type TypedDocumentNode,
} from '@urql/core';
import {
  MyTasksDocument,
  type MyTasksQuery,
  NodeRefetchDocument,
  type NodeRefetchQuery,
} from '../../tests/generated/graphql/graphql.js';

export function createApiClient(url: string, token: string): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    // Lists change under other users: always ask the server (no document cache here).
    requestPolicy: 'network-only',
  });
}

/**
 * urql takes parsed documents; this repository's codegen emits document strings (its
 * `documentMode: 'string'`, which graphql-request and plain fetch take as they are). Parsed once
 * per document, types kept. An urql-only app can leave `documentMode` at its default instead.
 */
function parsed<Result, Variables extends AnyVariables>(
  document: DocumentTypeDecoration<Result, Variables>,
): TypedDocumentNode<Result, Variables> {
  return gql<Result, Variables>(String(document));
}

const MyTasks = parsed(MyTasksDocument);
const NodeRefetch = parsed(NodeRefetchDocument);

/** A top-level error (network, UNAUTHENTICATED, BAD_USER_INPUT…) is `result.error`, never thrown. */
export class ApiError extends Error {
  readonly code: string | undefined;
  constructor(error: CombinedError) {
    super(error.message);
    const code = error.graphQLErrors[0]?.extensions.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

export type TaskRow = MyTasksQuery['myTasks']['edges'][number]['node'];

/** The viewer's work queue, every page (`after` = the last page's `endCursor`), soonest due first. */
export async function myWorkQueue(client: Client, pageSize = 50): Promise<TaskRow[]> {
  const rows: TaskRow[] = [];
  let after: string | null = null;
  do {
    const { data, error } = await client.query(MyTasks, { first: pageSize, after }).toPromise();
    if (error) throw new ApiError(error);
    if (!data) throw new Error('MyTasks: no data');
    rows.push(...data.myTasks.edges.map((edge) => edge.node));
    after = data.myTasks.pageInfo.hasNextPage ? (data.myTasks.pageInfo.endCursor ?? null) : null;
  } while (after !== null);
  return rows;
}

/**
 * IDs are global and opaque (`id`); `node(id:)` refetches anything that has one, and
 * `__typename` says what came back. null: no such row in the viewer's clinic.
 */
export async function refetch(client: Client, id: string): Promise<NodeRefetchQuery['node']> {
  const { data, error } = await client.query(NodeRefetch, { id }).toPromise();
  if (error) throw new ApiError(error);
  return data?.node ?? null;
}
