import type { IncomingMessage } from 'node:http';
import { PothosValidationError } from '@pothos/core';
import DataLoader from 'dataloader';
import { type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AuthenticationError, type TokenClaims, type TokenVerifier } from './auth/jwt.js';
import { executeCompiled } from './compiled/index.js';
import { statementCounter } from './db/client.js';
import { databaseFailure, dataException, failureCause } from './db/errors.js';
import {
  type RequestTransaction,
  type RequestUser,
  type TenantDb,
  type TenantTransactionOptions,
  withRequest,
} from './db/tenant.js';
import { badUserInput, serviceUnavailable, timedOut, unauthenticated, unexpected } from './errors.js';
import type { LaneRequest } from './fast-lane.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { createLogThrottle, type Logger } from './logger.js';
import type { Actor } from './services/audit.js';

export type Role = 'admin' | 'clinician' | 'staff';

/** The authenticated user. The role is the user row's, never a token claim. */
export interface Viewer {
  id: string;
  tenantId: string;
  role: Role;
}

/** What is known of a request before the database is touched. */
export interface RequestContext {
  requestId: string;
  claims: TokenClaims;
  clientIp: string | null;
  userAgent: string | null;
  /** The database failed under the fast lane for this request: report it, do not run it again. */
  databaseFailure?: unknown;
}

/** The context every resolver sees: the viewer and a database handle scoped to their tenant. */
export interface Context extends RequestContext {
  viewer: Viewer;
  /** The viewer as services and the audit trail see them. */
  actor: Actor;
  /** The request's transaction; RLS sees only the viewer's tenant through it. */
  db: TenantDb;
  /** Runs one SQL statement in the request's transaction (the compiled queries of src/compiled). */
  sql: RequestTransaction['sql'];
  /** MEMBER_ID_HASH_KEY: raw member ids are hashed with it (src/domain/member-id.ts). */
  memberIdHashKey: string;
  /** SQL statements this request has sent so far, its transaction included (for the request log). */
  readonly statementCount: number;
  loaders: Loaders;
}

export interface Loaders {
  /** Records one `view` audit row per case whose extracted data this request reads. */
  extractedDataView: DataLoader<string, true>;
}

/** Yoga's own context: `req` is there when served by node:http, absent under `yoga.fetch`. */
interface ServerContext {
  req?: IncomingMessage;
  claims?: TokenClaims;
}

export function createRequestContext({
  request,
  req,
  claims,
}: ServerContext & { request: Request }): RequestContext {
  if (!claims) throw unauthenticated('missing Authorization header'); // unreachable: useAuthentication runs first
  return {
    requestId: request.headers.get('x-request-id') ?? crypto.randomUUID(),
    claims,
    clientIp: req?.socket.remoteAddress ?? null,
    userAgent: request.headers.get('user-agent'),
    databaseFailure: (req as LaneRequest | undefined)?.databaseFailure,
  };
}

/**
 * Verifies the bearer token of every GraphQL request before its document is even parsed, so that
 * nothing (not a validation message naming a field) reaches an unauthenticated client.
 */
export function useAuthentication(verify: TokenVerifier): Plugin {
  // node:http's request when there is one (the fast lane may have verified it already), else the
  // fetch Request: either way, one verification per request (the verifier remembers it).
  const verifyRequest = (request: Request, serverContext: unknown) =>
    verify(request.headers.get('authorization'), (serverContext as ServerContext).req ?? request);
  return {
    // Before the body is read and parsed: a client without a valid token costs a header's check.
    async onRequestParse({ request, serverContext }) {
      try {
        await verifyRequest(request, serverContext);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        throw unauthenticated(error.message);
      }
    },
    async onParams({ request, context, setResult }) {
      try {
        (context as ServerContext).claims = await verifyRequest(request, context);
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        setResult({ errors: [unauthenticated(error.message)] });
      }
    },
  };
}

/**
 * Runs each operation inside one transaction with the token's tenant set for RLS, loads the
 * viewer through it (a user of another tenant is invisible there, so it fails as unknown), and
 * hands resolvers that transaction as `ctx.db`. Errors leave here in one of three forms: as
 * resolvers raised them (GraphQL errors with a code: FORBIDDEN, BAD_USER_INPUT, …), as TIMEOUT or
 * SERVICE_UNAVAILABLE (503) when the database failed, or masked with the request id, logged.
 */
