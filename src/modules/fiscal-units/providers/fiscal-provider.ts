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

export interface ProvisionInput {
  readonly fiscalUnitId: string;
  readonly registerId: string;
  /** The register's serial number: the TSE client id / Kassen-ID. */
  readonly clientId: string;
}

export interface FiscalProvider {
  readonly name: ProviderName;
  readonly jurisdiction: Jurisdiction;
  /** True only for a device certified for the jurisdiction; a live server refuses the others. */
  readonly certified: boolean;
  /** Sets the device up (keys, certificate, initial system logs) and returns its public registration data. */
  provision(input: ProvisionInput): Promise<Record<string, unknown>>;
  /** Takes the device out of service (a signed system log where the device can still sign). */
  decommission(unit: FiscalUnitRow): Promise<void>;
  /** Whether the device can sign right now. */
  health(unit: FiscalUnitRow): Promise<{ readonly healthy: boolean; readonly message: string | null }>;
  /** DE: the TSE transaction interface; null for providers of other regimes. */
  readonly tse: TseDevice | null;
}
