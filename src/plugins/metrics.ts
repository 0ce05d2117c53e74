import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { createHistogram, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import {
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  getOperationAST,
  Kind,
  parse,
} from 'graphql';
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelinePlugin, ServerContext } from '../context.js';

/**
 * Prometheus metrics of every request (docs/operations.md, "Metrics"), compiled or not,
 * subscriptions included: graphql-ws operations come through yoga as SSE requests
 * (src/realtime/websocket.ts), so the same hooks see them.
 *
 * The parse, validate and execute phases are @graphql-yoga/plugin-prometheus's histograms, given
 * this file's labels. The rest is this file's own, where the plugin's metric does not fit:
 * its HTTP histogram skips every request refused before its document parsed (a bad token, a body
 * too large), its error counter has no error code and labels by response path (one series per
 * list index), and its subscribe "phase" lasts until the subscription ends.
 *
 * Labels are closed sets, never the request's text: the operation name is its own only when it
 * is a known one (`knownOperationNames`), else `other`; no token, variable or value ever is one.
 */

/** The operation label of an operation that is not a known one, or of a request never parsed. */
export const OTHER_OPERATION = 'other';

const METRICS_PATH = '/metrics';
/** yoga's GraphQL endpoint (src/server.ts keeps its default). */
const GRAPHQL_PATH = '/graphql';

export interface MetricsOptions {
  /** The operation names that label as themselves; any other is `other` (`knownOperationNames`). */
  operationNames: ReadonlySet<string>;
  /** METRICS_TOKEN: /metrics on the GraphQL port answers this bearer token only. Unset: 404 there. */
  token: string | undefined;
  /** The request pool (src/db/client.ts `poolOf`), read at each scrape. */
  pool: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount' | 'options'>;
  /** Open subscriptions on this instance (the change feed's streams), read at each scrape. */
  openSubscriptions: () => number;
}

export interface Metrics {
  registry: Registry;
  /** The pipeline's plugin (src/server.ts): it measures, and answers /metrics when a token is set. */
  plugin: PipelinePlugin;
  /** METRICS_PORT's listener: GET /metrics without a token, 404 for anything else. */
  listener: RequestListener;
}

/**
 * The operation names of GraphQL documents: those of docs/examples/ at start (src/graphiql.ts
 * reads them), and of any other list of operations the server trusts.
 */
export function knownOperationNames(documents: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const document of documents) {
    for (const definition of parse(document).definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.add(definition.name.value);
    }
  }
  return names;
}

interface OperationLabels {
  operation_name: string;
  operation_type: string;
}

const NOT_PARSED: OperationLabels = { operation_name: OTHER_OPERATION, operation_type: 'unknown' };

