import type { IncomingMessage, Server } from 'node:http';
import {
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  parse,
} from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import { AuthenticationError, type TokenClaims, type TokenVerifier } from '../auth/jwt.js';
import { NO_ACTIVE_USER } from '../errors.js';
import type { Logger } from '../logger.js';
import { requestedDocumentId } from '../plugins/trusted-documents.js';
import type { TrustedDocuments } from '../trusted-documents.js';
import { readEventStream } from './event-stream.js';

/**
 * graphql-ws (subprotocol `graphql-transport-ws`) on `/graphql`. Each operation a socket sends
 * runs as an SSE request through yoga (`yoga.fetch`), with the socket's token: the same pipeline
 * as every other request (authentication, limits, logging, masking, the executor), none of it
 * written twice. The socket itself is authenticated once, at `connection_init`: a missing or
 * invalid token closes it with 4401 before any operation runs.
 */
export interface WebSocketTransport {
  /** Shutdown: every socket closes with 1001 (its subscriptions completed before, by the feed). */
  close(): Promise<void>;
}

/** Never validated or executed: it makes graphql-ws call `subscribe`, which forwards the operation. */
const FORWARDED = parse('subscription Forwarded { __typename }');
/** Ping each socket this often; one that did not answer the last ping is closed (a dead peer). */
const HEARTBEAT_MS = 12_000;
/** On shutdown, a socket whose peer has not answered its close frame within this long is cut. */
const CLOSE_HANDSHAKE_MS = 1_000;
/** RFC 6455's "try again later": the user could not be looked up (the database is down). */
const TRY_AGAIN_LATER = 1013;

interface Forwarded {
  payload: SubscribePayload;
  authorization: string;
  request: IncomingMessage;
  socket: WebSocket;
}

