/**
 * Generates the OpenAPI document without a running server: the application is built on a throwaway SQLite file,
 * which is all route registration needs. Used by `npm run openapi` (writes openapi/openapi.json) and its drift test.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { loadConfig } from './config/config.js';
import { createContainer } from './container.js';
import { deriveKeys } from './crypto/master-key.js';
import { createDatabase } from './db/database.js';
import { createLogger } from './logger.js';
import { systemClock } from './shared/clock.js';

export async function generateOpenApiDocument(): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openfiskal-openapi-'));
  const config = loadConfig({ OPENFISKAL_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const database = createDatabase(config.database);
  try {
    const container = createContainer({
      config,
      database,
      keys: deriveKeys(randomBytes(32)),
      clock: systemClock,
      logger: createLogger('silent'),
    });
    const app = await buildApp(container);
    const document = app.swagger();
    await app.close();
    return document;
  } finally {
    await database.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The committed form: pretty-printed with a trailing newline. */
export function formatOpenApiDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
