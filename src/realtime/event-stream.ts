import type { ExecutionResult } from 'graphql';

/**
 * The results of a GraphQL-over-SSE response (yoga's "distinct connections" mode: `event: next`
 * with a JSON result, `event: complete`, `:` heartbeat comments), one at a time as they are read.
 * `return()` cancels the response body (and calls `onReturn`).
 */
export function readEventStream(
  response: Response,
  onReturn?: () => void,
): AsyncIterableIterator<ExecutionResult> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  const finish = async (): Promise<IteratorResult<ExecutionResult>> => {
    if (!done) {
      done = true;
      onReturn?.();
      await reader.cancel().catch(() => undefined);
    }
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      while (!done) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^event: complete$/m.test(message)) return finish();
          const data = message
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data) return { done: false, value: JSON.parse(data) as ExecutionResult };
          continue;
        }
        const chunk = await reader.read();
        if (chunk.done) return finish();
        buffer += decoder.decode(chunk.value, { stream: true });
      }
      return { done: true, value: undefined };
    },
    return: finish,
  };
  return iterator;
}
