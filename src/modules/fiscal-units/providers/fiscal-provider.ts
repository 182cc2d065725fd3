/**
 * The port every fiscal unit provider implements, so that certified devices (a cloud TSE, an Austrian signature
 * service, an Italian RT) plug in beside the software simulations without touching the operation code.
 * @module
 */
import type { Jurisdiction } from '../../../regimes/jurisdictions.js';
import type { FiscalUnitRow } from '../fiscal-unit.repository.js';

export const PROVIDER_NAMES = [
  'software_tse',
  'software_rksv',
  'rt_simulator',
  'software_nf525',
  'software_saft',
  'control_unit_simulator',
] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** The default (software) provider of each jurisdiction. */
export const DEFAULT_PROVIDER: Readonly<Record<Jurisdiction, ProviderName>> = {
  DE: 'software_tse',
  AT: 'software_rksv',
  IT: 'rt_simulator',
  FR: 'software_nf525',
  NO: 'software_saft',
  SE: 'control_unit_simulator',
};

/** The device refused or could not be reached; nothing it was asked to do took effect. */
export class SigningDeviceError extends Error {
  constructor(
    readonly kind: 'refused' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'SigningDeviceError';
  }
}

/** One signed TR-03151 transaction log, as the regime needs it for the fiscal block. */
export interface TseSignedLog {
  readonly transactionNumber: bigint;
  readonly signatureCounter: bigint;
  /** The TSE's logTime (whole seconds). */
  readonly logTime: Date;
  /** Base64 of the plain r‖s signature value. */
  readonly signature: string;
  readonly processType: string;
  readonly processData: string;
}

export interface TseTransactionInput {
  readonly clientId: string;
  readonly processType: string;
  readonly processData: string;
  /** The operation (or closing) the log belongs to, stored beside the log for exports. */
  readonly subjectId: string | null;
}

/** A TR-03153 security module: transactions of start, update and finish logs. */
export interface TseDevice {
  startTransaction(unit: FiscalUnitRow, input: TseTransactionInput): Promise<TseSignedLog>;
  updateTransaction(unit: FiscalUnitRow, transactionNumber: bigint, input: TseTransactionInput): Promise<TseSignedLog>;
  finishTransaction(unit: FiscalUnitRow, transactionNumber: bigint, input: TseTransactionInput): Promise<TseSignedLog>;
}

/** A regime's fiscal block as an operation or closing stores it in `fiscal` (always with `regime`). */
export interface FiscalBlock {
  readonly regime: string;
}

/** When an event happens and the local time zone of its location (regimes print local times). */
export interface EventTime {
  readonly at: Date;
  readonly timeZone: string;
  /** The register's serial number: the DE TSE client id, the AT Kassen-ID. */
  readonly clientId: string;
  readonly registerId: string;
}

export interface GrossByRate {
  readonly rate: string;
  readonly category: string;
  /** Gross minor units, as the operation's totals have it (see `OperationFiscalEvent` for the signs). */
  readonly gross: number;
}

export interface PaymentView {
  readonly method: string;
  readonly direction: 'inbound' | 'outbound';
  readonly amount: number;
  readonly currency: string;
}

/**
 * What happened to an operation, in regime-neutral terms. Breakdown grosses are the operation's totals: positive
 * for sales, refunds and voids (the refund and the void reverse them), signed per line for exchanges.
 */
export type OperationFiscalEvent = EventTime & {
  readonly operationId: string;
  readonly sequenceNumber: bigint;
  /** What `start` returned when the operation was opened, else null. */
  readonly started: FiscalBlock | null;
} & (
    | {
        readonly kind: 'complete';
        readonly operationType: 'sale' | 'training' | 'refund' | 'exchange';
        readonly breakdown: readonly GrossByRate[];
        readonly payments: readonly PaymentView[];
      }
    | {
        readonly kind: 'cancel';
        readonly operationType: 'sale' | 'training' | 'refund' | 'exchange';
        readonly breakdown: readonly GrossByRate[];
      }
    | {
        readonly kind: 'void';
        readonly originalType: 'sale' | 'training' | 'refund' | 'exchange';
        readonly breakdown: readonly GrossByRate[];
        /** The void's payments: the original's, reversed. */
        readonly payments: readonly PaymentView[];
      }
    | {
        readonly kind: 'cash_movement';
        readonly movementKind: string;
        readonly direction: 'in' | 'out';
        readonly amount: number;
        readonly currency: string;
      }
  );

