import {
  createSourceEventStream,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
  getOperationAST,
  Kind,
} from 'graphql';
import { type CompiledFallback, executeCompiled, logFallback } from '../compiled/index.js';
import { executeWithPayloadRead } from '../compiled/payloads.js';
import type {
  Actor,
  Context,
  ExecutionOutcome,
  PipelinePlugin,
  RequestContext,
  ServerContext,
  Viewer,
} from '../context.js';
import { statementCounter } from '../db/client.js';
import {
  type RequestTransaction,
  type RequestUser,
  rollBackRequest,
  type TenantTransactionOptions,
  withRequest,
} from '../db/tenant.js';
import { noActiveUser, unauthenticated } from '../errors.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { type ChangeRow, isDeactivation, SUBSCRIBER_DEACTIVATED } from '../realtime/changes.js';
import { deliveries } from '../realtime/deliveries.js';
import type { ChangeFeed } from '../realtime/feed.js';
import { SharedDeliveries, type SharedResolution } from '../realtime/shared-deliveries.js';

interface ExecutorOptions extends TenantTransactionOptions {
  memberIdHashKey: string;
  /** COMPILED_QUERIES: a query the compiler covers runs as one SQL statement (src/compiled). */
  compiledQueries: boolean;
  logger: Logger;
  changeFeed: ChangeFeed;
  /**
   * Tracing (src/tracing/operations.ts): called as a subscription's stream opens, inside its
   * operation; what it returns wraps the resolution of each change. Unset: tracing is off.
   */
  traceDeliveries?: (args: ExecutionArgs) => DeliveryTracer;
}

/** Runs `resolve`, the resolution of the change `cursor` for a subscription, and returns its resolution. */
export type DeliveryTracer = (
  cursor: number,
  resolve: () => Promise<SharedResolution>,
) => Promise<SharedResolution>;

/**
 * Executes every operation inside one transaction with the token's tenant set for RLS, loads the
 * viewer through it (a user of another tenant is invisible there, so it fails as unknown), and
 * chooses how the operation runs: a query the compiler covers as one SQL statement
 * (src/compiled), a mutation with its payload's rows read that way (src/compiled/payloads.ts),
 * anything else by the resolvers, which see that transaction as `ctx.db`. The
 * choice is made here, inside yoga's pipeline: every other plugin applies to both. A failure of
 * the transaction itself (BEGIN, the settings, COMMIT) becomes the result's error, which
 * useErrorMasking words; nothing was committed.
 */
