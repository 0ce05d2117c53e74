import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { TokenClaims, TokenVerifier } from './auth/jwt.js';
import { capturePayloads } from './compiled/payloads.js';
import type { Config } from './config.js';
import type { PipelinePlugin, ServerContext } from './context.js';
import { poolOf } from './db/client.js';
import { createReadinessCheck, type ReadinessCheck } from './db/readiness.js';
import { withRequest } from './db/tenant.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { exampleTabs, graphiqlOptions } from './graphiql.js';
import type { Logger } from './logger.js';
import { useAuthentication } from './plugins/authentication.js';
import { useCors } from './plugins/cors.js';
import { createDocumentCaches } from './plugins/document-cache.js';
import { useErrorMasking } from './plugins/error-masking.js';
import { useEventStream } from './plugins/event-stream.js';
import { useTenantExecutor } from './plugins/executor.js';
import { renderGraphiQLPage, useGraphiQLAssets } from './plugins/graphiql-page.js';
import { useBodyLimit, useDocumentSizeLimit, useOperationLimits, useParseLimits } from './plugins/limits.js';
import { createMetrics, knownOperationNames, type Metrics } from './plugins/metrics.js';
import { useRequestLog } from './plugins/request-log.js';
import { useParamsCheck } from './plugins/request-params.js';
import { useRootPage } from './plugins/root-page.js';
import { useSchemaPrivacy } from './plugins/schema-privacy.js';
import { useTrustedDocuments } from './plugins/trusted-documents.js';
import { databaseChangeSource } from './realtime/changes.js';
import { fanOutWithRedis, listenWithPostgres } from './realtime/fanout.js';
import { ChangeFeed } from './realtime/feed.js';
import { serveWebSockets } from './realtime/websocket.js';
import { schema } from './schema/index.js';
import type { Tracing } from './tracing/setup.js';
import { loadTrustedDocuments, type TrustedDocuments } from './trusted-documents.js';

export interface ServerDeps {
  config: Config;
  prisma: PrismaClient;
  /** The runtime login's URL: `/readyz` opens a connection of its own with it. */
  databaseUrl: string;
  logger: Logger;
  /**
   * Verifies bearer tokens (`createTokenVerifier`). Built by the caller: its key may come from
   * `.data/` in development rather than config, and a public key is imported asynchronously.
   */
  verifyToken: TokenVerifier;
  /** MEMBER_ID_HASH_KEY, or the development key from `.data/`. */
  memberIdHashKey: string;
  /**
   * Wraps each plugin of the pipeline by its name before yoga sees it: what tests use to check
   * that every plugin applies to every kind of request (tests/integration/pipeline.test.ts).
   */
  observePlugin?: (name: string, plugin: object) => object;
  /**
   * Development only: the token src/index.ts prints, put in GraphiQL's headers for a browser on
   * this machine. Ignored in production.
   */
  graphiqlToken?: string;
  /**
   * The manifests of TRUSTED_DOCUMENTS, loaded and checked already: src/index.ts does it before
   * any database work, so that a manifest that no longer validates fails the start at once.
   * Absent: loaded here from `config`.
   */
  trustedDocuments?: TrustedDocuments;
  /** Set when OTEL_EXPORTER_OTLP_ENDPOINT is (src/tracing/setup.ts): the request's spans. */
  tracing?: Tracing;
}

export interface AppServer {
  yoga: YogaServerInstance<object, object>;
  http: Server;
  /** The change feed of Subscription.changes on this instance. */
  changeFeed: ChangeFeed;
  /**
   * METRICS_PORT's server, not listening (src/index.ts listens): GET /metrics only, no token.
   * Unset without METRICS_PORT.
   */
  metricsHttp: Server | undefined;
  /**
   * From now on `/readyz` answers 503 "shutting down", so load balancers stop sending requests,
   * and open subscriptions complete.
   */
  drain(): void;
  /** Closes what the server holds besides the request pool (the readiness probe's connection, the fan-out's). */
  close(): Promise<void>;
}

/**
 * Builds the HTTP server without listening: tests drive `yoga.fetch`, src/index.ts listens. Every
 * request goes through yoga and the plugins below, in this order, whatever executes it.
 */
