import type { ExecutionResult } from 'graphql';

/** A GraphQL subscription over SSE (yoga's "distinct connections" mode), read as a browser would. */
export interface SseSubscription {
  status: number;
  headers: Headers;
  /** Every result received so far, in order. */
  results: ExecutionResult<Record<string, unknown>>[];
  /** Resolves once `count` results have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ExecutionResult<Record<string, unknown>>[]>;
  /** Resolves when the server completed the stream (`event: complete`) or closed it. */
  ended: Promise<'complete' | 'closed'>;
  /** Heartbeat comments received. */
  heartbeats(): number;
  close(): void;
}

/**
 * `document`: the document's text, or the body's fields that name it otherwise (a trusted
 * document's `{ documentId }`, src/plugins/trusted-documents.ts).
 */
export async function subscribeSse(
  url: string,
  token: string | null,
  document: string | Record<string, unknown>,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<SseSubscription> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      accept: 'text/event-stream',
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({
      ...(typeof document === 'string' ? { query: document } : document),
      variables,
    }),
    signal: abort.signal,
  });
  const results: ExecutionResult<Record<string, unknown>>[] = [];
  const waiters: (() => void)[] = [];
  let pings = 0;
  const notify = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const ended = (async (): Promise<'complete' | 'closed'> => {
    if (!response.body) return 'closed';
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (message.startsWith(':')) {
            pings++;
            continue;
          }
          const event = /^event: (.*)$/m.exec(message)?.[1];
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (event === 'complete') return 'complete';
          if (data) {
            results.push(JSON.parse(data) as ExecutionResult<Record<string, unknown>>);
            notify();
          }
        }
      }
    } catch {
      // aborted by close()
    } finally {
      notify();
    }
    return 'closed';
  })();
  let done = false;
  void ended.then(() => {
    done = true;
    notify();
  });
  return {
    status: response.status,
    headers: response.headers,
    results,
    ended,
    heartbeats: () => pings,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (results.length < count) {
        if (done)
          throw new Error(
            `the stream ended after ${results.length} of ${count} results: ${JSON.stringify(results.at(-1))}`,
          );
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${results.length} of ${count} results within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return results.slice(0, count);
    },
    close: () => abort.abort(),
  };
}
