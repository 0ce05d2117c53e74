import { PothosValidationError } from '@pothos/core';
import { type ExecutionResult, GraphQLError, Kind } from 'graphql';
import type { PipelinePlugin, ServerContext } from '../context.js';
import { databaseFailure, dataException, failureCause } from '../db/errors.js';
import { badUserInput, serviceUnavailable, timedOut, transactionConflict, unexpected } from '../errors.js';
import { createLogThrottle, type Logger } from '../logger.js';

/**
 * What the client sees of every error of every result, in one place. Errors leave in one of three
 * forms: as raised on purpose (GraphQL errors with a code: FORBIDDEN, BAD_USER_INPUT, …), as
 * TIMEOUT, TRANSACTION_CONFLICT or SERVICE_UNAVAILABLE (503) when the database failed, or masked as "Unexpected error"
 * with the request id, and logged: a bug of ours, never a client's mistake or an outage.
 */
export function useErrorMasking(logger: Logger): PipelinePlugin {
  return {
    // At the end of execution, before yoga's own masking (which would call every error unexpected).
    onExecute({ args }) {
      const requestId = (args.contextValue as ServerContext).requestId ?? 'unknown';
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result || !result.errors?.length) return;
          setResult(masked(result, requestId, logger));
        },
      };
    },
    // A subscription's first result (its arguments refused) and every change it delivers.
    onSubscribe({ args }) {
      const requestId = (args.contextValue as ServerContext).requestId ?? 'unknown';
      const mask = ({
        result,
        setResult,
      }: {
        result: ExecutionResult;
        setResult(r: ExecutionResult): void;
      }) => {
        if (result.errors?.length) setResult(masked(result, requestId, logger));
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (Symbol.asyncIterator in result) return { onNext: mask };
          mask({ result, setResult });
          return undefined;
        },
      };
    },
  };
}

function masked(result: ExecutionResult, requestId: string, logger: Logger): ExecutionResult {
  // Built field by field: a compiled result's `data` is a lazy getter (src/compiled).
  return {
    data: result.data,
    errors: (result.errors ?? []).map((error) => exposeError(error, requestId, logger)),
    ...(result.extensions ? { extensions: result.extensions } : {}),
  };
}

/** Database failures are logged once per interval and kind, not once per failed request. */
const databaseFailureLog = createLogThrottle();

function exposeError(error: unknown, requestId: string, logger: Logger): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof PothosValidationError && original.extensions.code === undefined) {
    // Pothos checks a related connection's page arguments itself (a negative size, `before` with
    // `first`) while the parent plans its query, before any check of ours can run.
    return badUserInput(original.message, {
      nodes: (error as GraphQLError).nodes,
      path: (error as GraphQLError).path,
    });
  }
  if (error instanceof GraphQLError && isVariableError(error)) {
    // The executor's own: a variable that does not coerce (a bad enum value, a malformed
    // DateTime). It comes without a code; it is the client's input, named so.
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
    });
  }
  if (original instanceof GraphQLError) return error as GraphQLError; // raised on purpose, with a code
  const path = error instanceof GraphQLError ? error.path : undefined;
  const sqlState = dataException(original);
  if (sqlState) {
    // The last net of db/errors.ts: never the value, which may be a member id or clinical text.
    logger.warn({ requestId, path, sqlState }, 'the database refused a value of the request');
    return badUserInput('A value of the request cannot be used by the database', {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path,
    });
  }
  const failure = databaseFailure(original);
  if (failure) {
    const cause = failureCause(original);
    databaseFailureLog(`${failure}:${cause}`, (suppressed) =>
      logger.warn({ requestId, path, failure, cause, suppressed }, `database ${failure}`),
    );
    if (failure === 'conflict') return transactionConflict(requestId);
    return failure === 'timeout' ? timedOut(requestId) : serviceUnavailable(requestId);
  }
  logger.error({ requestId, path, err: original }, 'unexpected error');
  return unexpected(requestId);
}

/** An error about a variable's value, reported before execution (at the variable's definition). */
function isVariableError(error: GraphQLError): boolean {
  return (
    error.path === undefined &&
    error.extensions.code === undefined &&
    error.nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION
  );
}
