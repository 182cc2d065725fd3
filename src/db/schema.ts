/**
 * THE table interface, shared by both engines. Portable types only: ids, timestamps (fixed-width UTC text) and
 * JSON documents are text; integers are BIGINT and come back as `bigint` from both drivers.
 * @module
 */
import type { ColumnType } from 'kysely';
import type { Environment, KeyKind } from '../shared/tenant.js';

/** BIGINT: read as bigint (exact), written from number or bigint. */
export type Int64 = ColumnType<bigint, bigint | number, bigint | number>;

export interface PlatformsTable {
  id: string;
  name: string;
  created_at: string;
}

/** Marks one-time system events (e.g. the default platform was created) with a unique name. */
export interface SystemEventsTable {
  name: string;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  platform_id: string;
  organization_id: string | null;
  register_id: string | null;
  kind: KeyKind;
  environment: Environment;
  label: string | null;
  description: string | null;
  /** Hex HMAC-SHA256 of the whole key under the server's pepper. */
  secret_hash: string;
  secret_last4: string;
  created_at: string;
  last_used_at: string | null;
  /** Setup tokens expire; other keys live until revoked. */
  expires_at: string | null;
  /** Revocation, archiving of the key's register, or consumption of a setup token. */
  revoked_at: string | null;
}

export interface OrganizationsTable {
  id: string;
  platform_id: string;
  legal_name: string;
  country: string;
  tax_id: string | null;
  trade_name: string | null;
  address: string | null;
  fiscal_identity: string | null;
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface LocationsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  name: string;
  address: string | null;
  timezone: string;
  metadata: string;
  created_at: string;
  updated_at: string;
  /**
   * JSON fiscal identity of the permanent establishment (Betriebsstätte) the location is in, checked against the
   * country of its `address`; registers at the location use it in place of the organization's. Null: the
   * organization's identity applies.
   */
  fiscal_identity: string | null;
}

export interface RegistersTable {
  id: string;
  platform_id: string;
  organization_id: string;
  location_id: string;
  label: string;
  jurisdiction: string;
  serial_number: string;
  currency: string;
  state: 'active' | 'archived';
  active_fiscal_unit_id: string | null;
  /** When the first fiscal unit was provisioned; from then on the serial number is fixed. */
  fiscalized_at: string | null;
  metadata: string;
  created_at: string;
  updated_at: string;
  archived_at: string | null;
  /** Last assigned operation `sequence_number` (gapless per register). Incrementing it locks the register row. */
  last_sequence_number: Int64;
  /** Number of journal entries; the next entry's `seq` is this plus one. */
  journal_length: Int64;
  /** How many of its operations are `open`; changed under the register's lock as they start and finish. */
  open_operations: Int64;
  /** JSON `{daily_at: "HH:MM", set_at}` (location time zone), or null: when the worker closes the day itself. */
  closing_schedule: string | null;
}

export interface IdempotencyKeysTable {
  /** `<platform id>/<organization id or ->`, or `anonymous` for unauthenticated endpoints. */
  scope: string;
  idempotency_key: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  /** Changes when a stale in-progress claim is taken over; the old holder can then no longer complete. */
  lease_token: string;
  lease_expires_at: string;
  response_status: Int64 | null;
  /** Encrypted JSON `{content_type, body}`. */
  response: string | null;
  created_at: string;
  expires_at: string;
}

export type FiscalUnitState = 'provisioning' | 'active' | 'error' | 'decommissioned';
export type SimulatedFailure = 'none' | 'fail' | 'stall';

export interface FiscalUnitsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  register_id: string;
  jurisdiction: string;
  provider: string;
  state: FiscalUnitState;
  /** 1 when the provider is a certified device for the jurisdiction, else 0. */
  certified: Int64;
  /** JSON: the regime's public registration data (DE: tse_serial, client_id, public_key, certificate, …). */
  fiscal_registration: string;
  reason: string | null;
  replaces: string | null;
  replaced_by: string | null;
  /** Test-mode failure switch (api.md §2). */
  simulated_failure: SimulatedFailure;
  /** Why the unit is in `error`, or null. */
  last_error: string | null;
  provisioned_at: string | null;
  decommissioned_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A software signing device's secret state: key pair and counters. One row per fiscal unit. */
export interface SigningDevicesTable {
  fiscal_unit_id: string;
  /** AES-256-GCM sealed PKCS#8 DER (base64), bound to the fiscal unit id. */
  private_key: string;
  /** Base64 of the uncompressed EC point. */
  public_key: string;
  /** Base64 DER of the device certificate. */
  certificate: string;
  /** Every signed log message increments it (TR-03151 signatureCounter). */
  signature_counter: Int64;
  /** One per transaction (TR-03151 transactionNumber). */
  transaction_counter: Int64;
  created_at: string;
}

