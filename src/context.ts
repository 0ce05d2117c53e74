/**
 * The types of a request's context, and nothing else: a leaf of the import graph (Pothos's app
 * layout), so that the builder, the schema, the services and the plugins can all name them
 * without importing the code that builds them (src/plugins/).
 */
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { TokenClaims } from './auth/jwt.js';
import type { RequestTransaction, TenantDb } from './db/tenant.js';
import type { Role } from './domain/vocabulary.js';
import type { ChangeFeed } from './realtime/feed.js';

/** The authenticated user. The role is the user row's, never a token claim. */
export interface Viewer {
  id: string;
  tenantId: string;
  role: Role;
}

/** Who acts, from where: what every audit row records. */
export interface Actor {
  userId: string;
  tenantId: string;
  role: Role;
  ipAddress: string | null;
  userAgent: string | null;
}

/**
 * Yoga's context of one request, as the plugins of src/server.ts fill it in, in their order
 * (hence optional). It is the one place per-request state lives: nothing is written onto the
 * request itself.
 */
export interface ServerContext {
  /** node:http's request; absent under `yoga.fetch`. */
  req?: IncomingMessage;
  request: Request;
  /** useRequestLog: the client's `x-request-id` when usable, else a new one. */
  requestId?: string;
  /** useAuthentication: the verified token's claims, before the body is read. */
  claims?: TokenClaims;
  /** useTenantExecutor, once the transaction found the user. */
  viewer?: Viewer;
  /** useTenantExecutor: SQL statements sent for this request so far, transaction included. */
  statementCount?: number;
  /** useTenantExecutor: how it ran the query or mutation, once it ran (what the metrics report). */
  execution?: ExecutionOutcome;
}

/** How an operation ran (src/plugins/executor.ts, src/compiled). */
export interface ExecutionOutcome {
  /**
   * `compiled`: one SQL statement answered the query; `compiled_payload`: a mutation ran by its
   * resolvers and its payload's rows were read by a compiled statement; `resolvers`: the
   * resolvers alone (COMPILED_QUERIES off, a mutation, or a query the compiler left to them).
   */
  engine: 'compiled' | 'compiled_payload' | 'resolvers';
  /** Why the compiler left the query (or the payload's read) to the resolvers: src/compiled's `CompiledFallback`. */
  fallback?: 'untranslatable' | 'arguments' | 'variables' | 'row';
}

/** A plugin of the pipeline (src/server.ts): its hooks see the request's context as `ServerContext`. */
export type PipelinePlugin = Plugin<ServerContext, ServerContext>;

/** What is known of a request before the database is touched. */
export interface RequestContext {
  requestId: string;
  claims: TokenClaims;
  clientIp: string | null;
  userAgent: string | null;
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
  /** The change feed Subscription.changes reads (src/realtime/feed.ts). */
  changeFeed: ChangeFeed;
  /** The request's DataLoaders, by their accessor (src/loaders.ts, `perRequest`). */
  loaders: Map<object, unknown>;
}
