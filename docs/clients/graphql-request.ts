// A typed client with graphql-request (docs/clients.md). The documents and their types come from
// `npm run codegen` (docs/examples/*.graphql → tests/generated/graphql/); in your app, import them
// from your own codegen output. tests/integration/clients.test.ts runs this file against the server.
import { ClientError, GraphQLClient } from 'graphql-request';
import {
  CaseListDocument,
  type CaseListQuery,
  CreateTaskDocument,
  type CreateTaskInput,
  type CreateTaskMutation,
} from '../../tests/generated/graphql/graphql.js';

export function createApiClient(url: string, token: string): GraphQLClient {
  return new GraphQLClient(url, { headers: { authorization: `Bearer ${token}` } });
}

export type CaseRow = CaseListQuery['cases']['edges'][number]['node'];

/** Every case of the viewer's clinic, one page after the other (`after` = the last `endCursor`). */
export async function allCases(client: GraphQLClient, pageSize = 100): Promise<CaseRow[]> {
  const rows: CaseRow[] = [];
  let after: string | null = null;
  do {
    const { cases }: CaseListQuery = await client.request(CaseListDocument, { first: pageSize, after });
    rows.push(...cases.edges.map((edge) => edge.node));
    after = cases.pageInfo.hasNextPage ? (cases.pageInfo.endCursor ?? null) : null;
  } while (after !== null);
  return rows;
}

type CreatedTask = Extract<CreateTaskMutation['createTask'], { __typename: 'CreateTaskPayload' }>['task'];

/** What a form needs back: the task, or the message and the fields to mark. */
export type TaskCreation = { ok: true; task: CreatedTask } | { ok: false; message: string; fields: string[] };

/**
 * A refusal the user can fix is a member of the mutation's result union, not an error: every
 * member is handled, and the compiler says so when the schema adds one (no `default:` here).
 */
export async function createTask(client: GraphQLClient, input: CreateTaskInput): Promise<TaskCreation> {
  const { createTask: result } = await client.request(CreateTaskDocument, { input });
  switch (result.__typename) {
    case 'CreateTaskPayload':
      return { ok: true, task: result.task };
    case 'ValidationError':
      return { ok: false, message: result.message, fields: result.fieldErrors.map((e) => e.path.join('.')) };
    case 'NotFoundError':
      return { ok: false, message: result.message, fields: [] };
  }
}

/**
 * Errors outside the union (an expired token, a request the server refuses) reject the promise
 * with a ClientError that carries the response; `extensions.code` says which (docs/clients.md).
 */
export function errorCode(error: unknown): string | undefined {
  if (!(error instanceof ClientError)) return undefined;
  const code = error.response.errors?.[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}
