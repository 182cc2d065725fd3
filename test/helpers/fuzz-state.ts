/**
 * What a fuzz test observes: the raw exchange with the app (any header shape, any payload, or raw bytes on a
 * socket), the contract every
 * answer must keep (no 5xx, the catalogue's error envelope), and the database state before and after — so that a
 * refused request provably changed nothing.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import { ERROR_CATALOGUE, isErrorCode } from '../../src/errors/codes.js';
import type { ApiResponse } from './api-client.js';
import type { TestApp } from './test-app.js';

export interface FuzzRequest {
  readonly method: string;
  readonly url: string;
  /** Arrays send a header more than once. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly payload?: string | Buffer;
}

/** Sends a request as is through `app.inject` (no defaults added), parsing JSON answers like {@link ApiClient}. */
export async function sendRaw(app: App, request: FuzzRequest): Promise<ApiResponse<unknown>> {
  const response = await app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: { ...(request.headers as Record<string, string | string[]>) },
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    body = undefined;
  }
  return {
    status: response.statusCode,
    headers: response.headers,
    text: response.body,
    body,
    raw: response.rawPayload,
  };
}

const REQUEST_ID = /^req_[0-9a-f]{20}$/;
const ERROR_KEYS = ['code', 'fiscal_errors', 'message', 'object', 'param', 'request_id', 'retryable'];
/** Internals an error message must never carry: SQL, driver names, stack frames, file paths. */
const LEAK =
  /\b(select|insert|update|delete)\b .*\b(from|into|set)\b|sqlite|postgres|\bat .+:\d+:\d+|node_modules|\.ts:\d+/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first integer in a JSON value that a double cannot hold exactly, with its path. */
