/**
 * Structured logging (pino). Credentials and PII are redacted by path, so a mistaken
 * `log.info({ connection })` cannot leak a password, a card number or an encryption key.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export const redactPaths = [
  '*.password',
  '*.credentials',
  '*.client_secret',
  '*.encryptionKey',
  '*.encryptionKeys',
  '*.previousEncryptionKeys',
  // A pg connection's start-up options carry the PII keys (core/db.ts withSessionKeys).
  '*.options',
  '*.apiKey',
  '*.card_number',
  '*.cardNumber',
  '*.document_number',
  // A pg error's detail can quote the failing row ("Failing row contains (…)"): guest data.
  'err.detail',
  'err.cause.detail',
  'err.cause.cause.detail',
  'req.headers.authorization',
  'headers.authorization',
  'config.encryptionKey',
  'config.previousEncryptionKeys',
  'config.databaseUrl',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { service: 'stayos' } };
}

export function createLogger(level = 'info'): Logger {
  return pino(loggerOptions(level));
}

export type { Logger };
