import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { DocumentNode, ExecutionArgs, GraphQLSchema } from 'graphql';
import { getOperationAST, getVariableValues } from 'graphql';
import { AuthenticationError, type TokenVerifier } from './auth/jwt.js';
import { createTextKeyedCache, DOCUMENT_BYTES_PER_CHAR } from './bounded-cache.js';
import { DATA_TEXT, executeCompiled } from './compiled/index.js';
import { type RequestContext, resolverContext } from './context.js';
import { statementCounter } from './db/client.js';
import { databaseFailure } from './db/errors.js';
import { withRequest } from './db/tenant.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { Logger } from './logger.js';
import { measureOperation, VARIABLE_COERCION } from './plugins/limits.js';
import { requestIdFrom, writeRequestLine } from './plugins/request-log.js';

/**
 * The fast lane: a query the SQL compiler answers (src/compiled) is served here, straight from
 * node:http, without yoga's request pipeline, which costs about 0.9 ms of CPU per request on its
 * own (docs/benchmarks.md): more than PostGraphile's whole request for a case's detail.
 *
 * Only what yoga has already accepted comes here: a document (its exact text and operation name)
 * enters the lane after it went through the whole pipeline (parsing, the token limit, validation,
 * depth, aliases and cost) and ran compiled without errors. Per request the lane repeats what
 * can change with the request: the token (the verifier remembers verified tokens), the cost
 * (it depends on the variables), the variables' coercion. Whatever is not the plain case (another
 * header, method or shape of body, an invalid token, a database error, a response with errors, a
 * user that is not found) goes to yoga with the body already read, inside the transaction nothing
 * is kept (ROLLBACK), so the answer is exactly yoga's. Reads only: a request may run twice.
 */
export interface FastLane {
  /** From `useTenantTransaction`: this operation ran compiled, without errors. */
  admit(args: ExecutionArgs): void;
  /** Requests the lane answered itself (for tests and benchmarks). */
  readonly served: number;
  /** The HTTP handler: the lane's requests, and yoga for all the others. */
  listener(yoga: RequestListener): RequestListener;
}

export interface FastLaneOptions {
  schema: GraphQLSchema;
  prisma: PrismaClient;
  verifyToken: TokenVerifier;
  logger: Logger;
  memberIdHashKey: string;
  statementTimeoutMs: number;
  maxCost: number;
}

interface Admitted {
  document: DocumentNode;
  operationName: string | undefined;
  operationType: string;
  /** For the log line, as yoga's has it. */
  displayName: string | undefined;
}

/**
 * What the lane remembers of the operations admitted, by the estimated size of their parsed
 * documents (the application's own operations, in practice: a few hundred of the usual size).
 */
const ADMITTED_BYTES = 8 * 1024 * 1024;
/** Larger bodies go straight to yoga: the lane's queries are small, and a body read here is handed on. */
const MAX_LANE_BODY_BYTES = 64 * 1024;

/**
 * The Accept headers whose answer the lane knows (yoga's choice of content type for each). A Map:
 * an object literal would also answer `constructor` or `__proto__`.
 */
const CONTENT_TYPE = new Map<string, string>([
  ['', 'application/json; charset=utf-8'],
  ['*/*', 'application/json; charset=utf-8'],
  ['application/json', 'application/json; charset=utf-8'],
  ['application/graphql-response+json', 'application/graphql-response+json; charset=utf-8'],
]);

/** A request the lane hands to yoga after the database failed under it (src/context.ts reports it). */
export type LaneRequest = IncomingMessage & { databaseFailure?: unknown };

/** Thrown inside the transaction to roll it back and hand the request to yoga. */
const TO_YOGA = Symbol('to yoga');

