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
    /** Called once when the subscription ends, however it ends. */
    onEnd?: () => void;
  },
): AsyncIterableIterator<ExecutionResult> {
  const changes = source[Symbol.asyncIterator]();
  let ended = false;
  let expired = false;
  // What interrupts the waits of pending next() calls: a promise per call, forgotten when the call
  // returns, not one for the subscription's life. Racing every next() against long-lived promises
  // added a reaction to each of them per change delivered, kept (with the change it resolved to)
  // until they settled at the token's expiry: ~1 KB of heap per delivery, until the process ran
  // out of memory (docs/benchmarks.md, "Realtime").
  const interrupts = new Set<(why: 'expired' | 'stopped') => void>();
  const interruptAll = (why: 'expired' | 'stopped') => {
    for (const interrupt of interrupts) interrupt(why);
  };
  // setTimeout holds at most 2^31 - 1 ms (24.8 days); a token that lives longer is re-armed.
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = options.expiresAtMs - Date.now();
    if (left > 0) {
      timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
      return;
    }
    expired = true;
    interruptAll('expired');
  };
  arm();
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    if (!ended) {
      ended = true;
      options.onEnd?.();
      clearTimeout(timer);
      interruptAll('stopped');
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
      let interrupt!: (why: 'expired' | 'stopped') => void;
      const interrupted = new Promise<'expired' | 'stopped'>((resolve) => {
        interrupt = resolve;
      });
      interrupts.add(interrupt);
      let next: IteratorResult<Change> | 'expired' | 'stopped';
      try {
        next = expired ? 'expired' : await Promise.race([changes.next(), interrupted]);
      } finally {
        interrupts.delete(interrupt);
      }
      if (next === 'stopped') return { done: true, value: undefined };
      if (next === 'expired') {
        await end();
        const error = unauthenticated('the token expired: subscribe again with a new token and `after`');
        return { done: false, value: { errors: [error] } };
      }
      if (next.done) return end();
      const result = await options.deliver(next.value);
      // Nothing follows a result without data: the user is gone (UNAUTHENTICATED), or the change
      // could not be resolved (its transaction failed: SERVICE_UNAVAILABLE, TIMEOUT). Such a result
      // carries no cursor, so going on would skip the change for good; ended, the stream tells the
      // client to subscribe again with `after` = the last cursor it has, which delivers it again.
      if (result.data == null) await end();
      return { done: false, value: result };
    },
    return: end,
  };
  return iterator;
}
