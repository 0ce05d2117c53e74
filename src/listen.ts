import type { Server } from 'node:http';
import net from 'node:net';
import { StartupError } from './startup-error.js';

/**
 * The server's port, bound before any database work: a port in use fails the start at once,
 * instead of after the embedded PostgreSQL started, migrated and seeded. The bound socket itself
 * is handed to the HTTP server later, so no other process can take the port in between.
 */
export interface PortReservation {
  /** The port bound (PORT=0: the one the system chose). */
  port: number;
  /** The HTTP server takes over the bound socket and serves from now on. */
  handOver(http: Server): Promise<void>;
  /** Unbinds the port (a start that failed). */
  release(): Promise<void>;
}

/** `variable`: the setting that chose the port, named in the error when it cannot be bound. */
export async function reservePort(host: string, port: number, variable = 'PORT'): Promise<PortReservation> {
  // Until the HTTP server takes over, a connection is closed at once: the server is not ready,
  // and a client waiting on an accepted connection nobody answers would hang.
  const placeholder = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    placeholder.once('error', (error: NodeJS.ErrnoException) =>
      reject(listenFailure(error, host, port, variable)),
    );
    placeholder.listen(port, host, resolve);
  });
  return {
    port: (placeholder.address() as net.AddressInfo).port,
    handOver: (http) =>
      new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        // node:net accepts a listening server as the handle to listen on: the socket changes owner.
        http.listen(placeholder, () => {
          http.off('error', reject);
          resolve();
        });
      }),
    release: () => new Promise<void>((resolve) => placeholder.close(() => resolve())),
  };
}

function listenFailure(error: NodeJS.ErrnoException, host: string, port: number, variable: string): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new StartupError(
        `Port ${port} on ${host} is in use by another process: stop it, or set ${variable} to a free port (e.g. ${variable}=${port + 1})`,
      );
    case 'EACCES':
      return new StartupError(
        `Port ${port} on ${host} needs privileges this process lacks: set ${variable} to 1024 or above`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `HOST ${host} is not an address of this machine: set HOST (127.0.0.1: this machine only, 0.0.0.0: every interface)`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(
        `HOST ${host} does not resolve to an address (${error.code}): set HOST to an address`,
      );
    default:
      return error;
  }
}