/** Every TR-03151 log message a TSE signed, stored exactly as signed. */
export interface TseLogMessagesTable {
  fiscal_unit_id: string;
  signature_counter: Int64;
  register_id: string;
  /** `transaction` or `system`. */
  log_type: string;
  /** StartTransaction / UpdateTransaction / FinishTransaction, or the system operation (Initialize, …). */
  operation_type: string;
  transaction_number: Int64 | null;
  client_id: string | null;
  /** Unix seconds (the TSE's logTime). */
  log_time: Int64;
  /** The TR-03151 file name the TAR export uses. */
  file_name: string;
  /** Base64 of the DER log message. */
  message: string;
  operation_id: string | null;
  created_at: string;
}

export type OperationType = 'sale' | 'refund' | 'exchange' | 'void' | 'cash_movement' | 'training';

export interface OperationsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  location_id: string;
  register_id: string;
  type: OperationType;
  state: 'open' | 'completed' | 'cancelled';
  fiscal_state: 'pending' | 'succeeded' | 'failed';
  sequence_number: Int64;
  external_id: string | null;
  /** JSON `{id, display_name}` or null. */
  cashier: string | null;
  /** JSON: the type's `data` object as answered. */
  data: string;
  /** JSON: the regime's fiscal block, or null. */
  fiscal: string | null;
  fiscal_unit_id: string | null;
  original_operation_id: string | null;
  voided_by: string | null;
  reason: string | null;
  metadata: string;
  started_at: string;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  /** The journal seq of the entry that completed or cancelled the operation: the key closings cut periods by. */
  final_journal_seq: Int64 | null;
}

/** Cash drawer openings (api.md §5). */
export interface CashDrawerOpeningsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  register_id: string;
  /** Device clock, normalised to UTC. */
  occurred_at: string;
  /** Server clock at receipt. */
  received_at: string;
  operation_id: string | null;
  /** JSON `{id, display_name}` or null. */
  cashier: string | null;
  reason: string | null;
  /** Internal; never exported. */
  note: string | null;
  /** JSON: the regime's fiscal block (NO, SE), or null. */
  fiscal: string | null;
  /** The journal seq of the opening's entry (its place in closings). */
  journal_seq: Int64;
  created_at: string;
}

export type ClosingType = 'daily' | 'shift' | 'monthly' | 'annual';
export type ClosingState = 'pending' | 'completed' | 'transmitted' | 'failed';

/** Closings (api.md §6): a register's Z-reports. */
export interface ClosingsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  location_id: string;
  register_id: string;
  type: ClosingType;
  state: ClosingState;
  /** Gapless per register and type, from 1 (DE: Z_NR). */
  z_number: Int64;
  period_from: string;
  period_to: string;
  /** The period in journal seqs: (journal_seq_from, journal_seq_to]. */
  journal_seq_from: Int64;
  journal_seq_to: Int64;
  /** JSON summary; set on completion. */
  summary: string | null;
  /** JSON: the regime's fiscal block, or null. */
  fiscal: string | null;
  failure_code: string | null;
  failure_message: string | null;
  /** 1 when a retry may succeed. */
  failure_retryable: Int64 | null;
  /** Completion attempts so far. */
  attempts: Int64;
  /** The schedule slot (`YYYY-MM-DDTHH:MM` local) a scheduled closing was made for; unique per register and type. */
  scheduled_for: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  transmitted_at: string | null;
}

/** Pre-aggregated summary totals per register and block of journal seqs (`bucket` = floor(seq / 1024)). */
export interface ClosingBucketsTable {
  register_id: string;
  bucket: Int64;
  /** JSON {@link SummaryTotals}. */
  totals: string;
  updated_at: string;
}

/** Hash-chained, append-only event log per register (api.md §8); the database refuses UPDATE and DELETE. */
export interface JournalEntriesTable {
  register_id: string;
  /** 1, 2, 3, … per register, gapless. */
  seq: Int64;
  /** e.g. `operation.completed`, `fiscal_unit.provisioned`. */
  type: string;
  /** The id of what the entry is about (`op_…`, `fu_…`, `cdo_…`, `cls_…`). */
  subject_id: string;
  /** Canonical JSON of the event. */
  payload: string;
  /** Hex SHA-256 of `payload`. */
  payload_hash: string;
  /** Hex; the previous entry's `entry_hash`, or 64 zeros for the first. */
  prev_hash: string;
  /** Hex SHA-256(prev_hash ‖ seq ‖ payload_hash). */
  entry_hash: string;
  created_at: string;
}

export type JobState = 'queued' | 'running' | 'completed' | 'failed';