function unsafeIntegerIn(value: unknown, path = ''): string | null {
  if (typeof value === 'number') {
    return Number.isInteger(value) && !Number.isSafeInteger(value) ? `${path} = ${value}` : null;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = unsafeIntegerIn(item, `${path}[${index}]`);
      if (found !== null) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const found = unsafeIntegerIn(item, path === '' ? key : `${path}.${key}`);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * The contract of every answer (api.md §1): never a 5xx; a request id; for 4xx, exactly the §1.1 envelope with a
 * catalogue code whose status and `retryable` are the catalogue's, and a message that leaks nothing; for 2xx JSON,
 * no money or counter that lost precision.
 */
export function checkResponse(response: ApiResponse<unknown>, label: string): void {
  const context = `${label}\n→ ${response.status} ${response.text.slice(0, 500)}`;
  expect(response.status, context).toBeLessThan(500);
  expect(String(response.headers['x-request-id']), context).toMatch(REQUEST_ID);
  if (response.status >= 400) {
    expect(response.headers['content-type'], context).toBe('application/json; charset=utf-8');
    const body = isRecord(response.body) ? response.body : undefined;
    expect(body === undefined ? response.body : Object.keys(body).sort(), context).toEqual(ERROR_KEYS);
    if (body === undefined) return;
    expect(body.object, context).toBe('error');
    const code = String(body.code);
    expect(isErrorCode(code), `${context}\nnot a catalogue code: ${code}`).toBe(true);
    if (!isErrorCode(code)) return;
    expect(response.status, `${context}\nstatus of ${code}`).toBe(ERROR_CATALOGUE[code].status);
    expect(body.retryable, context).toBe(ERROR_CATALOGUE[code].retryable);
    expect(body.request_id, context).toMatch(REQUEST_ID);
    if (response.headers['idempotent-replayed'] === undefined) {
      expect(body.request_id, context).toBe(response.headers['x-request-id']);
    }
    expect(typeof body.message === 'string' && body.message.length > 0, context).toBe(true);
    expect(String(body.message), context).not.toMatch(LEAK);
    expect(body.param === null || typeof body.param === 'string', context).toBe(true);
    expect(body.fiscal_errors === null || Array.isArray(body.fiscal_errors), context).toBe(true);
  } else if (String(response.headers['content-type']).startsWith('application/json')) {
    expect(unsafeIntegerIn(response.body), `${context}\nan integer beyond 2^53 in a success`).toBeNull();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Database state

/** Written by requests the server accepts as reads (at most once a minute per key); not business state. */
const VOLATILE_COLUMNS = new Set(['api_keys.last_used_at']);

/** The test's own table of write counters (one row per app table), kept by the triggers below. */
const COUNTERS = 'fuzz_write_counters';

interface TableShape {
  readonly name: string;
  readonly columns: readonly string[];
}

export type Snapshot = Readonly<Record<string, string>>;

/**
 * Watches every table of the app's database (found by introspection, so new tables are covered).
 *
 * `quick` reads per-table write counters that row-level triggers, added by the test to its scratch database,
 * bump on every INSERT, UPDATE and DELETE of the app's tables (except an update of nothing but a key's
 * `last_used_at`). A trigger's write belongs to the statement's transaction, so only committed writes count: a
 * refused request that left the counters unchanged wrote nothing. One tiny query, cheap enough around every request.
 *
 * `full` digests every row and column (but `last_used_at`), for a whole batch of refused requests.
 */
export class StateProbe {
  private constructor(
    private readonly t: TestApp,
    private readonly tables: readonly TableShape[],
  ) {}

  static async create(t: TestApp): Promise<StateProbe> {
    const db = t.database.executor();
    const schema = await t.database.currentSchema();
    const metadata = await db.introspection.getTables();
    const tables: TableShape[] = metadata
      .filter((table) => !table.isView && (schema === null || table.schema === schema))
      .map((table) => ({
        name: table.name,
        columns: table.columns
          .map((column) => column.name)
          .filter((column) => !VOLATILE_COLUMNS.has(`${table.name}.${column}`)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    await sql`create table ${sql.table(COUNTERS)} (name text primary key, writes bigint not null)`.execute(db);
    const postgres = schema !== null;
    if (postgres) {
      await sql`create function fuzz_count_write() returns trigger language plpgsql as $$
        begin
          update ${sql.table(COUNTERS)} set writes = writes + 1 where name = TG_TABLE_NAME;
          return null;
        end $$`.execute(db);
    }
    for (const table of tables) {
      await sql`insert into ${sql.table(COUNTERS)} (name, writes) values (${table.name}, 0)`.execute(db);
      const volatile =
        metadata.find((candidate) => candidate.name === table.name)?.columns.length !== table.columns.length;
      // `update of <columns>`: fires unless the statement sets only the volatile column.
      const update = volatile ? sql`update of ${sql.join(table.columns.map((column) => sql.id(column)))}` : sql`update`;
      for (const [event, suffix] of [
        [sql`insert`, 'i'],
        [update, 'u'],
        [sql`delete`, 'd'],
      ] as const) {
        const trigger = sql.id(`fuzz_${suffix}_${table.name}`);
        await (
          postgres
            ? sql`create trigger ${trigger} after ${event} on ${sql.table(table.name)}
              for each row execute function fuzz_count_write()`
            : sql`create trigger ${trigger} after ${event} on ${sql.table(table.name)}
              begin update ${sql.table(COUNTERS)} set writes = writes + 1 where name = ${sql.lit(table.name)}; end`
        ).execute(db);
      }
    }
    return new StateProbe(t, tables);
  }

  get tableNames(): string[] {
    return this.tables.map((table) => table.name);
  }

  async quick(): Promise<Snapshot> {
    const { rows } = await sql<{
      name: string;
      writes: unknown;
    }>`select name, writes from ${sql.table(COUNTERS)}`.execute(this.t.database.executor());
    return Object.fromEntries(rows.map((row) => [row.name, String(row.writes)]));
  }

  async full(): Promise<Snapshot> {
    const db = this.t.database.executor();
    const snapshot: Record<string, string> = {};
    for (const table of this.tables) {
      const { rows } = await sql<
        Record<string, unknown>
      >`select ${sql.join(table.columns.map((c) => sql.ref(c)))} from ${sql.table(table.name)}`.execute(db);
      const lines = rows.map((row) => JSON.stringify(table.columns.map((column) => normalise(row[column])))).sort();
      snapshot[table.name] = `${rows.length}:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
    }
    return snapshot;
  }
}

/** bigint and number read the same on both drivers; buffers as hex. */
function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return value;
}

/** The tables whose snapshot differs, except `ignore`d ones. */
export function changedTables(before: Snapshot, after: Snapshot, ignore: ReadonlySet<string> = new Set()): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => !ignore.has(name) && before[name] !== after[name]).sort();
}

/**
 * Sends raw bytes to a listening server and parses the HTTP/1.1 answer — for what `inject` cannot send:
 * control characters in headers, oversized headers, a broken request line, chunked bodies.
 */
export function sendOverSocket(port: number, request: string | Buffer): Promise<ApiResponse<unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const head = raw
        .subarray(0, split < 0 ? raw.length : split)
        .toString('latin1')
        .split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let bodyBytes: Buffer = split < 0 ? Buffer.alloc(0) : raw.subarray(split + 4);
      if (headers['transfer-encoding'] === 'chunked') bodyBytes = dechunk(bodyBytes);
      const text = bodyBytes.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      resolve({ status, headers, text, body, raw: bodyBytes });
    });
  });
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n', offset);
    if (end < 0) break;
    const size = parseInt(bytes.subarray(offset, end).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(end + 2, end + 2 + size));
    offset = end + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