/** The context the hooks see: the request's (src/context.ts), with yoga's parameters once read. */
type MetricsContext = ServerContext & { params?: { operationName?: unknown } };

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const own = ownMetrics(registry, options);
  const labelsByRequest = new WeakMap<Request, OperationLabels>();
  const startedAt = new WeakMap<Request, number>();

  const labelsOf = (document: DocumentNode, requested: unknown): OperationLabels => {
    // The operation the executor runs: the one the request names, when the document has it.
    const operation = getOperationAST(document, typeof requested === 'string' ? requested : undefined);
    if (!operation) return NOT_PARSED;
    const name = operation.name?.value;
    return {
      operation_name: name !== undefined && options.operationNames.has(name) ? name : OTHER_OPERATION,
      operation_type: operation.operation,
    };
  };
  const labelsFor = (context: MetricsContext, document?: DocumentNode): OperationLabels => {
    const known = labelsByRequest.get(context.request);
    if (known || !document) return known ?? NOT_PARSED;
    const labels = labelsOf(document, context.params?.operationName);
    labelsByRequest.set(context.request, labels);
    return labels;
  };
  const phaseHistogram = <Phase extends 'parse' | 'validate'>(phase: Phase, help: string) =>
    createHistogram<Phase, 'operation_name' | 'operation_type'>({
      registry,
      histogram: {
        name: `graphql_envelop_phase_${phase}`,
        help,
        labelNames: ['operation_name', 'operation_type'],
        buckets: DURATION_BUCKETS,
      },
      fillLabelsFn: (params, context: MetricsContext) => labelsFor(context, params.document),
      phases: [phase],
    });
  const executeHistogram = createHistogram<'execute', 'operation_name' | 'operation_type' | 'engine'>({
    registry,
    histogram: {
      name: 'graphql_envelop_phase_execute',
      help: 'Time spent executing a query or mutation (s), by engine: compiled, compiled_payload, resolvers',
      labelNames: ['operation_name', 'operation_type', 'engine'],
      buckets: DURATION_BUCKETS,
    },
    fillLabelsFn: (params, context: MetricsContext) => ({
      ...labelsFor(context, params.document),
      // The executor's outcome (src/plugins/executor.ts); none when it refused before running.
      engine: context.execution?.engine ?? 'none',
    }),
    phases: ['execute'],
  });
  const prometheus = usePrometheus({
    registry,
    // Served below, behind the token: the plugin's own endpoint would be public.
    endpoint: false,
    metrics: {
      graphql_envelop_phase_parse: phaseHistogram('parse', 'Time spent parsing the document (s)'),
      graphql_envelop_phase_validate: phaseHistogram('validate', 'Time spent validating the document (s)'),
      graphql_envelop_phase_execute: executeHistogram,
      // See the file's comment for why these are off or replaced.
      graphql_yoga_http_duration: false,
      graphql_envelop_request: false,
      graphql_envelop_request_duration: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_error_result: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
      graphql_envelop_execute_resolver: false,
    },
  });

  const countErrors = (errors: readonly GraphQLError[] | undefined, labels: OperationLabels) => {
    for (const error of errors ?? []) own.errors.inc({ ...labels, code: codeLabel(error) });
  };
  const isAuthorized = options.token === undefined ? () => false : bearerCheck(options.token);
  const scrape = async (method: string) => {
    const text = await registry.metrics();
    return new Response(method === 'HEAD' ? null : text, {
      headers: { 'content-type': registry.contentType },
    });
  };

  const plugin: PipelinePlugin = {
    onPluginInit({ addPlugin }) {
      addPlugin(prometheus as Parameters<typeof addPlugin>[0]);
    },
    onRequest({ request, url, endResponse }) {
      if (url.pathname === GRAPHQL_PATH) {
        startedAt.set(request, performance.now());
        return;
      }
      if (url.pathname !== METRICS_PATH || options.token === undefined) return;
      // Before anything else, GraphQL's authentication included: the token is the scraper's, not a user's.
      if (!isAuthorized(request.headers.get('authorization'))) return endResponse(unauthorized());
      if (request.method !== 'GET' && request.method !== 'HEAD') return endResponse(notAllowed());
      return scrape(request.method).then(endResponse);
    },
    onParse({ context }) {
      return ({ result }) => {
        if (result && 'kind' in result) labelsFor(context, result);
      };
    },
    onExecute({ args }) {
      const context = args.contextValue as MetricsContext;
      return {
        onExecuteDone() {
          const labels = labelsFor(context);
          const { execution, statementCount } = context;
          if (statementCount !== undefined) own.statements.observe(labels, statementCount);
          if (execution?.fallback)
            own.fallbacks.inc({ operation_name: labels.operation_name, cause: execution.fallback });
        },
      };
    },
    onSubscribe({ args }) {
      const context = args.contextValue as MetricsContext;
      return {
        onSubscribeResult({ result }) {
          const labels = labelsFor(context);
          if (context.statementCount !== undefined) own.statements.observe(labels, context.statementCount);
          // A refused subscription's one result is counted with the others, in onResultProcess.
          if (!(Symbol.asyncIterator in result)) return undefined;
          // After useErrorMasking's (src/server.ts lists this plugin after it): the codes clients see.
          return { onNext: ({ result: next }) => countErrors(next.errors, labels) };
        },
      };
    },
    // Every result but a stream's events, whatever refused or answered it: the codes clients see.
    onResultProcess({ request, result }) {
      if (Symbol.asyncIterator in result) return;
      const labels = labelsByRequest.get(request) ?? NOT_PARSED;
      for (const each of Array.isArray(result) ? result : [result]) {
        countErrors((each as ExecutionResult).errors, labels);
      }
    },
    onResponse({ request, response }) {
      const started = startedAt.get(request);
      if (started === undefined) return;
      const labels = labelsByRequest.get(request) ?? NOT_PARSED;
      own.requests.observe(
        { ...labels, status_code: String(response.status) },
        (performance.now() - started) / 1000,
      );
    },
  };

  const listener: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('This port serves /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) =>
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? '' : text),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics unavailable\n'),
    );
  };
  return { registry, plugin, listener };
}

