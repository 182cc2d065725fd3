/**
 * What the rows of a sale cost SQLite alone on this machine: the writes the server makes for one completed sale,
 * replayed in the bench process against an empty copy of the server's schema, with nothing else around them (no
 * HTTP, no reads, no JSON, no hashing, no signing). A floor of the database work a sale needs on SQLite.
 *
 * The rows are copies of a sale the server stored during the load (the same sizes, the same indexes), so the figure
 * follows the schema and the payloads as they are. It is a lower bound: the open row is inserted without the
 * start's fiscal block, and every counter is a plain increment where the server compares first.
 * @module
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Units of work per COMMIT, about what the server's group commit collects under the sales load. */
export const WRITE_FLOOR_UNITS_PER_COMMIT = 16;
const WARMUP_SALES = 200;
const MEASURED_SALES = 2_000;

/** The tables a sale writes to; every other table (platforms, registers, fiscal units, …) is copied as it is. */
const WRITTEN_TABLES = ['operations', 'journal_entries', 'tse_log_messages', 'closing_buckets', 'idempotency_keys'];

type Row = Record<string, unknown>;

interface SaleTemplate {
  readonly operation: Row;
  /** The journal entries of its start and of its completion, in that order. */
  readonly journal: readonly [Row, Row];
  /** The TSE log messages of its start and of its finish, in that order. */
  readonly logs: readonly [Row, Row];
  /** The data the operation was stored with at its start (its completed data without the payments). */
  readonly openData: string;
}

interface RegisterTarget {
  readonly id: string;
  readonly fiscalUnitId: string;
  /** Its newest closing bucket and that bucket's totals as stored. */
  readonly bucket: number;
  readonly totals: string;
}

function pair(rows: Row[], what: string): readonly [Row, Row] {
  const [first, second] = rows;
  if (rows.length !== 2 || first === undefined || second === undefined) {
    throw new Error(`expected 2 ${what} of the template sale, found ${rows.length}`);
  }
  return [first, second];
}

/** The last completed sale the server stored, with its entries and logs; undefined if there is none. */
function readTemplate(server: Database.Database): SaleTemplate | undefined {
  const operation = server
    .prepare("select * from operations where type = 'sale' and state = 'completed' order by rowid desc limit 1")
    .get() as Row | undefined;
  if (operation === undefined) return undefined;
  const journal = pair(
    server.prepare('select * from journal_entries where subject_id = ? order by seq').all(operation.id) as Row[],
    'journal entries',
  );
  const logs = pair(
    server
      .prepare('select * from tse_log_messages where operation_id = ? order by signature_counter')
      .all(operation.id) as Row[],
    'TSE log messages',
  );
  const data = JSON.parse(String(operation.data)) as Row;
  delete data.payments;
  return { operation, journal, logs, openData: JSON.stringify(data) };
}

