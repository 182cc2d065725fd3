/**
 * Crash safety of the compiled server, part 2: what must hold however the server died, read from the database
 * directly (with the server stopped) and through the API after a restart. Every function returns the problems it
 * found as sentences (no vitest here: the soak script runs this compiled).
 * @module
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseLocation } from '../../src/config/config.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { addTotals, bucketOf, emptyTotals, operationTotals } from '../../src/modules/closings/closing-summary.js';
import type { OperationFacts, SummaryTotals } from '../../src/modules/closings/closing-summary.js';
import { parseLogMessage, verifyLogMessage } from '../../src/regimes/de/log-message.js';
import { canonicalJson } from '../../src/shared/canonical-json.js';
import {
  at,
  integer,
  parseJson,
  registerAuth,
  REQUEST_TIMEOUT_MS,
  seenOperation,
  text,
  type Attempt,
  type CrashFixture,
  type CrashLedger,
  type SeenOperation,
} from './crash-load.js';
import { opensslVerify } from './independent-checks.js';
import { httpCall } from './process.js';

// ---------------------------------------------------------------------------------------------------------------
// From the database

interface OperationRecord {
  readonly id: string;
  readonly registerId: string;
  readonly type: string;
  readonly state: string;
  readonly fiscalState: string;
  readonly sequenceNumber: number;
  readonly externalId: string | null;
  readonly fiscalUnitId: string | null;
  readonly transactionNumber: number | null;
  readonly startSignature: string | null;
  readonly startCounter: number | null;
  /** `process_type ^ process_data` of the start and end events, as the operation records what was signed. */
  readonly startProcess: string | null;
  readonly endSignature: string | null;
  readonly endCounter: number | null;
  readonly endProcess: string | null;
  readonly originalId: string | null;
  readonly voidedBy: string | null;
  readonly completedAt: string | null;
  readonly finalJournalSeq: number | null;
  readonly facts: OperationFacts;
}

export interface RegisterReport {
  readonly registerId: string;
  readonly operations: number;
  readonly open: number;
  readonly completed: number;
  readonly cancelled: number;
  readonly journalLength: number;
  readonly signatureCounter: number;
  readonly transactions: number;
  readonly logsVerified: number;
  readonly opensslVerified: number;
}

export interface DatabaseReport {
  readonly problems: string[];
  readonly registers: readonly RegisterReport[];
  /** Every operation, by id (for the ledger and the retries). */
  readonly operations: ReadonlyMap<string, { readonly state: string; readonly endSignature: string | null }>;
  /** Operation ids by the tills' external ids. */
  readonly byExternalId: ReadonlyMap<string, readonly string[]>;
}

export interface VerifyOptions {
  /** After every open operation was resolved: none may be open. */
  readonly expectNoOpen?: boolean;
  /** How many log messages per fiscal unit `openssl` verifies too (the newest ones); default 2. */
  readonly opensslSample?: number;
}

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256(prev_hash ‖ seq as u64 big-endian ‖ payload_hash), written out here rather than taken from src/. */
function entryHashOf(prevHash: string, seq: number, payloadHash: string): string {
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(BigInt(seq));
  return sha256Hex(Buffer.concat([Buffer.from(prevHash, 'hex'), seqBytes, Buffer.from(payloadHash, 'hex')]));
}

/** DER prefix of a P-256 SubjectPublicKeyInfo up to the 65-byte point. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

function publicKeyOf(pointBase64: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([P256_SPKI_PREFIX, Buffer.from(pointBase64, 'base64')]),
    format: 'der',
    type: 'spki',
  });
}

/** 1, 2, …, n in order? Otherwise the first place it is not. */
function gapless(values: readonly number[]): string | null {
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== i + 1) return `position ${i + 1} holds ${String(values[i])}`;
  }
  return null;
}

function processOf(event: unknown): string | null {
  const type = text(at(event, 'process_type'));
  const data = text(at(event, 'process_data'));
  return type === null || data === null ? null : `${type}^${data}`;
}

