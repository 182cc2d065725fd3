import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const CWD = '/srv/openfiskal';
/** Base64 of the 32 bytes 0x00…0x1f. */
const MASTER_KEY_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const MASTER_KEY = MASTER_KEY_BYTES.toString('base64');

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, CWD);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe(loadConfig.name, () => {
  describe('defaults', () => {
    it('uses the documented defaults for an empty environment', () => {
      expect(loadConfig({}, CWD)).toEqual({
        host: '127.0.0.1',
        port: 8080,
        database: { kind: 'sqlite', path: '/srv/openfiskal/data/openfiskal.db' },
        dataDir: '/srv/openfiskal/data',
        environment: 'test',
        logLevel: 'info',
        masterKey: null,
        idempotencyTtlHours: 24,
        setupTokenTtlHours: 168,
        rateLimitPerSecond: 500,
        keyCacheMs: 1000,
        databasePoolSize: 10,
        shutdownGraceMs: 10_000,
        signingTimeoutMs: 3000,
        exportRetentionDays: 90,
        jobPollMs: 250,
        jobConcurrency: 2,
        closingScheduleCheckMs: 30_000,
        maxOpenOperations: 1000,
        requestTimeoutMs: 30_000,
        publicUrl: null,
      });
    });

    it('treats empty and blank values as unset', () => {
      const config = loadConfig({ PORT: '', HOST: '   ', LOG_LEVEL: ' ' }, CWD);
      expect([config.port, config.host, config.logLevel]).toEqual([8080, '127.0.0.1', 'info']);
    });

    it('places the default database in a configured data directory', () => {
      const config = loadConfig({ OPENFISKAL_DATA_DIR: 'var/state' }, CWD);
      expect(config.dataDir).toBe('/srv/openfiskal/var/state');
      expect(config.database).toEqual({ kind: 'sqlite', path: '/srv/openfiskal/var/state/openfiskal.db' });
    });
  });

  describe('accepted values', () => {
    it('reads every variable', () => {
      const config = loadConfig(
        {
          PORT: '3000',
          HOST: '0.0.0.0',
          OPENFISKAL_DATA_DIR: '/var/lib/openfiskal',
          OPENFISKAL_ENV: 'live',
          LOG_LEVEL: 'debug',
          OPENFISKAL_MASTER_KEY: MASTER_KEY,
          OPENFISKAL_IDEMPOTENCY_TTL_HOURS: '48',
          OPENFISKAL_SETUP_TOKEN_TTL_HOURS: '1',
          OPENFISKAL_RATE_LIMIT: '0',
          OPENFISKAL_KEY_CACHE_MS: '0',
          OPENFISKAL_DB_POOL_SIZE: '25',
          OPENFISKAL_SHUTDOWN_GRACE_MS: '0',
          OPENFISKAL_CLOSING_SCHEDULE_CHECK_MS: '5000',
          OPENFISKAL_MAX_OPEN_OPERATIONS: '20',
          OPENFISKAL_REQUEST_TIMEOUT_MS: '5000',
          OPENFISKAL_PUBLIC_URL: 'https://fiscal.example.com',
        },
        CWD,
      );
      expect(config).toEqual({
        host: '0.0.0.0',
        port: 3000,
        database: { kind: 'sqlite', path: '/var/lib/openfiskal/openfiskal.db' },
        dataDir: '/var/lib/openfiskal',
        environment: 'live',
        logLevel: 'debug',
        masterKey: MASTER_KEY_BYTES,
        idempotencyTtlHours: 48,
        setupTokenTtlHours: 1,
        rateLimitPerSecond: 0,
        keyCacheMs: 0,
        databasePoolSize: 25,
        shutdownGraceMs: 0,
        signingTimeoutMs: 3000,
        exportRetentionDays: 90,
        jobPollMs: 250,
        jobConcurrency: 2,
        closingScheduleCheckMs: 5000,
        maxOpenOperations: 20,
        requestTimeoutMs: 5000,
        publicUrl: 'https://fiscal.example.com',
      });
    });

    it('trims surrounding whitespace', () => {
      expect(loadConfig({ PORT: ' 9000 ', OPENFISKAL_ENV: ' live\n' }, CWD)).toMatchObject({
        port: 9000,
        environment: 'live',
      });
    });

    it('accepts the port range ends 1 and 65535', () => {
      expect(loadConfig({ PORT: '1' }, CWD).port).toBe(1);
      expect(loadConfig({ PORT: '65535' }, CWD).port).toBe(65535);
    });

    it('accepts exactly 24 hours of idempotency replay', () => {
      expect(loadConfig({ OPENFISKAL_IDEMPOTENCY_TTL_HOURS: '24' }, CWD).idempotencyTtlHours).toBe(24);
    });

    it('resolves a relative sqlite path against cwd', () => {
      expect(loadConfig({ DATABASE_URL: 'sqlite:./db/fiskal.db' }, CWD).database).toEqual({
        kind: 'sqlite',
        path: '/srv/openfiskal/db/fiskal.db',
      });
    });

    it('accepts an absolute sqlite path, also in the sqlite:/// form', () => {
      expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/a.db' }, CWD).database).toEqual({
        kind: 'sqlite',
        path: '/tmp/a.db',
      });
      expect(loadConfig({ DATABASE_URL: 'sqlite:///tmp/a.db' }, CWD).database).toEqual({
        kind: 'sqlite',
        path: '/tmp/a.db',
      });
    });

    it('accepts postgres:// and postgresql:// URLs unchanged', () => {
      const url = 'postgres://fiskal:secret@db.internal:5432/openfiskal?sslmode=require';
      expect(loadConfig({ DATABASE_URL: url }, CWD).database).toEqual({ kind: 'postgres', url });
      expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/openfiskal' }, CWD).database).toEqual({
        kind: 'postgres',
        url: 'postgresql://localhost/openfiskal',
      });
    });

    it.each([
      ['https://fiscal.example.com', 'https://fiscal.example.com'],
      ['https://fiscal.example.com/', 'https://fiscal.example.com'],
      ['http://192.168.1.10:8080', 'http://192.168.1.10:8080'],
      ['https://Example.COM/openfiskal//', 'https://example.com/openfiskal'],
      ['  https://example.com/a/b  ', 'https://example.com/a/b'],
    ])('accepts OPENFISKAL_PUBLIC_URL=%j, normalised to %j', (raw, expected) => {
      expect(loadConfig({ OPENFISKAL_PUBLIC_URL: raw }, CWD).publicUrl).toBe(expected);
    });

    it('accepts an unpadded base64 master key of 32 bytes', () => {
      expect(loadConfig({ OPENFISKAL_MASTER_KEY: MASTER_KEY.replace(/=+$/, '') }, CWD).masterKey).toEqual(
        MASTER_KEY_BYTES,
      );
    });
  });

  describe('refused values', () => {
    it('reports every problem in one ConfigError, each naming its variable', () => {
      const error = configErrorOf({ PORT: 'abc', OPENFISKAL_ENV: 'prod', LOG_LEVEL: 'loud' });
      expect(error.problems).toHaveLength(3);
      expect(error.problems[0]).toMatch(/^PORT="abc" /);
      expect(error.problems[1]).toMatch(/^OPENFISKAL_ENV="prod" /);
      expect(error.problems[2]).toMatch(/^LOG_LEVEL="loud" /);
    });

    it('lists every problem in the error message', () => {
      const error = configErrorOf({ PORT: 'abc', OPENFISKAL_ENV: 'prod', LOG_LEVEL: 'loud' });
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe(`Invalid configuration:\n${error.problems.map((p) => `  - ${p}`).join('\n')}`);
    });

    it('tells the expected range of a number', () => {
      expect(configErrorOf({ PORT: '65536' }).problems).toEqual(['PORT="65536" is not a whole number from 1 to 65535']);
    });

    it.each(['0', '-1', '80.5', '1e3', '0x50'])('refuses PORT=%s', (port) => {
      expect(configErrorOf({ PORT: port }).problems).toEqual([`PORT="${port}" is not a whole number from 1 to 65535`]);
    });

    it('refuses an idempotency TTL below 24 hours', () => {
      expect(configErrorOf({ OPENFISKAL_IDEMPOTENCY_TTL_HOURS: '23' }).problems).toEqual([
        'OPENFISKAL_IDEMPOTENCY_TTL_HOURS="23" is not a whole number from 24 to 8760',
      ]);
    });

    it('refuses a negative rate limit', () => {
      expect(configErrorOf({ OPENFISKAL_RATE_LIMIT: '-5' }).problems).toEqual([
        'OPENFISKAL_RATE_LIMIT="-5" is not a whole number from 0 to 1000000',
      ]);
    });

    it('refuses an in-memory sqlite database', () => {
      const [problem] = configErrorOf({ DATABASE_URL: 'sqlite::memory:' }).problems;
      expect(problem).toMatch(/^DATABASE_URL="sqlite::memory:" must name a file/);
    });

    it('refuses a sqlite URL without a path', () => {
      expect(configErrorOf({ DATABASE_URL: 'sqlite:' }).problems).toHaveLength(1);
    });

    it('refuses an unknown database scheme without echoing the URL', () => {
      const error = configErrorOf({ DATABASE_URL: 'mysql://root:hunter2@db/openfiskal' });
      expect(error.problems).toEqual([
        'DATABASE_URL must start with "sqlite:" (e.g. sqlite:./data/openfiskal.db) or "postgres://"',
      ]);
      expect(error.message).not.toContain('hunter2');
    });

    it('refuses a malformed postgres URL without echoing it', () => {
      const error = configErrorOf({ DATABASE_URL: 'postgres://admin:hunter2@db:notaport/openfiskal' });
      expect(error.problems).toEqual(['DATABASE_URL is not a valid postgres:// URL']);
      expect(error.message).not.toContain('hunter2');
    });

    it.each([
      ['16 bytes', Buffer.alloc(16, 7).toString('base64')],
      ['33 bytes', Buffer.alloc(33, 7).toString('base64')],
      ['hex instead of base64', Buffer.alloc(32, 7).toString('hex')],
      ['base64url characters', `${'A'.repeat(41)}-_=`],
    ])('refuses a master key of %s without echoing it', (_, key) => {
      const error = configErrorOf({ OPENFISKAL_MASTER_KEY: key });
      expect(error.problems).toEqual([
        'OPENFISKAL_MASTER_KEY must be the base64 encoding of exactly 32 bytes (openssl rand -base64 32)',
      ]);
      expect(error.message).not.toContain(key);
    });

    it.each([
      [
        'not a URL',
        'fiscal.example.com',
        'must be an absolute http:// or https:// URL (e.g. https://fiscal.example.com)',
      ],
      [
        'another scheme',
        'ftp://fiscal.example.com',
        'must be an absolute http:// or https:// URL (e.g. https://fiscal.example.com)',
      ],
      [
        'a query',
        'https://fiscal.example.com/?tenant=1',
        'must have no query or fragment: receipt codes are appended to its path',
      ],
      [
        'an empty query',
        'https://fiscal.example.com/?',
        'must have no query or fragment: receipt codes are appended to its path',
      ],
      [
        'a fragment',
        'https://fiscal.example.com/#top',
        'must have no query or fragment: receipt codes are appended to its path',
      ],
    ])('refuses OPENFISKAL_PUBLIC_URL with %s, naming it and what it must be', (_, raw, why) => {
      expect(configErrorOf({ OPENFISKAL_PUBLIC_URL: raw }).problems).toEqual([
        `OPENFISKAL_PUBLIC_URL=${JSON.stringify(raw)} ${why}`,
      ]);
    });

    it('refuses OPENFISKAL_PUBLIC_URL with credentials without echoing them', () => {
      const error = configErrorOf({ OPENFISKAL_PUBLIC_URL: 'https://admin:hunter2@fiscal.example.com' });
      expect(error.problems).toEqual([
        'OPENFISKAL_PUBLIC_URL must not contain credentials (user:password@): it is printed on receipts',
      ]);
      expect(error.message).not.toContain('hunter2');
      expect(configErrorOf({ OPENFISKAL_PUBLIC_URL: 'admin:hunter2@host' }).message).not.toContain('hunter2');
    });

    it('collects problems from every variable at once', () => {
      const error = configErrorOf({
        PORT: 'x',
        OPENFISKAL_ENV: 'staging',
        LOG_LEVEL: 'verbose',
        DATABASE_URL: 'sqlite::memory:',
        OPENFISKAL_MASTER_KEY: 'short',
        OPENFISKAL_PUBLIC_URL: 'ftp://x',
        OPENFISKAL_IDEMPOTENCY_TTL_HOURS: '1',
        OPENFISKAL_SETUP_TOKEN_TTL_HOURS: '0',
        OPENFISKAL_RATE_LIMIT: 'fast',
        OPENFISKAL_KEY_CACHE_MS: '60001',
        OPENFISKAL_DB_POOL_SIZE: '0',
        OPENFISKAL_SHUTDOWN_GRACE_MS: '600001',
      });
      expect(error.problems.map((p) => /^[A-Z_]+/.exec(p)?.[0])).toEqual([
        'PORT',
        'OPENFISKAL_ENV',
        'LOG_LEVEL',
        'DATABASE_URL',
        'OPENFISKAL_MASTER_KEY',
        'OPENFISKAL_PUBLIC_URL',
        'OPENFISKAL_IDEMPOTENCY_TTL_HOURS',
        'OPENFISKAL_SETUP_TOKEN_TTL_HOURS',
        'OPENFISKAL_RATE_LIMIT',
        'OPENFISKAL_KEY_CACHE_MS',
        'OPENFISKAL_DB_POOL_SIZE',
        'OPENFISKAL_SHUTDOWN_GRACE_MS',
      ]);
    });
  });
});
