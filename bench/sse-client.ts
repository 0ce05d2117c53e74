import http from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * A GraphQL-over-SSE client light enough for a thousand streams in the runner's process, on a
 * machine whose two cores the server and PostgreSQL need: node:http with one socket per stream
 * (fetch's streams cost more per chunk), messages split on the blank line, and each message's
 * `data` handed on as text with the time it was read, so that parsing stays the caller's choice.
 * Yoga's "distinct connections" mode: `event: next` + `data: <result>`, `event: complete`, and
 * `:` heartbeat comments.
 */
export interface SseStream {
  /** The response's status once its headers came (0 before). */
  status: number;
  /** Heartbeat comments received. */
  heartbeats: number;
  /** Resolves when the server completed the stream or closed it, or the client closed it. */
  ended: Promise<'complete' | 'closed'>;
  close(): void;
}

export interface SseOptions {
  url: URL;
  agent: http.Agent;
  token: string;
  query: string;
  variables?: Record<string, unknown>;
  /** Each `next` message: its data as text, `performance.now()` when its chunk was read. */
  onMessage(data: string, receivedAt: number): void;
}

/** One keep-alive socket per stream, and some to spare: the agent must never queue a stream. */
export function streamAgent(streams: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: streams + 100, maxFreeSockets: 16 });
}

/** Opens the stream; resolves once the response headers came (rejects when the request failed). */
export function openSse(options: SseOptions): Promise<SseStream> {
  const body = JSON.stringify({ query: options.query, variables: options.variables ?? {} });
  return new Promise((resolve, reject) => {
    let settleEnded: (how: 'complete' | 'closed') => void = () => undefined;
    const ended = new Promise<'complete' | 'closed'>((done) => {
      settleEnded = done;
    });
    const stream: SseStream = { status: 0, heartbeats: 0, ended, close: () => request.destroy() };
    const request = http.request(
      options.url,
      {
        method: 'POST',
        agent: options.agent,
        headers: {
          accept: 'text/event-stream',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${options.token}`,
        },
      },
      (response) => {
        stream.status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        let buffer = '';
        response.on('data', (chunk: string) => {
          const receivedAt = performance.now();
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (message.startsWith(':')) stream.heartbeats++;
            else if (message.startsWith('event: complete')) settleEnded('complete');
            else {
              const data = dataOf(message);
              if (data) options.onMessage(data, receivedAt);
            }
          }
        });
        response.on('end', () => settleEnded('closed'));
        response.on('close', () => settleEnded('closed'));
        resolve(stream);
      },
    );
    request.on('error', (error) => {
      settleEnded('closed');
      // After the headers this is the stream's end (close() destroys the request); before, a failure.
      if (stream.status === 0) reject(error);
    });
    request.end(body);
  });
}

/** The `data:` lines of one SSE message, joined (a JSON result is one line, but the format allows more). */
function dataOf(message: string): string {
  let data = '';
  for (const line of message.split('\n')) {
    if (line.startsWith('data: ')) data += (data ? '\n' : '') + line.slice(6);
    else if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5);
  }
  return data;
}
