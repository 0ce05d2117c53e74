import type { Server, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';

const SWEEP_MS = 25;

export interface HttpDrain {
  /**
   * Stops accepting connections and lets in-flight requests finish for at most `graceMs`. Every
   * response from now on carries `Connection: close` (those in flight included), so no client
   * sends another request on a connection about to close. A connection idle since its last
   * answer (sent before the drain, so without that header) is closed once it has been idle for
   * the keep-alive timeout every answer announced (`Keep-Alive: timeout=5`): a client that follows
   * the header has given it up by then, and one that sends on it sooner gets an answer; closing it
   * earlier is what resets clients in the middle of sending. Resolves with the number of requests
   * cut off when the grace ran out.
   */
  drain(graceMs: number): Promise<number>;
}

/** Follows the server's connections and requests from the start, to drain them on shutdown. */
export function trackConnections(http: Server): HttpDrain {
  const inFlight = new Set<ServerResponse>();
  /** Connections without a request in flight, and since when. */
  const idleSince = new Map<Socket, number>();
  let draining = false;

  http.on('connection', (socket: Socket) => {
    idleSince.set(socket, Date.now());
    socket.once('close', () => idleSince.delete(socket));
  });
  // An upgraded connection (a WebSocket) is HTTP no more: on shutdown its transport closes it
  // (src/realtime/websocket.ts), once its subscriptions' `complete` messages are out. Swept here
  // as idle since it connected, it was cut before that: its client saw 1006, not 1001.
  http.on('upgrade', (_req, socket: Socket) => idleSince.delete(socket));
  http.on('request', (req, res: ServerResponse) => {
    const { socket } = req;
    idleSince.delete(socket);
    inFlight.add(res);
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      inFlight.delete(res);
      if (!socket.destroyed) idleSince.set(socket, Date.now());
    });
  });

  return {
    drain(graceMs) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      // http.Server#close would also close idle connections at once, under requests on their way.
      net.Server.prototype.close.call(http);
      const deadline = Date.now() + graceMs;
      const idleCloseMs = http.keepAliveTimeout;
      return new Promise((resolve) => {
        const sweep = setInterval(() => {
          const now = Date.now();
          for (const [socket, since] of idleSince) {
            if (now - since >= idleCloseMs) socket.destroy();
          }
          if (inFlight.size === 0 && idleSince.size === 0) {
            clearInterval(sweep);
            resolve(0);
          } else if (now >= deadline) {
            clearInterval(sweep);
            const cut = inFlight.size;
            http.closeAllConnections();
            resolve(cut);
          }
        }, SWEEP_MS);
      });
    },
  };
}
