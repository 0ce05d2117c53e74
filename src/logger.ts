import { createRequire } from 'node:module';
import pino from 'pino';
import type { Config } from './config.js';
import { describeDatabaseError, isDatabaseError } from './db/errors.js';

/**
 * Structured logs. Whatever path a token, a raw member id or extracted clinical data could take
 * into a log line is redacted here, once, for every logger derived from this one.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'memberId',
  '*.memberId',
  '*.*.memberId',
  'variables.*.memberId',
  'variables.input.memberId',
  'variables.filter.memberId',
  'extractedData',
  '*.extractedData',
  '*.*.extractedData',
  'variables.input.extractedData',
];

export type Logger = pino.Logger;

/**
 * JSON lines on stdout, pretty-printed in development where pino-pretty (a dev dependency) is
 * installed. `destination` (tests) receives the JSON lines instead, in every environment.
 * `fields`: what every line gets besides its own, computed as it is written (with tracing on, the
 * trace id of the request or delivery the line is written in: src/tracing/setup.ts).
 */
export function createLogger(
  config: Pick<Config, 'env' | 'logLevel'>,
  destination?: pino.DestinationStream,
  fields?: () => object,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    ...(fields ? { mixin: fields } : {}),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    hooks: {
      // An error logged on its own lends the line its message as `msg`: not a database error's.
      logMethod(args, method) {
        if (isDatabaseError(args[0]) && typeof args[1] !== 'string') {
          return method.apply(this, [args[0] as object, 'database error']);
        }
        return method.apply(this, args);
      },
    },
  };
  if (destination) return pino(options, destination);
  if (config.env !== 'development' || !prettyPrinterInstalled()) return pino(options);
  return pino({
    ...options,
    transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
  });
}

/** False in a production install (`npm ci --omit=dev`) started with NODE_ENV unset. */
function prettyPrinterInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * Errors in log lines (`err`). A database error's message and details can hold the request's
 * values (filters, search text, cursors, member id hashes): only its safe description is kept
 * (src/db/errors.ts), also when it is another error's `cause`. Other errors are pino's usual.
 */
function serializeError(error: unknown): unknown {
  const database = describeDatabaseError(error);
  if (database) return database;
  // pino's own serializer would append the cause's message and stack to the error's.
  const cause = error instanceof Error ? describeDatabaseError(error.cause) : undefined;
  if (cause) {
    const { name, message, stack } = error as Error;
    return { type: (error as Error).constructor.name ?? name, message, stack, cause };
  }
  return pino.stdSerializers.err(error as Error);
}

/**
 * Logs the first of a repeated failure, then at most one line per `intervalMs` for the same key,
 * carrying how many were left out meanwhile (`suppressed`): during an outage every request fails
 * the same way, and a line each would bury everything else (10 MB in 20 s, measured).
 */
export function createLogThrottle(
  intervalMs = 10_000,
): (key: string, write: (suppressed: number) => void) => void {
  const seen = new Map<string, { until: number; suppressed: number }>();
  return (key, write) => {
    const now = Date.now();
    const entry = seen.get(key);
    if (entry && now < entry.until) {
      entry.suppressed += 1;
      return;
    }
    // Keys are failure kinds, a handful; the bound only guards against a caller's mistake.
    if (!entry && seen.size >= 1_000) seen.clear();
    write(entry?.suppressed ?? 0);
    seen.set(key, { until: now + intervalMs, suppressed: 0 });
  };
}
