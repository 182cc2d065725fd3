/**
 * The composition root: builds repositories and services from configuration and ports. Nothing else wires
 * dependencies, and tests build the same graph with fakes for the clock.
 * @module
 */
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { DerivedKeys } from './crypto/master-key.js';
import type { Database } from './db/database.js';
import type { PeriodicTask } from './jobs/worker.js';
import { createApiKeyRepository } from './modules/api-keys/api-key.repository.js';
import { createApiKeyService } from './modules/api-keys/api-key.service.js';
import { createIdempotencyRepository } from './modules/idempotency/idempotency.repository.js';
import { createIdempotencyService } from './modules/idempotency/idempotency.service.js';
import { createLocationRepository } from './modules/locations/location.repository.js';
import { createLocationService } from './modules/locations/location.service.js';
import { createOrganizationRepository } from './modules/organizations/organization.repository.js';
import { createOrganizationService } from './modules/organizations/organization.service.js';
import { createPlatformRepository } from './modules/platforms/platform.repository.js';
import { createPlatformService } from './modules/platforms/platform.service.js';
import { createRegisterRepository } from './modules/registers/register.repository.js';
import { createRegisterService } from './modules/registers/register.service.js';
import type { Clock } from './shared/clock.js';

export interface ContainerPorts {
  readonly config: Config;
  readonly database: Database;
  readonly keys: DerivedKeys;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Overrides the idempotency lease (tests). */
  readonly idempotencyLeaseMs?: number;
}

export function createContainer(ports: ContainerPorts) {
  const { config, database, keys, clock } = ports;
  const unitOfWork = database;

  const apiKeys = createApiKeyService({
    repository: createApiKeyRepository(database),
    unitOfWork,
    clock,
    pepper: keys.apiKeyPepper,
    environment: config.environment,
    setupTokenTtlHours: config.setupTokenTtlHours,
  });
  const platforms = createPlatformService({
    repository: createPlatformRepository(database),
    unitOfWork,
    clock,
    apiKeys,
  });
  const organizations = createOrganizationService({
    repository: createOrganizationRepository(database),
    unitOfWork,
    clock,
  });
  const locations = createLocationService({ repository: createLocationRepository(database), unitOfWork, clock });
  const registers = createRegisterService({
    repository: createRegisterRepository(database),
    unitOfWork,
    clock,
    locations,
    apiKeys,
  });
  const idempotency = createIdempotencyService({
    repository: createIdempotencyRepository(database),
    unitOfWork,
    clock,
    encryptionKey: keys.responseEncryptionKey,
    ttlHours: config.idempotencyTtlHours,
    ...(ports.idempotencyLeaseMs === undefined ? {} : { leaseMs: ports.idempotencyLeaseMs }),
  });

  const periodicTasks: PeriodicTask[] = [
    { name: 'purge-expired-idempotency-keys', intervalMs: 10 * 60_000, run: () => idempotency.purgeExpired() },
  ];

  return { ...ports, apiKeys, platforms, organizations, locations, registers, idempotency, periodicTasks };
}

export type Container = ReturnType<typeof createContainer>;
