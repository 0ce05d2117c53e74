import type { Server, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';

/**
 * How long a keep-alive connection must have been idle before a drain closes it. A client that
 * just got an answer sends its next request within this time; closing its connection under that
 * request is what makes keep-alive clients see ECONNRESET. Idle longer, it is a connection the
 * client is not using, and clients retire idle connections before the keep-alive timeout anyway.
 */
const IDLE_CLOSE_MS = 1_000;
const SWEEP_MS = 25;

export interface HttpDrain {
  /**
   * Stops accepting connections and lets in-flight requests finish for at most `graceMs`. Every
   * response from now on carries `Connection: close` (those in flight included), so no client
   * sends another request on a connection about to close; idle connections close once
   * `IDLE_CLOSE_MS` idle. Resolves with the number of requests cut off when the grace ran out.
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
      return new Promise((resolve) => {
        const sweep = setInterval(() => {
          const now = Date.now();
          for (const [socket, since] of idleSince) {
            if (now - since >= IDLE_CLOSE_MS) socket.destroy();
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