export function createFastLane(options: FastLaneOptions): FastLane {
  const admitted = createTextKeyedCache<Admitted>({
    maxBytes: ADMITTED_BYTES,
    weigh: (key) => key.length * DOCUMENT_BYTES_PER_CHAR,
  });
  let served = 0;
  const keyOf = (query: string, operationName: string | null | undefined) =>
    `${operationName ?? ''}\n${query}`;

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    contentType: string,
  ): Promise<boolean> {
    const started = performance.now();
    const params = parseParams(body);
    if (!params) return false;
    const entry = admitted.get(keyOf(params.query, params.operationName));
    if (!entry) return false;
    const operation = getOperationAST(entry.document, entry.operationName);
    if (!operation) return false;
    const variables = getVariableValues(
      options.schema,
      operation.variableDefinitions ?? [],
      params.variables,
      VARIABLE_COERCION,
    );
    if (variables.errors) return false;
    const size = measureOperation(
      options.schema,
      entry.document,
      operation,
      variables.coerced,
      options.maxCost,
    );
    if (!size.complete || size.cost > options.maxCost) return false;
    let claims: RequestContext['claims'];
    try {
      claims = await options.verifyToken(req.headers.authorization ?? null, req);
    } catch (error) {
      if (error instanceof AuthenticationError) return false;
      throw error;
    }
    const base: RequestContext = {
      requestId: requestIdFrom(headerValue(req.headers['x-request-id'])),
      claims,
      clientIp: req.socket.remoteAddress ?? null,
      userAgent: headerValue(req.headers['user-agent']),
    };
    const counter = { count: 0 };
    let viewer: { id: string; tenantId: string } | undefined;
    let payload: string;
    try {
      payload = await statementCounter.run(counter, () =>
        withRequest(
          options.prisma,
          claims,
          async (tx) => {
            if (!tx.user) throw TO_YOGA;
            const context = resolverContext(base, tx, tx.user, counter, options.memberIdHashKey);
            viewer = context.viewer;
            const result = await executeCompiled(
              {
                schema: options.schema,
                document: entry.document,
                operationName: entry.operationName,
                variableValues: params.variables,
                contextValue: context,
              },
              context,
              () => {
                throw TO_YOGA;
              },
            );
            if (!result || result.errors) throw TO_YOGA;
            const text = (result as { [DATA_TEXT]?: string })[DATA_TEXT];
            return text === undefined ? JSON.stringify(result) : `{"data":${text}}`;
          },
          { statementTimeoutMs: options.statementTimeoutMs },
        ),
      );
    } catch (error) {
      if (error === TO_YOGA) return false;
      if (databaseFailure(error)) {
        // Yoga reports it as it always does (TIMEOUT, or 503), without running the statement again.
        (req as LaneRequest).databaseFailure = error;
      } else {
        options.logger.warn({ requestId: base.requestId, err: error }, 'fast lane failed; yoga answers');
      }
      return false;
    }
    res.writeHead(200, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(payload),
      'x-request-id': base.requestId,
    });
    res.end(payload);
    served++;
    writeRequestLine(options.logger, {
      requestId: base.requestId,
      method: 'POST',
      path: '/graphql',
      status: 200,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      tenantId: viewer?.tenantId,
      userId: viewer?.id,
      operationName: entry.displayName,
      operationType: entry.operationType,
      statementCount: counter.count,
      fastLane: true,
    });
    return true;
  }

  return {
    get served() {
      return served;
    },
    admit(args) {
      const context = args.contextValue as { params?: { query?: unknown; operationName?: unknown } };
      const query = context.params?.query;
      if (typeof query !== 'string') return;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'query') return;
      // A body the lane would not read is never served here: no use remembering its document.
      if (query.length > MAX_LANE_BODY_BYTES) return;
      const key = keyOf(query, args.operationName);
      if (admitted.has(key)) return;
      admitted.set(key, {
        document: args.document,
        operationName: args.operationName ?? undefined,
        operationType: operation.operation,
        displayName: operation.name?.value ?? args.operationName ?? undefined,
      });
    },

    listener(yoga) {
      return (req, res) => {
        const contentType = laneContentType(req, admitted.size);
        if (!contentType) return yoga(req, res);
        readBody(req).then(
          async (body) => {
            const served = await serve(req, res, body, contentType).catch((error: unknown) => {
              options.logger.error({ err: error }, 'fast lane failed; yoga answers');
              return false;
            });
            if (served) return;
            // whatwg-node takes a body already read from here (src/server.ts, yoga's node handler).
            (req as IncomingMessage & { body?: Buffer }).body = body;
            yoga(req, res);
          },
          () => res.destroy(),
        );
      };
    },
  };
}

/** The response's content type when the request has the lane's plain shape; else undefined. */
function laneContentType(req: IncomingMessage, admitted: number): string | undefined {
  if (admitted === 0 || req.method !== 'POST' || req.url !== '/graphql') return undefined;
  const { headers } = req;
  // CORS, chunked bodies and unusual content types are yoga's.
  if (headers.origin !== undefined || headers.authorization === undefined) return undefined;
  if (!/^application\/json\s*(;\s*charset=utf-8\s*)?$/i.test(headers['content-type'] ?? '')) return undefined;
  const length = Number(headers['content-length']);
  if (!Number.isInteger(length) || length <= 0 || length > MAX_LANE_BODY_BYTES) return undefined;
  return CONTENT_TYPE.get((headers.accept ?? '').trim());
}

/** The body, framed by its Content-Length (node:http stops there). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** `{ query, variables?, operationName? }` and nothing else (extensions are yoga's). */
function parseParams(
  body: Buffer,
): { query: string; variables: Record<string, unknown>; operationName: string | undefined } | undefined {
  let params: unknown;
  try {
    params = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const { query, variables, operationName, ...rest } = params as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof query !== 'string') return undefined;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  return {
    query,
    variables: (variables ?? {}) as Record<string, unknown>,
    operationName: operationName ?? undefined,
  };
}

function headerValue(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
