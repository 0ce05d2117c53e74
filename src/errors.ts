import { GraphQLError, type GraphQLErrorOptions } from 'graphql';

/**
 * Expected domain failures. Services throw them; the mutations that can fail this way list them
 * in their result union (plugin-errors), so a client gets a typed value, not an exception.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
}

export interface FieldError {
  /** The field's path inside `input`, e.g. ["codes", "0", "code"]. */
  path: string[];
  message: string;
}

export class ValidationError extends AppError {
  override name = 'ValidationError';
  readonly code = 'VALIDATION';
  constructor(readonly fieldErrors: FieldError[]) {
    super(
      `Invalid input: ${fieldErrors.map((e) => `${e.path.join('.') || 'input'}: ${e.message}`).join('; ')}`,
    );
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
}

export class InvalidTransitionError extends AppError {
  override name = 'InvalidTransitionError';
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly from: string,
    readonly to: string,
    detail?: string,
  ) {
    super(`Cannot move from ${from} to ${to}${detail ? `: ${detail}` : ''}`);
  }
}

export class ConflictError extends AppError {
  override name = 'ConflictError';
  readonly code = 'CONFLICT';
}

/**
 * Auth and protocol failures: top-level GraphQL errors with a stable `extensions.code` and the
 * HTTP status yoga answers with.
 */
export function unauthenticated(reason: string): GraphQLError {
  return new GraphQLError(`Not authenticated: ${reason}`, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

/** Why a valid token is refused: its subject is no active user of its tenant (unknown, or deactivated). */
export const NO_ACTIVE_USER = 'no active user with this subject in this tenant';

export function noActiveUser(): GraphQLError {
  return unauthenticated(NO_ACTIVE_USER);
}

export function forbidden(reason: string): GraphQLError {
  return new GraphQLError(`Forbidden: ${reason}`, { extensions: { code: 'FORBIDDEN' } });
}

/**
 * A bad argument found while executing: the field is null, the rest of the response stands (HTTP 200).
 * `located` (nodes, path) places an error raised after the field's own resolver has returned.
 */
export function badUserInput(
  message: string,
  located?: Pick<GraphQLErrorOptions, 'nodes' | 'path'>,
): GraphQLError {
  return new GraphQLError(message, { ...located, extensions: { code: 'BAD_USER_INPUT' } });
}

/** The database could not answer (down, restarting, unreachable): retry later. HTTP 503. */
export function serviceUnavailable(requestId: string): GraphQLError {
  return new GraphQLError('The database is unavailable; retry shortly', {
    extensions: {
      code: 'SERVICE_UNAVAILABLE',
      requestId,
      http: { status: 503, headers: { 'retry-after': '5' } },
    },
  });
}

/** A statement ran past DB_STATEMENT_TIMEOUT_MS and was cancelled; nothing of it was written. */
export function timedOut(requestId: string): GraphQLError {
  return new GraphQLError('The database took too long to answer; nothing was written', {
    extensions: { code: 'TIMEOUT', requestId },
  });
}

/**
 * The database ended the request's transaction to break a deadlock with another request writing
 * the same rows (in another order); the request is rolled back whole, a retry succeeds.
 */
export function transactionConflict(requestId: string): GraphQLError {
  return new GraphQLError(
    'Another request was changing the same rows at the same time; nothing was written; retry',
    { extensions: { code: 'TRANSACTION_CONFLICT', requestId } },
  );
}

/**
 * The request's user got another role while the request waited to write (an ADMIN changed it):
 * what it may do is decided again when it is sent again. Nothing was written.
 */
export function roleChanged(): GraphQLError {
  return new GraphQLError('Your role changed while this request ran; nothing was written: send it again', {
    extensions: { code: 'TRANSACTION_CONFLICT' },
  });
}

/** Anything unexpected: the client learns only the request id, the log has the rest. */
export function unexpected(requestId: string): GraphQLError {
  return new GraphQLError('Unexpected error', {
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  });
}
