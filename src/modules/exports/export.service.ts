/**
 * Exports (api.md §7): a file of a register's fiscal data over a period, in a format of the register's
 * jurisdiction. Creating one inserts the export and its job in one transaction (joining the caller's, so a closing
 * can create its DSFinV-K export atomically); the job streams the file into the file store and completes the
 * export in one transaction with the job itself, so a job taken over from a stalled worker completes it once.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import { AppError, notFound } from '../../errors/app-error.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { JobContext } from '../../jobs/worker.js';
import type { Jurisdiction } from '../../regimes/jurisdictions.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { normaliseTimestamp, toUtcString } from '../../shared/time.js';
import type { RegisterService } from '../registers/register.service.js';
import type { ExportRepository, ExportRow } from './export.repository.js';
import type { CreateExportBody, Export } from './export.schemas.js';
import type { ExportSubject, ExportType, ExportWriter } from './export-writer.js';
import type { FileStore, StoredFile } from './file-store.js';
import type { Readable } from 'node:stream';

/** The job kind that produces exports. */
export const EXPORT_JOB_KIND = 'export';
/** Exports fail mostly for reasons a retry does not cure; a few attempts cover a database hiccup. */
const EXPORT_MAX_ATTEMPTS = 5;
/** How often running exports write their progress to the database. */
const PROGRESS_INTERVAL_MS = 250;
const DAY_MS = 86_400_000;

export interface ExportServiceDeps {
  readonly repository: ExportRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly registers: Pick<RegisterService, 'findRow'>;
  readonly jobs: Pick<JobQueue, 'enqueue'>;
  readonly files: FileStore;
  readonly writers: readonly ExportWriter[];
  /** Days a completed export's file is kept. */
  readonly retentionDays: number;
}

export interface EnqueueExportInput {
  readonly tenant: Tenant;
  readonly type: ExportType;
  readonly registerId: string;
  /** RFC 3339, any offset; inclusive. */
  readonly from: string;
  readonly to: string;
  readonly closingId?: string;
}

export interface ExportListQuery extends ListQuery {
  readonly register_id?: string;
  readonly type?: ExportType;
  readonly state?: Export['state'];
}

export interface ExportDownload {
  readonly stream: Readable;
  readonly size: number;
  readonly name: string;
  readonly contentType: string;
  readonly sha256: string;
}

const invalid = (param: string, message: string) => new AppError('validation_error', { param, message });

function registerKeyMayNot(): AppError {
  return new AppError('forbidden', {
    message: 'A register key may only act on its own register.',
    param: 'register_id',
  });
}

function exportIdOf(payload: unknown): string {
  if (typeof payload === 'object' && payload !== null && 'export_id' in payload) {
    const id = payload.export_id;
    if (typeof id === 'string') return id;
  }
  throw new Error('An export job needs {"export_id": "exp_…"}');
}