export type ClosingType = 'daily' | 'shift' | 'monthly' | 'annual';

export interface ClosingFiscalEvent extends EventTime {
  readonly closingId: string;
  readonly closingType: ClosingType;
  readonly zNumber: number;
  readonly totalGross: number;
  /** Exports created with the closing, by type (DE: `dsfinvk`). */
  readonly exportIds: ReadonlyMap<string, string>;
}

/** What a recorder produced: the fiscal block, and whether the regime's outage procedure stood in for the device. */
export interface FiscalRecord {
  readonly block: FiscalBlock | null;
  /** Set when the device failed and the regime's outage procedure issued the record anyway (AT). */
  readonly deviceFailure: string | null;
}

/**
 * How a fiscal unit records the fiscal events of its register, as its regime's law says. Called inside the event's
 * transaction with the register locked. A device failure the regime has no outage procedure for is thrown as a
 * {@link SigningDeviceError} (the caller rolls back); one it has a procedure for is applied and reported in
 * {@link FiscalRecord.deviceFailure}.
 */
export interface FiscalEventRecorder {
  /** An operation is opened (DE: the TSE transaction starts). Null where the regime signs nothing at the start. */
  start(
    unit: FiscalUnitRow,
    event: Pick<EventTime, 'clientId' | 'registerId'> & { readonly operationId: string },
  ): Promise<FiscalBlock | null>;
  /** An operation is completed, cancelled, voided, or a cash movement is made. */
  finish(unit: FiscalUnitRow, event: OperationFiscalEvent): Promise<FiscalRecord>;
  /** A closing completes: the closing's fiscal block, or null where the regime signs no closing of its type. */
  closing(unit: FiscalUnitRow, event: ClosingFiscalEvent): Promise<FiscalRecord>;
  /**
   * A receipt on demand that belongs to no operation (AT: the Nullbeleg). Null where the regime has none.
   */
  readonly nullReceipt: ((unit: FiscalUnitRow, event: EventTime) => Promise<FiscalRecord>) | null;
  /** The unit signs again after an outage (AT: the Sammelbeleg). Null block where the regime needs nothing. */
  recovered(unit: FiscalUnitRow, event: EventTime): Promise<FiscalRecord>;
}

export interface ProvisionInput extends EventTime {
  readonly fiscalUnitId: string;
  /** The organization's fiscal identity (AT: the UID names a closed system's key). */
  readonly fiscalIdentity: Readonly<Record<string, string>>;
  /** Provider options from the request (`software_rksv`: `{system: "open" | "closed"}`). */
  readonly options: Readonly<Record<string, unknown>>;
  /** The unit this one replaces (same register), whose settings a replacement keeps by default; else null. */
  readonly replaces: FiscalUnitRow | null;
}

export interface ProvisionResult {
  /** Public registration data, stored and shown with the unit. */
  readonly registration: Record<string, unknown>;
  /** Secrets shown once in the provisioning response and never again (AT: the AES key); null if none. */
  readonly secrets: Record<string, string> | null;
}

export interface DecommissionInput extends EventTime {
  /** True when the register itself goes out of service (AT: the Schlussbeleg), false when the unit is replaced. */
  readonly final: boolean;
}

export interface FiscalProvider {
  readonly name: ProviderName;
  readonly jurisdiction: Jurisdiction;
  /** True only for a device certified for the jurisdiction; a live server refuses the others. */
  readonly certified: boolean;
  /** Sets the device up (keys, certificate, initial system logs or receipts) inside the caller's transaction. */
  provision(input: ProvisionInput): Promise<ProvisionResult>;
  /** Takes the device out of service (a signed system log or final receipt where the device can still sign). */
  decommission(unit: FiscalUnitRow, input: DecommissionInput): Promise<void>;
  /** Whether the device can sign right now. */
  health(unit: FiscalUnitRow): Promise<{ readonly healthy: boolean; readonly message: string | null }>;
  /** Records the register's fiscal events. */
  readonly recorder: FiscalEventRecorder;
}
