/**
 * Operations (api.md §3): sales, refunds, exchanges, voids, cash movements and training, with the register's
 * fiscal unit signing every fiscal event. Each fiscal event is ONE transaction: the register lock, the sequence
 * number, the device's counters and signed log, the operation row and the journal entry commit together or not
 * at all. A device failure rolls everything back; afterwards the failure is recorded (the unit goes to `error`, an
 * operation being completed gets `fiscal_state: failed`) and the caller gets 502/503 and may retry.
 * @module
 */
import type { UnitOfWork } from '../../db/database.js';
import type { OperationType } from '../../db/schema.js';
import { AppError, notFound } from '../../errors/app-error.js';
import { cashMovementProcess } from '../../regimes/de/process-data.js';
import type { Jurisdiction } from '../../regimes/jurisdictions.js';
import { isAllowedTaxRate, allowedTaxRates } from '../../regimes/tax-rates.js';
import type { Clock } from '../../shared/clock.js';
import { isId, newId } from '../../shared/ids.js';
import { mergeMetadata } from '../../shared/metadata.js';
import { toPage, toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { businessDate, toUtcString } from '../../shared/time.js';
import type { FiscalUnitService, JournalAppender } from '../fiscal-units/fiscal-unit.service.js';
import type { FiscalUnitRow } from '../fiscal-units/fiscal-unit.repository.js';
import type {
  EventTime,
  FiscalBlock,
  FiscalEventRecorder,
  OperationFiscalEvent,
} from '../fiscal-units/providers/fiscal-provider.js';
import type { EventRegister, RegisterRow } from '../registers/register.repository.js';
import type { RegisterService } from '../registers/register.service.js';
import { operationTotals, type OperationFacts } from '../closings/closing-summary.js';
import type { SummaryRecorder } from '../closings/closing-totals.js';
import type { OperationRepository, OperationRow } from './operation.repository.js';
import type {
  CashMovementBody,
  CompleteBody,
  CompleteSaleBody,
  Operation,
  OperationData,
  StartExchangeBody,
  StartRefundBody,
  StartSaleBody,
  UpdateExchangeBody,
  UpdateRefundBody,
  UpdateSaleBody,
  VoidBody,
} from './operation.schemas.js';
import {
  computeTotals,
  priceLineItems,
  priceRefundLines,
  PricingError,
  settlePayments,
  type CartDiscount,
  type LineItemInput,
  type DiscountInput,
  type Payment,
  type PaymentInput,
  type PricedLineItem,
  type Totals,
} from './pricing.js';

export interface OperationServiceDeps {
  readonly repository: OperationRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly registers: Pick<
    RegisterService,
    'findRow' | 'findForEvent' | 'findForOperationEvent' | 'nextSequenceNumber' | 'recountOpenOperations'
  >;
  readonly fiscalUnits: Pick<FiscalUnitService, 'providerOf' | 'signingUnitOf' | 'record' | 'eventTimeIn'>;
  readonly journal: JournalAppender;
  /** The closings' running totals, added to as operations complete. */
  readonly summary: SummaryRecorder;
  readonly signingTimeoutMs: number;
  /** Open sales, refunds and exchanges a register may have at once. */
  readonly maxOpenOperations: number;
}

/** The path family a request came through; `/v1/sales/…` also serves training sales. */
export type OperationKind = 'sale' | 'refund' | 'exchange' | 'void' | 'cash_movement' | 'any';

const KIND_TYPES: Readonly<Record<OperationKind, readonly OperationType[]>> = {
  sale: ['sale', 'training'],
  refund: ['refund'],
  exchange: ['exchange'],
  void: ['void'],
  cash_movement: ['cash_movement'],
  any: ['sale', 'refund', 'exchange', 'void', 'cash_movement', 'training'],
};

/** The `data` column: what the API answers as `data`, with the pricing types. */
interface StoredData {
  currency: string;
  line_items?: PricedLineItem[];
  returned_line_items?: PricedLineItem[];
  cart_discounts?: CartDiscount[];
  totals?: Totals;
  payments?: Payment[];
  customer?: OperationData['customer'];
  original_operation_type?: string;
  direction?: string;
  kind?: string;
  amount?: number;
  reason?: string | null;
}

interface FiscalUnitContext {
  readonly unit: FiscalUnitRow;
  readonly recorder: FiscalEventRecorder;
}

/** What a completion, cancellation or void tells the regime, before the common event fields. */
type OperationOutcome =
  Extract<
    OperationFiscalEvent,
    { kind: 'complete' } | { kind: 'cancel' } | { kind: 'void' } | { kind: 'cash_movement' }
  > extends infer E
    ? E extends OperationFiscalEvent
      ? Omit<E, keyof EventTime | 'operationId' | 'sequenceNumber' | 'started'>
      : never
    : never;

const EMPTY_TOTALS = computeTotals([], 1);

/**
 * Whether an operation of this type stays open after the request that starts it (and counts against the register's
 * limit of open operations): voids and cash movements open and finish in one transaction.
 */
const staysOpen = (type: OperationType): boolean => type !== 'void' && type !== 'cash_movement';

/** Reads a JSON column this module wrote itself (its shape is known, so no validation). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the stored shape
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/**
 * The JSON columns as values, for a row this module has just built from them: presenting it then needs no parse of
 * what was just serialised (the values are JSON already, so they present exactly as their parse would).
 */
interface ParsedColumns {
  readonly data?: StoredData;
  readonly fiscal?: FiscalBlock | null;
}

export function presentOperation(row: OperationRow, parsed: ParsedColumns = {}): Operation {
  return {
    id: row.id,
    object: 'operation',
    type: row.type,
    state: row.state,
    fiscal_state: row.fiscal_state,
    register_id: row.register_id,
    location_id: row.location_id,
    organization_id: row.organization_id,
    external_id: row.external_id,
    sequence_number: Number(row.sequence_number),
    cashier: row.cashier === null ? null : parseJson<Operation['cashier']>(row.cashier),
    data: parsed.data === undefined ? parseJson<OperationData>(row.data) : (parsed.data as OperationData),
    fiscal:
      parsed.fiscal !== undefined
        ? (parsed.fiscal as Operation['fiscal'])
        : row.fiscal === null
          ? null
          : parseJson<Operation['fiscal']>(row.fiscal),
    references: {
      original_operation_id: row.original_operation_id,
      voided_by: row.voided_by,
      reason: row.reason,
    },
    metadata: parseJson<Record<string, string>>(row.metadata),
    started_at: row.started_at,
    completed_at: row.completed_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function toAppError(error: unknown): unknown {
  if (error instanceof PricingError) {
    return new AppError(error.code, { message: error.message, param: error.param });
  }
  return error;
}

/** Runs pure pricing and turns its refusals into API errors. */
function priced<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw toAppError(error);
  }
}

const newLineId = (prefix: 'li' | 'ldsc' | 'cdsc' | 'pay') => newId(prefix);

export function createOperationService(deps: OperationServiceDeps) {
  const { repository, unitOfWork, clock, registers, journal } = deps;

  // -------------------------------------------------------------------------------------------------------------
  // Lookups
  // -------------------------------------------------------------------------------------------------------------

  /** The row if the tenant may see it as an operation of `kind`, else 404 (a register key sees its register's only). */
  function visibleRow(tenant: Tenant, id: string, kind: OperationKind, row: OperationRow | undefined): OperationRow {
    if (
      row === undefined ||
      !KIND_TYPES[kind].includes(row.type) ||
      (tenant.registerId !== null && tenant.registerId !== row.register_id)
    ) {
      throw notFound('operation', id);
    }
    return row;
  }

  async function findRow(tenant: Tenant, id: string, kind: OperationKind): Promise<OperationRow> {
    return visibleRow(tenant, id, kind, isId('op', id) ? await repository.find(tenant.organizationId, id) : undefined);
  }

  async function usableRegister(tenant: Tenant, registerId: string): Promise<EventRegister> {
    const register = await registers.findForEvent(tenant, registerId, false);
    if (register.state === 'archived') throw new AppError('register_archived');
    return register;
  }

  async function fiscalUnitOf(register: RegisterRow): Promise<FiscalUnitContext> {
    const unit = await deps.fiscalUnits.signingUnitOf(register);
    return { unit, recorder: deps.fiscalUnits.providerOf(unit).recorder };
  }

  /** The business day tax rates are chosen by. */
  function taxDay(register: EventRegister, at: Date): string {
    return businessDate(at, register.location_timezone);
  }

  function assertTaxRates(
    register: RegisterRow,
    lines: readonly LineItemInput[] | undefined,
    day: string,
    path = 'line_items',
  ): void {
    const jurisdiction = register.jurisdiction as Jurisdiction;
    (lines ?? []).forEach((line, index) => {
      if (!isAllowedTaxRate(jurisdiction, line.tax.category, line.tax.rate, day)) {
        const allowed = allowedTaxRates(jurisdiction, line.tax.category, day);
        throw new AppError('invalid_tax_rate', {
          message:
            allowed.length === 0
              ? `${jurisdiction} has no ${line.tax.category} rate on ${day}.`
              : `${line.tax.rate} is not a ${line.tax.category} rate in ${jurisdiction} on ${day}; allowed: ${allowed.join(', ')}.`,
          param: `${path}[${index}].tax.rate`,
        });
      }
    });
  }

  /** Appends the operation's journal entry (`operation` is the row presented); returns its seq. */
  async function journalOperation(type: string, row: OperationRow, operation: Operation): Promise<bigint> {
    const entry = await journal.append({
      registerId: row.register_id,
      type,
      subjectId: row.id,
      payload: { operation },
      at: row.updated_at,
    });
    return BigInt(entry.seq);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pricing of each type's data
  // -------------------------------------------------------------------------------------------------------------

  function saleData(
    currency: string,
    lines: readonly LineItemInput[],
    cartDiscounts: readonly DiscountInput[],
    customer: StoredData['customer'],
    payments: StoredData['payments'] = [],
  ): StoredData {
    const { lineItems, cartDiscounts: discounts } = priced(() => priceLineItems(lines, cartDiscounts, newLineId));
    return {
      currency,
      line_items: lineItems,
      cart_discounts: discounts,
      totals: priced(() => computeTotals([{ lines: lineItems, sign: 1 }], 1)),
      payments,
      customer: customer ?? null,
    };
  }

  /** Quantity of each original line already given back by other refunds/exchanges (not cancelled). */
  async function returnedQuantities(originalId: string, exceptId: string | null): Promise<Map<string, number>> {
    const returned = new Map<string, number>();
    for (const row of await repository.listReturnsOf(originalId)) {
      if (row.id === exceptId) continue;
      const data = parseJson<StoredData>(row.data);
      for (const line of [...(data.line_items ?? []), ...(data.returned_line_items ?? [])]) {
        if (row.type === 'exchange' && !(data.returned_line_items ?? []).includes(line)) continue;
        if (line.original_line_item_id === undefined) continue;
        returned.set(line.original_line_item_id, (returned.get(line.original_line_item_id) ?? 0) + line.quantity);
      }
    }
    return returned;
  }

  /** Lines of the original given back, at what was paid for them; refuses more than is left. */
  async function returnLines(
    original: OperationRow,
    requested: ReadonlyArray<{ line_item_id: string; quantity: number }> | undefined,
    exceptId: string | null,
    path: string,
  ): Promise<PricedLineItem[]> {
    const originalLines = parseJson<StoredData>(original.data).line_items ?? [];
    const returned = await returnedQuantities(original.id, exceptId);
    const left = (line: PricedLineItem) => Math.round((line.quantity - (returned.get(line.id) ?? 0)) * 1000) / 1000;
    const items =
      requested === undefined
        ? originalLines.filter((line) => left(line) > 0).map((line) => ({ original: line, quantity: left(line) }))
        : requested.map((request, index) => {
            const line = originalLines.find((candidate) => candidate.id === request.line_item_id);
            if (line === undefined) {
              throw new AppError('validation_error', {
                message: `${request.line_item_id} is not a line of ${original.id}.`,
                param: `${path}[${index}].line_item_id`,
              });
            }
            const alreadyRequested = requested
              .slice(0, index)
              .filter((other) => other.line_item_id === request.line_item_id)
              .reduce((sum, other) => sum + other.quantity, 0);
            if (request.quantity > left(line) - alreadyRequested + 1e-9) {
              throw new AppError('refund_exceeds_original', {
                message: `Only ${Math.max(0, left(line) - alreadyRequested)} of ${line.id} are left to refund.`,
                param: `${path}[${index}].quantity`,
              });
            }
            return { original: line, quantity: request.quantity };
          });
    if (items.length === 0) {
      throw new AppError('refund_exceeds_original', {
        message: `Everything of ${original.id} has been refunded already.`,
        param: path,
      });
    }
    return priced(() =>
      priceRefundLines(
        items.map((item) => ({
          original: item.original,
          quantity: item.quantity,
          alreadyRefundedQuantity: returned.get(item.original.id) ?? 0,
        })),
        newLineId,
        path,
      ),
    );
  }

  /** The original of a refund, exchange or void: a completed operation of the organization, not voided. */
  async function originalFor(tenant: Tenant, id: string, allowed: readonly OperationType[]): Promise<OperationRow> {
    const row = isId('op', id) ? await repository.find(tenant.organizationId, id) : undefined;
    // A register key sees only its own register's operations (api.md §1.2).
    if (row === undefined || (tenant.registerId !== null && tenant.registerId !== row.register_id)) {
      throw notFound('operation', id);
    }
    const locked = await repository.locked(row);
    if (!allowed.includes(locked.type)) {
      throw new AppError('validation_error', {
        message: `A ${locked.type} cannot be the original here; expected ${allowed.join(' or ')}.`,
        param: 'original_operation_id',
      });
    }
    if (locked.state !== 'completed') {
      throw new AppError('operation_not_completed', { param: 'original_operation_id' });
    }
    if (locked.voided_by !== null) {
      throw new AppError('already_voided', {
        message: `${locked.id} was voided by ${locked.voided_by}.`,
        param: 'original_operation_id',
      });
    }
    return locked;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Fiscal events
  // -------------------------------------------------------------------------------------------------------------

  interface NewOperation {
    readonly type: OperationType;
    readonly register: EventRegister;
    readonly data: StoredData;
    readonly externalId: string | undefined;
    readonly cashier: StoredData['customer'] | { id: string; display_name: string } | undefined;
    readonly metadata: Record<string, string> | undefined;
    readonly originalId: string | null;
    readonly reason: string | null;
  }

  function newRow(tenant: Tenant, input: NewOperation, id: string, sequence: bigint, now: string): OperationRow {
    return {
      id,
      platform_id: tenant.platformId,
      organization_id: tenant.organizationId,
      location_id: input.register.location_id,
      register_id: input.register.id,
      type: input.type,
      state: 'open',
      fiscal_state: 'pending',
      sequence_number: sequence,
      external_id: input.externalId ?? null,
      cashier: input.cashier === undefined || input.cashier === null ? null : JSON.stringify(input.cashier),
      data: JSON.stringify(input.data),
      fiscal: null,
      fiscal_unit_id: null,
      original_operation_id: input.originalId,
      voided_by: null,
      reason: input.reason,
      metadata: JSON.stringify(input.metadata ?? {}),
      started_at: now,
      completed_at: null,
      created_at: now,
      updated_at: now,
      final_journal_seq: null,
    };
  }

  /** A row as stored by a fiscal event, and as presented (and journalled) by it. */
  interface Recorded {
    readonly row: OperationRow;
    readonly operation: Operation;
  }

  /** Opens an operation: sequence number, signed TSE start, row, journal entry. */
  async function open(tenant: Tenant, input: NewOperation): Promise<Recorded> {
    // The sequence number first: taking it holds the register's row lock until commit (the register lock every
    // fiscal event takes first), and a refusal below rolls it back with everything else, the count of open
    // operations included.
    const { sequenceNumber: sequence, openOperations: counted } = await registers.nextSequenceNumber(
      input.register.id,
      staysOpen(input.type),
    );
    // Before refusing, the rows decide: the count may have drifted (registers.recountOpenOperations).
    const openOperations =
      staysOpen(input.type) && counted > deps.maxOpenOperations
        ? await registers.recountOpenOperations(input.register.id, true)
        : counted;
    if (staysOpen(input.type) && openOperations > deps.maxOpenOperations) {
      throw new AppError('too_many_open_operations', {
        message: `The register has ${String(openOperations - 1)} open operations; complete or cancel some first.`,
      });
    }
    const context = await fiscalUnitOf(input.register);
    const id = newId('op');
    const started = await deps.fiscalUnits.record(context.unit, async () => ({
      block: await context.recorder.start(context.unit, {
        clientId: input.register.serial_number,
        registerId: input.register.id,
        operationId: id,
      }),
      deviceFailure: null,
    }));
    const row = newRow(tenant, input, id, sequence, toUtcString(clock.now()));
    row.fiscal_unit_id = context.unit.id;
    row.fiscal = started.block === null ? null : JSON.stringify(started.block);
    await repository.insert(row);
    const operation = presentOperation(row, { data: input.data, fiscal: started.block });
    await journalOperation('operation.started', row, operation);
    return { row, operation };
  }

  /** Records the operation's fiscal event with its register's fiscal unit, and stores the result. */
  async function finish(
    tenant: Tenant,
    row: OperationRow,
    register: EventRegister,
    context: FiscalUnitContext,
    outcome: OperationOutcome,
    changes: { state: 'completed' | 'cancelled'; data?: StoredData; reason?: string | null },
    journalType: string,
  ): Promise<Recorded> {
    const started = row.fiscal === null ? null : parseJson<FiscalBlock>(row.fiscal);
    const markFailed = async () => {
      await unitOfWork.transaction(() =>
        repository.update(row.id, { fiscal_state: 'failed', updated_at: toUtcString(clock.now()) }),
      );
    };
    const event = {
      ...deps.fiscalUnits.eventTimeIn(register, register.location_timezone),
      ...outcome,
      operationId: row.id,
      sequenceNumber: row.sequence_number,
      started,
    } as OperationFiscalEvent;
    const recorded = await deps.fiscalUnits.record(
      context.unit,
      () => context.recorder.finish(context.unit, event),
      markFailed,
    );
    const now = clock.now();
    const updated: OperationRow = {
      ...row,
      state: changes.state,
      fiscal_state: 'succeeded',
      data: changes.data === undefined ? row.data : JSON.stringify(changes.data),
      reason: changes.reason === undefined ? row.reason : changes.reason,
      fiscal: recorded.block === null ? null : JSON.stringify(recorded.block),
      completed_at: changes.state === 'completed' ? toUtcString(now) : null,
      updated_at: toUtcString(now),
    };
    const operation = presentOperation(updated, {
      ...(changes.data === undefined ? {} : { data: changes.data }),
      fiscal: recorded.block,
    });
    // The journal entry first: its seq places the operation in the closings' periods.
    const seq = await journalOperation(journalType, updated, operation);
    updated.final_journal_seq = seq;
    const finished = {
      state: updated.state,
      fiscal_state: updated.fiscal_state,
      data: updated.data,
      reason: updated.reason,
      fiscal: updated.fiscal,
      completed_at: updated.completed_at,
      updated_at: updated.updated_at,
      final_journal_seq: seq,
    };
    // An operation that stayed open was counted among its register's open ones; it no longer is.
    if (staysOpen(row.type)) await repository.updateClosing(row.id, finished, row.register_id);
    else await repository.update(row.id, finished);
    await deps.summary.record(
      updated.register_id,
      seq,
      operationTotals({
        type: updated.type,
        state: updated.state,
        data: operation.data as OperationFacts['data'],
      }),
    );
    return { row: updated, operation };
  }

  /** Locks the operation's register, then reads the operation under its own lock; refuses anything but `open`. */
  async function openRowForChange(tenant: Tenant, id: string, kind: OperationKind) {
    // The register's lock first (every fiscal event takes it first), found through the operation's id, then the
    // operation's. The operation is read only under its lock: a read before would be one more round trip.
    const register = await registers.findForOperationEvent(tenant, id, true);
    if (register === undefined) throw notFound('operation', id);
    const row = visibleRow(tenant, id, kind, await repository.findLocked(tenant.organizationId, id));
    if (row.state !== 'open') {
      throw new AppError('operation_not_open', { message: `The operation is ${row.state}.` });
    }
    return { row, register };
  }

  function assertNotEmpty(data: StoredData): void {
    if ((data.line_items ?? []).length === 0 && (data.returned_line_items ?? []).length === 0) {
      throw new AppError('empty_operation', { param: 'line_items' });
    }
  }

  /** Completion of sales, training, refunds and exchanges: payments settle the total, the TSE signs the receipt. */
  async function complete(
    tenant: Tenant,
    id: string,
    kind: 'sale' | 'refund' | 'exchange',
    body: CompleteBody & { line_items?: CompleteSaleBody['line_items'] },
  ): Promise<Operation> {
    return unitOfWork.transaction(async () => {
      const { row, register } = await openRowForChange(tenant, id, kind);
      let data = parseJson<StoredData>(row.data);
      if (body.line_items !== undefined) {
        assertTaxRates(register, body.line_items, taxDay(register, clock.now()));
        data = saleData(
          data.currency,
          body.line_items,
          (data.cart_discounts ?? []).map(discountInput),
          data.customer ?? null,
        );
      }
      assertNotEmpty(data);
      const totals = data.totals ?? EMPTY_TOTALS;
      const expected = row.type === 'refund' ? -totals.total_gross : totals.total_gross;
      const payments = priced(() =>
        settlePayments(body.payments as PaymentInput[], expected, data.currency, newLineId),
      );
      const settled: StoredData = { ...data, payments };
      const context = await fiscalUnitOf(register);
      const outcome: OperationOutcome = {
        kind: 'complete',
        operationType: row.type as 'sale' | 'training' | 'refund' | 'exchange',
        breakdown: totals.tax_breakdown,
        payments,
      };
      const { operation } = await finish(
        tenant,
        row,
        register,
        context,
        outcome,
        { state: 'completed', data: settled },
        'operation.completed',
      );
      return operation;
    });
  }

  async function cancel(tenant: Tenant, id: string, kind: 'sale' | 'refund' | 'exchange', reason: string) {
    return unitOfWork.transaction(async () => {
      const { row, register } = await openRowForChange(tenant, id, kind);
      const data = parseJson<StoredData>(row.data);
      const context = await fiscalUnitOf(register);
      const outcome: OperationOutcome = {
        kind: 'cancel',
        operationType: row.type as 'sale' | 'training' | 'refund' | 'exchange',
        breakdown: (data.totals ?? EMPTY_TOTALS).tax_breakdown,
      };
      const { operation } = await finish(
        tenant,
        row,
        register,
        context,
        outcome,
        { state: 'cancelled', reason },
        'operation.cancelled',
      );
      return operation;
    });
  }

  /** Opens and immediately finishes an operation: voids and cash movements. */
  async function singleEvent(
    tenant: Tenant,
    input: NewOperation,
    outcome: OperationOutcome,
    journalType: string,
    afterInsert: (row: OperationRow) => Promise<void> = () => Promise.resolve(),
  ): Promise<Operation> {
    const opened = await open(tenant, input);
    await afterInsert(opened.row);
    const context = await fiscalUnitOf(input.register);
    const changes = { state: 'completed', data: input.data } as const;
    return (await finish(tenant, opened.row, input.register, context, outcome, changes, journalType)).operation;
  }

  async function update(
    tenant: Tenant,
    id: string,
    kind: 'sale' | 'refund' | 'exchange',
    body: { metadata?: Record<string, string | null> | undefined },
    reprice: (row: OperationRow, register: EventRegister, data: StoredData) => StoredData | Promise<StoredData>,
  ): Promise<Operation> {
    return unitOfWork.transaction(async () => {
      const { row, register } = await openRowForChange(tenant, id, kind);
      const data = await reprice(row, register, parseJson<StoredData>(row.data));
      const metadata =
        body.metadata === undefined
          ? row.metadata
          : JSON.stringify(mergeMetadata(parseJson<Record<string, string>>(row.metadata), body.metadata));
      const updated: OperationRow = {
        ...row,
        data: JSON.stringify(data),
        metadata,
        updated_at: toUtcString(clock.now()),
      };
      await repository.update(row.id, { data: updated.data, metadata, updated_at: updated.updated_at });
      return presentOperation(updated);
    });
  }

  return {
    findRow,

    /** Cancels an open sale, training, refund or exchange whatever its type (closings with `cancel_open_operations`). */
    async cancelOpen(tenant: Tenant, id: string, reason: string): Promise<Operation> {
      const row = await findRow(tenant, id, 'any');
      const kind = row.type === 'refund' || row.type === 'exchange' ? row.type : 'sale';
      return cancel(tenant, id, kind, reason);
    },

    async get(tenant: Tenant, id: string, kind: OperationKind): Promise<Operation> {
      return presentOperation(await findRow(tenant, id, kind));
    },

    async list(
      tenant: Tenant,
      registerId: string,
      kind: OperationKind,
      query: ListQuery & { type?: OperationType; state?: OperationRow['state'] },
    ): Promise<Page<Operation>> {
      const request = toPageRequest(query);
      const register = await registers.findRow(tenant, registerId);
      const types = query.type === undefined ? KIND_TYPES[kind] : KIND_TYPES[kind].filter((t) => t === query.type);
      const rows = await repository.listByRegister(
        register.id,
        { types, ...(query.state === undefined ? {} : { state: query.state }) },
        request,
      );
      return toPage(rows, request, presentOperation);
    },

    async startSale(tenant: Tenant, registerId: string, body: StartSaleBody): Promise<Operation> {
      const input = body ?? {};
      return unitOfWork.transaction(async () => {
        const register = await usableRegister(tenant, registerId);
        assertTaxRates(register, input.line_items, taxDay(register, clock.now()));
        const data = saleData(register.currency, input.line_items ?? [], input.cart_discounts ?? [], input.customer);
        const { operation } = await open(tenant, {
          type: input.training === true ? 'training' : 'sale',
          register,
          data,
          externalId: input.external_id,
          cashier: input.cashier,
          metadata: input.metadata,
          originalId: null,
          reason: null,
        });
        return operation;
      });
    },

    async updateSale(tenant: Tenant, id: string, body: UpdateSaleBody): Promise<Operation> {
      return update(tenant, id, 'sale', body, (_row, register, data) => {
        if (body.line_items !== undefined) {
          assertTaxRates(register, body.line_items, taxDay(register, clock.now()));
        }
        const lines: LineItemInput[] = body.line_items ?? (data.line_items ?? []).map(lineInput);
        const cart: DiscountInput[] = body.cart_discounts ?? (data.cart_discounts ?? []).map(discountInput);
        return saleData(
          data.currency,
          lines,
          cart,
          body.customer === undefined ? (data.customer ?? null) : body.customer,
        );
      });
    },

    completeSale: (tenant: Tenant, id: string, body: CompleteSaleBody) => complete(tenant, id, 'sale', body),
    cancelSale: (tenant: Tenant, id: string, reason: string) => cancel(tenant, id, 'sale', reason),

    async startRefund(tenant: Tenant, registerId: string, body: StartRefundBody): Promise<Operation> {
      return unitOfWork.transaction(async () => {
        const register = await usableRegister(tenant, registerId);
        const original = await originalFor(tenant, body.original_operation_id, ['sale', 'exchange']);
        const lines = await returnLines(original, body.line_items, null, 'line_items');
        const currency = parseJson<StoredData>(original.data).currency;
        const { operation } = await open(tenant, {
          type: 'refund',
          register,
          data: refundData(currency, lines),
          externalId: body.external_id,
          cashier: body.cashier,
          metadata: body.metadata,
          originalId: original.id,
          reason: null,
        });
        return operation;
      });
    },

    async updateRefund(tenant: Tenant, id: string, body: UpdateRefundBody): Promise<Operation> {
      return update(tenant, id, 'refund', body, async (row, _register, data) => {
        if (body.line_items === undefined || row.original_operation_id === null) return data;
        const original = await originalFor(tenant, row.original_operation_id, ['sale', 'exchange']);
        return refundData(data.currency, await returnLines(original, body.line_items, row.id, 'line_items'));
      });
    },

    completeRefund: (tenant: Tenant, id: string, body: CompleteBody) => complete(tenant, id, 'refund', body),
    cancelRefund: (tenant: Tenant, id: string, reason: string) => cancel(tenant, id, 'refund', reason),

    async startExchange(tenant: Tenant, registerId: string, body: StartExchangeBody): Promise<Operation> {
      return unitOfWork.transaction(async () => {
        const register = await usableRegister(tenant, registerId);
        assertTaxRates(register, body.line_items, taxDay(register, clock.now()));
        const original = await originalFor(tenant, body.original_operation_id, ['sale', 'exchange']);
        const returned = await returnLines(original, body.returned_line_items, null, 'returned_line_items');
        const { operation } = await open(tenant, {
          type: 'exchange',
          register,
          data: exchangeData(register.currency, returned, body.line_items, body.cart_discounts ?? []),
          externalId: body.external_id,
          cashier: body.cashier,
          metadata: body.metadata,
          originalId: original.id,
          reason: null,
        });
        return operation;
      });
    },

    async updateExchange(tenant: Tenant, id: string, body: UpdateExchangeBody): Promise<Operation> {
      return update(tenant, id, 'exchange', body, async (row, register, data) => {
        if (body.line_items !== undefined) {
          assertTaxRates(register, body.line_items, taxDay(register, clock.now()));
        }
        const returned =
          body.returned_line_items === undefined || row.original_operation_id === null
            ? (data.returned_line_items ?? [])
            : await returnLines(
                await originalFor(tenant, row.original_operation_id, ['sale', 'exchange']),
                body.returned_line_items,
                row.id,
                'returned_line_items',
              );
        const lines: LineItemInput[] = body.line_items ?? (data.line_items ?? []).map(lineInput);
        const cart = body.cart_discounts ?? (data.cart_discounts ?? []).map(discountInput);
        return exchangeData(data.currency, returned, lines, cart);
      });
    },

    completeExchange: (tenant: Tenant, id: string, body: CompleteBody) => complete(tenant, id, 'exchange', body),
    cancelExchange: (tenant: Tenant, id: string, reason: string) => cancel(tenant, id, 'exchange', reason),

    async voidOperation(tenant: Tenant, registerId: string, body: VoidBody): Promise<Operation> {
      const reason = body.reason?.trim() ?? '';
      if (reason === '') {
        throw new AppError('reason_required', { message: 'A void needs the reason it is made.', param: 'reason' });
      }
      return unitOfWork.transaction(async () => {
        const register = await usableRegister(tenant, registerId);
        const original = await originalFor(tenant, body.original_operation_id, [
          'sale',
          'refund',
          'exchange',
          'training',
        ]);
        if (original.register_id !== register.id) {
          // A void undoes its original in that register's books and TSE record; another register cannot.
          throw new AppError('validation_error', {
            message: `${original.id} was recorded on another register; void it there.`,
            param: 'original_operation_id',
          });
        }
        if ((await repository.listReturnsOf(original.id)).length > 0) {
          throw new AppError('validation_error', {
            message: `${original.id} has refunds or exchanges; void those first.`,
            param: 'original_operation_id',
          });
        }
        const originalData = parseJson<StoredData>(original.data);
        const originalTotals = originalData.totals ?? EMPTY_TOTALS;
        const data: StoredData = {
          currency: originalData.currency,
          original_operation_type: original.type,
          line_items: originalData.line_items ?? [],
          ...(originalData.returned_line_items === undefined
            ? {}
            : { returned_line_items: originalData.returned_line_items }),
          // The amounts voided, as the original had them; the money flows the other way.
          totals: { ...originalTotals, net_payable: -originalTotals.net_payable },
          payments: (originalData.payments ?? []).map((payment) => ({
            ...payment,
            id: newId('pay'),
            direction: payment.direction === 'inbound' ? 'outbound' : 'inbound',
          })),
          customer: originalData.customer ?? null,
        };
        return singleEvent(
          tenant,
          {
            type: 'void',
            register,
            data,
            externalId: body.external_id,
            cashier: body.cashier,
            metadata: body.metadata,
            originalId: original.id,
            reason,
          },
          {
            kind: 'void',
            originalType: original.type as 'sale' | 'training' | 'refund' | 'exchange',
            breakdown: originalTotals.tax_breakdown,
            payments: data.payments ?? [],
          },
          'operation.voided',
          async (row) => {
            await repository.update(original.id, { voided_by: row.id, updated_at: row.updated_at });
          },
        );
      });
    },

    async cashMovement(tenant: Tenant, registerId: string, body: CashMovementBody): Promise<Operation> {
      return unitOfWork.transaction(async () => {
        const register = await usableRegister(tenant, registerId);
        const currency = body.currency ?? register.currency;
        if (currency !== register.currency) {
          throw new AppError('currency_mismatch', {
            message: `This register keeps its books in ${register.currency}.`,
            param: 'currency',
          });
        }
        try {
          // The DSFinV-K business-case table says which way each kind of movement goes; it holds everywhere.
          cashMovementProcess(body.kind, body.direction, body.amount, currency);
        } catch (error) {
          throw new AppError('validation_error', {
            message: error instanceof Error ? error.message : String(error),
            param: 'direction',
          });
        }
        return singleEvent(
          tenant,
          {
            type: 'cash_movement',
            register,
            data: {
              currency,
              direction: body.direction,
              kind: body.kind,
              amount: body.amount,
              reason: body.reason ?? null,
            },
            externalId: body.external_id,
            cashier: body.cashier,
            metadata: body.metadata,
            originalId: null,
            reason: body.reason ?? null,
          },
          {
            kind: 'cash_movement',
            movementKind: body.kind,
            direction: body.direction,
            amount: body.amount,
            currency,
          },
          'operation.completed',
        );
      });
    },
  };

  function refundData(currency: string, lines: PricedLineItem[]): StoredData {
    return {
      currency,
      line_items: lines,
      cart_discounts: [],
      // Totals are positive amounts; net_payable is negative (money goes back to the customer).
      totals: priced(() => computeTotals([{ lines, sign: 1 }], -1)),
      payments: [],
      customer: null,
    };
  }

  function exchangeData(
    currency: string,
    returned: PricedLineItem[],
    lines: readonly LineItemInput[],
    cartDiscounts: readonly DiscountInput[],
  ): StoredData {
    const { lineItems, cartDiscounts: discounts } = priced(() => priceLineItems(lines, cartDiscounts, newLineId));
    const totals: Totals = priced(() =>
      computeTotals(
        [
          { lines: lineItems, sign: 1 },
          { lines: returned, sign: -1 },
        ],
        1,
      ),
    );
    return {
      currency,
      returned_line_items: returned,
      line_items: lineItems,
      cart_discounts: discounts,
      totals,
      payments: [],
      customer: null,
    };
  }
}

/** A priced line back as input, for re-pricing when only other parts of an open operation change. */
function lineInput(line: PricedLineItem): LineItemInput {
  return {
    description: line.description,
    quantity: line.quantity,
    unit: line.unit,
    unit_price_gross: line.unit_price_gross,
    tax: line.tax,
    line_discounts: line.line_discounts.map(discountInput),
    product_ref: line.product_ref,
    flags: line.flags as NonNullable<LineItemInput['flags']>,
  };
}

function discountInput(discount: {
  type: 'percentage' | 'amount';
  rate: string | null;
  amount: number;
  label: string | null;
  source?: string | null;
}): DiscountInput {
  return {
    type: discount.type,
    ...(discount.type === 'percentage' && discount.rate !== null
      ? { rate: discount.rate }
      : { amount: discount.amount }),
    ...(discount.label === null ? {} : { label: discount.label }),
    ...(discount.source === undefined || discount.source === null ? {} : { source: discount.source }),
  };
}

export type OperationService = ReturnType<typeof createOperationService>;
