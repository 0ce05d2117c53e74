import { context, DiagLogLevel, diag, isSpanContextValid, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { TracingConfig } from '../config.js';
import type { StatementTracer } from '../db/client.js';
import { createLogThrottle, type Logger } from '../logger.js';
import { createOperationTracing, type OperationTracing } from './operations.js';
import { createStatementTracer } from './statements.js';

/**
 * Tracing, when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/operations.md, "Tracing"). This module is
 * the only way in to OpenTelemetry's SDK, and src/index.ts imports it only then: off, nothing of
 * OpenTelemetry is loaded and no hook of it runs anywhere.
 *
 * Spans are made by our own code where requests pass (src/tracing/operations.ts: the request,
 * its operation, each subscription delivery; src/tracing/statements.ts: each SQL statement) and
 * by Prisma (its operations, through the global hook @prisma/instrumentation installs). Nothing
 * is monkey-patched, so nothing depends on the order in which modules load, ESM or not.
 */
export interface Tracing extends OperationTracing {
  traceStatement: StatementTracer;
  /** For the logger: the trace id of the request or delivery a log line is written in. */
  logFields(): { traceId?: string };
  /** Spans that could not be sent (the collector unreachable) as warnings of `logger`, throttled. */
  reportTo(logger: Logger): void;
  /** Sends the spans still buffered, within `SHUTDOWN_FLUSH_MS`. */
  shutdown(): Promise<void>;
}

/** How long a shutdown waits for the last spans to reach the collector. */
const SHUTDOWN_FLUSH_MS = 2_000;

export function startTracing(config: TracingConfig): Tracing {
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
  );
  // Batched, off the request path; OTEL_BSP_* tune it (the SDK reads them itself).
  const exported = new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }));
  const provider = new NodeTracerProvider({
    resource,
    sampler: samplerOf(config),
    spanProcessors: [exported],
  });
  // The global context manager (AsyncLocalStorage) that carries the active span through awaits,
  // and the W3C trace-context propagator only (no baggage: nothing of ours reads it).
  provider.register({ propagator: new W3CTraceContextPropagator() });
  // Prisma's own spans: `prisma:client:operation` (model and method), serialize, compile. Its
  // per-statement span is left out: the statement span of src/tracing/statements.ts covers every
  // statement, Prisma's included, with its literals removed (Prisma's carries the text as sent).
  // They are children only, never a trace of their own: Prisma's work outside a request (the
  // start's checks) would be one, of a few spans, for nothing.
  const prisma = new PrismaInstrumentation({ ignoreSpanTypes: ['prisma:client:db_query'] });
  prisma.setTracerProvider(
    new NodeTracerProvider({
      resource,
      sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
      spanProcessors: [exported],
    }),
  );
  prisma.enable();
  const tracer = provider.getTracer('prior-auth-api');
  return {
    ...createOperationTracing(tracer),
    traceStatement: createStatementTracer(tracer),
    logFields() {
      const span = trace.getSpan(context.active())?.spanContext();
      // A new object each time: pino merges the line's own fields into it.
      return span && isSpanContextValid(span) ? { traceId: span.traceId } : {};
    },
    reportTo(logger) {
      const log = logger.child({ component: 'tracing' });
      const throttle = createLogThrottle();
      // Outside any trace: the export that failed may have started in some request's context.
      const warn = (cause: string) =>
        context.with(ROOT_CONTEXT, () =>
          throttle(failureKind(cause), (suppressed) =>
            log.warn({ cause, suppressed }, 'tracing: spans were not sent'),
          ),
        );
      // A failed export (after the exporter's own retries) comes here: its cause, not its stack.
      setGlobalErrorHandler((error) => warn(error instanceof Error ? error.message : String(error)));
      // The SDK's other complaints (spans dropped from a full queue, a bad OTEL_BSP_* value).
      diag.setLogger(
        { error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} },
        DiagLogLevel.WARN,
      );
    },
    async shutdown() {
      prisma.disable();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS);
      });
      await Promise.race([provider.shutdown().catch(() => undefined), late]);
      clearTimeout(timer);
    },
  };
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, as OpenTelemetry's specification defines them. */
function samplerOf({ sampler, ratio }: TracingConfig): Sampler {
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

/**
 * What the throttle of export warnings keys on: the message without its numbers. The SDK's own
 * messages count ("Dropped 1024 spans because maxQueueSize reached"): keyed on the message as it
 * is, every count was a new key, and a collector down under load wrote a line per export cycle.
 */
export function failureKind(cause: string): string {
  return cause.replace(/\d+/g, '#');
}
