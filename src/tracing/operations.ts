import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Context as TraceContext,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  type ExecutionArgs,
  type ExecutionResult,
  getOperationAST,
  type OperationDefinitionNode,
} from 'graphql';
import type { PipelinePlugin } from '../context.js';
import type { DeliveryTracer } from '../plugins/executor.js';

/** Probes and scrapes: polled every few seconds, a trace each would bury the requests. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const HTTP_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/** A request's headers as the W3C trace-context propagator reads them (`traceparent`, `tracestate`). */
const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

export interface OperationTracing {
  /** The pipeline's first plugin: the request's span, then its GraphQL operation's. */
  plugin: PipelinePlugin;
  /** For the executor: each change a subscription delivers, in a span of its own trace. */
  traceDeliveries(args: ExecutionArgs): DeliveryTracer;
  /**
   * The operation names spans may carry (the examples' and the trusted documents', as the
   * metrics' labels): any other is the client's free text, of any length and number, and a span
   * shows only the operation's type.
   */
  knowOperationNames(names: ReadonlySet<string>): void;
}

/**
 * The spans of a request, one yoga plugin for every kind of request (compiled or resolved
 * queries, mutations, subscriptions over SSE and those graphql-ws forwards through yoga):
 *
 * - the request (`POST /graphql`, kind server): a child of the caller's span when the request
 *   carries a W3C `traceparent`; from its arrival until its response is ready (a subscription's
 *   stream then goes on: its deliveries have spans of their own);
 * - its GraphQL operation (`query CaseList`), a child of the request's: its type and its name when
 *   it is a known one (`knowOperationNames`), never the document, its variables or its result. The SQL statements
 *   of the operation (src/tracing/statements.ts), and Prisma's operations, are its descendants.
 *
 * Errors mark a span failed with a code only (`error.type`): a GraphQL error's message can quote
 * a variable's value.
 */
export function createOperationTracing(tracer: Tracer): OperationTracing {
  const requestSpans = new WeakMap<Request, Span>();
  // By the operation's context object (yoga's server context, which the executor sees too).
  const operationSpans = new WeakMap<object, Span>();
  let knownNames: ReadonlySet<string> = new Set();
  const knownName = (operation: OperationDefinitionNode | null | undefined) => {
    const name = operation?.name?.value;
    return name !== undefined && knownNames.has(name) ? name : undefined;
  };
  const plugin: PipelinePlugin = {
    instrumentation: {
      request({ request }, wrapped) {
        const url = new URL(request.url);
        if (UNTRACED_PATHS.has(url.pathname)) return wrapped();
        const caller = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
        const method = HTTP_METHODS.has(request.method) ? request.method : '_OTHER';
        // Only the one route this API has: any other path is the client's text (and a 404).
        const route = url.pathname === '/graphql' ? '/graphql' : undefined;
        const span = tracer.startSpan(
          route ? `${method} ${route}` : method,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'http.request.method': method,
              'url.scheme': url.protocol.replace(':', ''),
              'url.path': url.pathname,
              // Never `url.query`: a GET request's document and variables are there.
              ...(route ? { 'http.route': route } : {}),
            },
          },
          caller,
        );
        requestSpans.set(request, span);
        return inSpan(span, caller, wrapped);
      },
      operation({ context: operationContext }, wrapped) {
        const parent = context.active();
        const span = tracer.startSpan('GraphQL operation', { kind: SpanKind.INTERNAL }, parent);
        operationSpans.set(operationContext, span);
        return inSpan(span, parent, wrapped);
      },
    },
    onParse({ context: operationContext }) {
      return ({ result }) => {
        const span = operationSpans.get(operationContext);
        if (!span || !result || !('kind' in result)) return;
        const requested = (operationContext as { params?: { operationName?: unknown } }).params
          ?.operationName;
        const operation = getOperationAST(result, typeof requested === 'string' ? requested : undefined);
        if (!operation) return;
        // Only a known name the document holds: any other is the client's free text.
        const name = knownName(operation);
        span.updateName(name ? `${operation.operation} ${name}` : operation.operation);
        span.setAttribute('graphql.operation.type', operation.operation);
        if (name) span.setAttribute('graphql.operation.name', name);
      };
    },
    onExecutionResult({ result, context: operationContext }) {
      const span = operationSpans.get(operationContext);
      if (span && result && !(Symbol.asyncIterator in result)) markErrors(span, result);
    },
    onResponse({ request, response }) {
      const span = requestSpans.get(request);
      if (!span) return;
      span.setAttribute('http.response.status_code', response.status);
      // A 4xx is the client's: the server span did not fail (OpenTelemetry's HTTP conventions).
      if (response.status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('error.type', String(response.status));
      }
    },
  };
  return {
    plugin,
    knowOperationNames(names) {
      knownNames = names;
    },
    traceDeliveries(args) {
      const subscription = (
        operationSpans.get(args.contextValue as object) ?? trace.getSpan(context.active())
      )?.spanContext();
      const links = subscription && isSpanContextValid(subscription) ? [{ context: subscription }] : [];
      const name = knownName(getOperationAST(args.document, args.operationName));
      // A trace of its own per delivery, linked to the subscription's operation: a subscription
      // lasts hours, and as their parent it would make one trace of thousands of spans, sampled
      // all or nothing when it opened. Each delivery is sampled on its own instead.
      return (cursor, resolve) => {
        const span = tracer.startSpan(
          'subscription delivery',
          {
            kind: SpanKind.CONSUMER,
            root: true,
            links,
            attributes: {
              'graphql.operation.type': 'subscription',
              ...(name ? { 'graphql.operation.name': name } : {}),
              'prior_auth.change.cursor': cursor,
            },
          },
          ROOT_CONTEXT,
        );
        return context.with(trace.setSpan(ROOT_CONTEXT, span), resolve).then(
          (resolution) => {
            markErrors(span, resolution.result);
            span.end();
            return resolution;
          },
          (error: unknown) => {
            fail(span, error);
            span.end();
            throw error;
          },
        );
      };
    },
  };
}

/** Runs `wrapped` with `span` active (under `parent`) and ends the span when it is done. */
function inSpan(span: Span, parent: TraceContext, wrapped: () => Promise<void> | void): Promise<void> | void {
  return context.with(trace.setSpan(parent, span), () => {
    let done: Promise<void> | void;
    try {
      done = wrapped();
    } catch (error) {
      fail(span, error);
      span.end();
      throw error;
    }
    if (!done) {
      span.end();
      return done;
    }
    return done.then(
      () => span.end(),
      (error: unknown) => {
        fail(span, error);
        span.end();
        throw error;
      },
    );
  });
}

/** A result with errors: the span failed, with the first error's code. */
function markErrors(span: Span, result: ExecutionResult): void {
  const [first] = result.errors ?? [];
  if (!first) return;
  span.setStatus({ code: SpanStatusCode.ERROR });
  const code = first.extensions?.code;
  span.setAttribute('error.type', typeof code === 'string' ? code : 'GRAPHQL_ERROR');
}

function fail(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
}
