import pino from 'pino';
import type { Config } from './config.js';

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
 * JSON lines on stdout, pretty-printed in development. `destination` (tests) receives the JSON
 * lines instead, in every environment.
 */
export function createLogger(
  config: Pick<Config, 'env' | 'logLevel'>,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (destination) return pino(options, destination);
  if (config.env !== 'development') return pino(options);
  return pino({
    ...options,
    transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
  });
}
