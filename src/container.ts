/**
 * The composition root: builds repositories and services from configuration and ports. Nothing else wires
 * dependencies, and tests build the same graph with fakes for the clock.
 * @module
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { DerivedKeys } from './crypto/master-key.js';
import type { Database } from './db/database.js';
import { createJobQueue } from './jobs/job-queue.js';
import { createJobQueueRepository } from './jobs/job-queue.repository.js';
import type { JobHandlers, JobRunnerOptions, PeriodicTask } from './jobs/worker.js';
import { createApiKeyRepository } from './modules/api-keys/api-key.repository.js';
import { createApiKeyService } from './modules/api-keys/api-key.service.js';
import { createExportRepository } from './modules/exports/export.repository.js';
import { createExportService, EXPORT_JOB_KIND } from './modules/exports/export.service.js';
import { createFileStore } from './modules/exports/file-store.js';
import { createTseTarExportWriter } from './modules/exports/tse-tar.export.js';
import { createDep7ExportWriter } from './modules/exports/dep7.export.js';
import { createIdempotencyRepository } from './modules/idempotency/idempotency.repository.js';
import { createIdempotencyService } from './modules/idempotency/idempotency.service.js';
import { createJournalRepository } from './modules/journal/journal.repository.js';
import { createJournalService } from './modules/journal/journal.service.js';
import { createLocationRepository } from './modules/locations/location.repository.js';
import { createLocationService } from './modules/locations/location.service.js';
import { createOrganizationRepository } from './modules/organizations/organization.repository.js';
import { createOrganizationService } from './modules/organizations/organization.service.js';
import { createPlatformRepository } from './modules/platforms/platform.repository.js';
import { createPlatformService } from './modules/platforms/platform.service.js';
import { createRegisterRepository } from './modules/registers/register.repository.js';
import { createRegisterService } from './modules/registers/register.service.js';
import { createFiscalUnitRepository } from './modules/fiscal-units/fiscal-unit.repository.js';
import { createOutageRepository } from './modules/outages/outage.repository.js';
import { createOutageService } from './modules/outages/outage.service.js';
import { createNullReceiptService } from './modules/null-receipts/null-receipt.service.js';
import {
  createFiscalUnitService,
  presentFiscalUnit,
  type FiscalUnitService,
} from './modules/fiscal-units/fiscal-unit.service.js';
import type { FiscalProvider, ProviderName } from './modules/fiscal-units/providers/fiscal-provider.js';
import { createSoftwareTseProvider } from './modules/fiscal-units/providers/software-tse.provider.js';
import { createSoftwareRksvProvider } from './modules/fiscal-units/providers/software-rksv.provider.js';
import { createRksvRepository } from './modules/fiscal-units/providers/rksv.repository.js';
import { createCashDrawerOpeningRepository } from './modules/cash-drawer-openings/cash-drawer-opening.repository.js';
import { createCashDrawerOpeningService } from './modules/cash-drawer-openings/cash-drawer-opening.service.js';
import { createClosingRepository } from './modules/closings/closing.repository.js';
import {
  CLOSING_RETRY_JOB_KIND,
  CLOSING_TRANSMIT_JOB_KIND,
  createClosingService,
  type ClosingTransmitter,
} from './modules/closings/closing.service.js';
import { createClosingTotals } from './modules/closings/closing-totals.js';
import { createDsfinvkExportWriter } from './modules/exports/dsfinvk.export.js';
import { createDsfinvkSource } from './modules/exports/dsfinvk.repository.js';
import { createOperationRepository } from './modules/operations/operation.repository.js';
import { createOperationService } from './modules/operations/operation.service.js';
import { createReceiptService } from './modules/receipts/receipt.service.js';
import { createRksvReceiptRepository } from './modules/rksv-receipts/rksv-receipt.repository.js';
import { createRksvReceiptService, rksvReceiptBaseUrl } from './modules/rksv-receipts/rksv-receipt.service.js';
import type { Clock } from './shared/clock.js';

export interface ContainerPorts {
  readonly config: Config;
  readonly database: Database;
  readonly keys: DerivedKeys;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Overrides the idempotency lease (tests). */
  readonly idempotencyLeaseMs?: number;
  /** Closing transmitters by jurisdiction (regimes that transmit closings; tests inject fakes). */
  readonly closingTransmitters?: ReadonlyMap<string, ClosingTransmitter>;
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
    keyCacheTtlMs: config.keyCacheMs,
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
  const fiscalUnitRepository = createFiscalUnitRepository(database);
  const outageRepository = createOutageRepository(database);
  // The register service expands and archives fiscal units; the fiscal unit service is built after it.
  const late: { fiscalUnits?: FiscalUnitService } = {};
  const registers = createRegisterService({
    repository: createRegisterRepository(database),
    unitOfWork,
    clock,
    locations,
    apiKeys,
    fiscalUnits: {
      findPresented: async (id) => {
        const row = await fiscalUnitRepository.findById(id);
        return row === undefined ? null : presentFiscalUnit(row);
      },
    },
    decommissionActiveUnit: (tenant, register, reason) => {
      if (late.fiscalUnits === undefined) throw new Error('fiscal unit service not wired');
      return late.fiscalUnits.decommissionActiveUnit(tenant, register, reason);
    },
  });
  const journal = createJournalService({
    repository: createJournalRepository(database),
    unitOfWork,
    clock,
    registers,
  });
  const providers = new Map<ProviderName, FiscalProvider>([
    [
      'software_tse',
      createSoftwareTseProvider({
        repository: fiscalUnitRepository,
        clock,
        keyEncryptionKey: keys.signingKeyEncryptionKey,
      }),
    ],
    [
      'software_rksv',
      createSoftwareRksvProvider({
        repository: createRksvRepository(database),
        clock,
        keyEncryptionKey: keys.signingKeyEncryptionKey,
        receiptBaseUrl: rksvReceiptBaseUrl(config.publicUrl),
      }),
    ],
  ]);
  const fiscalUnits = createFiscalUnitService({
    repository: fiscalUnitRepository,
    unitOfWork,
    clock,
    environment: config.environment,
    providers,
    registers,
    organizations,
    locations,
    outages: outageRepository,
    apiKeys,
    journal,
    signingTimeoutMs: config.signingTimeoutMs,
  });
  late.fiscalUnits = fiscalUnits;
  const outages = createOutageService({ repository: outageRepository, clock, registers });
  const nullReceipts = createNullReceiptService({ unitOfWork, registers, fiscalUnits, journal });
  const closingRepository = createClosingRepository(database);
  const closingTotals = createClosingTotals({ repository: closingRepository, clock });
  const operations = createOperationService({
    repository: createOperationRepository(database),
    unitOfWork,
    clock,
    registers,
    fiscalUnits,
    journal,
    summary: closingTotals,
    signingTimeoutMs: config.signingTimeoutMs,
    maxOpenOperations: config.maxOpenOperations,
  });
  const cashDrawerOpenings = createCashDrawerOpeningService({
    repository: createCashDrawerOpeningRepository(database),
    unitOfWork,
    clock,
    registers,
    journal,
    summary: closingTotals,
  });
  const receipts = createReceiptService({ operations, registers, locations, organizations });
  const rksvReceipts = createRksvReceiptService({ repository: createRksvReceiptRepository(database) });
  const idempotency = createIdempotencyService({
    repository: createIdempotencyRepository(database),
    unitOfWork,
    clock,
    encryptionKey: keys.responseEncryptionKey,
    ttlHours: config.idempotencyTtlHours,
    ...(ports.idempotencyLeaseMs === undefined ? {} : { leaseMs: ports.idempotencyLeaseMs }),
  });

  const jobQueue = createJobQueue({ repository: createJobQueueRepository(database), unitOfWork, clock });
  const exportRepository = createExportRepository(database);
  const exports = createExportService({
    repository: exportRepository,
    unitOfWork,
    clock,
    registers,
    jobs: jobQueue,
    files: createFileStore(join(config.dataDir, 'exports')),
    // One entry per export format (each a file implementing ExportWriter).
    writers: [
      createTseTarExportWriter({ source: exportRepository }),
      createDep7ExportWriter({ source: exportRepository, keyEncryptionKey: keys.signingKeyEncryptionKey }),
      createDsfinvkExportWriter({ source: createDsfinvkSource(database) }),
    ],
    retentionDays: config.exportRetentionDays,
  });
  const closings = createClosingService({
    repository: closingRepository,
    totals: closingTotals,
    unitOfWork,
    clock,
    registers,
    locations,
    organizations,
    operations,
    fiscalUnits,
    journal,
    exports,
    jobs: jobQueue,
    signingTimeoutMs: config.signingTimeoutMs,
    ...(ports.closingTransmitters === undefined ? {} : { transmitters: ports.closingTransmitters }),
  });
  const jobHandlers: JobHandlers = {
    [EXPORT_JOB_KIND]: (payload, context) => exports.runJob(payload, context),
    [CLOSING_RETRY_JOB_KIND]: (payload) => closings.runRetryJob(payload),
    [CLOSING_TRANSMIT_JOB_KIND]: (payload) => closings.runTransmitJob(payload),
  };
  /** What the server's worker runs jobs with (tests start a runner from it with shorter intervals). */
  const jobRunner: JobRunnerOptions = {
    queue: jobQueue,
    handlers: jobHandlers,
    clock,
    pollMs: config.jobPollMs,
    concurrency: config.jobConcurrency,
  };

  const periodicTasks: PeriodicTask[] = [
    { name: 'purge-expired-idempotency-keys', intervalMs: 10 * 60_000, run: () => idempotency.purgeExpired() },
    { name: 'purge-expired-exports', intervalMs: 60 * 60_000, run: () => exports.purgeExpired() },
    { name: 'purge-finished-jobs', intervalMs: 60 * 60_000, run: () => jobQueue.purgeFinished() },
    { name: 'scheduled-closings', intervalMs: config.closingScheduleCheckMs, run: () => closings.runSchedules() },
  ];

  return {
    ...ports,
    apiKeys,
    platforms,
    organizations,
    locations,
    registers,
    journal,
    fiscalUnits,
    outages,
    nullReceipts,
    operations,
    cashDrawerOpenings,
    closings,
    closingTotals,
    receipts,
    rksvReceipts,
    idempotency,
    jobQueue,
    exports,
    jobRunner,
    periodicTasks,
  };
}

export type Container = ReturnType<typeof createContainer>;