export function createExportService(deps: ExportServiceDeps) {
  const { repository, unitOfWork, clock, registers, jobs, files, retentionDays } = deps;
  const writers = new Map(deps.writers.map((writer) => [writer.type, writer]));
  const now = () => toUtcString(clock.now());
  const retainedUntil = (from: Date) => toUtcString(new Date(from.getTime() + retentionDays * DAY_MS));

  function downloadable(row: ExportRow, at: string): boolean {
    return row.state === 'completed' && row.file_deleted_at === null && row.expires_at > at;
  }

  function present(row: ExportRow, at: string): Export {
    const completed = row.state === 'completed';
    return {
      id: row.id,
      object: 'export',
      type: row.type as ExportType,
      register_id: row.register_id,
      state: row.state,
      from: row.period_from,
      to: row.period_to,
      progress: { done: Number(row.progress_done), total: Number(row.progress_total) },
      file:
        completed && row.file_name !== null && row.file_sha256 !== null
          ? {
              name: row.file_name,
              content_type: row.file_content_type ?? 'application/octet-stream',
              size: Number(row.file_size ?? 0),
              sha256: row.file_sha256,
            }
          : null,
      links: { download: downloadable(row, at) ? `/v1/exports/${row.id}/download` : null },
      failure:
        row.state === 'failed'
          ? { code: row.failure_code ?? 'export_failed', message: row.failure_message ?? 'The export failed.' }
          : null,
      expires_at: row.expires_at,
      created_at: row.created_at,
      completed_at: row.completed_at,
      closing_id: row.closing_id,
    };
  }

  /** The export if the tenant may see it: its organization's, and for a register key only its register's. */
  async function findVisible(tenant: Tenant, id: string): Promise<ExportRow> {
    const row = isId('exp', id) ? await repository.find(tenant.organizationId, id) : undefined;
    if (row === undefined || (tenant.registerId !== null && row.register_id !== tenant.registerId)) {
      throw notFound('export', id);
    }
    return row;
  }

  function writerFor(type: ExportType, jurisdiction: Jurisdiction): ExportWriter {
    const writer = writers.get(type);
    if (writer === undefined || !writer.jurisdictions.includes(jurisdiction)) {
      throw invalid('type', `\`${type}\` exports are not available for ${jurisdiction} registers.`);
    }
    return writer;
  }

  async function enqueueExport(input: EnqueueExportInput): Promise<Export> {
    const { tenant } = input;
    if (tenant.registerId !== null && tenant.registerId !== input.registerId) throw registerKeyMayNot();
    const from = normaliseTimestamp(input.from);
    const to = normaliseTimestamp(input.to);
    if (from === null) throw invalid('from', '`from` must be an RFC 3339 timestamp.');
    if (to === null) throw invalid('to', '`to` must be an RFC 3339 timestamp.');
    if (from > to) throw invalid('from', '`from` is after `to`.');
    return unitOfWork.transaction(async () => {
      const register = await registers.findRow(tenant, input.registerId);
      writerFor(input.type, register.jurisdiction as Jurisdiction);
      const id = newId('exp');
      const createdAt = clock.now();
      const jobId = await jobs.enqueue(EXPORT_JOB_KIND, { export_id: id }, { maxAttempts: EXPORT_MAX_ATTEMPTS });
      const row: ExportRow = {
        id,
        platform_id: tenant.platformId,
        organization_id: tenant.organizationId,
        register_id: register.id,
        type: input.type,
        state: 'queued',
        period_from: from,
        period_to: to,
        progress_done: 0n,
        progress_total: 0n,
        file_name: null,
        file_content_type: null,
        file_size: null,
        file_sha256: null,
        file_key: null,
        file_deleted_at: null,
        failure_code: null,
        failure_message: null,
        job_id: jobId,
        closing_id: input.closingId ?? null,
        expires_at: retainedUntil(createdAt),
        created_at: toUtcString(createdAt),
        updated_at: toUtcString(createdAt),
        completed_at: null,
      };
      await repository.insert(row);
      return present(row, row.created_at);
    });
  }

  return {
    enqueueExport,

    async create(tenant: Tenant, body: CreateExportBody): Promise<Export> {
      return enqueueExport({ tenant, type: body.type, registerId: body.register_id, from: body.from, to: body.to });
    },

    async get(tenant: Tenant, id: string): Promise<Export> {
      return present(await findVisible(tenant, id), now());
    },

    async list(tenant: Tenant, query: ExportListQuery): Promise<Page<Export>> {
      const request = toPageRequest(query);
      let registerId = query.register_id;
      if (tenant.registerId !== null) {
        if (registerId !== undefined && registerId !== tenant.registerId) throw registerKeyMayNot();
        registerId = tenant.registerId;
      }
      const rows = await repository.list(
        tenant.organizationId,
        {
          ...(registerId === undefined ? {} : { registerId }),
          ...(query.type === undefined ? {} : { type: query.type }),
          ...(query.state === undefined ? {} : { state: query.state }),
        },
        request,
      );
      const at = now();
      return toPage(rows, request, (row) => present(row, at));
    },

    /** The completed export's file: 409 `export_not_ready` before, 410 `export_expired` after retention. */
    async openDownload(tenant: Tenant, id: string): Promise<ExportDownload> {
      const row = await findVisible(tenant, id);
      if (row.state !== 'completed' || row.file_key === null || row.file_sha256 === null) {
        throw new AppError('export_not_ready', {
          message:
            row.state === 'failed'
              ? 'The export failed; it has no file. Create a new export.'
              : `The export is ${row.state}; download it once its state is completed.`,
        });
      }
      if (!downloadable(row, now())) throw new AppError('export_expired');
      const file = await files.open(row.file_key);
      // The row says the file exists: its absence is damage to the data directory, not a client error.
      if (file === null) throw new Error(`The file of export ${row.id} is missing from the file store`);
      return {
        stream: file.stream,
        size: file.size,
        name: row.file_name ?? `${row.id}.bin`,
        contentType: row.file_content_type ?? 'application/octet-stream',
        sha256: row.file_sha256,
      };
    },

    /** The job handler: writes the file and completes the export with the job. */
    async runJob(payload: unknown, job: JobContext): Promise<void> {
      const row = await repository.findById(exportIdOf(payload));
      if (row === undefined || (row.state !== 'queued' && row.state !== 'running')) return;
      const register = await registers.findRow(
        { platformId: row.platform_id, organizationId: row.organization_id, registerId: null },
        row.register_id,
      );
      const jurisdiction = register.jurisdiction as Jurisdiction;
      const writer = writers.get(row.type as ExportType);
      if (writer === undefined || !writer.jurisdictions.includes(jurisdiction)) {
        // Only possible when a server without this format runs a job created by one with it.
        await repository.markFailed(row.id, 'export_type_unavailable', `This server cannot write ${row.type}.`, now());
        return;
      }
      if (!(await repository.markRunning(row.id, now()))) return;
      const subject: ExportSubject = {
        id: row.id,
        type: writer.type,
        organizationId: row.organization_id,
        registerId: row.register_id,
        registerSerialNumber: register.serial_number,
        jurisdiction,
        from: row.period_from,
        to: row.period_to,
        closingId: row.closing_id,
        createdAt: row.created_at,
      };

      let done = 0;
      let total = 0;
      let lastWrite = Number.NEGATIVE_INFINITY;
      const progress = async (nextDone: number, nextTotal: number) => {
        done = nextDone;
        total = Math.max(nextTotal, nextDone);
        await job.progress(done, total);
        if (Date.now() - lastWrite >= PROGRESS_INTERVAL_MS) {
          lastWrite = Date.now();
          await repository.setProgress(row.id, done, total, now());
        }
      };

      let stored: StoredFile;
      try {
        stored = await files.write(row.id, (out) => writer.write(out, subject, { signal: job.signal, progress }));
      } catch (error) {
        if (!job.signal.aborted && job.attempt >= job.maxAttempts) {
          await repository.markFailed(
            row.id,
            'export_failed',
            `The export could not be written (job ${job.jobId}); the server log has the details.`,
            now(),
          );
        }
        throw error;
      }

      // Set inside the transaction callback; the cast keeps TypeScript from narrowing it to `false` for good.
      let kept = false as boolean;
      try {
        await job.complete(async () => {
          const completedAt = clock.now();
          const file = {
            name: writer.fileName(subject),
            contentType: writer.contentType,
            size: stored.size,
            sha256: stored.sha256,
            key: stored.key,
          };
          kept = await repository.complete(
            row.id,
            file,
            Math.max(done, total),
            toUtcString(completedAt),
            retainedUntil(completedAt),
          );
        });
      } finally {
        // A file no export row points to (lease lost, or the export failed meanwhile) is of no use.
        if (!kept) await files.remove(stored.key);
      }
    },

    /**
     * Maintenance: deletes the files of exports past `expires_at`, fails exports whose job died, and removes
     * temporary files of crashed writers.
     */
    async purgeExpired(): Promise<{ files_deleted: number; orphans_failed: number; temporaries_removed: number }> {
      const at = now();
      let deleted = 0;
      for (;;) {
        const expired = await repository.findExpiredFiles(at, 100);
        if (expired.length === 0) break;
        for (const row of expired) {
          if (row.file_key !== null) await files.remove(row.file_key);
          await repository.markFileDeleted(row.id, at);
          deleted += 1;
        }
      }
      const orphans = await repository.failOrphaned(
        'export_failed',
        'The export job stopped without finishing; create a new export.',
        at,
      );
      const temporaries = await files.removeStaleTemporaries(new Date(clock.now().getTime() - DAY_MS));
      return { files_deleted: deleted, orphans_failed: orphans, temporaries_removed: temporaries };
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