/** Background jobs (jobs/job-queue.ts): rows, so they survive restarts and are enqueued atomically with their cause. */
export interface JobsTable {
  id: string;
  kind: string;
  /** JSON. */
  payload: string;
  state: JobState;
  /** Attempts started so far (a claim counts one). */
  attempts: Int64;
  max_attempts: Int64;
  /** Not before this instant (the retry backoff moves it). */
  run_at: string;
  /** Changes with every claim; a worker whose lease was taken over can no longer complete the job. */
  lease_token: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export type ExportState = 'queued' | 'running' | 'completed' | 'failed';

/** Export files of a register's data over a period (api.md §7), produced by a job. */
export interface ExportsTable {
  id: string;
  platform_id: string;
  organization_id: string;
  register_id: string;
  type: string;
  state: ExportState;
  period_from: string;
  period_to: string;
  progress_done: Int64;
  progress_total: Int64;
  /** The file as downloaded: set when completed. */
  file_name: string | null;
  file_content_type: string | null;
  file_size: Int64 | null;
  /** Hex SHA-256 of the file. */
  file_sha256: string | null;
  /** The file store's name for the file (unique per attempt, so a stale attempt never overwrites it). */
  file_key: string | null;
  /** When the file was deleted after `expires_at`. */
  file_deleted_at: string | null;
  failure_code: string | null;
  failure_message: string | null;
  job_id: string | null;
  /** The closing the export was made for, if any. */
  closing_id: string | null;
  expires_at: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

/** AT: the state of one Kassen-ID (RKSV), carried across signature devices. */
export interface RksvRegistersTable {
  register_id: string;
  kassen_id: string;
  /** AES-256 key for the turnover counter: secret-box sealed Base64, bound to the register id. */
  aes_key: string;
  /** Base64 of the first 3 bytes of SHA-256 over the Base64 key (registered in FinanzOnline). */
  aes_key_check_value: string;
  counter_bytes: Int64;
  turnover_cents: Int64;
  last_jws: string | null;
  last_receipt_number: string | null;
  receipt_count: Int64;
  last_zda: string | null;
  last_certificate_serial: string | null;
  /** Receipt time of the first unsigned receipt since the last Sammelbeleg, or null. */
  failed_since: string | null;
  /** 1 after the Schlussbeleg. */
  closed: Int64;
  created_at: string;
  updated_at: string;
}

/** AT: one signature creation unit per fiscal unit. */
export interface RksvDevicesTable {
  fiscal_unit_id: string;
  register_id: string;
  /** `open` (certificate) or `closed` (`AT0`, bare public key). */
  system: 'open' | 'closed';
  zda: string;
  /** What receipts write: hex certificate serial, or the key id `U:<UID>-K<n>`. */
  certificate_serial: string;
  /** Key of the cryptographic material container. */
  container_id: string;
  /** Secret-box sealed PKCS#8 DER (Base64), bound to the fiscal unit id. */
  private_key: string;
  /** Base64 SPKI DER. */
  public_key: string;
  /** Base64 DER certificate (open system), else null. */
  certificate: string | null;
  company_id: string | null;
  key_number: Int64 | null;
  created_at: string;
}

/** AT: every receipt as issued; the DEP. */
export interface RksvReceiptsTable {
  register_id: string;
  /** The Belegnummer, 1, 2, … per Kassen-ID. */
  receipt_number: Int64;
  fiscal_unit_id: string;
  /** standard | storno | training | start | monthly | annual | closing | null | collective */
  kind: string;
  operation_id: string | null;
  closing_id: string | null;
  /** Local receipt time as signed, `YYYY-MM-DDThh:mm:ss`. */
  date_time: string;
  /** The JWS compact serialisation, as published. */
  jws: string;
  /** 0 when issued with "Sicherheitseinrichtung ausgefallen". */
  signed: Int64;
  issued_at: string;
  /**
   * The last path element of the receipt's URL form: Base64-URL of the first 8 bytes of SHA-256 over its QR code
   * text (`GET /v1/rksv-receipts/{urlHash}` looks receipts up by it). Every receipt has it (0007 filled in those
   * stored before); the column is nullable only because it was added later.
   */
  url_hash: string | null;
}

/** A period in which a fiscal unit could not sign. */
export interface FiscalUnitOutagesTable {
  id: string;
  register_id: string;
  fiscal_unit_id: string;
  started_at: string;
  /** When the unit signed again; null while the outage lasts. */
  ended_at: string | null;
  /** The first failure's message. */
  message: string;
  created_at: string;
  updated_at: string;
}

export interface DB {
  platforms: PlatformsTable;
  system_events: SystemEventsTable;
  api_keys: ApiKeysTable;
  organizations: OrganizationsTable;
  locations: LocationsTable;
  registers: RegistersTable;
  idempotency_keys: IdempotencyKeysTable;
  fiscal_units: FiscalUnitsTable;
  signing_devices: SigningDevicesTable;
  tse_log_messages: TseLogMessagesTable;
  operations: OperationsTable;
  journal_entries: JournalEntriesTable;
  jobs: JobsTable;
  exports: ExportsTable;
  cash_drawer_openings: CashDrawerOpeningsTable;
  closings: ClosingsTable;
  closing_buckets: ClosingBucketsTable;
  rksv_registers: RksvRegistersTable;
  rksv_devices: RksvDevicesTable;
  rksv_receipts: RksvReceiptsTable;
  fiscal_unit_outages: FiscalUnitOutagesTable;
}
