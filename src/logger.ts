/**
 * Structured JSON logs (pino). Keys, tokens and credentials are redacted wherever they appear in a log object.
 * @module
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-register-api-key"]',
  'headers.authorization',
  'headers["x-register-api-key"]',
  '*.api_key',
  '*.setup_token',
  '*.setupToken',
  '*.secret',
  '*.password',
  '*.masterKey',
  'api_key',
  'setup_token',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'openfiskal' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // stdout asynchronously: under load, log lines written in the same tick go out in one write instead of one
  // blocking write each. pino flushes it when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
