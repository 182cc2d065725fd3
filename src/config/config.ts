/**
 * Settings from the environment, validated at start. Every bad value is reported at once, each with the variable's
 * name, what was given and what is expected, so an operator fixes them in one go.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import type { Environment } from '../shared/tenant.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseLocation =
  { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseLocation;
  readonly dataDir: string;
  readonly environment: Environment;
  readonly logLevel: LogLevel;
  /** From OPENFISKAL_MASTER_KEY; null means "use or create `<dataDir>/secrets.json`". */
  readonly masterKey: Buffer | null;
  readonly idempotencyTtlHours: number;
  readonly setupTokenTtlHours: number;
  /** Requests per second per API key; 0 turns the limit off. */
  readonly rateLimitPerSecond: number;
  /** How long an authenticated API key is reused before it is read again (revocations here apply at once). */
  readonly keyCacheMs: number;
  readonly databasePoolSize: number;
  readonly shutdownGraceMs: number;
  /** A signing call that takes longer fails with 503 `fiscal_unit_unavailable`, so a stalled unit never hangs a till. */
  readonly signingTimeoutMs: number;
  /** Days a completed export's file is kept before it is deleted. */
  readonly exportRetentionDays: number;
  /** How often an idle job runner looks for due jobs. */
  readonly jobPollMs: number;
  /** Jobs one server process runs at the same time. */
  readonly jobConcurrency: number;
  /** How often the worker looks for registers whose scheduled daily closing is due. */
  readonly closingScheduleCheckMs: number;
  /** Open sales, refunds and exchanges a register may have at once; one more is refused. */
  readonly maxOpenOperations: number;
  /** A client must have sent its whole request (headers and body) within this time, else 408 and the socket closes. */
  readonly requestTimeoutMs: number;
  /**
   * The server's public base URL (http(s), no trailing slash, query or fragment), or null. When set, Austrian
   * receipts carry the URL form of their code (`verification.url`), served by `GET /v1/rksv-receipts/{urlHash}`.
   */
  readonly publicUrl: string | null;
}

