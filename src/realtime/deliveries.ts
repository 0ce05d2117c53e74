import type { ExecutionResult } from 'graphql';
import { unauthenticated } from '../errors.js';

/**
 * The results a subscription sends: each change of `source` resolved by `deliver` (in a request
 * transaction of the subscriber: its tenant, its role, as they are now), until the token expires
 * (one UNAUTHENTICATED error, then the end) or the subscriber's user is gone. An iterator with a
 * `return()` that ends it at once, also while it waits for a change: a client that went away
 * leaves nothing behind (src/realtime/feed.ts says why not a generator).
 */
export function deliveries<Change>(
  source: AsyncIterable<Change>,
  options: {
    expiresAtMs: number;
    deliver(change: Change): Promise<ExecutionResult>;
    /** The request's: aborted when the client went away (also a WebSocket operation's, see websocket.ts). */
    signal?: AbortSignal;
  },
): AsyncIterableIterator<ExecutionResult> {
  const changes = source[Symbol.asyncIterator]();
  let ended = false;
  let stop: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    stop = () => resolve('stopped');
  });
  // setTimeout holds at most 2^31 - 1 ms (24.8 days); a token that lives longer is re-armed.
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    const arm = () => {
      const left = options.expiresAtMs - Date.now();
      if (left <= 0) resolve('expired');
      else timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
    };
    arm();
  });
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    if (!ended) {
      ended = true;
      clearTimeout(timer);
      stop?.();
      await changes.return?.();
    }
    return { done: true, value: undefined };
  };
  // Not left to the response stream's cancellation alone, which may come only with the next change.
  // A client gone while the subscription was set up (its signal aborted already, which fires no
  // more) gets no response to cancel: it ends here, or it held its place in the feed for good.
  if (options.signal?.aborted) void end();
  else options.signal?.addEventListener('abort', () => void end(), { once: true });
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      if (ended) return { done: true, value: undefined };
      const next = await Promise.race([changes.next(), expired, stopped]);
      if (next === 'stopped') return { done: true, value: undefined };
      if (next === 'expired') {
        await end();
        const error = unauthenticated('the token expired: subscribe again with a new token and `after`');
        return { done: false, value: { errors: [error] } };
      }
      if (next.done) return end();
      const result = await options.deliver(next.value);
      // The user is gone (or moved tenant): this result says so, and nothing follows it.
      if (result.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED')) await end();
      return { done: false, value: result };
    },
    return: end,
  };
  return iterator;
}
