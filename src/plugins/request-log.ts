import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';

/** A client's `x-request-id` is kept when it is 1-128 printable ASCII characters. */
const REQUEST_ID = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

export function requestIdFrom(header: string | null): string {
  return header !== null && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

/** What the request line reports, gathered as the request goes through yoga. */
interface RequestRecord {
  requestId: string;
  started: number;
  operationName?: string | undefined;
  operationType?: string | undefined;
  /** Yoga's context: the token's claims, and the resolvers' context useTenantTransaction built. */
  context?: LoggedContext & { execution?: LoggedContext };
}

interface LoggedContext {
  claims?: { tenantId?: string };
  viewer?: { id?: string; tenantId?: string };
  /** Set by the database layer, when it counts statements. */
  statementCount?: number;
}

/**
 * One log line per request, after the response is ready: request id, tenant, user id, operation
 * name and type, duration, HTTP status and, when the context has it, the SQL statement count. The
 * line never holds the document or the variables, so no token, member id or extracted data can
 * reach it. Every response carries `x-request-id`.

 * The viewer and the statement count come from the resolvers' context, which useTenantTransaction
 * leaves on yoga's as `execution`.
 */
export function useRequestLog(logger: Logger): Plugin {
  const records = new WeakMap<Request, RequestRecord>();
  const recordOf = (request: Request): RequestRecord => {
    let record = records.get(request);
    if (!record) {
      record = { requestId: requestIdFrom(request.headers.get('x-request-id')), started: performance.now() };
      records.set(request, record);
    }
    return record;
  };
  return {
    instrumentation: {
      // Wraps every plugin hook, yoga's own included (GraphiQL, CORS), so every request is timed.
      request({ request }, wrapped) {
        const { requestId } = recordOf(request);
        // src/context.ts takes the request id from this header: one id, validated, everywhere.
        request.headers.set('x-request-id', requestId);
        return wrapped();
      },
    },
    onParse({ context }) {
      const yogaContext = context as {
        request?: Request;
        params?: { operationName?: unknown };
      } & LoggedContext;
      return ({ result }) => {
        if (!yogaContext.request) return;
        const record = recordOf(yogaContext.request);
        record.context ??= yogaContext;
        // The body's operationName is the client's: not always a string (useParamsCheck refuses
        // those, but this line is written for every request, refused or not).
        const requested = yogaContext.params?.operationName;
        const name = typeof requested === 'string' ? requested : undefined;
        const operation = result && 'kind' in result ? getOperationAST(result, name) : null;
        // Only a name the document holds: any other is the client's free text, which may carry
        // anything (a member id); the line then has no operation name.
        record.operationName = operation?.name?.value;
        record.operationType = operation?.operation;
      };
    },
    onResponse({ request, response }) {
      const record = recordOf(request);
      response.headers.set('x-request-id', record.requestId);
      const { context } = record;
      const execution = context?.execution;
      const url = new URL(request.url);
      writeRequestLine(logger, {
        requestId: record.requestId,
        method: request.method,
        path: url.pathname,
        status: response.status,
        durationMs: Math.round((performance.now() - record.started) * 10) / 10,
        tenantId: execution?.viewer?.tenantId ?? context?.claims?.tenantId,
        userId: execution?.viewer?.id,
        operationName: record.operationName,
        operationType: record.operationType,
        statementCount: execution?.statementCount ?? context?.statementCount,
      });
    },
  };
}

export interface RequestLine {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  tenantId: string | undefined;
  userId: string | undefined;
  operationName: string | undefined;
  operationType: string | undefined;
  statementCount: number | undefined;
  /** Answered by the fast lane (src/fast-lane.ts). */
  fastLane?: true;
}

/** The request's log line (also written by the fast lane, src/fast-lane.ts). */
export function writeRequestLine(logger: Logger, line: RequestLine): void {
  // Probes hit these every few seconds; their successes would drown the rest.
  const probe = (line.path === '/healthz' || line.path === '/readyz') && line.status === 200;
  const level = line.status >= 500 ? 'error' : probe ? 'debug' : 'info';
  logger[level](line, 'request');
}
