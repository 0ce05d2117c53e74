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
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      // Yoga parses `variables`/`extensions` of a query string or a form body with JSON.parse and
      // lets a SyntaxError through: a 500, and a log line quoting the text around the mistake.
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw new GraphQLError('The "variables" or "extensions" parameter is not valid JSON.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
      });
    },
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