/** An empty copy of the server's schema with the rows of the tables a sale does not write to, and its buckets. */
function emptyCopy(server: Database.Database, path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // The server's writer: its COMMITs write the WAL, and the sync (measured on its own) happens off the event loop.
  // Checkpoints stay inside these COMMITs (the server runs them on a thread of its own): the figure counts their CPU,
  // which the server spends beside its event loop, so for the loop it errs high, by the copying of the pages.
  db.pragma('synchronous = NORMAL');
  const schema = server
    .prepare("select type, name, sql from sqlite_master where sql is not null and name not like 'sqlite_%'")
    .all() as { type: string; name: string; sql: string }[];
  db.transaction(() => {
    for (const entry of schema) db.exec(entry.sql);
    for (const entry of schema) {
      if (entry.type !== 'table' || (WRITTEN_TABLES.includes(entry.name) && entry.name !== 'closing_buckets')) continue;
      for (const row of server.prepare(`select * from "${entry.name}"`).all() as Row[]) {
        const names = Object.keys(row);
        const columns = names.map((name) => `"${name}"`).join(', ');
        const values = names.map(() => '?').join(', ');
        db.prepare(`insert into "${entry.name}" (${columns}) values (${values})`).run(...Object.values(row));
      }
    }
  })();
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * CPU µs per sale of its rows alone: per sale two units of work (start, completion) with the statements that write
 * what the server writes (sequence number and open count, TSE counters and log message, the operation, the journal
 * length and entry, the operation's completion, the closing bucket), each unit in a savepoint, a COMMIT per
 * {@link WRITE_FLOOR_UNITS_PER_COMMIT} units. Null when it cannot be measured (no completed sale to copy).
 */
export function sqliteWriteFloorUs(serverPath: string, scratchDir: string): number | null {
  const path = join(scratchDir, 'write-floor.db');
  const server = new Database(serverPath, { readonly: true, fileMustExist: true });
  let template: SaleTemplate | undefined;
  let registers: RegisterTarget[];
  let db: Database.Database;
  try {
    template = readTemplate(server);
    registers = server
      .prepare(
        'select r.id, r.active_fiscal_unit_id as fiscalUnitId, b.bucket, b.totals from registers r ' +
          'join closing_buckets b on b.register_id = r.id and b.bucket = ' +
          '(select max(bucket) from closing_buckets where register_id = r.id) ' +
          'where r.active_fiscal_unit_id is not null',
      )
      .all() as RegisterTarget[];
    if (template === undefined || registers.length === 0) return null;
    db = emptyCopy(server, path);
  } finally {
    server.close();
  }
  try {
    return measure(db, template, registers);
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  }
}

function measure(db: Database.Database, template: SaleTemplate, registers: readonly RegisterTarget[]): number {
  const { operation: op, journal, logs } = template;
  const takeSequenceNumber = db.prepare(
    'update registers set last_sequence_number = last_sequence_number + 1, open_operations = open_operations + 1 ' +
      'where id = ? returning last_sequence_number',
  );
  const startTransaction = db.prepare(
    'update signing_devices set signature_counter = signature_counter + 1, ' +
      'transaction_counter = transaction_counter + 1 where fiscal_unit_id = ? returning signature_counter',
  );
  const nextSignature = db.prepare(
    'update signing_devices set signature_counter = signature_counter + 1 where fiscal_unit_id = ? ' +
      'returning signature_counter',
  );
  const insertLog = db.prepare(
    'insert into tse_log_messages (fiscal_unit_id, signature_counter, register_id, log_type, operation_type, ' +
      'transaction_number, client_id, log_time, file_name, message, operation_id, created_at) ' +
      'values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertOperation = db.prepare(
    'insert into operations (id, platform_id, organization_id, location_id, register_id, type, state, ' +
      'fiscal_state, sequence_number, external_id, cashier, data, fiscal, fiscal_unit_id, original_operation_id, ' +
      'voided_by, reason, metadata, started_at, completed_at, created_at, updated_at, final_journal_seq) ' +
      "values (?, ?, ?, ?, ?, ?, 'open', 'pending', ?, null, null, ?, null, ?, null, null, null, ?, ?, null, ?, ?, null)",
  );
  const nextJournalSeq = db.prepare(
    'update registers set journal_length = journal_length + 1 where id = ? returning journal_length',
  );
  const insertEntry = db.prepare(
    'insert into journal_entries (register_id, seq, type, subject_id, payload, payload_hash, prev_hash, ' +
      'entry_hash, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const completeOperation = db.prepare(
    "update operations set state = 'completed', fiscal_state = 'succeeded', data = ?, fiscal = ?, " +
      'completed_at = ?, updated_at = ?, final_journal_seq = ? where id = ?',
  );
  const closeOperation = db.prepare('update registers set open_operations = open_operations - 1 where id = ?');
  const addToBucket = db.prepare(
    'update closing_buckets set totals = ?, updated_at = ? where register_id = ? and bucket = ?',
  );
  const control = {
    begin: db.prepare('begin immediate'),
    savepoint: db.prepare('savepoint unit'),
    release: db.prepare('release unit'),
    commit: db.prepare('commit'),
  };

  const column = (row: Row, name: string) => row[name] ?? null;
  const writeLog = (log: Row, register: RegisterTarget, counter: unknown, operationId: string) =>
    insertLog.run(
      register.fiscalUnitId,
      counter,
      register.id,
      column(log, 'log_type'),
      column(log, 'operation_type'),
      column(log, 'transaction_number'),
      column(log, 'client_id'),
      column(log, 'log_time'),
      column(log, 'file_name'),
      column(log, 'message'),
      operationId,
      column(log, 'created_at'),
    );
  const writeEntry = (entry: Row, register: RegisterTarget, operationId: string): unknown => {
    const seq = (nextJournalSeq.get(register.id) as { journal_length: unknown }).journal_length;
    insertEntry.run(
      register.id,
      seq,
      column(entry, 'type'),
      operationId,
      column(entry, 'payload'),
      column(entry, 'payload_hash'),
      column(entry, 'prev_hash'),
      column(entry, 'entry_hash'),
      column(entry, 'created_at'),
    );
    return seq;
  };
  const start = (register: RegisterTarget, operationId: string) => {
    const sequenceNumber = (takeSequenceNumber.get(register.id) as { last_sequence_number: unknown })
      .last_sequence_number;
    const counter = (startTransaction.get(register.fiscalUnitId) as { signature_counter: unknown }).signature_counter;
    writeLog(logs[0], register, counter, operationId);
    insertOperation.run(
      operationId,
      column(op, 'platform_id'),
      column(op, 'organization_id'),
      column(op, 'location_id'),
      register.id,
      column(op, 'type'),
      sequenceNumber,
      template.openData,
      register.fiscalUnitId,
      column(op, 'metadata'),
      column(op, 'started_at'),
      column(op, 'created_at'),
      column(op, 'updated_at'),
    );
    writeEntry(journal[0], register, operationId);
  };
  const complete = (register: RegisterTarget, operationId: string) => {
    const counter = (nextSignature.get(register.fiscalUnitId) as { signature_counter: unknown }).signature_counter;
    writeLog(logs[1], register, counter, operationId);
    const seq = writeEntry(journal[1], register, operationId);
    completeOperation.run(
      column(op, 'data'),
      column(op, 'fiscal'),
      column(op, 'completed_at'),
      column(op, 'updated_at'),
      seq,
      operationId,
    );
    closeOperation.run(register.id);
    addToBucket.run(register.totals, column(op, 'updated_at'), register.id, register.bucket);
  };

  const count = (sql: string) => Number((db.prepare(sql).get() as { n: number | bigint }).n);
  const openBefore = count('select sum(open_operations) as n from registers');
  // Ids in creation order, as the server's time-ordered ids are: every insert appends to the id index.
  const idPrefix = String(op.id).slice(0, 14);
  let made = 0;
  const runSales = (sales: number) => {
    const units: (() => void)[] = [];
    for (let i = 0; i < sales; i += 1) {
      const register = registers[(made + i) % registers.length];
      if (register === undefined) throw new Error('no register to write to');
      const operationId = `${idPrefix}${String(made + i).padStart(12, '0')}`;
      units.push(() => start(register, operationId));
      units.push(() => complete(register, operationId));
    }
    made += sales;
    // Starts and completions interleave as under load: a batch holds the starts of some sales and the
    // completions of others started in an earlier one.
    const ordered = interleave(units);
    for (let at = 0; at < ordered.length; at += WRITE_FLOOR_UNITS_PER_COMMIT) {
      control.begin.run();
      for (const unit of ordered.slice(at, at + WRITE_FLOOR_UNITS_PER_COMMIT)) {
        control.savepoint.run();
        unit();
        control.release.run();
      }
      control.commit.run();
    }
  };
  runSales(WARMUP_SALES);
  const before = process.cpuUsage();
  runSales(MEASURED_SALES);
  const used = process.cpuUsage(before);
  // The figure counts only if every row was written: each sale one completed operation, two entries, two logs.
  const written = [
    count("select count(*) as n from operations where state = 'completed' and final_journal_seq is not null"),
    count('select count(*) as n from journal_entries') / 2,
    count('select count(*) as n from tse_log_messages') / 2,
    count('select sum(open_operations) as n from registers') === openBefore ? made : -1,
  ];
  if (written.some((n) => n !== made)) throw new Error(`write floor: wrote ${written.join('/')} of ${made} sales`);
  return Math.round((used.user + used.system) / MEASURED_SALES);
}

/** Units [s0, c0, s1, c1, …] reordered so that each completion comes half a batch after its start. */
function interleave(units: readonly (() => void)[]): (() => void)[] {
  const starts = units.filter((_, i) => i % 2 === 0);
  const completions = units.filter((_, i) => i % 2 === 1);
  const lag = WRITE_FLOOR_UNITS_PER_COMMIT / 2;
  const ordered: (() => void)[] = [];
  for (let i = 0; i < starts.length + lag; i += 1) {
    const start = starts[i];
    if (start !== undefined) ordered.push(start);
    const completion = completions[i - lag];
    if (completion !== undefined) ordered.push(completion);
  }
  return ordered;
}
