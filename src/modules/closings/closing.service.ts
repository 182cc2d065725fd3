/**
 * Closings (api.md §6): a register's Z-reports. A closing is made in two steps, each one transaction:
 *
 * 1. **Creation** (under the register lock): open operations are refused or cancelled, the next gapless `z_number`
 *    of the type is taken, the period is cut at the register's current journal length — so every event before it
 *    is in, every event after it in the next period — and the summary is added up from the pre-aggregated buckets
 *    (closing-totals.ts). The closing is `pending` and journaled.
 * 2. **Completion**: the fiscal unit signs the closing where the regime signs closings (DE: a TSE transaction), the
 *    regime's exports for the period are enqueued, and the closing becomes `completed` and is journaled — or, when
 *    the unit fails, nothing of that is kept: the closing is `failed` with a retryable failure, and a job retries it
 *    with backoff (`POST /v1/closings/{id}/retry` retries at once).
 *
 * While a closing is pending or failed, no other closing of the register starts, so closings complete in order.
 * @module
 */
import { effectiveFiscalIdentity } from '../../regimes/fiscal-identity.js';
import { parseLocationIdentity } from '../locations/location.service.js';
import type { UnitOfWork } from '../../db/database.js';
import type { ClosingType } from '../../db/schema.js';
import { AppError, notFound } from '../../errors/app-error.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { closingFiscalPrint, exportsOnClosing, taxIdLabel } from '../../regimes/closings.js';
import { documentLanguage, type Jurisdiction } from '../../regimes/jurisdictions.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { businessDate, toUtcString, zonedTimeToUtc } from '../../shared/time.js';
import type { ExportService } from '../exports/export.service.js';
import type { ExportType } from '../exports/export-writer.js';
import type { FiscalUnitService, JournalAppender } from '../fiscal-units/fiscal-unit.service.js';
import type { FiscalBlock } from '../fiscal-units/providers/fiscal-provider.js';
import type { LocationService } from '../locations/location.service.js';
import type { OperationService } from '../operations/operation.service.js';
import type { OrganizationService } from '../organizations/organization.service.js';
import type { RegisterRow } from '../registers/register.repository.js';
import type { RegisterService } from '../registers/register.service.js';
import type { ClosingRepository, ClosingRow } from './closing.repository.js';
import type { Closing, TriggerClosingBody } from './closing.schemas.js';
import { toSummary, type ClosingSummary } from './closing-summary.js';
import type { ClosingTotals } from './closing-totals.js';

/** The job kind that retries failed closings. */
export const CLOSING_RETRY_JOB_KIND = 'closing.retry';
/** The job kind that transmits completed closings where the regime transmits them. */
export const CLOSING_TRANSMIT_JOB_KIND = 'closing.transmit';

/** Why a transmission failed; `retryable` says whether sending the same closing again may succeed. */
export class TransmissionError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'TransmissionError';
  }
}

/**
 * The port of a regime that transmits closings to an authority (IT: the daily DatiCorrispettivi through the RT).
 * Completion enqueues the transmission in its own transaction; the job sends it and the closing becomes
 * `transmitted`, or `failed` with a `transmission_failed` failure (retried with backoff while retryable).
 */
export interface ClosingTransmitter {
  /** Whether closings of this type are transmitted. */
  transmits(type: ClosingType): boolean;
  /** Sends the completed closing; throws {@link TransmissionError}. */
  transmit(closing: Closing): Promise<void>;
}
/** Attempts of the retry job; with the queue's backoff (1 s doubling to 10 min) they span about half an hour. */
const CLOSING_RETRY_MAX_ATTEMPTS = 16;
/** When the retry job first looks at a closing: after its request has had time to complete it. */
const CLOSING_RETRY_FIRST_DELAY_MS = 10_000;