/** Seconds: the compiled path answers within a few milliseconds, hence the small buckets. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** node-postgres's pool size when none is given. */
const PG_DEFAULT_POOL_MAX = 10;
const STATEMENT_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100];

/** The metrics of this file's own hooks, and those read at each scrape. */
function ownMetrics(registry: Registry, options: MetricsOptions) {
  const registers = [registry];
  const requests = new Histogram({
    name: 'graphql_http_request_duration_seconds',
    help: 'GraphQL requests over HTTP, from arrival to the response (an SSE subscription: until its stream opened), by status',
    labelNames: ['operation_name', 'operation_type', 'status_code'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'graphql_errors_total',
    help: 'Errors sent to clients, by extensions.code after masking (none: an error without a code)',
    labelNames: ['operation_name', 'operation_type', 'code'],
    registers,
  });
  const statements = new Histogram({
    name: 'graphql_sql_statements',
    help: "SQL statements of a request's transaction (BEGIN and COMMIT included); a subscription's: its opening",
    labelNames: ['operation_name', 'operation_type'],
    buckets: STATEMENT_BUCKETS,
    registers,
  });
  const fallbacks = new Counter({
    name: 'graphql_compiled_fallbacks_total',
    help: 'Queries (or mutation payload reads) the SQL compiler left to the resolvers, by cause',
    labelNames: ['operation_name', 'cause'],
    registers,
  });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  const { pool } = options;
  gauge('db_pool_connections', 'Open connections of the request pool', () => pool.totalCount);
  gauge('db_pool_idle_connections', 'Idle connections of the request pool', () => pool.idleCount);
  gauge(
    'db_pool_waiting_requests',
    'Requests waiting for a connection of the request pool',
    () => pool.waitingCount,
  );
  gauge(
    'db_pool_max_connections',
    'The request pool size (DB_POOL_MAX)',
    () => pool.options.max ?? PG_DEFAULT_POOL_MAX,
  );
  gauge(
    'graphql_subscriptions_open',
    'Open subscriptions (SSE and graphql-ws) on this instance',
    options.openSubscriptions,
  );
  return { requests, errors, statements, fallbacks };
}

/** A closed set: the codes are the server's own (src/errors.ts, yoga's), never a client's text. */
function codeLabel(error: GraphQLError): string {
  const code = error.extensions?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'none';
}

/**
 * `Authorization: Bearer <token>` compared in constant time: both sides hashed first, so neither
 * the token's length nor its first wrong byte shows in the time taken.
 */
function bearerCheck(token: string): (header: string | null) => boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const expected = digest(token);
  return (header) => {
    const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1];
    return timingSafeEqual(digest(given ?? ''), expected) && given !== undefined;
  };
}

function unauthorized(): Response {
  return new Response('/metrics needs Authorization: Bearer <METRICS_TOKEN>\n', {
    status: 401,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' },
  });
}

function notAllowed(): Response {
  return new Response(null, { status: 405, headers: { allow: 'GET, HEAD' } });
}