export function useTenantExecutor(prisma: PrismaClient, options: ExecutorOptions): PipelinePlugin {
  const sharedDeliveries = new SharedDeliveries();
  /**
   * `run` in a request transaction of the token's user, with the resolvers' context; the result's
   * error when there is no such user, or when the transaction failed (BEGIN, COMMIT).
   */
  const inRequest = async <T>(
    server: ServerContext,
    soleMutation: boolean,
    run: (contextValue: Context) => Promise<T>,
  ): Promise<T | ExecutionResult> => {
    const claims = server.claims;
    // useAuthentication refuses the request before its body is read otherwise.
    if (!claims) return { errors: [unauthenticated('missing Authorization header')] };
    const counter = { count: 0 };
    try {
      return await statementCounter.run(counter, () =>
        withRequest(
          prisma,
          claims,
          async (tx) => {
            if (!tx.user) return { errors: [noActiveUser()] };
            // useRequestLog, the first plugin, gives every request its id.
            const base: RequestContext = {
              requestId: server.requestId ?? crypto.randomUUID(),
              claims,
              clientIp: server.req?.socket.remoteAddress ?? null,
              userAgent: server.request.headers.get('user-agent'),
            };
            const contextValue = resolverContext(base, tx, tx.user, counter, options);
            server.viewer = contextValue.viewer;
            return run(contextValue);
          },
          { ...options, soleMutation },
        ),
      );
    } catch (error) {
      return { errors: [error as GraphQLError] };
    } finally {
      server.statementCount = counter.count;
    }
  };
  return {
    onExecute({ setExecuteFn, executeFn }) {
      setExecuteFn((args) => {
        const server = args.contextValue as ServerContext;
        return inRequest(server, isSoleMutation(args), async (contextValue) => {
          const outcome: ExecutionOutcome = { engine: 'resolvers' };
          server.execution = outcome;
          const resolve = () => executeFn({ ...args, contextValue });
          const log = logFallback(options.logger, contextValue.requestId);
          const onFallback = (fallback: CompiledFallback) => {
            outcome.fallback = fallback.cause;
            log(fallback);
          };
          let payloadCompiled = false;
          const compiledRead = (read: ExecutionArgs) => {
            const rows = executeCompiled(read, contextValue, () => executeFn(read), onFallback);
            payloadCompiled = rows !== null;
            return rows;
          };
          const compiled = options.compiledQueries
            ? executeCompiled(args, contextValue, resolve, onFallback)
            : null;
          const withPayloadRead =
            options.compiledQueries && !compiled
              ? executeWithPayloadRead(args, contextValue, executeFn, compiledRead)
              : null;
          const result = (await (compiled ?? withPayloadRead ?? resolve())) as ExecutionResult;
          // A statement that met a row it cannot render exactly left the answer to the resolvers.
          if (outcome.fallback !== 'row') {
            outcome.engine = compiled ? 'compiled' : payloadCompiled ? 'compiled_payload' : 'resolvers';
          }
          // A mutation field's error that is not a union member nulls `data` (every result is
          // non-null): the client cannot know what was written, so nothing is kept, a
          // mutation before it in the same operation included.
          if (isMutation(args) && result.data == null) rollBackRequest();
          return result;
        });
      });
    },
    // A subscription: its arguments are checked and its stream opened in one request transaction;
    // then each change is resolved in a transaction of its own, with the subscriber's tenant and
    // role, once for all the subscribers whose results cannot differ (src/realtime/shared-deliveries.ts).
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const server = args.contextValue as ServerContext;
        const source = await inRequest(
          server,
          false,
          async (contextValue) =>
            (await createSourceEventStream({ ...args, contextValue })) as
              | ExecutionResult
              | AsyncIterable<ExecutionResult>,
        );
        if (!(Symbol.asyncIterator in source) || !server.viewer) return source;
        const { viewer, claims } = server;
        const shareKey = sharedDeliveries.keyOf(args, viewer);
        const subscriber = { authId: claims?.authId ?? '', role: viewer.role };
        // The change resolved for this subscriber, with the roles of the key's users read meanwhile.
        const resolveChange = (change: ChangeRow, authIds: string[]): Promise<SharedResolution> =>
          inRequest(server, false, async (contextValue) => {
            const users =
              authIds.length === 0
                ? []
                : await contextValue.sql<{ auth_id: string; role: string }>(
                    'SELECT auth_id, role FROM users WHERE tenant_id = $1::uuid AND auth_id = ANY($2::text[]) AND deactivated_at IS NULL',
                    [viewer.tenantId, authIds],
                    { prepare: true },
                  );
            const result = (await execute({ ...args, rootValue: change, contextValue })) as ExecutionResult;
            return { result, roles: new Map(users.map((user) => [user.auth_id, user.role])) };
          }).then((resolution) => ('result' in resolution ? resolution : { result: resolution }));
        // Called here, in the subscription's operation: each resolution's span links back to it.
        const traceDelivery = options.traceDeliveries?.(args);
        const resolve = traceDelivery
          ? (change: ChangeRow, authIds: string[]) =>
              traceDelivery(change.cursor, () => resolveChange(change, authIds))
          : resolveChange;
        return deliveries(source as AsyncIterable<ChangeRow>, {
          expiresAtMs: claims?.expiresAtMs ?? 0,
          signal: server.request.signal,
          onEnd: sharedDeliveries.join(shareKey, subscriber.authId),
          deliver: (change) =>
            isDeactivation(change)
              ? Promise.resolve({ errors: [unauthenticated(SUBSCRIBER_DEACTIVATED)] })
              : sharedDeliveries.run(shareKey, change.cursor, subscriber, (authIds) =>
                  resolve(change, authIds),
                ),
        });
      });
    },
  };
}

/** The context resolvers (and compiled queries) see, inside the request's transaction. */
function resolverContext(
  base: RequestContext,
  { db, sql }: RequestTransaction,
  user: RequestUser,
  counter: { count: number },
  { memberIdHashKey, changeFeed }: ExecutorOptions,
): Context {
  const viewer: Viewer = { id: user.id, tenantId: user.tenantId, role: user.role as Viewer['role'] };
  const actor: Actor = {
    userId: viewer.id,
    tenantId: viewer.tenantId,
    role: viewer.role,
    ipAddress: base.clientIp,
    userAgent: base.userAgent,
  };
  return {
    ...base,
    viewer,
    actor,
    db,
    sql,
    memberIdHashKey,
    changeFeed,
    loaders: new Map(),
    get statementCount() {
      return counter.count;
    },
  };
}

function isMutation({ document, operationName }: ExecutionArgs): boolean {
  return getOperationAST(document, operationName)?.operation === 'mutation';
}

/** An operation that is one mutation field: its failure may roll back the whole transaction. */
function isSoleMutation({ document, operationName }: ExecutionArgs): boolean {
  const operation = getOperationAST(document, operationName);
  const selections = operation?.selectionSet.selections ?? [];
  return operation?.operation === 'mutation' && selections.length === 1 && selections[0]?.kind === Kind.FIELD;
}
