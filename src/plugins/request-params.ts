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
    onRequestParse({ requestParser, setRequestParser, endResponse }) {
      if (!requestParser) {
        // Yoga's 415 has no body: say what this server reads.
        endResponse(
          Response.json(
            {
              errors: [
                {
                  message:
                    'The request body is not one this server reads: POST a JSON body with Content-Type: application/json, or send a GET with the parameters in the query string.',
                  extensions: { code: 'BAD_REQUEST' },
                },
              ],
            },
            { status: 415 },
          ),
        );
        return;
      }
      // Yoga parses `variables`/`extensions` of a query string or a form body with JSON.parse and
      // lets a SyntaxError through (a 500, and a log line quoting the text around the mistake);
      // a JSON body it refuses carries JSON.parse's error, text and all.
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          throw requestParseError(error);
        }
      });
    },
    onParams({ params }) {
      const { operationName } = params as { operationName?: unknown };
      if (operationName != null && typeof operationName !== 'string') {
        throw badRequest(
          `Expected "operationName" param to be a string, but given ${describe(operationName)}.`,
        );
      }
    },
  };
}

/**
 * A body or parameter that is not JSON, said without the text: JSON.parse's own message quotes the
 * text around the mistake, and yoga passes it on as the error's `originalError` (a member id, a
 * search text in the echo). A body whose client went away is said so, not logged as a failure.
 */
function requestParseError(error: unknown): unknown {
  if (error instanceof GraphQLError) {
    // Yoga's own refusal of a body (invalid JSON) copies JSON.parse's message into its extensions.
    if (error.extensions.originalError === undefined) return error;
    return badRequest(error.message);
  }
  if (error instanceof SyntaxError)
    return badRequest('The "variables" or "extensions" parameter is not valid JSON.');
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === 'ECONNRESET' || message === 'aborted')
    return badRequest('The request body was not received in full.');
  return error;
}

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value;
}
