import { GraphQLError } from 'graphql';
import type { PipelinePlugin, ServerContext } from '../context.js';

/**
 * How a subscription reaches its client over HTTP, in one place.
 *
 * A subscription's SSE response must reach the client as it is written: nginx and proxies like it
 * buffer responses unless told not to (`X-Accel-Buffering: no`). Yoga sets
 * `Cache-Control: no-cache` and sends a heartbeat comment every 12 s itself.
 *
 * A subscription from a client that accepts no stream is refused before it subscribes: yoga would
 * open it, find no way to send it and answer a bare 406, and the subscription opened for nothing
 * kept its place in the user's MAX_SUBSCRIPTIONS_PER_USER until the token expired.
 * Registered after useTenantExecutor: the subscribe function set last is the one that runs.
 */
export function useEventStreamHeaders(): PipelinePlugin {
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
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
        response.headers.set('x-accel-buffering', 'no');
      }
    },
  };
}

/** Whether an Accept header admits one of the streams yoga sends (no header admits anything). */
function acceptsStream(accept: string | null): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const [type = '', ...parameters] = part.trim().toLowerCase().split(';');
    const refused = parameters.some((parameter) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(parameter));
    return !refused && STREAM_TYPES.has(type.trim());
  });
}

const STREAM_TYPES = new Set(['text/event-stream', 'multipart/mixed', 'text/*', 'multipart/*', '*/*']);
