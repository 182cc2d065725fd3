/**
 * The journal (api.md §8): every fiscal event of a register, appended to a per-register hash chain inside the
 * transaction that causes it, so the event and its entry commit or roll back together. The database refuses to
 * change or delete entries (migration 0003); the chain makes any change made around that visible to `verify`.
 * @module
 */
import type { Database } from '../../db/database.js';
import { AppError } from '../../errors/app-error.js';
import { canonicalJson } from '../../shared/canonical-json.js';
import type { Clock } from '../../shared/clock.js';
import { entryHash, GENESIS_HASH, payloadHash } from '../../shared/hash-chain.js';
import { toPageRequest, type ListQuery, type Page } from '../../shared/pagination.js';
import type { Tenant } from '../../shared/tenant.js';
import { normaliseTimestamp, toUtcString } from '../../shared/time.js';
import type { RegisterService } from '../registers/register.service.js';
import type { JournalEntryRow, JournalPageRequest, JournalRepository } from './journal.repository.js';
import type { JournalBreakReason, JournalEntry, JournalPayload, JournalVerification } from './journal.schemas.js';

export interface JournalServiceDeps {
  readonly repository: JournalRepository;
  /** Appends join the caller's transaction and refuse to run outside one. */
  readonly unitOfWork: Pick<Database, 'inTransaction' | 'afterRollback'>;
  readonly clock: Clock;
  readonly registers: Pick<RegisterService, 'findRow'>;
  /** Entries read per query while verifying (default 1000): memory stays flat however long the journal. */
  readonly verifyBatchSize?: number;
}

/** One fiscal event, as the service that causes it records it. */
export interface JournalAppend {
  readonly registerId: string;
  /** `<subject>.<event>`, e.g. `operation.completed`, `fiscal_unit.provisioned`. */
  readonly type: string;
  /** The id of what the entry is about (`op_…`, `fu_…`, `cdo_…`, `cls_…`). */
  readonly subjectId: string;
  /** The event's data; stored as canonical JSON, so it must be JSON (no bigint, no cycles). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** When it happened: the caller's own timestamp, so the entry and the row it describes agree. */
  readonly at: Date | string;
}

const TYPE = /^[a-z][a-z_]*(?:\.[a-z][a-z_]*)+$/;

function present(row: JournalEntryRow): JournalEntry {
  return {
    object: 'journal_entry',
    register_id: row.register_id,
    seq: Number(row.seq),
    type: row.type,
    subject_id: row.subject_id,
    payload: JSON.parse(row.payload) as JournalPayload,
    payload_hash: row.payload_hash,
    prev_hash: row.prev_hash,
    entry_hash: row.entry_hash,
    created_at: row.created_at,
  };
}

/** The document that is hashed: the event in an envelope repeating the entry's fields, which the hash then covers. */
function envelope(row: Pick<JournalEntryRow, 'register_id' | 'type' | 'subject_id' | 'created_at'>, data: unknown) {
  return { register_id: row.register_id, type: row.type, subject_id: row.subject_id, created_at: row.created_at, data };
}

const ENVELOPE_FIELDS = ['register_id', 'type', 'subject_id', 'created_at'] as const;

/** The first entry field that differs from the hashed envelope, or null; `payload` is already hash-verified. */
function fieldMismatch(row: JournalEntryRow): { expected: string; actual: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.payload);
  } catch {
    return { expected: 'a JSON journal document', actual: row.payload.slice(0, 200) };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('data' in parsed)) {
    return { expected: 'a JSON journal document', actual: row.payload.slice(0, 200) };
  }
  const document = parsed as Record<string, unknown>;
  for (const field of ENVELOPE_FIELDS) {
    const hashed = document[field];
    if (hashed !== row[field]) {
      return {
        expected: `${field}=${typeof hashed === 'string' ? hashed : '(absent)'}`,
        actual: `${field}=${row[field]}`,
      };
    }
  }
  return null;
}

