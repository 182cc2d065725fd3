/**
 * Builds the real application (same container, same plugins) on a scratch database of the project's engine.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { deriveKeys } from '../../src/crypto/master-key.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger } from '../../src/logger.js';
import type { ClosingTransmitter } from '../../src/modules/closings/closing.service.js';
import { systemClock, type Clock } from '../../src/shared/clock.js';
import type { Environment } from '../../src/shared/tenant.js';
import { ApiClient } from './api-client.js';
import { createScratchDatabase, type ScratchDatabase } from './engines.js';

export interface TestAppOptions {
  readonly environment?: Environment;
  readonly rateLimitPerSecond?: number;
  readonly clock?: Clock;
  readonly idempotencyLeaseMs?: number;
  /** Where JSON logs go (default: nowhere). */
  readonly logStream?: Writable;
  /** Reuse a database (e.g. to restart on the same data); default a fresh scratch database. */
  readonly scratch?: ScratchDatabase;
  readonly masterKey?: Buffer;
  /** OPENFISKAL_SIGNING_TIMEOUT_MS (default 3000). */
  readonly signingTimeoutMs?: number;
  /** OPENFISKAL_REQUEST_TIMEOUT_MS (default: the server's). */
  readonly requestTimeoutMs?: number;
  /** OPENFISKAL_MAX_OPEN_OPERATIONS (default: the server's). */
  readonly maxOpenOperations?: number;
  /** OPENFISKAL_KEY_CACHE_MS (default: the server's). */
  readonly keyCacheMs?: number;
  /** OPENFISKAL_PUBLIC_URL (default: unset, so Austrian receipts carry no URL). */
  readonly publicUrl?: string;
  /** Closing transmitters by jurisdiction (fakes of an authority). */
  readonly closingTransmitters?: ReadonlyMap<string, ClosingTransmitter>;
}

export interface TestApp {
  readonly app: App;
  readonly container: Container;
  readonly database: Database;
  readonly scratch: ScratchDatabase;
  readonly masterKey: Buffer;
  /** An unauthenticated client. */
  readonly api: ApiClient;
  /** Closes the app and the database; drops the scratch database unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const scratch = options.scratch ?? (await createScratchDatabase());
  const config = loadConfig({
    OPENFISKAL_ENV: options.environment ?? 'test',
    OPENFISKAL_DATA_DIR: scratch.dataDir,
    DATABASE_URL: scratch.url,
    OPENFISKAL_RATE_LIMIT: String(options.rateLimitPerSecond ?? 0),
    LOG_LEVEL: options.logStream === undefined ? 'silent' : 'info',
    OPENFISKAL_SIGNING_TIMEOUT_MS: String(options.signingTimeoutMs ?? 3000),
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { OPENFISKAL_REQUEST_TIMEOUT_MS: String(options.requestTimeoutMs) }),
    ...(options.maxOpenOperations === undefined
      ? {}
      : { OPENFISKAL_MAX_OPEN_OPERATIONS: String(options.maxOpenOperations) }),
    ...(options.publicUrl === undefined ? {} : { OPENFISKAL_PUBLIC_URL: options.publicUrl }),
    ...(options.keyCacheMs === undefined ? {} : { OPENFISKAL_KEY_CACHE_MS: String(options.keyCacheMs) }),
  });
  const database = createDatabase(config.database, { poolSize: 20 });
  await migrateToLatest(database);
  const masterKey = options.masterKey ?? randomBytes(32);
  const container = createContainer({
    config,
    database,
    keys: deriveKeys(masterKey),
    clock: options.clock ?? systemClock,
    logger: createLogger(config.logLevel, options.logStream),
    ...(options.idempotencyLeaseMs === undefined ? {} : { idempotencyLeaseMs: options.idempotencyLeaseMs }),
    ...(options.closingTransmitters === undefined ? {} : { closingTransmitters: options.closingTransmitters }),
  });
  const app = await buildApp(container);
  return {
    app,
    container,
    database,
    scratch,
    masterKey,
    api: new ApiClient(app),
    async close({ keepData = false } = {}) {
      await app.close();
      await database.destroy();
      if (!keepData) await scratch.drop();
    },
  };
}

/** A clock that stands still until told to move. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start: Date | string = new Date()) {
    this.#now = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}