export function serveWebSockets(
  http: Server,
  deps: {
    yoga: YogaServerInstance<object, object>;
    schema: GraphQLSchema;
    verifyToken: TokenVerifier;
    /** Whether the token's user is active: a deactivated user's socket is refused at connection_init. */
    isActiveUser: (claims: TokenClaims) => Promise<boolean>;
    /** MAX_BODY_BYTES: a message is a request body. */
    maxMessageBytes: number;
    /** MAX_SUBSCRIPTIONS_PER_USER: a user's open sockets are bounded like their subscriptions. */
    maxSocketsPerUser: number;
    logger: Logger;
    /** TRUSTED_DOCUMENTS: what an operation sent by id is, to know whether it is a subscription. */
    trustedDocuments?: TrustedDocuments;
  },
): WebSocketTransport {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: deps.maxMessageBytes });
  http.on('upgrade', (request: IncomingMessage, socket, head) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });
  const alive = new WeakSet<WebSocket>();
  sockets.on('connection', (ws: WebSocket) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
  });
  const heartbeat = setInterval(() => {
    for (const ws of sockets.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const authorizations = new WeakMap<object, string>();
  const socketsPerUser = new Map<string, number>();
  useServer<Record<string, unknown> | undefined, { socket: WebSocket; request: IncomingMessage }>(
    {
      onConnect: async (ctx) => {
        const authorization =
          authorizationOf(ctx.connectionParams) ?? ctx.extra.request.headers.authorization;
        let user: string;
        let claims: TokenClaims;
        try {
          claims = await deps.verifyToken(authorization ?? null);
          user = `${claims.tenantId}:${claims.authId}`;
        } catch (error) {
          if (!(error instanceof AuthenticationError)) throw error;
          ctx.extra.socket.close(CloseCode.Unauthorized, `Unauthorized: ${error.message}`.slice(0, 120));
          return false;
        }
        // Idle acknowledged sockets would otherwise let one user take every connection
        // MAX_CONNECTIONS allows: a user holds at most as many sockets as subscriptions. The place
        // is taken before the user is looked up, so that a flood of one user's sockets costs that
        // many lookups at most, and given back when the socket closes, however it closes.
        const held = socketsPerUser.get(user) ?? 0;
        if (held >= deps.maxSocketsPerUser) {
          ctx.extra.socket.close(
            CloseCode.TooManyInitialisationRequests,
            `Too many sockets: at most ${deps.maxSocketsPerUser} per user (MAX_SUBSCRIPTIONS_PER_USER)`,
          );
          return false;
        }
        socketsPerUser.set(user, held + 1);
        ctx.extra.socket.once('close', () => {
          const left = (socketsPerUser.get(user) ?? 1) - 1;
          if (left > 0) socketsPerUser.set(user, left);
          else socketsPerUser.delete(user);
        });
        // A deactivated user gets no socket (their token is refused by every operation anyway).
        let active: boolean;
        try {
          active = await deps.isActiveUser(claims);
        } catch {
          ctx.extra.socket.close(TRY_AGAIN_LATER, 'The database is unavailable; connect again shortly');
          return false;
        }
        if (!active) {
          ctx.extra.socket.close(CloseCode.Unauthorized, `Unauthorized: ${NO_ACTIVE_USER}`);
          return false;
        }
        authorizations.set(ctx, authorization as string);
        return true;
      },
      onSubscribe: (ctx, _id, payload) => ({
        schema: deps.schema,
        document: FORWARDED,
        contextValue: {
          payload,
          authorization: authorizations.get(ctx) ?? '',
          request: ctx.extra.request,
          socket: ctx.extra.socket,
        } satisfies Forwarded,
      }),
      subscribe: (args) => forward(deps.yoga, args.contextValue as Forwarded),
      execute: (args) => forward(deps.yoga, args.contextValue as Forwarded),
      // API.md: an expired token closes the socket with 4401, a forbidden subscription with 4403.
      // The result goes out first, then the close: graphql-ws's own send is then a no-op.
      // A forbidden query or mutation is answered like over HTTP: the socket, and the other
      // subscriptions it carries, stay.
      onNext: (ctx, id, payload, _args, result) => {
        const codes = new Set((result.errors ?? []).map((error) => error.extensions?.code));
        const close = codes.has('UNAUTHENTICATED')
          ? ([CloseCode.Unauthorized, 'Unauthorized'] as const)
          : codes.has('FORBIDDEN') && !result.data && isSubscription(payload, deps.trustedDocuments)
            ? ([CloseCode.Forbidden, 'Forbidden'] as const)
            : undefined;
        if (close) {
          ctx.extra.socket.send(JSON.stringify({ id, type: 'next', payload: result }));
          ctx.extra.socket.close(close[0], close[1]);
        }
        // Results come formatted already (JSON from the SSE response): sent as they are.
        return result as FormattedExecutionResult;
      },
    },
    sockets,
  );
  // A socket's own errors are its peer's doing (a message over MAX_BODY_BYTES, a broken frame):
  // ws has closed it already (1009, 1002). graphql-ws, registered before this listener, would print
  // each to the console as "Internal error … check your implementation": logged here instead.
  sockets.on('connection', (ws: WebSocket) => {
    ws.removeAllListeners('error');
    ws.on('error', (error: Error & { code?: string }) =>
      deps.logger.info({ code: error.code ?? error.name }, 'a WebSocket peer broke the protocol: closed'),
    );
  });
  return {
    async close() {
      clearInterval(heartbeat);
      for (const ws of sockets.clients) ws.close(1001, 'the server is shutting down: reconnect');
      // A peer that does not answer the closing handshake is not waited for (ws would wait 30 s).
      const stragglers = setTimeout(() => {
        for (const ws of sockets.clients) ws.terminate();
      }, CLOSE_HANDSHAKE_MS);
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      clearTimeout(stragglers);
    },
  };
}

/** Whether the operation a socket sent, as text or by id, is a subscription (it was parsed and run already). */
function isSubscription(payload: SubscribePayload, trustedDocuments: TrustedDocuments | undefined): boolean {
  const text = payload.query || trustedDocuments?.get(requestedDocumentId(payload) ?? '');
  if (!text) return false;
  try {
    return getOperationAST(parse(text), payload.operationName)?.operation === 'subscription';
  } catch {
    return false;
  }
}

/** `connectionParams.authorization` (or `Authorization`), as `Bearer <JWT>`. */
function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The operation as an SSE request through yoga, its events as results. `return()` (the client
 * sent `complete`, or closed the socket) cancels the response: yoga ends the subscription.
 */
async function forward(
  yoga: YogaServerInstance<object, object>,
  { payload, authorization, request }: Forwarded,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const abort = new AbortController();
  // A trusted document's id (src/plugins/trusted-documents.ts) as the appendix names it; graphql-ws
  // passes a payload's other fields through, and wants `query` a string: '' when sent by id.
  const { documentId } = payload as { documentId?: unknown };
  const response = await yoga.fetch(
    'http://localhost/graphql',
    {
      method: 'POST',
      signal: abort.signal,
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization,
        ...(request.headers['user-agent'] ? { 'user-agent': request.headers['user-agent'] } : {}),
      },
      body: JSON.stringify({
        query: payload.query === '' ? undefined : payload.query,
        documentId,
        variables: payload.variables ?? undefined,
        operationName: payload.operationName ?? undefined,
        extensions: payload.extensions ?? undefined,
      }),
    },
    { req: request },
  );
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    const text = await response.text();
    try {
      return JSON.parse(text) as ExecutionResult;
    } catch {
      return { errors: [new GraphQLError(`HTTP ${response.status}: ${text.slice(0, 200)}`)] };
    }
  }
  return readEventStream(response, () => abort.abort());
}