// The cursor is the last seq of the page and the order it was read in, base64url JSON; opaque to clients.
function encodeCursor(seq: bigint, order: JournalPageRequest['order']): string {
  return Buffer.from(JSON.stringify({ s: seq.toString(), o: order }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, order: JournalPageRequest['order']): bigint {
  const invalid = () =>
    new AppError('invalid_request', {
      message: '`cursor` is not a cursor returned by this endpoint.',
      param: 'cursor',
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('s' in parsed) ||
    !('o' in parsed) ||
    typeof parsed.s !== 'string' ||
    !/^[1-9][0-9]{0,18}$/.test(parsed.s)
  ) {
    throw invalid();
  }
  if (parsed.o !== order) {
    throw new AppError('invalid_request', {
      message: '`cursor` was issued for the other `order`; keep `order` while paging.',
      param: 'cursor',
    });
  }
  return BigInt(parsed.s);
}

interface Walk {
  readonly entriesChecked: number;
  readonly headHash: string;
  readonly firstBroken: JournalVerification['first_broken'];
}

export function createJournalService(deps: JournalServiceDeps) {
  const { repository, unitOfWork, clock, registers } = deps;
  const batchSize = deps.verifyBatchSize ?? 1000;
  /**
   * Each register's newest entry as this process appended it: the next append links to it without reading it
   * back or taking a seq first. The write checks, in the database, that the register's length is still that entry's
   * seq and that the stored entry has this hash, so an entry appended meanwhile by another process makes it fall
   * back to the usual path. An append whose transaction rolls back drops its register's entry as well.
   */
  const heads = new Map<string, { seq: bigint; hash: string }>();

  /** Walks seq 1..length in batches, recomputing every hash and link; stops at the first break. */
  async function walk(registerId: string, length: bigint): Promise<Walk> {
    let previous = GENESIS_HASH;
    let expected = 1n;
    const broken = (seq: bigint, reason: JournalBreakReason, want: string, got: string): Walk => ({
      entriesChecked: Number(expected - 1n),
      headHash: previous,
      firstBroken: { seq: Number(seq), reason, expected: want, actual: got },
    });

    for (;;) {
      const rows = await repository.batch(registerId, expected - 1n, length, batchSize);
      for (const row of rows) {
        if (row.seq !== expected) return broken(expected, 'missing_entry', String(expected), String(row.seq));
        const recomputed = payloadHash(row.payload);
        if (recomputed !== row.payload_hash) {
          return broken(row.seq, 'payload_hash_mismatch', recomputed, row.payload_hash);
        }
        const mismatch = fieldMismatch(row);
        if (mismatch !== null) return broken(row.seq, 'field_mismatch', mismatch.expected, mismatch.actual);
        if (row.prev_hash !== previous) return broken(row.seq, 'prev_hash_mismatch', previous, row.prev_hash);
        // Both inputs are known-good hex here: prev_hash equals a verified hash, payload_hash a recomputed one.
        const recomputedEntry = entryHash(row.prev_hash, row.seq, row.payload_hash);
        if (recomputedEntry !== row.entry_hash) {
          return broken(row.seq, 'entry_hash_mismatch', recomputedEntry, row.entry_hash);
        }
        previous = row.entry_hash;
        expected += 1n;
      }
      if (rows.length < batchSize) break;
    }

    const found = expected - 1n;
    if (found !== length) return broken(expected, 'length_mismatch', String(length), String(found));
    // An entry slipped in behind the counter's back lies beyond it. Appends raise the counter and add the entry in
    // one commit, so reading the highest seq first and the counter second never mistakes a concurrent append.
    const highest = await repository.maxSeq(registerId);
    if (highest > length) {
      const lengthNow = (await repository.length(registerId)) ?? length;
      if (highest > lengthNow) return broken(lengthNow + 1n, 'length_mismatch', String(lengthNow), String(highest));
    }
    return { entriesChecked: Number(found), headHash: previous, firstBroken: null };
  }

  async function verification(registerId: string, length: bigint): Promise<JournalVerification> {
    const result = await walk(registerId, length);
    return {
      object: 'journal_verification',
      register_id: registerId,
      valid: result.firstBroken === null,
      entries_checked: result.entriesChecked,
      length: Number(length),
      head_hash: result.headHash,
      first_broken: result.firstBroken,
      verified_at: toUtcString(clock.now()),
    };
  }

  return {
    /**
     * Appends one entry to the register's chain, inside the caller's transaction (throws outside one: an entry
     * must commit with the event it records). Right after the entry this process appended last, one statement on
     * PostgreSQL (two on SQLite): move the register's length from that entry's seq on, if it is still the last and
     * still has the hash remembered, and insert. Otherwise: take the next seq (which also locks the register row,
     * serialising appends per register), read the previous entry's hash if it is not the one remembered, insert.
     */
    async append(input: JournalAppend): Promise<JournalEntry> {
      if (!unitOfWork.inTransaction()) throw new Error('journal.append must run inside a database transaction');
      if (!TYPE.test(input.type)) throw new Error(`journal entry type ${JSON.stringify(input.type)} is not a.b`);
      if (input.subjectId.length === 0) throw new Error('journal entry subjectId is empty');
      const createdAt = typeof input.at === 'string' ? normaliseTimestamp(input.at) : toUtcString(input.at);
      if (createdAt === null) throw new Error(`journal entry time ${String(input.at)} is not RFC 3339`);

      const fields = { register_id: input.registerId, type: input.type, subject_id: input.subjectId };
      const document = envelope({ ...fields, created_at: createdAt }, input.payload);
      const payload = canonicalJson(document);
      const hash = payloadHash(payload);
      const rowAt = (seq: bigint, prevHash: string): JournalEntryRow => ({
        ...fields,
        seq,
        payload,
        payload_hash: hash,
        prev_hash: prevHash,
        entry_hash: entryHash(prevHash, seq, hash),
        created_at: createdAt,
      });

      // Right after the head this process last appended, if it still is the head (checked by the same write).
      const head = heads.get(input.registerId);
      let row = head === undefined ? undefined : rowAt(head.seq + 1n, head.hash);
      if (row === undefined || !(await repository.appendAfterHead(row))) {
        const seq = await repository.takeNextSeq(input.registerId);
        if (seq === undefined) throw new Error(`journal append for unknown register ${input.registerId}`);
        const prevHash =
          seq === 1n
            ? GENESIS_HASH
            : head?.seq === seq - 1n
              ? head.hash
              : await repository.entryHash(input.registerId, seq - 1n);
        if (prevHash === undefined) {
          throw new Error(`journal of ${input.registerId} has no entry ${String(seq - 1n)}; run verify-journal`);
        }
        row = rowAt(seq, prevHash);
        await repository.insert(row);
      }
      heads.set(input.registerId, { seq: row.seq, hash: row.entry_hash });
      unitOfWork.afterRollback(() => {
        heads.delete(input.registerId);
        return Promise.resolve();
      });
      // The document itself, not a parse of its JSON: the same value, without parsing what was just serialised.
      return { ...present({ ...row, payload: 'null' }), payload: document as JournalPayload };
    },

    /** The register's entries in seq order (api.md §1 lists, with the cursor on seq). */
    async list(tenant: Tenant, registerId: string, query: ListQuery): Promise<Page<JournalEntry>> {
      // The shared parser validates limit, order and the from/to bounds; the cursor is the journal's own.
      const { cursor, ...rest } = query;
      const shared = toPageRequest(rest);
      const request: JournalPageRequest = {
        limit: shared.limit,
        from: shared.from,
        to: shared.to,
        order: shared.order,
        afterSeq: cursor === undefined ? null : decodeCursor(cursor, shared.order),
      };
      const register = await registers.findRow(tenant, registerId);
      const rows = await repository.list(register.id, request);
      const hasMore = rows.length > request.limit;
      const page = hasMore ? rows.slice(0, request.limit) : rows;
      const last = page.at(-1);
      return {
        object: 'list',
        data: page.map(present),
        has_more: hasMore,
        next_cursor: hasMore && last !== undefined ? encodeCursor(last.seq, request.order) : null,
      };
    },

    /** Recomputes the register's whole chain (404 outside the tenant). */
    async verify(tenant: Tenant, registerId: string): Promise<JournalVerification> {
      const register = await registers.findRow(tenant, registerId);
      return verification(register.id, register.journal_length);
    },

    /** The same verification for the operator (CLI), without a tenant; null if the register does not exist. */
    async verifyRegister(registerId: string): Promise<JournalVerification | null> {
      const length = await repository.length(registerId);
      return length === undefined ? null : verification(registerId, length);
    },
  };
}

export type JournalService = ReturnType<typeof createJournalService>;