export function createServer(deps: ServerDeps): AppServer {
  const { config, logger } = deps;
  // First: a manifest that cannot be used leaves nothing opened behind it.
  const trustedDocuments = deps.trustedDocuments ?? loadTrustedDocuments(config, schema);
  if (trustedDocuments) logTrustedDocuments(logger, trustedDocuments, config);
  const readiness = createReadinessCheck(deps.databaseUrl);
  const documentCaches = createDocumentCaches();
  const state = { draining: false };
  const feedLogger = logger.child({ component: 'change-feed' });
  const changeFeed = new ChangeFeed(databaseChangeSource(deps.prisma, config.statementTimeoutMs), {
    maxPerUser: config.realtime.maxSubscriptionsPerUser,
    logger: feedLogger,
  });
  const fanout = config.realtime.redisUrl
    ? fanOutWithRedis(config.realtime.redisUrl, changeFeed, feedLogger)
    : listenWithPostgres(config.realtime.listenUrl ?? deps.databaseUrl, changeFeed, feedLogger);
  // The token's user, looked up for a graphql-ws connection (which runs no operation itself).
  const isActiveUser = (claims: TokenClaims) =>
    withRequest(deps.prisma, claims, async (tx) => tx.user !== null, {
      statementTimeoutMs: config.statementTimeoutMs,
    });
  // A mutation's payload rows are read by a compiled query: it needs the mutations' payloads.
  capturePayloads(schema);
  const examples = config.graphiql || metricsOn(config) || deps.tracing ? exampleTabs() : [];
  // Bounded: the operations of the examples and of the trusted documents; metrics label any other
  // name `other`, spans carry none.
  const operationNames =
    metricsOn(config) || deps.tracing
      ? knownOperationNames([...examples.map((tab) => tab.query), ...(trustedDocuments?.texts() ?? [])])
      : new Set<string>();
  deps.tracing?.knowOperationNames(operationNames);
  // None collected at all unless they can be read (METRICS_TOKEN or METRICS_PORT).
  const metrics: Metrics | undefined = metricsOn(config)
    ? createMetrics({
        operationNames,
        token: config.metrics.token,
        pool: poolOf(deps.prisma),
        openSubscriptions: () => changeFeed.size,
      })
    : undefined;
  const plugins: [string, PipelinePlugin | false | Plugin][] = [
    // Outermost: the request's span holds everything, the request log's line included (which
    // gets the trace id from it).
    ['tracing', deps.tracing?.plugin ?? false],
    // First of the rest: it gives the request its id and times it.
    ['requestLog', useRequestLog(logger)],
    ['healthChecks', useHealthChecks(readiness, state)],
    ['rootPage', useRootPage({ graphiql: config.graphiql })],
    // Before authentication: a script tag sends no token.
    ['graphiqlAssets', config.graphiql && useGraphiQLAssets()],
    ['cors', config.corsOrigins.length > 0 && useCors(config.corsOrigins)],
    ['bodyLimit', useBodyLimit(config.limits.bodyBytes)],
    ['paramsCheck', useParamsCheck()],
    // Before any limit that needs the document: an unauthenticated client learns nothing from it.
    ['authentication', useAuthentication(deps.verifyToken)],
    // After authentication (an unauthenticated client learns nothing of the manifests), before
    // every hook that reads the document: an id becomes its text, which the limits below see.
    [
      'trustedDocuments',
      trustedDocuments !== undefined &&
        useTrustedDocuments(trustedDocuments, { only: config.trustedDocuments.only }),
    ],
    ['documentSizeLimit', useDocumentSizeLimit(config.limits.documentBytes)],
    ['parseLimits', useParseLimits(config.limits.tokens, config.limits.stringLiteralBytes)],
    ['operationLimits', useOperationLimits(config.limits)],
    [
      'executor',
      useTenantExecutor(deps.prisma, {
        memberIdHashKey: deps.memberIdHashKey,
        logger,
        compiledQueries: config.compiledQueries,
        statementTimeoutMs: config.statementTimeoutMs,
        changeFeed,
        fanout,
        traceDeliveries: deps.tracing?.traceDeliveries,
      }),
    ],
    ['eventStream', useEventStream()],
    ['errorMasking', useErrorMasking(logger)],
    ['schemaPrivacy', !config.introspection && useSchemaPrivacy()],
    ['documentCache', documentCaches.plugin as PipelinePlugin],
    // After errorMasking: it counts the error codes clients see. It answers /metrics in onRequest,
    // before any plugin's onRequestParse (authentication's among them).
    ['metrics', metrics?.plugin ?? false],
  ];
  const tabs = config.graphiql ? examples : [];
  const token = config.env === 'production' ? undefined : deps.graphiqlToken;
  // A development server on HOST=0.0.0.0 must not hand its admin token to the whole network.
  const signedIn = (server: ServerContext | undefined) =>
    token && isLoopback(server?.req?.socket.remoteAddress) ? token : undefined;
  const observe = deps.observePlugin ?? ((_name: string, plugin: object) => plugin);
  const yoga = createYoga<object, object>({
    schema,
    logging: logger.child({ component: 'yoga' }),
    graphiql:
      config.graphiql &&
      ((_request, server) => graphiqlOptions(tabs, signedIn(server as ServerContext | undefined))),
    renderGraphiQL: renderGraphiQLPage,
    landingPage: false,
    // src/plugins/cors.ts, when CORS_ORIGINS lists origins; yoga's own is never used.
    cors: false,
    // No file uploads in this API: a multipart body is 415 like any other unknown media type.
    multipart: false,
    parserAndValidationCache: documentCaches.options,
    batching: false,
    // useBodyLimit does this, with a message that names the limit.
    maxRequestBodySize: false,
    plugins: plugins.flatMap(([name, plugin]) => (plugin ? [observe(name, plugin) as Plugin] : [])),
  });
  const http = boundedHttpServer(yoga as unknown as RequestListener, config.maxConnections);
  const metricsHttp =
    metrics && config.metrics.port !== undefined
      ? boundedHttpServer(metrics.listener, METRICS_MAX_CONNECTIONS)
      : undefined;
  const websockets = serveWebSockets(http, {
    yoga,
    schema,
    verifyToken: deps.verifyToken,
    isActiveUser,
    maxMessageBytes: config.limits.bodyBytes,
    maxSocketsPerUser: config.realtime.maxSubscriptionsPerUser,
    logger,
    trustedDocuments,
  });
  return {
    yoga,
    http,
    changeFeed,
    metricsHttp,
    drain: () => {
      state.draining = true;
      // Open subscriptions complete: their clients see an end, and resume elsewhere with `after`.
      changeFeed.close();
      // The sockets close once their subscriptions' `complete` messages are out.
      setTimeout(() => void websockets.close(), WEBSOCKET_CLOSE_DELAY_MS).unref();
    },
    close: async () => {
      changeFeed.close();
      await Promise.all([readiness.close(), fanout.close(), websockets.close()]);
    },
  };
}

