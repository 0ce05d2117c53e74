import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import type { PipelinePlugin, ServerContext } from '../context.js';

/**
 * How a subscription reaches its client over HTTP, in one place.
 *
 * - A subscription from a client that accepts no stream is refused before it subscribes: yoga
 *   would open it, find no way to send it and answer a bare 406, and the subscription opened for
 *   nothing kept its place in the user's MAX_SUBSCRIPTIONS_PER_USER until the token expired.
 *   Registered after useTenantExecutor: the subscribe function set last is the one that runs.
 * - The stream is yoga's GraphQL-over-SSE "distinct connections" format, written by `eventStream`
 *   below rather than yoga's processor: one write per event instead of two (the socket writes
 *   are most of a delivery's cost, docs/benchmarks.md "Realtime"), and a result shared by many
 *   subscribers (src/realtime/shared-deliveries.ts) serialized once.
 * - Proxies such as nginx buffer responses unless told not to (`X-Accel-Buffering: no`).
 */
export function useEventStream(): PipelinePlugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const accept = (args.contextValue as ServerContext).request.headers.get('accept');
      if (acceptsStream(accept)) return;
      setSubscribeFn(() => ({
        errors: [
          new GraphQLError(
            'A subscription is sent as Server-Sent Events: send `Accept: text/event-stream` (or subscribe over graphql-ws)',
            { extensions: { code: 'NOT_ACCEPTABLE', http: { status: 406 } } },
          ),
        ],
      }));
    },
    onResultProcess({ result, resultProcessor, setResultProcessor }) {
      // Yoga's SSE processor chose this response (not multipart): a stream of results is ours to write.
      if (resultProcessor?.name === 'processSSEResult' && Symbol.asyncIterator in result) {
        setResultProcessor(
          (results, fetchAPI) => eventStream(results as AsyncIterable<ExecutionResult>, fetchAPI),
          'text/event-stream',
        );
      }
    },
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        response.headers.set('x-accel-buffering', 'no');
      }
    },
  };
}

/**
 * Whether yoga will send a subscription to this Accept header: as SSE, in UTF-8, its only stream
 * for a subscription (not multipart). The same reading as yoga's own choice of a result processor
 * (graphql-yoga's result-processor/accept.js: no header accepts any type, a charset other than UTF-8
 * drops its type, `q` is ignored), so that a subscription refused here is one yoga could not
 * have sent, and one it sends was never refused.
 */
function acceptsStream(accept: string | null): boolean {
  return (accept || '*/*')
    .replace(/\s/g, '')
    .toLowerCase()
    .split(',')
    .some((part) => {
      const [type = '', ...parameters] = part.split(';');
      const charset = parameters.find((parameter) => parameter.includes('charset=')) ?? 'charset=utf-8';
      const [main, sub] = type.split('/');
      return (
        charset === 'charset=utf-8' &&
        (main === '*' || main === 'text') &&
        (sub === '*' || sub === 'event-stream')
      );
    });
}

/** A comment every 12 s keeps proxies from closing an idle stream (300 ms in tests, as yoga's). */
const HEARTBEAT_MS = process.env.NODE_ENV === 'test' ? 300 : 12_000;
const HEARTBEAT = ': keep-alive\n\n';

/** The SSE response of a subscription: `event: next` per result, `event: complete` at the end. */
function eventStream(
  results: AsyncIterable<ExecutionResult>,
  fetchAPI: { ReadableStream: typeof ReadableStream; Response: typeof Response },
): Response {
  const encoder = new TextEncoder();
  const iterator = results[Symbol.asyncIterator]();
  let heartbeat: NodeJS.Timeout | undefined;
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      // Written at once: some clients see no response until the first bytes of its body.
      controller.enqueue(encoder.encode(HEARTBEAT));
      heartbeat = setInterval(() => {
        // null: errored; 0: backpressure (the client is behind: no comment needed) or closed.
        if (controller.desiredSize === null) clearInterval(heartbeat);
        else if (controller.desiredSize > 0) controller.enqueue(encoder.encode(HEARTBEAT));
      }, HEARTBEAT_MS);
    },
    async pull(controller) {
      const next = await iterator.next();
      if (!next.done) {
        controller.enqueue(encodedEvent(next.value, encoder));
        return;
      }
      clearInterval(heartbeat);
      controller.enqueue(encoder.encode('event: complete\ndata:\n\n'));
      controller.close();
    },
    async cancel() {
      clearInterval(heartbeat);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream', Connection: 'keep-alive', 'Cache-Control': 'no-cache' },
  });
}

/** The bytes of each result already sent: subscribers of one shared resolution get the same object. */
const encodedResults = new WeakMap<ExecutionResult, Uint8Array>();

function encodedEvent(result: ExecutionResult, encoder: TextEncoder): Uint8Array {
  let bytes = encodedResults.get(result);
  if (!bytes) {
    bytes = encoder.encode(`event: next\ndata: ${JSON.stringify(withoutInternals(result))}\n\n`);
    encodedResults.set(result, bytes);
  }
  return bytes;
}

/** What a client sees of a result: no `http` extensions (the status of a plain response) nor yoga's markers. */
function withoutInternals(result: ExecutionResult): ExecutionResult | object {
  if (!result.errors?.length && !result.extensions?.http) return result;
  const { http: _http, ...extensions } = result.extensions ?? {};
  return {
    ...result,
    errors: result.errors?.map((error): GraphQLFormattedError => {
      const formatted = error.toJSON();
      const { http: _status, unexpected: _unexpected, ...rest } = formatted.extensions ?? {};
      return { ...formatted, extensions: Object.keys(rest).length > 0 ? rest : undefined };
    }),
    extensions: Object.keys(extensions).length > 0 ? extensions : undefined,
  };
}