export function useTenantTransaction(
  prisma: PrismaClient,
  options: TenantTransactionOptions & {
    memberIdHashKey: string;
    compiledQueries: boolean;
    logger?: Logger;
    /** An operation ran compiled, without errors (the fast lane may serve it from now on). */
    onCompiled?: (args: ExecutionArgs) => void;
  },
): Plugin {
  return {
    onExecute({ setExecuteFn, executeFn }) {
      setExecuteFn(async (args) => {
        const base = args.contextValue as RequestContext;
        const expose = (error: unknown) => exposeError(error, base.requestId, options.logger);
        const counter = { count: 0 };
        if (base.databaseFailure !== undefined) return { errors: [expose(base.databaseFailure)] };
        try {
          const result = (await statementCounter.run(counter, () =>
            withRequest(
              prisma,
              base.claims,
              async (tx) => {
                if (!tx.user)
                  return { errors: [unauthenticated('no user with this subject in this tenant')] };
                const contextValue = resolverContext(base, tx, tx.user, counter, options.memberIdHashKey);
                // The request log reads the viewer and the statement count from here.
                (base as RequestContext & { execution?: Context }).execution = contextValue;
                const resolve = () => executeFn({ ...args, contextValue });
                let resolved = false;
                const compiled = options.compiledQueries
                  ? executeCompiled(args, contextValue, () => {
                      resolved = true;
                      return resolve();
                    })
                  : null;
                if (!compiled) return resolve();
                const result = await compiled;
                if (!result.errors && !resolved) options.onCompiled?.(args);
                return result;
              },
              { ...options, soleMutation: isSoleMutation(args) },
            ),
          )) as ExecutionResult;
          return result.errors ? { ...result, errors: result.errors.map(expose) } : result;
        } catch (error) {
          // The transaction itself failed (BEGIN, the settings, COMMIT): nothing was committed.
          return { errors: [expose(error)] };
        }
      });
    },
  };
}

/** The context resolvers (and compiled queries) see, inside the request's transaction. */
export function resolverContext(
  base: RequestContext,
  { db, sql }: RequestTransaction,
  user: RequestUser,
  counter: { count: number },
  memberIdHashKey: string,
): Context {
  const viewer: Viewer = { id: user.id, tenantId: user.tenantId, role: user.role as Role };
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
    loaders: createLoaders(sql, base, viewer),
    get statementCount() {
      return counter.count;
    },
  };
}

/** An operation that is one mutation field: its failure may roll back the whole transaction. */
function isSoleMutation({ document, operationName }: ExecutionArgs): boolean {
  const operation = getOperationAST(document, operationName);
  const selections = operation?.selectionSet.selections ?? [];
  return operation?.operation === 'mutation' && selections.length === 1 && selections[0]?.kind === Kind.FIELD;
}

/** Database failures are logged once per interval and kind, not once per failed request. */
const databaseFailureLog = createLogThrottle();

/** What the client sees of an error; what is not meant for it is logged with the request id. */
export function exposeError(error: unknown, requestId: string, logger?: Logger): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (original instanceof PothosValidationError && original.extensions.code === undefined) {
    // Pothos checks a related connection's page arguments itself (a negative size, `before` with
    // `first`) while the parent plans its query, before any check of ours can run.
    return badUserInput(original.message, {
      nodes: (error as GraphQLError).nodes,
      path: (error as GraphQLError).path,
    });
  }
  if (original instanceof GraphQLError) return error as GraphQLError; // raised on purpose, with a code
  const path = error instanceof GraphQLError ? error.path : undefined;
  const sqlState = dataException(original);
  if (sqlState) {
    // The last net of db/errors.ts: never the value, which may be a member id or clinical text.
    logger?.warn({ requestId, path, sqlState }, 'the database refused a value of the request');
    return badUserInput('A value of the request cannot be used by the database', {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path,
    });
  }
  const failure = databaseFailure(original);
  if (failure) {
    const cause = failureCause(original);
    databaseFailureLog(`${failure}:${cause}`, (suppressed) =>
      logger?.warn({ requestId, path, failure, cause, suppressed }, `database ${failure}`),
    );
    return failure === 'timeout' ? timedOut(requestId) : serviceUnavailable(requestId);
  }
  logger?.error({ requestId, path, err: original }, 'unexpected error');
  return unexpected(requestId);
}

function createLoaders(sql: RequestTransaction['sql'], request: RequestContext, viewer: Viewer): Loaders {
  return {
    // One statement for all the cases a request reads, prepared: the compiled queries' only other
    // statement, so it stays as cheap as theirs.
    extractedDataView: new DataLoader(async (caseIds) => {
      await sql(
        `INSERT INTO audit_logs (id, tenant_id, user_id, action, entity_type, entity_id, ip_address, user_agent)
         SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'view', 'case', entity_id, $3, $4
         FROM unnest($5::uuid[]) AS entity_id`,
        [viewer.tenantId, viewer.id, request.clientIp, request.userAgent, caseIds],
        { prepare: true },
      );
      return caseIds.map(() => true as const);
    }),
  };
}
