import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { TokenVerifier } from './auth/jwt.js';
import type { Config } from './config.js';
import { createRequestContext, useAuthentication, useTenantTransaction } from './context.js';
import { pendingMigrations } from './db/migrate.js';
import { createFastLane, type FastLane } from './fast-lane.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { graphiqlDefaultQuery } from './graphiql.js';
import type { Logger } from './logger.js';
import { useBodyLimit, useOperationLimits, useTokenLimit } from './plugins/limits.js';
import { useRequestLog } from './plugins/request-log.js';
import { useParamsCheck } from './plugins/request-params.js';
import { schema } from './schema/index.js';

export interface ServerDeps {
  config: Config;
  prisma: PrismaClient;
  logger: Logger;
  /**
   * Verifies bearer tokens (`createTokenVerifier`). Built by the caller: its key may come from
   * `.data/` in development rather than config, and a public key is imported asynchronously.
   */
  verifyToken: TokenVerifier;
  /** MEMBER_ID_HASH_KEY, or the development key from `.data/`. */
  memberIdHashKey: string;
}

export interface AppServer {
  yoga: YogaServerInstance<object, object>;
  http: Server;
  /** Serves compiled queries without yoga's pipeline (src/fast-lane.ts); absent with COMPILED_QUERIES=false. */
  fastLane: FastLane | undefined;
}

/** Builds the HTTP server without listening: tests drive `yoga.fetch`, src/index.ts listens. */
export function createServer({
  config,
  prisma,
  logger,
  verifyToken,
  memberIdHashKey,
}: ServerDeps): AppServer {
  const fastLane = config.compiledQueries
    ? createFastLane({
        schema,
        prisma,
        verifyToken,
        logger,
        memberIdHashKey,
        statementTimeoutMs: config.statementTimeoutMs,
        maxCost: config.limits.cost,
      })
    : undefined;
  const yoga = createYoga<object, object>({
    schema,
    context: createRequestContext as never,
    logging: logger.child({ component: 'yoga' }),
    graphiql: config.graphiql
      ? {
          title: 'Prior-auth API',
          // The operations of docs/examples, and where the token goes.
          defaultQuery: graphiqlDefaultQuery(),
          headers: JSON.stringify(
            { Authorization: 'Bearer <token printed by npm start, or npm run token>' },
            null,
            2,
          ),
        }
      : false,
    landingPage: false,
    batching: false,
    // useBodyLimit below does this, with a message that names the limit.
    maxRequestBodySize: false,
    plugins: [
      // First: it times every request.
      useRequestLog(logger),
      useHealthChecks(prisma),
      useBodyLimit(config.limits.bodyBytes),
      useParamsCheck(),
      // Before any limit that needs the document: an unauthenticated client learns nothing from it.
      useAuthentication(verifyToken),
      useTokenLimit(config.limits.tokens),
      useOperationLimits(config.limits),
      useTenantTransaction(prisma, {
        memberIdHashKey,
        logger,
        compiledQueries: config.compiledQueries,
        onCompiled: fastLane?.admit,
        statementTimeoutMs: config.statementTimeoutMs,
      }),
      ...(config.introspection ? [] : [useNoIntrospection()]),
    ],
  });
  const listener = yoga as unknown as RequestListener;
  return { yoga, http: createHttpServer(fastLane ? fastLane.listener(listener) : listener), fastLane };
}

/** `/healthz` never touches the database; `/readyz` checks that it answers and is fully migrated. */
function useHealthChecks(prisma: PrismaClient): Plugin {
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname === '/healthz') return endResponse(json(200, { status: 'ok' }));
      if (url.pathname !== '/readyz') return;
      try {
        const rows = await prisma.$queryRaw<{ migration_name: string }[]>`
          SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
        const pending = await pendingMigrations(rows.map((r) => r.migration_name));
        if (pending.length > 0) {
          return endResponse(
            json(503, { status: 'unavailable', reason: `pending migrations: ${pending.join(', ')}` }),
          );
        }
        endResponse(json(200, { status: 'ok' }));
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0] : 'unreachable';
        endResponse(json(503, { status: 'unavailable', reason: `database: ${reason}` }));
      }
    },
  };
}

function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