/** One entry per documented variable: the README's configuration table is checked against this list in a test. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'OPENFISKAL_DATA_DIR',
  'OPENFISKAL_ENV',
  'LOG_LEVEL',
  'OPENFISKAL_MASTER_KEY',
  'OPENFISKAL_IDEMPOTENCY_TTL_HOURS',
  'OPENFISKAL_SETUP_TOKEN_TTL_HOURS',
  'OPENFISKAL_RATE_LIMIT',
  'OPENFISKAL_KEY_CACHE_MS',
  'OPENFISKAL_DB_POOL_SIZE',
  'OPENFISKAL_SHUTDOWN_GRACE_MS',
  'OPENFISKAL_SIGNING_TIMEOUT_MS',
  'OPENFISKAL_EXPORT_RETENTION_DAYS',
  'OPENFISKAL_JOB_POLL_MS',
  'OPENFISKAL_JOB_CONCURRENCY',
  'OPENFISKAL_CLOSING_SCHEDULE_CHECK_MS',
  'OPENFISKAL_MAX_OPEN_OPERATIONS',
  'OPENFISKAL_REQUEST_TIMEOUT_MS',
  'OPENFISKAL_PUBLIC_URL',
] as const;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the configuration; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const read = (name: (typeof CONFIG_VARIABLES)[number]): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: (typeof CONFIG_VARIABLES)[number], fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };

  const port = integer('PORT', 8080, 1, 65535);
  const host = read('HOST') ?? '127.0.0.1';
  const dataDir = resolve(cwd, read('OPENFISKAL_DATA_DIR') ?? './data');

  const rawEnvironment = read('OPENFISKAL_ENV') ?? 'test';
  if (rawEnvironment !== 'test' && rawEnvironment !== 'live') {
    problems.push(`OPENFISKAL_ENV=${JSON.stringify(rawEnvironment)} must be "test" or "live"`);
  }
  const environment: Environment = rawEnvironment === 'live' ? 'live' : 'test';

  const rawLogLevel = read('LOG_LEVEL') ?? 'info';
  const logLevel = LOG_LEVELS.find((level) => level === rawLogLevel);
  if (logLevel === undefined) {
    problems.push(`LOG_LEVEL=${JSON.stringify(rawLogLevel)} must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const database = parseDatabaseUrl(read('DATABASE_URL') ?? `sqlite:${dataDir}/openfiskal.db`, cwd, problems);
  const masterKey = parseMasterKey(read('OPENFISKAL_MASTER_KEY'), problems);
  const publicUrl = parsePublicUrl(read('OPENFISKAL_PUBLIC_URL'), problems);

  const config: Config = {
    host,
    port,
    database,
    dataDir,
    environment,
    logLevel: logLevel ?? 'info',
    masterKey,
    // The contract promises at least 24 hours of replay.
    idempotencyTtlHours: integer('OPENFISKAL_IDEMPOTENCY_TTL_HOURS', 24, 24, 24 * 365),
    setupTokenTtlHours: integer('OPENFISKAL_SETUP_TOKEN_TTL_HOURS', 24 * 7, 1, 24 * 365),
    rateLimitPerSecond: integer('OPENFISKAL_RATE_LIMIT', 500, 0, 1_000_000),
    keyCacheMs: integer('OPENFISKAL_KEY_CACHE_MS', 1000, 0, 60_000),
    databasePoolSize: integer('OPENFISKAL_DB_POOL_SIZE', 10, 1, 1000),
    shutdownGraceMs: integer('OPENFISKAL_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    signingTimeoutMs: integer('OPENFISKAL_SIGNING_TIMEOUT_MS', 3000, 50, 120_000),
    exportRetentionDays: integer('OPENFISKAL_EXPORT_RETENTION_DAYS', 90, 1, 36_500),
    jobPollMs: integer('OPENFISKAL_JOB_POLL_MS', 250, 10, 60_000),
    jobConcurrency: integer('OPENFISKAL_JOB_CONCURRENCY', 2, 1, 16),
    closingScheduleCheckMs: integer('OPENFISKAL_CLOSING_SCHEDULE_CHECK_MS', 30_000, 100, 3_600_000),
    maxOpenOperations: integer('OPENFISKAL_MAX_OPEN_OPERATIONS', 1000, 1, 1_000_000),
    requestTimeoutMs: integer('OPENFISKAL_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    publicUrl,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseDatabaseUrl(raw: string, cwd: string, problems: string[]): DatabaseLocation {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '' || path === ':memory:') {
      problems.push(
        `DATABASE_URL=${JSON.stringify(raw)} must name a file: an in-memory database loses every fiscal record`,
      );
      return { kind: 'sqlite', path: ':invalid:' };
    }
    return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    try {
      new URL(raw);
      return { kind: 'postgres', url: raw };
    } catch {
      problems.push('DATABASE_URL is not a valid postgres:// URL');
      return { kind: 'postgres', url: raw };
    }
  }
  // Never echo a URL that may hold a password.
  problems.push('DATABASE_URL must start with "sqlite:" (e.g. sqlite:./data/openfiskal.db) or "postgres://"');
  return { kind: 'sqlite', path: ':invalid:' };
}

function parseMasterKey(raw: string | undefined, problems: string[]): Buffer | null {
  if (raw === undefined) return null;
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(raw) ? Buffer.from(raw, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    // Never echo the value: it is a secret.
    problems.push('OPENFISKAL_MASTER_KEY must be the base64 encoding of exactly 32 bytes (openssl rand -base64 32)');
    return null;
  }
  return key;
}

/**
 * The public base URL, normalised without trailing slashes (`https://fiscal.example.com/base`). It is printed on
 * receipts, so it must be an absolute http(s) URL whose path can take more segments: no query, no fragment, and no
 * credentials (which would be printed too, and are therefore never echoed).
 */
function parsePublicUrl(raw: string | undefined, problems: string[]): string | null {
  if (raw === undefined) return null;
  // A value with "@" may hold a password: never echo it.
  const given = raw.includes('@') ? 'OPENFISKAL_PUBLIC_URL' : `OPENFISKAL_PUBLIC_URL=${JSON.stringify(raw)}`;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // Reported below.
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push(`${given} must be an absolute http:// or https:// URL (e.g. https://fiscal.example.com)`);
    return null;
  }
  if (raw.includes('?') || raw.includes('#')) {
    problems.push(`${given} must have no query or fragment: receipt codes are appended to its path`);
    return null;
  }
  if (url.username !== '' || url.password !== '') {
    problems.push(`${given} must not contain credentials (user:password@): it is printed on receipts`);
    return null;
  }
  return url.href.replace(/\/+$/, '');
}