function operationRecord(row: {
  id: string;
  register_id: string;
  type: string;
  state: string;
  fiscal_state: string;
  sequence_number: bigint;
  external_id: string | null;
  fiscal_unit_id: string | null;
  fiscal: string | null;
  original_operation_id: string | null;
  voided_by: string | null;
  completed_at: string | null;
  final_journal_seq: bigint | null;
  data: string;
}): OperationRecord {
  const fiscal = row.fiscal === null ? null : parseJson(row.fiscal);
  return {
    id: row.id,
    registerId: row.register_id,
    type: row.type,
    state: row.state,
    fiscalState: row.fiscal_state,
    sequenceNumber: Number(row.sequence_number),
    externalId: row.external_id,
    fiscalUnitId: row.fiscal_unit_id,
    transactionNumber: integer(at(fiscal, 'transaction_number')),
    startSignature: text(at(fiscal, 'start_event', 'signature')),
    startCounter: integer(at(fiscal, 'start_event', 'transaction_counter')),
    startProcess: processOf(at(fiscal, 'start_event')),
    endSignature: text(at(fiscal, 'end_event', 'signature')),
    endCounter: integer(at(fiscal, 'end_event', 'transaction_counter')),
    endProcess: processOf(at(fiscal, 'end_event')),
    originalId: row.original_operation_id,
    voidedBy: row.voided_by,
    completedAt: row.completed_at,
    finalJournalSeq: row.final_journal_seq === null ? null : Number(row.final_journal_seq),
    facts: {
      type: row.type as OperationFacts['type'],
      state: row.state as OperationFacts['state'],
      data: parseJson(row.data) as OperationFacts['data'],
    },
  };
}

const FINAL_ENTRY: Readonly<Record<string, readonly string[]>> = {
  completed: ['operation.completed', 'operation.voided'],
  cancelled: ['operation.cancelled'],
};

/**
 * Everything that must hold in the database however the server died: per register, gapless sequence numbers and
 * journal (its hashes recomputed here), every operation whole (signed start; end event, final journal entry and
 * closing totals once finished; journal entries only of operations that exist), per fiscal unit gapless signature
 * counters and transaction numbers with one start log per operation and one finish log per finished one, every log
 * message parsed and verified with the unit's published public key (the newest also by `openssl`); and, with a
 * ledger, that every answer a till got is what the database holds.
 */