function logTrustedDocuments(logger: Logger, documents: TrustedDocuments, config: Config): void {
  const { only } = config.trustedDocuments;
  logger.info({ documents: documents.size, manifests: documents.paths, only }, 'trusted documents loaded');
  // GraphiQL sends the text of what its editor holds: with only trusted documents, all of it is refused.
  if (only && config.graphiql) {
    logger.warn(
      'GraphiQL is on, but only trusted documents run (TRUSTED_DOCUMENTS_ONLY): its operations will be refused with PERSISTED_QUERY_ONLY; set TRUSTED_DOCUMENTS_ONLY=false to use it',
    );
  }
}

function metricsOn(config: Config): boolean {
  return config.metrics.token !== undefined || config.metrics.port !== undefined;
}

/** Scrapers of METRICS_PORT: a few Prometheus servers, not the public. */
const METRICS_MAX_CONNECTIONS = 16;

/** Time the `complete` messages of a draining server's subscriptions get before their sockets close. */
const WEBSOCKET_CLOSE_DELAY_MS = 200;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6; false without a socket (`yoga.fetch`). */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const ipv4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return ipv4.startsWith('127.') || address === '::1';
}

/**
 * node:http with bounds on slow and many clients: a request's headers must arrive within 10 s and
 * the whole request within 30 s (Node's defaults, 60 s and 300 s, let a client that trickles
 * bytes hold a connection for minutes), checked every second; at most `maxConnections` open at
 * once, so that a flood of connections runs out of this limit before the process runs out of
 * file descriptors (and with them its database connections and its probes).
 */
function boundedHttpServer(listener: RequestListener, maxConnections: number): Server {
  const http = createHttpServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
    listener,
  );
  http.maxConnections = maxConnections;
  return http;
}

/**
 * `/healthz` never touches the database; `/readyz` checks, on a connection of its own, that the
 * database answers and is fully migrated, and turns 503 once the server drains.
 */
function useHealthChecks(readiness: ReadinessCheck, state: { draining: boolean }): PipelinePlugin {
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  return {
    // Not async: every request passes here, and only /readyz waits for anything.
    onRequest({ url, endResponse }) {
      if (url.pathname === '/healthz') return endResponse(json(200, { status: 'ok' }));
      if (url.pathname !== '/readyz') return;
      const answer = (reason: string | null) =>
        endResponse(reason ? json(503, { status: 'unavailable', reason }) : json(200, { status: 'ok' }));
      if (state.draining) return answer('shutting down');
      return readiness.check().then(answer);
    },
  };
}
