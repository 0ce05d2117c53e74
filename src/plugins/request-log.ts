import { getOperationAST } from 'graphql';
import type { PipelinePlugin, ServerContext } from '../context.js';
import type { Logger } from '../logger.js';

/** A client's `x-request-id` is kept when it is 1-128 printable ASCII characters. */
const REQUEST_ID = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

function requestIdFrom(header: string | null): string {
  return header !== null && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}

/** What the request log keeps on the request's context, besides the request id. */
interface LoggedContext extends ServerContext {
  /** When the request arrived (absent for the few that yoga's own plugins answer first: GraphiQL). */
  startedAt?: number;
  /** The URL's path, as yoga parsed it on arrival. */
  path?: string;
  operationName?: string | undefined;
  operationType?: string | undefined;
}

/**
 * One log line per request, after the response is ready: request id, tenant, user id, operation
 * name and type, duration, HTTP status and, once the executor ran, the SQL statement count. The
 * line never holds the document or the variables, so no token, member id or extracted data can
 * reach it. Every response carries `x-request-id`. Everything it reports is on the request's
 * context (src/context.ts, `ServerContext`), filled in by the plugins the request went through.
 */
export function useRequestLog(logger: Logger): PipelinePlugin {
  return {
    onRequest({ request, url, serverContext }) {
      const context: LoggedContext = serverContext;
      context.startedAt = performance.now();
      context.path = url.pathname;
      context.requestId = requestIdFrom(request.headers.get('x-request-id'));
    },
    onParse({ context }) {
      const logged = context as LoggedContext & { params?: { operationName?: unknown } };
      return ({ result }) => {
        // The body's operationName is the client's: not always a string (useParamsCheck refuses
        // those, but this line is written for every request, refused or not).
        const requested = logged.params?.operationName;
        const name = typeof requested === 'string' ? requested : undefined;
        const operation = result && 'kind' in result ? getOperationAST(result, name) : null;
        // Only a name the document holds: any other is the client's free text, which may carry
        // anything (a member id); the line then has no operation name.
        logged.operationName = operation?.name?.value;
        logged.operationType = operation?.operation;
      };
    },
    onResponse({ request, response, serverContext }) {
      const context: LoggedContext = serverContext;
      context.requestId ??= requestIdFrom(request.headers.get('x-request-id'));
      response.headers.set('x-request-id', context.requestId);
      const durationMs =
        context.startedAt === undefined
          ? undefined
          : Math.round((performance.now() - context.startedAt) * 10) / 10;
      writeRequestLine(logger, {
        requestId: context.requestId,
        method: request.method,
        path: context.path ?? new URL(request.url).pathname,
        status: response.status,
        durationMs,
        tenantId: context.viewer?.tenantId ?? context.claims?.tenantId,
        userId: context.viewer?.id,
        operationName: context.operationName,
        operationType: context.operationType,
        statementCount: context.statementCount,
      });
    },
  };
}

interface RequestLine {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number | undefined;
  tenantId: string | undefined;
  userId: string | undefined;
  operationName: string | undefined;
  operationType: string | undefined;
  statementCount: number | undefined;
}

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function writeRequestLine(logger: Logger, line: RequestLine): void {
  // Probes and scrapers hit these every few seconds; their successes would drown the rest.
  const probe = PROBE_PATHS.has(line.path) && line.status === 200;
  const level = line.status >= 500 ? 'error' : probe ? 'debug' : 'info';
  logger[level](line, 'request');
}
