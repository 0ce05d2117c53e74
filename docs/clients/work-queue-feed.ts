// The viewer's work queue, live: Subscription.changes over GraphQL over SSE with nothing but fetch
// (docs/realtime.md). A browser's EventSource cannot send the Authorization header, so the stream is
// read from a fetch response. The document and its types come from `npm run codegen`
// (docs/examples/WorkQueueChanges.graphql); tests/integration/clients.test.ts runs this file.
import {
  WorkQueueChangesDocument,
  type WorkQueueChangesSubscription,
  type WorkQueueChangesSubscriptionVariables,
} from '../../tests/generated/graphql/graphql.js';

export type QueueChange = WorkQueueChangesSubscription['changes'];

interface StreamResult {
  data?: WorkQueueChangesSubscription | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A refusal that subscribing again does not cure (BAD_USER_INPUT, TOO_MANY_SUBSCRIPTIONS, a refused token). */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface WorkQueueFeed {
  url: string;
  /** A valid token; called for every subscription, so that one that expired is replaced. */
  token: () => Promise<string>;
  /** The viewer's user ID (`me { id }`). */
  me: string;
  /** The last cursor handled by an earlier run, stored by the app: the feed resumes right after it. */
  after?: string | null;
  /** Called for each change in order; the change counts as handled when it returns. */
  onChange: (change: QueueChange) => void | Promise<void>;
  signal: AbortSignal;
}

/**
 * Follows the queue until `signal` aborts, and returns the last cursor handled (store it). Whenever
 * a stream ends (the token expired, the server is shutting down, the connection broke) it subscribes
 * again with `after` = that cursor: nothing is missed and nothing comes twice. After a token's
 * expiry at once; otherwise after 0.5 s, doubling while nothing arrives, up to 30 s.
 */
export async function followWorkQueue(feed: WorkQueueFeed): Promise<string | null> {
  let after = feed.after ?? null;
  let failures = 0;
  while (!feed.signal.aborted) {
    let expired = false;
    try {
      for await (const result of subscribe(feed, await feed.token(), { me: feed.me, after })) {
        const error = result.errors?.[0];
        const code = error?.extensions?.code;
        // The token expired (the next subscription takes a new one), or the instance is stopping.
        expired = code === 'UNAUTHENTICATED';
        if (expired || code === 'SERVICE_UNAVAILABLE') break;
        if (error || !result.data) throw new FeedError(error?.message ?? 'a result without data', code);
        await feed.onChange(result.data.changes);
        after = result.data.changes.cursor;
        failures = 0;
      }
    } catch (error) {
      if (error instanceof FeedError) throw error;
      // Otherwise the connection failed or broke, or `signal` aborted it.
    }
    if (feed.signal.aborted) break;
    // Any other end (the server completed the stream, a broken connection) waits before the next try.
    if (!expired) failures += 1;
    if (failures > 0) await sleep(Math.min(30_000, 250 * 2 ** failures), feed.signal);
  }
  return after;
}

/** One subscription: its results until the server completes it or the connection ends. */
async function* subscribe(
  feed: WorkQueueFeed,
  token: string,
  variables: WorkQueueChangesSubscriptionVariables,
): AsyncGenerator<StreamResult> {
  const response = await fetch(feed.url, {
    method: 'POST',
    headers: {
      accept: 'text/event-stream',
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: WorkQueueChangesDocument.toString(), variables }),
    signal: feed.signal,
  });
  // 401 for a token refused at once; 503 while the server stops or its database is away.
  if (response.status === 401) throw new FeedError('the token was refused', 'UNAUTHENTICATED');
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      buffer += chunk.value;
      // Messages end with a blank line: `event: next` + `data: <JSON>`, `event: complete`, or a
      // `:` heartbeat comment every 12 s.
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: complete$/m.test(message)) return;
        const data = message
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice('data: '.length))
          .join('\n');
        if (data) yield JSON.parse(data) as StreamResult;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