export interface ClosingServiceDeps {
  readonly repository: ClosingRepository;
  readonly totals: ClosingTotals;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly registers: Pick<RegisterService, 'findRow' | 'findById' | 'lock' | 'recountOpenOperations'>;
  readonly locations: Pick<LocationService, 'findRow'>;
  readonly organizations: Pick<OrganizationService, 'get'>;
  readonly operations: Pick<OperationService, 'cancelOpen'>;
  readonly fiscalUnits: Pick<FiscalUnitService, 'providerOf' | 'signingUnitOf' | 'record' | 'eventTime'>;
  readonly journal: JournalAppender;
  readonly exports: Pick<ExportService, 'enqueueExport'>;
  readonly jobs: Pick<JobQueue, 'enqueue'>;
  readonly signingTimeoutMs: number;
  /** Transmitters by jurisdiction (none yet: IT brings the first). */
  readonly transmitters?: ReadonlyMap<string, ClosingTransmitter>;
}

export interface TriggerOptions {
  /** The schedule slot of a scheduled closing; a second trigger for the same slot returns the first closing. */
  readonly scheduledFor?: string;
}

const RETRYABLE_CODES = new Set(['fiscalization_failed', 'fiscal_unit_unavailable', 'no_active_fiscal_unit']);

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the stored shape
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

export function presentClosing(row: ClosingRow): Closing {
  return {
    id: row.id,
    object: 'closing',
    register_id: row.register_id,
    type: row.type,
    state: row.state,
    period: { from: row.period_from, to: row.period_to },
    summary: parseJson<ClosingSummary>(row.summary ?? 'null'),
    fiscal: row.fiscal === null ? null : parseJson<Closing['fiscal']>(row.fiscal),
    z_number: Number(row.z_number),
    failure:
      row.failure_code === null
        ? null
        : {
            code: row.failure_code,
            message: row.failure_message ?? '',
            retryable: row.failure_retryable === 1n,
          },
    scheduled_for: row.scheduled_for,
    created_at: row.created_at,
    completed_at: row.completed_at,
    links: { pdf: `/v1/closings/${row.id}/pdf` },
  };
}

function closingIdOf(payload: unknown): string {
  if (typeof payload === 'object' && payload !== null && 'closing_id' in payload) {
    const id = payload.closing_id;
    if (typeof id === 'string') return id;
  }
  throw new Error('A closing job needs {"closing_id": "cls_…"}');
}

/** The tenant a closing acts for when no request does (worker, retries). */
const tenantOfRow = (row: { platform_id: string; organization_id: string }): Tenant => ({
  platformId: row.platform_id,
  organizationId: row.organization_id,
  registerId: null,
});

