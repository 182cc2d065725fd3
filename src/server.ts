/**
 * Starting and stopping the server process: configuration → secrets → database (migrated) → default platform on
 * an empty database → HTTP → worker; on SIGTERM/SIGINT the reverse, draining requests first.
 * @module
 */
import closeWithGrace from 'close-with-grace';
import { buildApp, type App } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { createContainer } from './container.js';
import { deriveKeys, loadOrCreateMasterKey, SecretsFileError } from './crypto/master-key.js';
import { createDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { startWorker } from './jobs/worker.js';
import { createLogger } from './logger.js';
import { systemClock } from './shared/clock.js';

/** Opens the configured database and applies pending migrations (used by `serve` and the CLI). */
export async function openDatabase(config: Config, onIdleError?: (error: Error) => void): Promise<Database> {
  const database = createDatabase(config.database, {
    poolSize: config.databasePoolSize,
    ...(onIdleError === undefined ? {} : { onIdleError }),
  });
  try {
    await migrateToLatest(database);
  } catch (error) {
    await database.destroy();
    throw error;
  }
  return database;
}

/** Reads the configuration, printing every problem and exiting with status 1 if it is invalid. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

export interface RunningServer {
  readonly app: App;
  close(): Promise<void>;
}

export async function runServer(config: Config): Promise<RunningServer> {
  const startedAt = performance.now();
  const logger = createLogger(config.logLevel);
  let masterKey: Buffer;
  try {
    masterKey = loadOrCreateMasterKey(config.dataDir, config.masterKey);
  } catch (error) {
    if (error instanceof SecretsFileError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const database = await openDatabase(config, (error) =>
    logger.warn({ err: error }, 'idle database connection failed'),
  );
  const container = createContainer({ config, database, keys: deriveKeys(masterKey), clock: systemClock, logger });

  const created = await container.platforms.ensureDefaultPlatform();
  if (created !== null) {
    // Printed once, on stdout and not through the logger: the token is a secret and logs are not for secrets.
    process.stdout.write(`Setup token: ${created.setupToken}\n`);
  }

  const app = await buildApp(container);
  await app.listen({ host: config.host, port: config.port });
  const worker = startWorker(container.periodicTasks, logger, container.jobRunner);
  logger.info(
    {
      environment: config.environment,
      database: config.database.kind,
      startup_ms: Math.round(performance.now() - startedAt),
    },
    'ready',
  );

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await app.close();
      await worker.stop();
      await database.destroy();
    })();
    return closing;
  };
  const graceful = closeWithGrace({ delay: config.shutdownGraceMs }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await close();
  });
  return {
    app,
    close: async () => {
      graceful.uninstall();
      await close();
    },
  };
}