export async function verifyDatabase(
  db: Database,
  fixture: CrashFixture,
  ledger: CrashLedger | null,
  options: VerifyOptions = {},
): Promise<DatabaseReport> {
  const problems: string[] = [];
  const reports: RegisterReport[] = [];
  const operations = new Map<string, OperationRecord>();
  const byExternalId = new Map<string, string[]>();
  const executor = db.executor();
  const workDir = mkdtempSync(join(tmpdir(), 'openfiskal-crash-'));
  try {
    for (const register of fixture.registers) {
      const p = (message: string) => problems.push(`${register.id}: ${message}`);
      const registerRow = await executor
        .selectFrom('registers')
        .select(['last_sequence_number', 'journal_length', 'active_fiscal_unit_id', 'open_operations'])
        .where('id', '=', register.id)
        .executeTakeFirstOrThrow();
      if (registerRow.active_fiscal_unit_id !== register.fiscalUnitId) p('its active fiscal unit changed');

      // Operations: whole, and numbered 1..N without gaps.
      const rows = (
        await executor
          .selectFrom('operations')
          .selectAll()
          .where('register_id', '=', register.id)
          .orderBy('sequence_number')
          .execute()
      ).map(operationRecord);
      for (const op of rows) {
        operations.set(op.id, op);
        if (op.externalId !== null) {
          byExternalId.set(op.externalId, [...(byExternalId.get(op.externalId) ?? []), op.id]);
        }
      }
      const sequenceGap = gapless(rows.map((op) => op.sequenceNumber));
      if (sequenceGap !== null) p(`sequence numbers are not 1..${rows.length}: ${sequenceGap}`);
      if (Number(registerRow.last_sequence_number) !== rows.length) {
        p(`last_sequence_number ${registerRow.last_sequence_number} but ${rows.length} operations`);
      }
      const open = rows.filter((op) => op.state === 'open').length;
      if (Number(registerRow.open_operations) !== open) {
        p(`open_operations ${registerRow.open_operations} but ${open} open operations`);
      }
      for (const op of rows) {
        const o = (message: string) => p(`${op.id} (${op.type}, ${op.state}): ${message}`);
        if (op.fiscalUnitId !== register.fiscalUnitId) o(`fiscal unit ${String(op.fiscalUnitId)}`);
        if (op.startSignature === null || op.transactionNumber === null) o('no signed start');
        if (op.state === 'open') {
          if (op.endSignature !== null || op.completedAt !== null || op.finalJournalSeq !== null) {
            o('open, yet with an end event, completion time or final journal seq');
          }
          if (op.fiscalState !== 'pending') o(`open with fiscal_state ${op.fiscalState}`);
          if (op.type === 'void' || op.type === 'cash_movement') o('a single-event operation left open');
          if (options.expectNoOpen === true) o('still open after every open operation was resolved');
        } else {
          if (op.endSignature === null) o('finished without an end event');
          if (op.fiscalState !== 'succeeded') o(`fiscal_state ${op.fiscalState}`);
          if (op.finalJournalSeq === null) o('finished without final_journal_seq');
          if (op.state === 'completed' && op.completedAt === null) o('completed without completed_at');
        }
        if (op.type === 'void') {
          const original = op.originalId === null ? undefined : operations.get(op.originalId);
          if (original?.voidedBy !== op.id) o(`its original ${String(op.originalId)} is not marked voided by it`);
        }
        if (op.voidedBy !== null) {
          const voiding = operations.get(op.voidedBy);
          if (voiding?.type !== 'void' || voiding.originalId !== op.id || voiding.state !== 'completed') {
            o(`voided_by ${op.voidedBy}, which is no completed void of it`);
          }
        }
      }

      // The journal: 1..L, each entry hashed and linked, and in step with the operations.
      const entries = await executor
        .selectFrom('journal_entries')
        .selectAll()
        .where('register_id', '=', register.id)
        .orderBy('seq')
        .execute();
      const journalLength = Number(registerRow.journal_length);
      if (entries.length !== journalLength) p(`journal_length ${journalLength} but ${entries.length} entries`);
      let prev = '0'.repeat(64);
      const entriesOf = new Map<string, Array<{ seq: number; type: string; payload: unknown }>>();
      entries.forEach((entry, index) => {
        const seq = Number(entry.seq);
        const e = (message: string) => p(`journal entry ${seq}: ${message}`);
        if (seq !== index + 1) e(`expected seq ${index + 1}`);
        if (sha256Hex(entry.payload) !== entry.payload_hash) e('payload does not hash to payload_hash');
        if (entry.prev_hash !== prev) e('prev_hash does not link to the previous entry');
        if (entryHashOf(entry.prev_hash, seq, entry.payload_hash) !== entry.entry_hash) e('entry_hash is wrong');
        prev = entry.entry_hash;
        const payload = parseJson(entry.payload);
        if (
          at(payload, 'register_id') !== entry.register_id ||
          at(payload, 'type') !== entry.type ||
          at(payload, 'subject_id') !== entry.subject_id ||
          at(payload, 'created_at') !== entry.created_at
        ) {
          e('its fields differ from the hashed envelope');
        }
        if (entry.type.startsWith('operation.')) {
          const list = entriesOf.get(entry.subject_id) ?? [];
          list.push({ seq, type: entry.type, payload });
          entriesOf.set(entry.subject_id, list);
          if (!operations.has(entry.subject_id)) e(`${entry.type} of ${entry.subject_id}, which does not exist`);
        }
      });
      for (const op of rows) {
        const o = (message: string) => p(`${op.id} (${op.type}, ${op.state}): ${message}`);
        const list = entriesOf.get(op.id) ?? [];
        const types = list.map((entry) => entry.type);
        const expectedFinal = FINAL_ENTRY[op.state];
        const whole =
          types[0] === 'operation.started' &&
          (expectedFinal === undefined
            ? types.length === 1
            : types.length === 2 && expectedFinal.includes(types[1] ?? ''));
        if (!whole) {
          o(`journal entries [${types.join(', ')}] do not match its state`);
          continue;
        }
        const last = list.at(-1);
        const journaled = at(last?.payload, 'data', 'operation');
        if (op.state !== 'open' && last?.seq !== op.finalJournalSeq) {
          o(`final_journal_seq ${String(op.finalJournalSeq)}, but its final entry is ${String(last?.seq)}`);
        }
        if (
          at(journaled, 'state') !== op.state ||
          at(journaled, 'sequence_number') !== op.sequenceNumber ||
          at(journaled, 'fiscal', 'start_event', 'signature') !== op.startSignature ||
          (at(journaled, 'fiscal', 'end_event', 'signature') ?? null) !== op.endSignature
        ) {
          o('its last journal entry does not record its state, number and signatures');
        }
      }

      // Closing totals: the buckets hold exactly what the finished operations add up to.
      const expectedBuckets = new Map<number, SummaryTotals>();
      for (const op of [...rows].sort((a, b) => (a.finalJournalSeq ?? 0) - (b.finalJournalSeq ?? 0))) {
        if (op.finalJournalSeq === null) continue;
        const bucket = Number(bucketOf(BigInt(op.finalJournalSeq)));
        expectedBuckets.set(bucket, addTotals(expectedBuckets.get(bucket) ?? emptyTotals(), operationTotals(op.facts)));
      }
      const buckets = await executor
        .selectFrom('closing_buckets')
        .select(['bucket', 'totals'])
        .where('register_id', '=', register.id)
        .execute();
      const storedBuckets = new Map(buckets.map((row) => [Number(row.bucket), parseJson(row.totals)]));
      for (const bucket of new Set([...expectedBuckets.keys(), ...storedBuckets.keys()])) {
        const expected = canonicalJson(expectedBuckets.get(bucket) ?? emptyTotals());
        const stored = canonicalJson(storedBuckets.get(bucket) ?? emptyTotals());
        if (expected !== stored) p(`closing bucket ${bucket} holds ${stored}, the operations add up to ${expected}`);
      }

      // The TSE: counters without gaps, one start per operation, one finish per finished one, all verifying.
      const device = await executor
        .selectFrom('signing_devices')
        .select(['signature_counter', 'transaction_counter', 'public_key'])
        .where('fiscal_unit_id', '=', register.fiscalUnitId)
        .executeTakeFirstOrThrow();
      if (device.public_key !== register.publicKey) p('the stored public key differs from the published one');
      const logs = await executor
        .selectFrom('tse_log_messages')
        .selectAll()
        .where('fiscal_unit_id', '=', register.fiscalUnitId)
        .orderBy('signature_counter')
        .execute();
      const counterGap = gapless(logs.map((log) => Number(log.signature_counter)));
      if (counterGap !== null) p(`signature counters are not 1..${logs.length}: ${counterGap}`);
      if (Number(device.signature_counter) !== logs.length) {
        p(`signature_counter ${device.signature_counter} but ${logs.length} log messages`);
      }
      const systemLogs = logs.filter((log) => log.log_type === 'system').map((log) => log.operation_type);
      if (systemLogs.join(',') !== 'Initialize,RegisterClient') p(`system logs [${systemLogs.join(', ')}]`);
      const starts = logs.filter((log) => log.operation_type === 'StartTransaction');
      const finishes = logs.filter((log) => log.operation_type === 'FinishTransaction');
      if (starts.length + finishes.length + systemLogs.length !== logs.length) p('logs of an unexpected kind');
      const transactionGap = gapless(starts.map((log) => Number(log.transaction_number)).sort((a, b) => a - b));
      if (transactionGap !== null) p(`transaction numbers are not 1..${starts.length}: ${transactionGap}`);
      if (Number(device.transaction_counter) !== starts.length) {
        p(`transaction_counter ${device.transaction_counter} but ${starts.length} started transactions`);
      }
      if (starts.length !== rows.length) p(`${starts.length} StartTransaction logs for ${rows.length} operations`);
      const finished = rows.filter((op) => op.state !== 'open').length;
      if (finishes.length !== finished) p(`${finishes.length} FinishTransaction logs for ${finished} finished ones`);

      const publicKey = publicKeyOf(register.publicKey);
      const serial = createHash('sha256').update(Buffer.from(register.publicKey, 'base64')).digest();
      const pem = join(workDir, `${register.fiscalUnitId}.pem`);
      writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
      const sample = options.opensslSample ?? 2;
      const seenStart = new Set<string>();
      const seenFinish = new Set<string>();
      let verified = 0;
      let opensslVerified = 0;
      logs.forEach((log, index) => {
        const l = (message: string) => p(`log ${log.signature_counter} (${log.operation_type}): ${message}`);
        const bytes = Buffer.from(log.message, 'base64');
        let parsed: ReturnType<typeof parseLogMessage>;
        try {
          parsed = parseLogMessage(bytes);
        } catch (error) {
          l(`does not parse: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        if (!verifyLogMessage(parsed, publicKey)) l('its signature does not verify');
        else verified += 1;
        if (index >= logs.length - sample) {
          let answer: string;
          try {
            answer = opensslVerify(workDir, pem, parsed.dtbs, parsed.signatureValue, `log-${index}`);
          } catch (error) {
            // openssl exits 1 on a bad signature, which execFileSync turns into a throw.
            answer = error instanceof Error ? error.message : String(error);
          }
          if (answer !== 'Verified OK') l(`openssl says ${answer}`);
          else opensslVerified += 1;
        }
        if (
          parsed.signatureCounter !== log.signature_counter ||
          parsed.operationType !== log.operation_type ||
          (parsed.transactionNumber ?? null) !== log.transaction_number ||
          parsed.clientId !== log.client_id ||
          !parsed.serialNumber.equals(serial)
        ) {
          l('the signed message differs from its stored columns or the unit');
        }
        if (log.log_type !== 'transaction') return;
        if (log.client_id !== register.clientId) l(`client id ${String(log.client_id)}`);
        const op = log.operation_id === null ? undefined : operations.get(log.operation_id);
        if (op === undefined || op.registerId !== register.id) {
          l(`belongs to ${String(log.operation_id)}, no operation of this register`);
          return;
        }
        const signature = parsed.signatureValue.toString('base64');
        const isStart = log.operation_type === 'StartTransaction';
        const seen = isStart ? seenStart : seenFinish;
        if (seen.has(op.id)) l(`a second ${log.operation_type} of ${op.id}`);
        seen.add(op.id);
        if (Number(log.transaction_number) !== op.transactionNumber) l(`not the transaction of ${op.id}`);
        const [expectedSignature, expectedCounter, expectedProcess] = isStart
          ? [op.startSignature, op.startCounter, op.startProcess]
          : [op.endSignature, op.endCounter, op.endProcess];
        if (signature !== expectedSignature || Number(log.signature_counter) !== expectedCounter) {
          l(`its signature or counter is not the one ${op.id} carries`);
        }
        const signedProcess = `${parsed.processType ?? ''}^${parsed.processData?.toString('utf8') ?? ''}`;
        if (signedProcess !== expectedProcess) {
          l(`signed ${signedProcess}, ${op.id} records ${String(expectedProcess)}`);
        }
      });
      reports.push({
        registerId: register.id,
        operations: rows.length,
        open: rows.filter((op) => op.state === 'open').length,
        completed: rows.filter((op) => op.state === 'completed').length,
        cancelled: rows.filter((op) => op.state === 'cancelled').length,
        journalLength,
        signatureCounter: Number(device.signature_counter),
        transactions: starts.length,
        logsVerified: verified,
        opensslVerified,
      });
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }

  if (ledger !== null) problems.push(...checkLedger(ledger, operations, byExternalId));
  return {
    problems,
    registers: reports,
    operations: new Map([...operations].map(([id, op]) => [id, { state: op.state, endSignature: op.endSignature }])),
    byExternalId,
  };
}

export function describeAttempt(attempt: Attempt): string {
  return `${attempt.kind} ${attempt.path} (life ${attempt.life}, key ${attempt.idempotencyKey})`;
}

/** Every answer a till got holds in the database; every lost request left a whole effect or none. */
function checkLedger(
  ledger: CrashLedger,
  operations: ReadonlyMap<string, OperationRecord>,
  byExternalId: ReadonlyMap<string, readonly string[]>,
): string[] {
  const problems: string[] = [];
  // What answered requests did to an operation after an unanswered one (a retry, the resolution after restart).
  const answeredLater = new Map<string, Set<string>>();
  for (const attempt of ledger.attempts) {
    const seen = attempt.result?.answered === true ? attempt.result.operation : null;
    if (seen !== null && attempt.targetId !== null) {
      answeredLater.set(attempt.targetId, (answeredLater.get(attempt.targetId) ?? new Set()).add(seen.state));
    }
  }
  for (const attempt of ledger.attempts) {
    const a = (message: string) => problems.push(`${describeAttempt(attempt)}: ${message}`);
    const result = attempt.result;
    if (result === null) {
      a('never settled');
      continue;
    }
    if (!result.answered) {
      if (!attempt.killPending) a(`lost while the server was up: ${result.error}`);
      if (attempt.externalId !== null) {
        const ids = byExternalId.get(attempt.externalId) ?? [];
        if (ids.length > 1) a(`unanswered, yet it created ${ids.length} operations: ${ids.join(', ')}`);
      } else {
        const target = attempt.targetId === null ? undefined : operations.get(attempt.targetId);
        const allowed = [
          'open',
          attempt.kind === 'complete' ? 'completed' : 'cancelled',
          ...(answeredLater.get(attempt.targetId ?? '') ?? []),
        ];
        if (target === undefined || !allowed.includes(target.state)) {
          a(`unanswered; its operation is ${target?.state ?? 'missing'}, expected ${allowed.join(' or ')}`);
        }
      }
      continue;
    }
    const expectedStatus = attempt.kind === 'complete' || attempt.kind === 'cancel' ? 200 : 201;
    const seen = result.operation;
    if (result.status !== expectedStatus || seen === null) {
      a(`answered ${result.status}: ${result.text.slice(0, 300)}`);
      continue;
    }
    const row = operations.get(seen.id);
    if (row === undefined) {
      a(`answered ${result.status} with ${seen.id}, which is not in the database`);
      continue;
    }
    if (row.sequenceNumber !== seen.sequenceNumber || row.startSignature !== seen.startSignature) {
      a(`${seen.id} has sequence number ${row.sequenceNumber} or its start signature changed since the answer`);
    }
    if (row.transactionNumber !== seen.transactionNumber) a(`${seen.id} changed its TSE transaction number`);
    if (attempt.externalId !== null && (byExternalId.get(attempt.externalId) ?? []).length !== 1) {
      a(`${attempt.externalId} names ${(byExternalId.get(attempt.externalId) ?? []).length} operations`);
    }
    if (attempt.kind === 'start') continue;
    const expectedState = attempt.kind === 'cancel' ? 'cancelled' : 'completed';
    if (seen.state !== expectedState || row.state !== expectedState || row.endSignature !== seen.endSignature) {
      a(
        `told ${seen.state} with end signature ${String(seen.endSignature)}; stored ${row.state}, ${String(row.endSignature)}`,
      );
    }
    if (attempt.kind === 'void') {
      const original = attempt.targetId === null ? undefined : operations.get(attempt.targetId);
      if (original?.voidedBy !== seen.id) a(`the original ${String(attempt.targetId)} is not voided by ${seen.id}`);
    }
  }
  return problems;
}

/** Opens the database, verifies it, closes it. */
export async function verifyStoredState(
  location: DatabaseLocation,
  fixture: CrashFixture,
  ledger: CrashLedger | null,
  options: VerifyOptions = {},
): Promise<DatabaseReport> {
  const db = createDatabase(location, { poolSize: 2 });
  try {
    return await verifyDatabase(db, fixture, ledger, options);
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Through the API

/**
 * The API's view after the restart: every register's journal verifies, every fiscal unit is active, and every
 * operation a till was answered about reads back with the state, number and signatures it was told.
 */
export async function verifyThroughApi(port: number, fixture: CrashFixture, ledger: CrashLedger): Promise<string[]> {
  const problems: string[] = [];
  for (const register of fixture.registers) {
    const verify = await httpCall(port, 'GET', `/v1/registers/${register.id}/journal/verify`, {
      headers: registerAuth(register),
      timeoutMs: 30_000,
    });
    if (verify.status !== 200 || at(verify.body, 'valid') !== true || at(verify.body, 'first_broken') !== null) {
      problems.push(`${register.id}: journal/verify answered ${verify.status}: ${verify.text}`);
    } else if (at(verify.body, 'entries_checked') !== at(verify.body, 'length')) {
      problems.push(`${register.id}: journal/verify checked fewer entries than the length: ${verify.text}`);
    }
    const unit = await httpCall(port, 'GET', `/v1/fiscal-units/${register.fiscalUnitId}`, {
      headers: { authorization: `Bearer ${fixture.platformKey}`, 'openfiskal-organization': fixture.organizationId },
    });
    if (unit.status !== 200 || at(unit.body, 'state') !== 'active') {
      problems.push(`${register.fiscalUnitId}: answered ${unit.status}, state ${String(at(unit.body, 'state'))}`);
    }
  }

  // The newest answer about each operation is what it must read as now.
  const latest = new Map<string, { attempt: Attempt; seen: SeenOperation }>();
  for (const attempt of ledger.attempts) {
    const result = attempt.result;
    if (result?.answered !== true || result.operation === null || result.status >= 300) continue;
    const previous = latest.get(result.operation.id);
    // A start's answer never outranks a later complete or cancel of the same operation.
    if (previous === undefined || attempt.kind !== 'start') {
      latest.set(result.operation.id, { attempt, seen: result.operation });
    }
  }
  const registers = new Map(fixture.registers.map((register) => [register.id, register]));
  const pending = [...latest.values()];
  const worker = async () => {
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const { attempt, seen } = next;
      const register = registers.get(attempt.registerId);
      if (register === undefined) continue;
      const read = await httpCall(port, 'GET', `/v1/operations/${seen.id}`, {
        headers: registerAuth(register),
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const now = seenOperation(read.body);
      const stateOk = attempt.kind === 'start' ? now !== null : now?.state === seen.state;
      const endOk = attempt.kind === 'start' || now?.endSignature === seen.endSignature;
      if (
        read.status !== 200 ||
        now === null ||
        !stateOk ||
        !endOk ||
        now.sequenceNumber !== seen.sequenceNumber ||
        now.startSignature !== seen.startSignature
      ) {
        problems.push(
          `${seen.id}: told ${seen.state} #${String(seen.sequenceNumber)}, reads ${read.status} ${read.text}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return problems;
}
