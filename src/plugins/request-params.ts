import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The request's parameters, checked where yoga leaves off: yoga refuses a `query` that is not a
 * string and `variables`/`extensions` that are not objects, but passes any `operationName` on,
 * and code after it (the request log, getOperationAST) expects a string. GraphQL over HTTP: a
 * request whose parameters are malformed is a 400, like yoga's own refusals, whose wording and
 * code (BAD_REQUEST) this one follows.
 */
export function useParamsCheck(): Plugin {
  return {
    onParams({ params }) {
      const { operationName } = params as { operationName?: unknown };
      if (operationName != null && typeof operationName !== 'string') {
        throw new GraphQLError(
          `Expected "operationName" param to be a string, but given ${describe(operationName)}.`,
          { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
        );
      }
    },
  };
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value;
}
