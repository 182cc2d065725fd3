/**
 * How a German TSE records fiscal events (KassenSichV, TR-03153): an operation opens a TSE transaction, its
 * completion, cancellation or void finishes it with the DSFinV-K receipt; voids, cash movements and closings open and
 * finish one at once. Any TSE device (the software one here, a cloud or hardware TSE later) records through this.
 * @module
 */
import {
  cashMovementProcess,
  type CashMovementKind,
  type PaymentMethod,
  type VatCategory,
} from '../../../regimes/de/process-data.js';
import {
  START_PROCESS,
  tseClosingFiscalBlock,
  tseClosingProcess,
  tseDocumentNumber,
  tseFiscalBlock,
  tseLogFromEvent,
  tseReceipt,
  type TseFiscalBlock,
  type TseReceipt,
  type TseRegistrationView,
} from '../../../regimes/de/tse-fiscal-block.js';
import type { FiscalUnitRow } from '../fiscal-unit.repository.js';
import type {
  FiscalEventRecorder,
  GrossByRate,
  OperationFiscalEvent,
  PaymentView,
  TseDevice,
} from './fiscal-provider.js';

const registrationOf = (unit: FiscalUnitRow) => JSON.parse(unit.fiscal_registration) as TseRegistrationView;

// The operation schemas admit exactly the DSFinV-K categories and payment methods; the casts only narrow the names.
const grossLines = (breakdown: readonly GrossByRate[]) =>
  breakdown.map((line) => ({ rate: line.rate, category: line.category as VatCategory, gross: line.gross }));
const paymentLines = (payments: readonly PaymentView[]) =>
  payments.map((payment) => ({ ...payment, method: payment.method as PaymentMethod }));

/** The DSFinV-K receipt that finishes the operation's TSE transaction. */
function receiptOf(event: OperationFiscalEvent): TseReceipt {
  switch (event.kind) {
    case 'complete':
      return tseReceipt({
        kind: 'complete',
        operationType: event.operationType,
        breakdown: grossLines(event.breakdown),
        payments: paymentLines(event.payments),
      });
    case 'cancel':
      return tseReceipt({ kind: 'cancel', breakdown: grossLines(event.breakdown) });
    case 'void':
      return tseReceipt({
        kind: 'void',
        originalType: event.originalType,
        breakdown: grossLines(event.breakdown),
        payments: paymentLines(event.payments),
      });
    case 'cash_movement': {
      const process = cashMovementProcess(
        event.movementKind as CashMovementKind,
        event.direction,
        event.amount,
        event.currency,
      );
      return { processType: process.processType, processData: process.processData, documentType: 'Beleg' };
    }
  }
}

export function createTseRecorder(tse: TseDevice): FiscalEventRecorder {
  return {
    async start(unit, event) {
      const registration = registrationOf(unit);
      const start = await tse.startTransaction(unit, {
        clientId: registration.client_id,
        ...START_PROCESS,
        subjectId: event.operationId,
      });
      return tseFiscalBlock({
        fiscalUnitId: unit.id,
        certified: unit.certified === 1n,
        registration,
        documentNumber: null,
        documentType: null,
        start,
        finish: null,
      });
    },

    async finish(unit, event) {
      const block = event.started as TseFiscalBlock | null;
      if (block?.start_event == null) throw new Error(`operation ${event.operationId} has no signed TSE start`);
      const registration = registrationOf(unit);
      const start = tseLogFromEvent(block.start_event, block.transaction_number);
      const process = receiptOf(event);
      const finish = await tse.finishTransaction(unit, start.transactionNumber, {
        clientId: registration.client_id,
        processType: process.processType,
        processData: process.processData,
        subjectId: event.operationId,
      });
      const fiscal = tseFiscalBlock({
        fiscalUnitId: unit.id,
        certified: unit.certified === 1n,
        registration,
        documentNumber: tseDocumentNumber(event.sequenceNumber, event.at),
        documentType: process.documentType,
        start,
        finish,
      });
      return { block: fiscal, deviceFailure: null };
    },

    async closing(unit, event) {
      const registration = registrationOf(unit);
      const start = await tse.startTransaction(unit, {
        clientId: registration.client_id,
        ...START_PROCESS,
        subjectId: event.closingId,
      });
      const process = tseClosingProcess({
        closingType: event.closingType,
        zNumber: event.zNumber,
        totalGross: event.totalGross,
      });
      const finish = await tse.finishTransaction(unit, start.transactionNumber, {
        clientId: registration.client_id,
        ...process,
        subjectId: event.closingId,
      });
      const block = tseClosingFiscalBlock({
        zNumber: event.zNumber,
        fiscalUnitId: unit.id,
        certified: unit.certified === 1n,
        registration,
        start,
        finish,
        dsfinvkExportId: event.exportIds.get('dsfinvk') ?? null,
      });
      return { block: block, deviceFailure: null };
    },

    // A TSE has no receipts outside transactions, and nothing to catch up on after an outage.
    nullReceipt: null,
    recovered: () => Promise.resolve({ block: null, deviceFailure: null }),
  };
}
