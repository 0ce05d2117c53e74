import { GraphQLError } from 'graphql';

/**
 * Auth and protocol failures: top-level GraphQL errors with a stable `extensions.code` and the
 * HTTP status yoga answers with. Domain failures (validation, not found, transitions, conflicts)
 * are not thrown through here: they are union members of the mutation results.
 */
export function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(`Not authenticated: ${reason}`, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

export function forbidden(reason: string): GraphQLError {
  return new GraphQLError(`Forbidden: ${reason}`, { extensions: { code: 'FORBIDDEN' } });
}

/** A bad argument found while executing: the field is null, the rest of the response stands (HTTP 200). */
export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}