export function createClosingService(deps: ClosingServiceDeps) {
  const { repository, unitOfWork, clock, registers, journal } = deps;

  function transmitterFor(jurisdiction: string, type: ClosingType): ClosingTransmitter | null {
    const transmitter = deps.transmitters?.get(jurisdiction);
    return transmitter !== undefined && transmitter.transmits(type) ? transmitter : null;
  }

  /**
   * Sends a completed (or transmission-failed) closing. The call to the authority runs outside any transaction; its
   * outcome is then recorded under the register lock. Returns the closing as it is afterwards.
   */
  async function transmit(id: string): Promise<ClosingRow> {
    const row = await repository.findById(id);
    if (row === undefined) throw new Error(`closing ${id} vanished`);
    const sendable = row.state === 'completed' || (row.state === 'failed' && row.completed_at !== null);
    const register = await registers.findById(row.register_id);
    const transmitter = register === undefined ? null : transmitterFor(register.jurisdiction, row.type);
    if (!sendable || transmitter === null) return row;
    let failure: TransmissionError | null = null;
    try {
      await transmitter.transmit(presentClosing(row));
    } catch (error) {
      failure =
        error instanceof TransmissionError
          ? error
          : new TransmissionError(error instanceof Error ? error.message : String(error), true);
    }
    return unitOfWork.transaction(async () => {
      await registers.lock(row.register_id);
      const now = toUtcString(clock.now());
      const changes =
        failure === null
          ? {
              state: 'transmitted' as const,
              transmitted_at: now,
              failure_code: null,
              failure_message: null,
              failure_retryable: null,
            }
          : {
              state: 'failed' as const,
              failure_code: 'transmission_failed',
              failure_message: failure.message,
              failure_retryable: failure.retryable ? 1n : 0n,
            };
      const updated: ClosingRow = { ...row, ...changes, updated_at: now };
      await repository.update(row.id, { ...changes, updated_at: now });
      await journalClosing(failure === null ? 'closing.transmitted' : 'closing.transmission_failed', updated);
      return updated;
    });
  }

  async function findVisible(tenant: Tenant, id: string): Promise<ClosingRow> {
    const row = isId('cls', id) ? await repository.find(tenant.organizationId, id) : undefined;
    if (row === undefined || (tenant.registerId !== null && tenant.registerId !== row.register_id)) {
      throw notFound('closing', id);
    }
    return row;
  }

  async function journalClosing(type: string, row: ClosingRow): Promise<void> {
    await journal.append({
      registerId: row.register_id,
      type,
      subjectId: row.id,
      payload: { closing: presentClosing(row) },
      at: row.updated_at,
    });
  }

  /**
   * The regime's fiscal block of the closing, signed by the register's fiscal unit. Registers whose unit signs no
   * closings (no TSE) get none.
   */
  async function fiscalize(
    row: ClosingRow,
    register: RegisterRow,
    summary: ClosingSummary,
    exportIds: ReadonlyMap<string, string>,
  ): Promise<FiscalBlock | null> {
    const unit = await deps.fiscalUnits.signingUnitOf(register);
    const { recorder } = deps.fiscalUnits.providerOf(unit);
    const time = await deps.fiscalUnits.eventTime(tenantOfRow(row), register);
    const recorded = await deps.fiscalUnits.record(unit, () =>
      recorder.closing(unit, {
        ...time,
        closingId: row.id,
        closingType: row.type,
        zNumber: Number(row.z_number),
        totalGross: summary.total_gross,
        exportIds,
      }),
    );
    return recorded.block;
  }

  /** Step 1: the pending closing with its period, number and summary; or the existing one of a schedule slot. */
  async function create(
    tenant: Tenant,
    registerId: string,
    body: NonNullable<TriggerClosingBody>,
    options: TriggerOptions,
  ): Promise<{ row: ClosingRow; created: boolean }> {
    const type: ClosingType = body.type ?? 'daily';
    return unitOfWork.transaction(async () => {
      const found = await registers.findRow(tenant, registerId);
      if (found.state === 'archived') throw new AppError('register_archived');
      await registers.lock(found.id);
      if (options.scheduledFor !== undefined) {
        const existing = await repository.findScheduled(found.id, options.scheduledFor);
        if (existing !== undefined) return { row: existing, created: false };
      }
      const unfinished = await repository.unfinished(found.id);
      // A closing whose transmission failed is complete as far as this register is concerned.
      if (unfinished !== undefined) {
        throw new AppError('closing_in_progress', {
          message:
            unfinished.state === 'failed'
              ? `Closing ${unfinished.id} failed and is being retried; retry it (POST /v1/closings/${unfinished.id}/retry) first.`
              : `Closing ${unfinished.id} is pending.`,
        });
      }
      await deps.fiscalUnits.signingUnitOf(found);
      if (type !== 'shift') {
        const open = await repository.openOperationIds(found.id);
        if (open.length > 0 && body.cancel_open_operations !== true) {
          throw new AppError('open_operations_exist', {
            message: `${String(open.length)} operation(s) are open (${open.slice(0, 5).join(', ')}${open.length > 5 ? ', …' : ''}); complete or cancel them, or send "cancel_open_operations": true.`,
          });
        }
        for (const id of open) await deps.operations.cancelOpen(tenant, id, `Cancelled by the ${type} closing`);
        // The rows have the last word on the register's count of open operations, once a day at least.
        await registers.recountOpenOperations(found.id, false);
      }
      // Re-read under the lock: the cut is the journal as it stands now, after the cancellations.
      const register = (await registers.findById(found.id)) ?? found;
      const previous = await repository.latest(register.id, type);
      const seqFrom = previous?.journal_seq_to ?? 0n;
      const seqTo = register.journal_length;
      const summary = toSummary(await deps.totals.sum(register.id, seqFrom, seqTo));
      const now = toUtcString(clock.now());
      const row: ClosingRow = {
        id: newId('cls'),
        platform_id: register.platform_id,
        organization_id: register.organization_id,
        location_id: register.location_id,
        register_id: register.id,
        type,
        state: 'pending',
        z_number: (previous?.z_number ?? 0n) + 1n,
        period_from: previous?.period_to ?? register.fiscalized_at ?? register.created_at,
        period_to: now,
        journal_seq_from: seqFrom,
        journal_seq_to: seqTo,
        summary: JSON.stringify(summary),
        fiscal: null,
        failure_code: null,
        failure_message: null,
        failure_retryable: null,
        attempts: 0n,
        scheduled_for: options.scheduledFor ?? null,
        created_at: now,
        updated_at: now,
        completed_at: null,
        transmitted_at: null,
      };
      await repository.insert(row);
      await journalClosing('closing.created', row);
      // The safety net, committed with the closing: if this process dies before the closing completes, or its
      // fiscal unit fails, the worker completes it later. Once completed, the job finds nothing to do.
      await deps.jobs.enqueue(
        CLOSING_RETRY_JOB_KIND,
        { closing_id: row.id },
        {
          runAt: new Date(clock.now().getTime() + CLOSING_RETRY_FIRST_DELAY_MS),
          maxAttempts: CLOSING_RETRY_MAX_ATTEMPTS,
        },
      );
      return { row, created: true };
    });
  }

  /**
   * Step 2: signs, links the exports and completes; on a device failure the closing is `failed` (the retry job
   * queued at its creation tries again). A closing that is no longer pending or failed is returned as it is.
   */
  async function complete(id: string): Promise<ClosingRow> {
    try {
      return await unitOfWork.transaction(async () => {
        const current = await repository.findById(id);
        if (current === undefined) throw new Error(`closing ${id} vanished`);
        await registers.lock(current.register_id);
        const row = (await repository.findById(id)) ?? current;
        if (row.state !== 'pending' && !(row.state === 'failed' && row.completed_at === null)) return row;
        const register = await registers.findById(row.register_id);
        if (register === undefined) throw new Error(`register ${row.register_id} vanished`);
        const summary = parseJson<ClosingSummary>(row.summary ?? 'null');
        const exportIds = new Map<string, string>();
        for (const type of exportsOnClosing(register.jurisdiction as Jurisdiction, row.type)) {
          const created = await deps.exports.enqueueExport({
            tenant: tenantOfRow(row),
            type: type as ExportType,
            registerId: row.register_id,
            from: row.period_from,
            to: row.period_to,
            closingId: row.id,
          });
          exportIds.set(type, created.id);
        }
        const fiscal = await fiscalize(row, register, summary, exportIds);
        const now = toUtcString(clock.now());
        const completed: ClosingRow = {
          ...row,
          state: 'completed',
          fiscal: fiscal === null ? null : JSON.stringify(fiscal),
          failure_code: null,
          failure_message: null,
          failure_retryable: null,
          attempts: row.attempts + 1n,
          updated_at: now,
          completed_at: now,
        };
        await repository.update(row.id, {
          state: completed.state,
          fiscal: completed.fiscal,
          failure_code: null,
          failure_message: null,
          failure_retryable: null,
          attempts: completed.attempts,
          updated_at: now,
          completed_at: now,
        });
        await journalClosing('closing.completed', completed);
        if (transmitterFor(register.jurisdiction, row.type) !== null) {
          await deps.jobs.enqueue(
            CLOSING_TRANSMIT_JOB_KIND,
            { closing_id: row.id },
            { maxAttempts: CLOSING_RETRY_MAX_ATTEMPTS },
          );
        }
        return completed;
      });
    } catch (error) {
      if (!(error instanceof AppError) || !RETRYABLE_CODES.has(error.code)) throw error;
      return recordFailure(id, error);
    }
  }

  async function recordFailure(id: string, error: AppError): Promise<ClosingRow> {
    return unitOfWork.transaction(async () => {
      const row = await repository.findById(id);
      if (row === undefined) throw error;
      const attempts = row.attempts + 1n;
      const now = clock.now();
      const failed: ClosingRow = {
        ...row,
        state: 'failed',
        failure_code: error.code,
        failure_message: error.fiscalErrors?.[0]?.message ?? error.message,
        failure_retryable: 1n,
        attempts,
        updated_at: toUtcString(now),
      };
      await repository.update(id, {
        state: failed.state,
        failure_code: failed.failure_code,
        failure_message: failed.failure_message,
        failure_retryable: 1n,
        attempts,
        updated_at: failed.updated_at,
      });
      return failed;
    });
  }

  /** Creates and completes a closing; `created` is false when a schedule slot's closing already existed. */
  async function run(
    tenant: Tenant,
    registerId: string,
    body: TriggerClosingBody,
    options: TriggerOptions = {},
  ): Promise<{ closing: Closing; created: boolean }> {
    const { row, created } = await create(tenant, registerId, body ?? {}, options);
    if (!created) return { closing: presentClosing(row), created };
    return { closing: presentClosing(await complete(row.id)), created };
  }

  /** The most recent schedule slot at or before `now` (local `YYYY-MM-DDTHH:MM`) and its instant. */
  function latestSlot(now: Date, dailyAt: string, timeZone: string): { slot: string; at: Date } {
    const today = businessDate(now, timeZone);
    const todayAt = zonedTimeToUtc(today, dailyAt, timeZone);
    if (todayAt.getTime() <= now.getTime()) return { slot: `${today}T${dailyAt}`, at: todayAt };
    const yesterday = businessDate(new Date(todayAt.getTime() - 86_400_000), timeZone);
    return { slot: `${yesterday}T${dailyAt}`, at: zonedTimeToUtc(yesterday, dailyAt, timeZone) };
  }

  return {
    async trigger(tenant: Tenant, registerId: string, body: TriggerClosingBody): Promise<Closing> {
      return (await run(tenant, registerId, body)).closing;
    },

    async get(tenant: Tenant, id: string): Promise<Closing> {
      return presentClosing(await findVisible(tenant, id));
    },

    async list(tenant: Tenant, registerId: string, query: ListQuery & { type?: ClosingType }): Promise<Page<Closing>> {
      const request = toPageRequest(query);
      const register = await registers.findRow(tenant, registerId);
      return toPage(await repository.list(register.id, query.type, request), request, presentClosing);
    },

    /** Retries a failed closing now. */
    async retry(tenant: Tenant, id: string): Promise<Closing> {
      const row = await findVisible(tenant, id);
      if (row.state !== 'failed') {
        throw new AppError('closing_not_failed', {
          message: `The closing is ${row.state}; only a failed one is retried.`,
        });
      }
      // Signed already: only its transmission failed.
      if (row.completed_at !== null) return presentClosing(await transmit(row.id));
      return presentClosing(await complete(row.id));
    },

    /** The summary recomputed operation by operation (not from the buckets): proves the stored one reproducible. */
    async recompute(tenant: Tenant, id: string): Promise<ClosingSummary> {
      const row = await findVisible(tenant, id);
      return toSummary(await deps.totals.recompute(row.register_id, row.journal_seq_from, row.journal_seq_to));
    },

    /** The Z-report PDF. */
    async pdf(tenant: Tenant, id: string): Promise<Buffer> {
      const row = await findVisible(tenant, id);
      const register = await registers.findRow(tenant, row.register_id);
      const location = await deps.locations.findRow(tenant, register.location_id);
      const organization = await deps.organizations.get(tenant);
      const closing = presentClosing(row);
      const language = documentLanguage(register.jurisdiction as Jurisdiction);
      const identity: Readonly<Record<string, unknown>> =
        effectiveFiscalIdentity(organization.fiscal_identity, parseLocationIdentity(location)) ?? {};
      const fiscal = closingFiscalPrint(closing.fiscal, language);
      // The PDF library loads at the first PDF, not at start-up.
      const { renderClosingPdf } = await import('../../documents/pdf/closing-pdf.js');
      return renderClosingPdf({
        locale: language === 'de' ? `de-${register.jurisdiction}` : 'en-GB',
        currency: register.currency,
        timeZone: location.timezone,
        organization: {
          legalName: organization.legal_name,
          tradeName: organization.trade_name,
          address: organization.address,
          taxIds: Object.entries(identity).flatMap(([key, value]) =>
            typeof value === 'string' && value !== '' ? [{ label: taxIdLabel(key, language), value }] : [],
          ),
        },
        location: { name: location.name, address: location.address === null ? null : parseJson(location.address) },
        register: {
          id: register.id,
          label: register.label,
          serialNumber: register.serial_number,
          jurisdiction: register.jurisdiction,
        },
        closing: {
          id: row.id,
          type: row.type,
          zNumber: Number(row.z_number),
          state: row.state,
          periodFrom: row.period_from,
          periodTo: row.period_to,
          createdAt: row.created_at,
          completedAt: row.completed_at,
        },
        summary: closing.summary,
        fiscal,
        certified: (closing.fiscal as { certified?: boolean } | null)?.certified ?? false,
      });
    },

    /** The job that transmits a completed closing; a retryable failure throws so that the queue tries again. */
    async runTransmitJob(payload: unknown): Promise<void> {
      const result = await transmit(closingIdOf(payload));
      if (result.state === 'failed' && result.failure_retryable === 1n) {
        throw new Error(`transmission of closing ${result.id} failed: ${result.failure_message ?? ''}`);
      }
    },

    /** The job that completes a closing left pending or failed; throwing makes the queue try again later. */
    async runRetryJob(payload: unknown): Promise<void> {
      const result = await complete(closingIdOf(payload));
      if (result.state === 'failed' && result.completed_at === null) {
        throw new Error(`closing ${result.id} failed again: ${result.failure_message ?? result.failure_code ?? ''}`);
      }
    },

    /**
     * Triggers the daily closing of every register whose schedule time has come, once per slot: the slot is stored
     * on the closing (unique per register), and the check runs under the register lock, so several processes and
     * restarts still make exactly one closing per slot. After downtime, only the latest missed slot is caught up.
     */
    async runSchedules(): Promise<number> {
      let triggered = 0;
      const now = clock.now();
      for (const register of await repository.scheduledRegisters()) {
        const schedule = parseJson<{ daily_at: string; set_at: string }>(register.closing_schedule);
        const { slot, at } = latestSlot(now, schedule.daily_at, register.timezone);
        if (at.toISOString() < schedule.set_at) continue;
        if ((await repository.findScheduled(register.id, slot)) !== undefined) continue;
        try {
          const { created } = await run(
            tenantOfRow(register),
            register.id,
            { type: 'daily', cancel_open_operations: true },
            { scheduledFor: slot },
          );
          if (created) triggered += 1;
        } catch (error) {
          // A closing in progress or a unit that is down: the next round tries the same slot again.
          if (!(error instanceof AppError)) throw error;
        }
      }
      return triggered;
    },
  };
}

export type ClosingService = ReturnType<typeof createClosingService>;
