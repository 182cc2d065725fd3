/**
 * Benchmark of the fiscal hot path of the compiled server (`node dist/src/main.js`), on SQLite and on PostgreSQL:
 * 16 German registers, each with an active software TSE and its own register key, and 4 keep-alive connections per
 * register (64 in all). Every connection repeatedly starts a 2-line sale (`POST /v1/registers/{id}/sales`, both
 * lines at 19 %) and completes it in cash (`POST /v1/sales/{id}/complete`, one inbound cash payment of
 * `data.totals.total_gross`). A sale counts when its complete answered 200 within the measured window.
 *
 * Each sale needs the id its start answered, so the load is a small closed loop of our own rather than autocannon's
 * static requests: one `node:http` Agent with `keepAlive` and `maxSockets: 1` per connection, so each connection is
 * one socket doing start → complete → start … one request at a time, like a till. The ceiling is `GET /healthz`
 * on 64 connections, measured twice: with autocannon (the server's own ceiling, as bench/register-read.bench.ts
 * measures it; autocannon's client is several times cheaper than `node:http`, so this is the honest server figure)
 * and with the sales client itself (what this client can reach on this machine). Both ratios
 * `(2 × sales/s) / healthz req/s` are reported; the first is the headline one.
 *
 * A third ceiling is a sale request without its fiscal work: every connection completes one sale with an
 * `Idempotency-Key`, then sends that same completion again and again. Each is answered from the idempotency store
 * (`Idempotent-Replayed: true`): the same socket, authentication, body parsing, validation, response and logging as a
 * completion, plus the key's small claim transaction, but no signature, no journal entry, no operation rows. Half
 * its rate is what this server could complete in sales if the fiscal work cost nothing.
 *
 * The floor, measured in the same run while the server idles: an ECDSA P-256 signature, a 4 KiB append with
 * fdatasync() on this disk, and one loopback round trip (a small message over TCP on 127.0.0.1 to another process
 * and back: the CPU it costs each side, as every statement sent to PostgreSQL costs the server and its backend). Two
 * replayed requests' server CPU plus two signatures is what a sale costs the event loop if its database work cost
 * nothing; the bench prints the sales/s that allows and what the engine's target (2 000 sales/s on SQLite, 1 000 on
 * PostgreSQL) leaves for the database.
 *
 * After the load the run is checked against the database and the API: the completed sales stored equal the count
 * the client saw, no sale is left open, operation sequence numbers are 1..N without gaps per register (and equal the
 * register's `last_sequence_number`), journal seqs and TSE signature counters are gapless, and
 * `GET /v1/registers/{id}/journal/verify` answers `valid: true` for every register.
 *
 * Run with `npm run bench` (builds first). Environment:
 * - BENCH_SECONDS: seconds of the measured sales run (default: BENCH_DURATION, else 10), after a 2 s warm-up;
 * - BENCH_HEALTHZ_SECONDS: seconds of each /healthz run and of the replay run (default 3), after a 1 s warm-up;
 * - BENCH_REGISTERS (default 16) and BENCH_CONNECTIONS_PER_REGISTER (default 4);
 * - BENCH_ENGINES: `sqlite,postgres` (default) or one of them;
 * - BENCH_DB_POOL_SIZE: passed to the server as OPENFISKAL_DB_POOL_SIZE (default: the server's own default);
 * - BENCH_IDEMPOTENCY_KEYS=1: every start and completion sends a fresh `Idempotency-Key` (default: none);
 * - BENCH_DATABASE_URL: PostgreSQL base URL (default: the local socket, else 127.0.0.1:5432, database test); the
 *   bench works in a fresh schema (via `search_path`) that it drops afterwards.
 *
 * The summary is printed and written to bench/results/sales.json.
 * @module
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startServer, stopServer, type ServerProcess } from '../test/helpers/process.js';
import {
  GERMAN_ORGANIZATION,
  bearer,
  benchEngines,
  busyPercent,
  call,
  createGermanRegister,
  createTenant,
  describe,
  isRecord,
  killServers,
  log,
  machineTicks,
  percent,
  positiveInteger,
  postgresSchema,
  printServerLog,
  round,
  runBench,
  scratchDir,
  serverEnv,
  serverLog,
  setupToken,
  sleep,
  sqlitePath,
  table,
  writeResults,
  type EngineName,
  type EngineSkipped,
  type GermanRegister,
  type MachineTicks,
  BENCH_ENGINES,
} from './common.js';
import { runAutocannon } from './autocannon.js';
import { WRITE_FLOOR_UNITS_PER_COMMIT, sqliteWriteFloorUs } from './sqlite-write-floor.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const SALES_S = positiveInteger(['BENCH_SECONDS', 'BENCH_DURATION'], 10);
const HEALTHZ_S = positiveInteger(['BENCH_HEALTHZ_SECONDS'], 3);
const REGISTERS = positiveInteger(['BENCH_REGISTERS'], 16);
const PER_REGISTER = positiveInteger(['BENCH_CONNECTIONS_PER_REGISTER'], 4);
const CONNECTIONS = REGISTERS * PER_REGISTER;
/** OPENFISKAL_DB_POOL_SIZE for the server (PostgreSQL connections), or null for its default. */
const POOL_SIZE = process.env.BENCH_DB_POOL_SIZE === undefined ? null : positiveInteger(['BENCH_DB_POOL_SIZE'], 10);
/** Every sale request carries a fresh `Idempotency-Key`, as a till that retries safely sends them (BENCH_IDEMPOTENCY_KEYS=1). */
const WITH_KEYS = process.env.BENCH_IDEMPOTENCY_KEYS === '1';
/** The headers of one sale request: a fresh key when WITH_KEYS. */
const saleHeaders = (): Record<string, string> => (WITH_KEYS ? { 'idempotency-key': randomUUID() } : {});
const WARMUP_S = 2;
const HEALTHZ_WARMUP_S = 1;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Hard limit for the whole run, so the bench never hangs: the load of both engines plus generous slack. */
const GLOBAL_TIMEOUT_MS =
  (2 * (WARMUP_S + SALES_S + 2 * (HEALTHZ_WARMUP_S + HEALTHZ_S)) + 2 * (REQUEST_TIMEOUT_MS / 1000) + 240) * 1000;

/** Two lines at 19 %: 2 × 0,45 € and 1 × 2,50 € (3,40 € gross). */
const START_BODY = JSON.stringify({
  line_items: [
    { description: 'Brötchen', quantity: 2, unit_price_gross: 45, tax: { rate: '0.19', category: 'standard' } },
    { description: 'Kaffee', quantity: 1, unit_price_gross: 250, tax: { rate: '0.19', category: 'standard' } },
  ],
});

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc; null elsewhere): the server process, and the whole machine.

const CLOCK_TICKS_PER_S = 100;

interface CpuMark {
  readonly at: number;
  readonly serverTicks: number | null;
  /** The server's main thread (the event loop): ns waiting on a run queue for a CPU. */
  readonly serverRunqueueNs: number | null;
  readonly machine: MachineTicks | null;
  /** utime + stime of every process named `postgres` (this bench's backends, and anyone else's). */
  readonly postgresTicks: number | null;
  readonly self: NodeJS.CpuUsage;
}

function processTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** /proc/<pid>/schedstat of the main thread: ns on a CPU, ns runnable but waiting for one, time slices. */
function runqueueNs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const waiting = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/)[1]);
    return Number.isFinite(waiting) ? waiting : null;
  } catch {
    return null;
  }
}

function postgresTicks(): number | null {
  try {
    let ticks = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // the process ended meanwhile
      }
    }
    return ticks;
  } catch {
    return null;
  }
}

function cpuMark(server: ServerProcess): CpuMark {
  return {
    at: performance.now(),
    serverTicks: processTicks(server.child.pid),
    serverRunqueueNs: runqueueNs(server.child.pid),
    machine: machineTicks(),
    postgresTicks: postgresTicks(),
    self: process.cpuUsage(),
  };
}

interface CpuUse {
  /** Percent of one core used by the server process. */
  readonly serverPercentOfCore: number | null;
  /**
   * Percent of the time the server's event loop was ready to run but waited for a CPU (other processes had them):
   * high values mean the figures measure this machine's contention, not the server.
   */
  readonly serverRunqueueWaitPercent: number | null;
  /** Percent of one core used by this bench process (the load client). */
  readonly clientPercentOfCore: number | null;
  /** Percent of one core used by all `postgres` processes on this machine (ended backends are not counted). */
  readonly postgresPercentOfCore: number | null;
  /** Percent of all cores busy (server, client, PostgreSQL, anything else). */
  readonly machineBusyPercent: number | null;
}

function cpuUse(from: CpuMark, to: CpuMark): CpuUse {
  const seconds = (to.at - from.at) / 1000;
  const self = process.cpuUsage(from.self);
  return {
    serverPercentOfCore:
      from.serverTicks === null || to.serverTicks === null
        ? null
        : round(((to.serverTicks - from.serverTicks) / CLOCK_TICKS_PER_S / seconds) * 100, 0),
    serverRunqueueWaitPercent:
      from.serverRunqueueNs === null || to.serverRunqueueNs === null
        ? null
        : round(((to.serverRunqueueNs - from.serverRunqueueNs) / 1e9 / seconds) * 100, 0),
    clientPercentOfCore: round(((self.user + self.system) / 1e6 / seconds) * 100, 0),
    postgresPercentOfCore:
      from.postgresTicks === null || to.postgresTicks === null
        ? null
        : round(((to.postgresTicks - from.postgresTicks) / CLOCK_TICKS_PER_S / seconds) * 100, 0),
    machineBusyPercent: busyPercent(from.machine, to.machine),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The load client: one keep-alive socket per connection, one request at a time on it.

interface Reply {
  readonly status: number;
  readonly text: string;
  /** The answer came from the idempotency store (`Idempotent-Replayed: true`). */
  readonly replayed: boolean;
}

class Connection {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly seen = new WeakSet<Socket>();
  /** Sockets this connection opened (1 while keep-alive holds). */
  socketsOpened = 0;

  constructor(
    private readonly port: number,
    private readonly headers: Readonly<Record<string, string>>,
  ) {}

  send(method: 'GET' | 'POST', path: string, body?: string, extraHeaders?: Record<string, string>): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...this.headers, ...extraHeaders };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const req = httpRequest(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              replayed: res.headers['idempotent-replayed'] === 'true',
            }),
          );
        },
      );
      req.once('socket', (socket) => {
        if (!this.seen.has(socket)) {
          this.seen.add(socket);
          this.socketsOpened += 1;
        }
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`timed out after ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Latencies in ms. */
class Samples {
  private readonly values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  merge(...others: Samples[]): Samples {
    const merged = new Samples();
    for (const samples of [this, ...others]) merged.values.push(...samples.values);
    return merged;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.values).sort();
    const n = sorted.length;
    const at = (q: number) => (n === 0 ? 0 : round(sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? 0, 2));
    const sum = sorted.reduce((a, b) => a + b, 0);
    return { count: n, p50: at(0.5), p99: at(0.99), max: at(1), average: n === 0 ? 0 : round(sum / n, 2) };
  }
}

interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly average: number;
}

/** What one phase of load saw. */
class Tally {
  readonly start = new Samples();
  readonly complete = new Samples();
  readonly requests = new Samples();
  /** Responses (any status) that arrived within the window. */
  responsesInWindow = 0;
  /** Sales whose complete answered 200 within the window, and after it (the drain of in-flight sales). */
  completedInWindow = 0;
  completedAfterWindow = 0;
  /** Sales whose start answered 201 but whose complete did not answer 200 (left open or failed). */
  startedNotCompleted = 0;
  /** Completed sales per register id (within and after the window). */
  readonly completedByRegister = new Map<string, number>();
  /** Non-2xx answers by "<request> <status> <code>", with one message each. */
  readonly non2xx = new Map<string, { count: number; example: string }>();
  /** Transport errors (socket, timeout) by "<request> <message>". */
  readonly errors = new Map<string, number>();

  constructor(readonly windowEnd: number) {}

  response(samples: Samples, sentAt: number): number {
    const now = performance.now();
    samples.add(now - sentAt);
    this.requests.add(now - sentAt);
    if (now <= this.windowEnd) this.responsesInWindow += 1;
    return now;
  }

  failed(what: string, reply: Reply): void {
    let code = '';
    let example = reply.text.slice(0, 300);
    try {
      const parsed: unknown = JSON.parse(reply.text);
      if (isRecord(parsed)) {
        code = typeof parsed.code === 'string' ? parsed.code : '';
        example = typeof parsed.message === 'string' ? parsed.message : example;
      }
    } catch {
      // not JSON: keep the text
    }
    const key = `${what} ${reply.status} ${code}`.trim();
    const entry = this.non2xx.get(key);
    if (entry === undefined) this.non2xx.set(key, { count: 1, example });
    else entry.count += 1;
  }

  error(what: string, error: unknown): void {
    const key = `${what}: ${describe(error)}`;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  get non2xxCount(): number {
    return [...this.non2xx.values()].reduce((a, b) => a + b.count, 0);
  }

  get errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }
}

/** The id and total_gross of a started sale. */
function startedSale(text: string): { id: string; total: number } {
  const body: unknown = JSON.parse(text);
  if (isRecord(body) && typeof body.id === 'string' && isRecord(body.data) && isRecord(body.data.totals)) {
    const total = body.data.totals.total_gross;
    if (typeof total === 'number') return { id: body.id, total };
  }
  throw new Error(`the start of a sale answered no id or data.totals.total_gross: ${text.slice(0, 300)}`);
}

/** One till: start → complete, again and again, until the window ends (a sale started in time is completed). */
async function saleLoop(connection: Connection, registerId: string, tally: Tally): Promise<void> {
  while (performance.now() < tally.windowEnd) {
    let sentAt = performance.now();
    let started: Reply;
    try {
      started = await connection.send('POST', `/v1/registers/${registerId}/sales`, START_BODY, saleHeaders());
    } catch (error) {
      tally.error('start', error);
      await sleep(20);
      continue;
    }
    tally.response(tally.start, sentAt);
    if (started.status !== 201) {
      tally.failed('start', started);
      continue;
    }
    const sale = startedSale(started.text);
    const payment = JSON.stringify({ payments: [{ method: 'cash', direction: 'inbound', amount: sale.total }] });
    sentAt = performance.now();
    let completed: Reply;
    try {
      completed = await connection.send('POST', `/v1/sales/${sale.id}/complete`, payment, saleHeaders());
    } catch (error) {
      tally.startedNotCompleted += 1;
      tally.error('complete', error);
      await sleep(20);
      continue;
    }
    const at = tally.response(tally.complete, sentAt);
    if (completed.status !== 200) {
      tally.startedNotCompleted += 1;
      tally.failed('complete', completed);
      continue;
    }
    if (at <= tally.windowEnd) tally.completedInWindow += 1;
    else tally.completedAfterWindow += 1;
    tally.completedByRegister.set(registerId, (tally.completedByRegister.get(registerId) ?? 0) + 1);
  }
}

/** GET /healthz again and again until the window ends. */
async function healthzLoop(connection: Connection, tally: Tally): Promise<void> {
  while (performance.now() < tally.windowEnd) {
    const sentAt = performance.now();
    try {
      const reply = await connection.send('GET', '/healthz');
      tally.response(tally.start, sentAt);
      if (reply.status !== 200) tally.failed('healthz', reply);
    } catch (error) {
      tally.error('healthz', error);
      await sleep(20);
    }
  }
}

/** A completion sent again and again: its path, body and `Idempotency-Key`. */
interface RepeatedCompletion {
  readonly path: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** One till completes one sale with `key` (counted in `first` like any completed sale); returns that completion. */
async function completeWithKey(
  connection: Connection,
  registerId: string,
  key: string,
  first: Tally,
): Promise<RepeatedCompletion> {
  const started = await connection.send('POST', `/v1/registers/${registerId}/sales`, START_BODY);
  if (started.status !== 201) throw new Error(`replay setup: the start answered ${started.status}: ${started.text}`);
  const sale = startedSale(started.text);
  const request = {
    path: `/v1/sales/${sale.id}/complete`,
    body: JSON.stringify({ payments: [{ method: 'cash', direction: 'inbound', amount: sale.total }] }),
    headers: { 'idempotency-key': key },
  };
  const completed = await connection.send('POST', request.path, request.body, request.headers);
  if (completed.status !== 200) {
    first.startedNotCompleted += 1;
    throw new Error(`replay setup: the complete answered ${completed.status}: ${completed.text}`);
  }
  first.completedInWindow += 1;
  first.completedByRegister.set(registerId, (first.completedByRegister.get(registerId) ?? 0) + 1);
  return request;
}

/** Repeats a completion until the window ends; each must be answered 200 from the idempotency store. */
async function replayLoop(connection: Connection, request: RepeatedCompletion, tally: Tally): Promise<void> {
  while (performance.now() < tally.windowEnd) {
    const sentAt = performance.now();
    try {
      const reply = await connection.send('POST', request.path, request.body, request.headers);
      tally.response(tally.complete, sentAt);
      if (reply.status !== 200 || !reply.replayed) tally.failed('replay', reply);
    } catch (error) {
      tally.error('replay', error);
      await sleep(20);
    }
  }
}

/** A German register with its software TSE and its own key: the till of PER_REGISTER connections. */
type Till = GermanRegister;

interface SalesLoad {
  readonly seconds: number;
  readonly salesPerSecond: number;
  readonly requestsPerSecond: number;
  readonly completedInWindow: number;
  readonly completedAfterWindow: number;
  readonly start: LatencySummary;
  readonly complete: LatencySummary;
  readonly overall: LatencySummary;
  readonly non2xx: number;
  readonly errors: number;
  readonly non2xxByKind: Record<string, { count: number; example: string }>;
  readonly errorsByKind: Record<string, number>;
  readonly startedNotCompleted: number;
  readonly socketsOpened: number;
  readonly cpu: CpuUse;
}

function summarizeSales(tally: Tally, seconds: number, socketsOpened: number, cpu: CpuUse): SalesLoad {
  return {
    seconds,
    salesPerSecond: round(tally.completedInWindow / seconds),
    requestsPerSecond: round(tally.responsesInWindow / seconds),
    completedInWindow: tally.completedInWindow,
    completedAfterWindow: tally.completedAfterWindow,
    start: tally.start.summary(),
    complete: tally.complete.summary(),
    overall: tally.requests.summary(),
    non2xx: tally.non2xxCount,
    errors: tally.errorCount,
    non2xxByKind: Object.fromEntries(tally.non2xx),
    errorsByKind: Object.fromEntries(tally.errors),
    startedNotCompleted: tally.startedNotCompleted,
    socketsOpened,
    cpu,
  };
}

/** Warm-up then the measured window, on the same 64 keep-alive sockets. */
async function salesLoad(
  server: ServerProcess,
  tills: readonly Till[],
): Promise<{ warmup: Tally; measured: Tally; load: SalesLoad }> {
  const connections = tills.flatMap((till) =>
    Array.from({ length: PER_REGISTER }, () => ({
      till,
      connection: new Connection(server.port, bearer(till)),
    })),
  );
  try {
    const warmup = new Tally(performance.now() + WARMUP_S * 1000);
    await Promise.all(connections.map(({ till, connection }) => saleLoop(connection, till.registerId, warmup)));
    const from = cpuMark(server);
    const measured = new Tally(performance.now() + SALES_S * 1000);
    await Promise.all(connections.map(({ till, connection }) => saleLoop(connection, till.registerId, measured)));
    const to = cpuMark(server);
    const sockets = connections.reduce((sum, { connection }) => sum + connection.socketsOpened, 0);
    return { warmup, measured, load: summarizeSales(measured, SALES_S, sockets, cpuUse(from, to)) };
  } finally {
    for (const { connection } of connections) connection.close();
  }
}

interface HealthzLoad {
  readonly requestsPerSecond: number;
  readonly latency: LatencySummary;
  readonly non2xx: number;
  readonly errors: number;
  readonly cpu: CpuUse;
}

/** /healthz with the sales client (64 keep-alive sockets). */
async function healthzLoad(server: ServerProcess): Promise<HealthzLoad> {
  const connections = Array.from({ length: CONNECTIONS }, () => new Connection(server.port, {}));
  try {
    const warmup = new Tally(performance.now() + HEALTHZ_WARMUP_S * 1000);
    await Promise.all(connections.map((connection) => healthzLoop(connection, warmup)));
    const from = cpuMark(server);
    const measured = new Tally(performance.now() + HEALTHZ_S * 1000);
    await Promise.all(connections.map((connection) => healthzLoop(connection, measured)));
    const to = cpuMark(server);
    return {
      requestsPerSecond: round(measured.responsesInWindow / HEALTHZ_S, 0),
      latency: measured.start.summary(),
      non2xx: measured.non2xxCount,
      errors: measured.errorCount,
      cpu: cpuUse(from, to),
    };
  } finally {
    for (const connection of connections) connection.close();
  }
}

interface ReplayLoad extends HealthzLoad {
  /** Half the replay rate: completed sales/s if the fiscal work cost nothing. */
  readonly salesCeiling: number;
}

/** Completions answered from the idempotency store, on the sales client's connections and tills. */
async function replayLoad(server: ServerProcess, tills: readonly Till[]): Promise<{ first: Tally; load: ReplayLoad }> {
  const connections = tills.flatMap((till) =>
    Array.from({ length: PER_REGISTER }, (_, i) => ({
      till,
      key: `bench-replay-${till.registerId}-${String(i)}`,
      connection: new Connection(server.port, bearer(till)),
    })),
  );
  try {
    const first = new Tally(Number.POSITIVE_INFINITY);
    const requests = await Promise.all(
      connections.map(({ till, key, connection }) => completeWithKey(connection, till.registerId, key, first)),
    );
    const loops = (tally: Tally) =>
      Promise.all(
        connections.map(({ connection }, i) => replayLoop(connection, requests[i] as RepeatedCompletion, tally)),
      );
    await loops(new Tally(performance.now() + HEALTHZ_WARMUP_S * 1000));
    const from = cpuMark(server);
    const measured = new Tally(performance.now() + HEALTHZ_S * 1000);
    await loops(measured);
    const to = cpuMark(server);
    const requestsPerSecond = round(measured.responsesInWindow / HEALTHZ_S, 0);
    return {
      first,
      load: {
        requestsPerSecond,
        salesCeiling: round(requestsPerSecond / 2, 0),
        latency: measured.complete.summary(),
        non2xx: measured.non2xxCount,
        errors: measured.errorCount,
        cpu: cpuUse(from, to),
      },
    };
  } finally {
    for (const { connection } of connections) connection.close();
  }
}

/** /healthz with autocannon (as bench/register-read.bench.ts measures it), for comparison. */
async function healthzAutocannon(port: number): Promise<HealthzLoad & { readonly client: 'autocannon' }> {
  const base: autocannon.Options = {
    url: `http://127.0.0.1:${port}/healthz`,
    connections: CONNECTIONS,
    timeout: REQUEST_TIMEOUT_MS / 1000,
  };
  await runAutocannon({ ...base, duration: HEALTHZ_WARMUP_S }, HEALTHZ_WARMUP_S);
  const result = await runAutocannon({ ...base, duration: HEALTHZ_S }, HEALTHZ_S);
  return {
    client: 'autocannon',
    requestsPerSecond: round(result.requests.average, 0),
    latency: {
      count: result.requests.total,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      average: round(result.latency.average, 2),
    },
    non2xx: result.non2xx,
    errors: result.errors,
    cpu: {
      serverPercentOfCore: null,
      serverRunqueueWaitPercent: null,
      clientPercentOfCore: null,
      postgresPercentOfCore: null,
      machineBusyPercent: null,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The floor: what a sale costs at least on this machine, measured in the same run while the server idles.

const FLOOR_SIGNATURES = 4_000;
const FLOOR_SYNCS = 200;
const FLOOR_ROUND_TRIPS = 5_000;
/** About the size of a prepared statement's Bind/Execute and of a short answer. */
const FLOOR_MESSAGE_BYTES = 200;
const ROUND_TRIP_DEADLINE_MS = 30_000;
/** About the size of a TSE transaction log message's data to be signed (DTBS). */
const FLOOR_DTBS_BYTES = 240;
/** The sales/s targets of issue "Speed and resilience". */
const TARGET_SALES_PER_SECOND: Readonly<Record<EngineName, number>> = { sqlite: 2_000, postgres: 1_000 };

interface Floor {
  /**
   * µs of one ECDSA P-256 signature (SHA-256, r‖s) of a DTBS, in this process with warm caches: a lower bound of
   * what the server's two signatures per sale cost it.
   */
  readonly signatureUs: number;
  /** A 4 KiB append and fdatasync() in the data directory: p50 and p99 µs of sequential syncs. */
  readonly fsyncP50Us: number;
  readonly fsyncP99Us: number;
  /**
   * One loopback round trip between two processes (TCP, 127.0.0.1, sequential): wall µs, and CPU µs in the sender
   * (the server's side of a statement) and in the process that answers (PostgreSQL's side).
   */
  readonly roundTripUs: { readonly wall: number; readonly sender: number; readonly answerer: number } | null;
  /**
   * SQLite: CPU µs of a sale's rows alone, written in this process to an empty copy of the server's schema
   * (bench/sqlite-write-floor.ts); null on PostgreSQL.
   */
  readonly sqliteWritesUs: number | null;
  /** CPU per completed sale under the sales load (µs): the server process, PostgreSQL's processes, the client. */
  readonly serverUsPerSale: number | null;
  readonly postgresUsPerSale: number | null;
  readonly clientUsPerSale: number | null;
  /** The server's CPU per replayed completion (µs): a sale request's HTTP work without its fiscal work. */
  readonly serverUsPerReplay: number | null;
  /** Two replayed requests and two signatures: a sale's server CPU if its database work cost nothing (µs). */
  readonly floorUsPerSale: number | null;
  /** Sales/s that one event loop completes at that floor. */
  readonly floorSalesPerSecond: number | null;
  /** SQLite: that floor plus the sale's rows alone, and the sales/s one event loop completes at it. */
  readonly floorWithWritesUsPerSale: number | null;
  readonly floorWithWritesSalesPerSecond: number | null;
  /** SQLite: the sales/s all the machine's cores complete if the server costs that floor and the client what it does. */
  readonly machineFloorSalesPerSecond: number | null;
  /** The engine's target, the µs per sale it leaves one event loop, and what is left of those after the floor. */
  readonly targetSalesPerSecond: number;
  readonly targetUsPerSale: number;
  readonly leftForDatabaseUs: number | null;
  /** The machine's cores, and the CPU µs per sale they have in all at the target (server, database and client). */
  readonly cores: number;
  readonly machineUsPerSaleAtTarget: number;
}

/** µs of CPU per unit of work: percent of a core at a rate of units per second. */
function usPer(percentOfCore: number | null, perSecond: number): number | null {
  return percentOfCore === null || perSecond === 0 ? null : round((percentOfCore / 100 / perSecond) * 1e6, 0);
}

function signatureUs(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dtbs = randomBytes(FLOOR_DTBS_BYTES);
  const once = () => sign('sha256', dtbs, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  for (let i = 0; i < FLOOR_SIGNATURES / 10; i += 1) once();
  const started = process.hrtime.bigint();
  for (let i = 0; i < FLOOR_SIGNATURES; i += 1) once();
  return round(Number(process.hrtime.bigint() - started) / FLOOR_SIGNATURES / 1000, 1);
}

/** What one durable COMMIT costs this disk at least: appending a WAL-sized page and syncing it (µs). */
function fsyncUs(dataDir: string): { p50: number; p99: number } {
  const path = join(dataDir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const page = randomBytes(4096);
  const samples = new Float64Array(FLOOR_SYNCS);
  try {
    for (let i = 0; i < FLOOR_SYNCS; i += 1) {
      const started = process.hrtime.bigint();
      writeSync(fd, page);
      fdatasyncSync(fd);
      samples[i] = Number(process.hrtime.bigint() - started) / 1000;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  samples.sort();
  const at = (q: number) => round(samples[Math.ceil(q * FLOOR_SYNCS) - 1] ?? 0, 0);
  return { p50: at(0.5), p99: at(0.99) };
}

/** CPU µs of `process.cpuUsage()` (user and system). */
const cpuMicros = (usage: NodeJS.CpuUsage): number => usage.user + usage.system;

/**
 * The echoing process: answers every chunk with itself, and prints its own CPU µs when its input closes. `node -e`,
 * so that the bench needs no second compiled file.
 */
const ECHO_PROCESS = `
  const net = require('node:net');
  const server = net.createServer((socket) => { socket.setNoDelay(true); socket.on('data', (d) => socket.write(d)); });
  server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
  process.stdin.on('data', () => {
    const { user, system } = process.cpuUsage();
    process.stdout.write((user + system) + '\\n');
  });
  process.stdin.on('end', () => process.exit(0));
`;

/**
 * What a round trip to another process costs on this machine (system calls, the loopback, waking the other side),
 * whatever is sent: measured with sequential small messages, as a connection sends its statements.
 */
async function roundTripUs(): Promise<Floor['roundTripUs']> {
  const child = spawn(process.execPath, ['-e', ECHO_PROCESS], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let pending = '';
  const waiters: ((line: string) => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let at = pending.indexOf('\n'); at >= 0; at = pending.indexOf('\n')) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      const waiter = waiters.shift();
      if (waiter === undefined) lines.push(line);
      else waiter(line);
    }
  });
  const nextLine = () =>
    new Promise<string>((resolve) => {
      const line = lines.shift();
      if (line === undefined) waiters.push(resolve);
      else resolve(line);
    });
  // A child that dies answers every wait with NaN, and a run that hangs is ended: the floor then says "not measured".
  child.once('exit', () => {
    for (const waiter of waiters.splice(0)) waiter('NaN');
  });
  const deadline = setTimeout(() => child.kill(), ROUND_TRIP_DEADLINE_MS);
  const answererCpu = async () => {
    child.stdin.write('cpu\n');
    return Number(await nextLine());
  };
  try {
    const port = Number(await nextLine());
    if (!Number.isInteger(port)) return null;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined); // the close below ends the wait
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const message = randomBytes(FLOOR_MESSAGE_BYTES);
    const roundTrip = async () => {
      let received = 0;
      const answered = new Promise<void>((resolve, reject) => {
        const onClose = () => reject(new Error('the echoing process went away'));
        const onData = (chunk: Buffer) => {
          received += chunk.length;
          if (received < FLOOR_MESSAGE_BYTES) return;
          socket.off('data', onData).off('close', onClose);
          resolve();
        };
        socket.on('data', onData).once('close', onClose);
      });
      socket.write(message);
      await answered;
    };
    for (let i = 0; i < FLOOR_ROUND_TRIPS / 10; i += 1) await roundTrip();
    const answererBefore = await answererCpu();
    const senderBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let i = 0; i < FLOOR_ROUND_TRIPS; i += 1) await roundTrip();
    const wall = Number(process.hrtime.bigint() - started) / 1000 / FLOOR_ROUND_TRIPS;
    const sender = cpuMicros(process.cpuUsage(senderBefore)) / FLOOR_ROUND_TRIPS;
    const answerer = ((await answererCpu()) - answererBefore) / FLOOR_ROUND_TRIPS;
    socket.destroy();
    if (!Number.isFinite(answerer)) return null;
    return { wall: round(wall, 1), sender: round(sender, 1), answerer: round(answerer, 1) };
  } catch {
    return null;
  } finally {
    clearTimeout(deadline);
    child.stdin.end();
    child.kill();
  }
}

async function measureFloor(engine: EngineName, dataDir: string, sales: SalesLoad, replay: ReplayLoad): Promise<Floor> {
  const signature = signatureUs();
  const fsync = fsyncUs(dataDir);
  const roundTrip = await roundTripUs();
  const sqliteWritesUs = engine === 'sqlite' ? sqliteWriteFloorUs(sqlitePath(dataDir), dataDir) : null;
  const serverUsPerReplay = usPer(replay.cpu.serverPercentOfCore, replay.requestsPerSecond);
  const floorUsPerSale = serverUsPerReplay === null ? null : round(2 * serverUsPerReplay + 2 * signature, 0);
  const target = TARGET_SALES_PER_SECOND[engine];
  const targetUsPerSale = round(1e6 / target, 0);
  const cores = availableParallelism();
  const clientUsPerSale = usPer(sales.cpu.clientPercentOfCore, sales.salesPerSecond);
  const floorWithWrites = floorUsPerSale === null || sqliteWritesUs === null ? null : floorUsPerSale + sqliteWritesUs;
  return {
    signatureUs: signature,
    fsyncP50Us: fsync.p50,
    fsyncP99Us: fsync.p99,
    roundTripUs: roundTrip,
    sqliteWritesUs,
    serverUsPerSale: usPer(sales.cpu.serverPercentOfCore, sales.salesPerSecond),
    postgresUsPerSale: engine === 'postgres' ? usPer(sales.cpu.postgresPercentOfCore, sales.salesPerSecond) : null,
    clientUsPerSale,
    serverUsPerReplay,
    floorUsPerSale,
    floorSalesPerSecond: floorUsPerSale === null ? null : round(1e6 / floorUsPerSale, 0),
    floorWithWritesUsPerSale: floorWithWrites,
    floorWithWritesSalesPerSecond: floorWithWrites === null ? null : round(1e6 / floorWithWrites, 0),
    machineFloorSalesPerSecond:
      floorWithWrites === null || clientUsPerSale === null
        ? null
        : round((cores * 1e6) / (floorWithWrites + clientUsPerSale), 0),
    targetSalesPerSecond: target,
    targetUsPerSale,
    leftForDatabaseUs: floorUsPerSale === null ? null : targetUsPerSale - floorUsPerSale,
    cores,
    machineUsPerSaleAtTarget: cores * targetUsPerSale,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The database

interface PreparedDatabase {
  /** The server's DATABASE_URL. */
  readonly url: string;
  /** Runs a read-only query on the server's database (its own connection). */
  readonly query: (sql: string) => Promise<Record<string, unknown>[]>;
}

/** Prepares the database of one engine; returns the server's DATABASE_URL and a query function, or a reason to skip. */
async function prepareDatabase(engine: EngineName, dataDir: string): Promise<PreparedDatabase | { skip: string }> {
  if (engine === 'sqlite') {
    const path = sqlitePath(dataDir);
    return {
      url: `sqlite:${path}`,
      query: (sql) => {
        const db = new Database(path, { readonly: true, fileMustExist: true });
        try {
          return Promise.resolve(db.prepare(sql).all() as Record<string, unknown>[]);
        } finally {
          db.close();
        }
      },
    };
  }
  const postgres = await postgresSchema('bs_');
  if ('skip' in postgres) return postgres;
  const { url } = postgres;
  return {
    url,
    query: async (sql) => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
      await client.connect();
      try {
        return (await client.query<Record<string, unknown>>(sql)).rows;
      } finally {
        await client.end();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

interface Verification {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** Completed sales: as the client counted them (warm-up, window, drain) and as stored. */
  readonly completedSalesClient: number;
  readonly completedSalesStored: number;
  readonly openSalesStored: number;
  readonly operationsStored: number;
  readonly journalEntries: number;
  readonly registersJournalValid: number;
  readonly registers: number;
}

const num = (value: unknown): number => Number(value ?? 0);
const str = (value: unknown): string => (typeof value === 'string' ? value : String(value));

async function verify(
  server: ServerProcess,
  database: PreparedDatabase,
  tills: readonly Till[],
  tallies: readonly Tally[],
): Promise<Verification> {
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 40) problems.push(text);
  };

  const clientByRegister = new Map<string, number>();
  for (const tally of tallies) {
    for (const [registerId, count] of tally.completedByRegister) {
      clientByRegister.set(registerId, (clientByRegister.get(registerId) ?? 0) + count);
    }
  }
  const clientTotal = [...clientByRegister.values()].reduce((a, b) => a + b, 0);
  const clientLeftOpen = tallies.reduce((sum, tally) => sum + tally.startedNotCompleted, 0);

  // Operations by register, type, state and fiscal state.
  const states = await database.query(
    'select register_id, type, state, fiscal_state, count(*) as n from operations ' +
      'group by register_id, type, state, fiscal_state',
  );
  const storedByRegister = new Map<string, number>();
  let storedTotal = 0;
  let openSales = 0;
  let operations = 0;
  for (const row of states) {
    const n = num(row.n);
    operations += n;
    const registerId = str(row.register_id);
    if (row.type === 'sale' && row.state === 'completed') {
      storedTotal += n;
      storedByRegister.set(registerId, (storedByRegister.get(registerId) ?? 0) + n);
      if (row.fiscal_state !== 'succeeded') {
        problem(`${registerId}: ${n} completed sales with fiscal_state ${str(row.fiscal_state)}`);
      }
    } else if (row.type === 'sale' && row.state === 'open') {
      openSales += n;
    } else {
      problem(
        `${registerId}: ${n} unexpected operations (${str(row.type)}, ${str(row.state)}, ${str(row.fiscal_state)})`,
      );
    }
  }
  if (storedTotal !== clientTotal) {
    problem(`completed sales: the client saw ${clientTotal} answers 200, the database holds ${storedTotal}`);
  }
  for (const till of tills) {
    const client = clientByRegister.get(till.registerId) ?? 0;
    const stored = storedByRegister.get(till.registerId) ?? 0;
    if (client !== stored) problem(`${till.registerId}: the client completed ${client} sales, stored ${stored}`);
  }
  if (openSales !== clientLeftOpen) {
    problem(`open sales: the database holds ${openSales}, the client left ${clientLeftOpen} without a 200 complete`);
  }

  // Operation sequence numbers: 1..N per register, equal to last_sequence_number.
  const sequences = await database.query(
    'select r.id as register_id, r.last_sequence_number as last, count(o.id) as n, ' +
      'count(distinct o.sequence_number) as d, min(o.sequence_number) as lo, max(o.sequence_number) as hi ' +
      'from registers r left join operations o on o.register_id = r.id group by r.id, r.last_sequence_number',
  );
  for (const row of sequences) {
    const [n, d, lo, hi, last] = [num(row.n), num(row.d), num(row.lo), num(row.hi), num(row.last)];
    if (n > 0 && (d !== n || lo !== 1 || hi !== n)) {
      problem(
        `${str(row.register_id)}: sequence numbers not gapless (count ${n}, distinct ${d}, min ${lo}, max ${hi})`,
      );
    }
    if (last !== n) problem(`${str(row.register_id)}: last_sequence_number ${last} but ${n} operations`);
  }
  if (sequences.length !== tills.length) problem(`${sequences.length} registers stored, ${tills.length} created`);

  // Journal seqs 1..N per register.
  const journal = await database.query(
    'select register_id, count(*) as n, count(distinct seq) as d, min(seq) as lo, max(seq) as hi ' +
      'from journal_entries group by register_id',
  );
  const journalLength = new Map<string, number>();
  let journalEntries = 0;
  for (const row of journal) {
    const [n, d, lo, hi] = [num(row.n), num(row.d), num(row.lo), num(row.hi)];
    journalEntries += n;
    journalLength.set(str(row.register_id), n);
    if (d !== n || lo !== 1 || hi !== n) {
      problem(`${str(row.register_id)}: journal seq not gapless (count ${n}, distinct ${d}, min ${lo}, max ${hi})`);
    }
  }

  // TSE signature counters gapless per fiscal unit.
  const counters = await database.query(
    'select fiscal_unit_id, count(*) as n, count(distinct signature_counter) as d, ' +
      'min(signature_counter) as lo, max(signature_counter) as hi from tse_log_messages group by fiscal_unit_id',
  );
  for (const row of counters) {
    const [n, d, lo, hi] = [num(row.n), num(row.d), num(row.lo), num(row.hi)];
    if (d !== n || hi - lo + 1 !== n) {
      problem(`${str(row.fiscal_unit_id)}: TSE signature counters not gapless (count ${n}, min ${lo}, max ${hi})`);
    }
  }
  if (counters.length !== tills.length) {
    problem(`${counters.length} fiscal units with TSE logs, ${tills.length} expected`);
  }

  // The API's own verification of every register's journal.
  let valid = 0;
  for (const till of tills) {
    const body = await call(server.port, 'GET', `/v1/registers/${till.registerId}/journal/verify`, 200, {
      headers: bearer(till),
    });
    if (body.valid === true) valid += 1;
    else problem(`${till.registerId}: journal/verify answered ${JSON.stringify(body)}`);
    const length = num(body.length);
    if (length !== (journalLength.get(till.registerId) ?? 0)) {
      problem(`${till.registerId}: journal/verify length ${length}, ${journalLength.get(till.registerId) ?? 0} stored`);
    }
  }

  return {
    ok: problems.length === 0,
    problems,
    completedSalesClient: clientTotal,
    completedSalesStored: storedTotal,
    openSalesStored: openSales,
    operationsStored: operations,
    journalEntries,
    registersJournalValid: valid,
    registers: tills.length,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One engine

interface EngineResult {
  readonly engine: EngineName;
  readonly status: 'ok';
  readonly setupMs: number;
  readonly warmupCompleted: number;
  readonly sales: SalesLoad;
  readonly healthz: HealthzLoad;
  readonly healthzAutocannon: HealthzLoad;
  /** Completions answered from the idempotency store: the sale request without its fiscal work. */
  readonly replay: ReplayLoad;
  /** What a sale costs at least on this machine (same run). */
  readonly floor: Floor;
  /** (2 × sales/s) / healthz req/s: against autocannon's /healthz (the server's ceiling), and the same client's. */
  readonly ratio: number;
  readonly ratioSameClient: number;
  readonly verification: Verification;
  /** Server log lines at warn or above, and stderr. */
  readonly serverLog: readonly string[];
  readonly shutdownMs: number;
}

/** A platform, a German organization with one location, and REGISTERS registers each with a software TSE. */
async function createTills(port: number, token: string): Promise<Till[]> {
  const tenant = await createTenant(port, token, GERMAN_ORGANIZATION, { name: 'Bench store' });
  const tills: Till[] = [];
  for (let i = 1; i <= REGISTERS; i += 1) tills.push(await createGermanRegister(port, tenant, `Kasse ${i}`));
  return tills;
}

const ratioOf = (salesPerSecond: number, healthzPerSecond: number): number =>
  healthzPerSecond === 0 ? 0 : round((2 * salesPerSecond) / healthzPerSecond, 4);

async function benchEngine(engine: EngineName): Promise<EngineResult | EngineSkipped> {
  const dataDir = scratchDir(`openfiskal-bench-sales-${engine}-`);
  const database = await prepareDatabase(engine, dataDir);
  if ('skip' in database) return { engine, status: 'skipped', reason: database.skip };
  const env = serverEnv(database.url, dataDir);
  if (POOL_SIZE !== null) env.OPENFISKAL_DB_POOL_SIZE = String(POOL_SIZE);
  const server = await startServer(env, { timeoutMs: START_TIMEOUT_MS });
  try {
    const token = await setupToken(server, 2_000);
    const setupStarted = performance.now();
    const tills = await createTills(server.port, token);
    const setupMs = performance.now() - setupStarted;
    log(`  [${engine}] ${tills.length} registers with a software TSE in ${round(setupMs, 0)} ms`);

    log(`  [${engine}] load: sales, ${CONNECTIONS} connections (${WARMUP_S} s warm-up + ${SALES_S} s) …`);
    const { warmup, measured, load } = await salesLoad(server, tills);
    log(`  [${engine}] load: GET /healthz, same client (${HEALTHZ_WARMUP_S} s warm-up + ${HEALTHZ_S} s) …`);
    const healthz = await healthzLoad(server);
    log(`  [${engine}] load: GET /healthz, autocannon (${HEALTHZ_WARMUP_S} s warm-up + ${HEALTHZ_S} s) …`);
    const healthzAc = await healthzAutocannon(server.port);
    log(
      `  [${engine}] load: completions replayed by Idempotency-Key (${HEALTHZ_WARMUP_S} s warm-up + ${HEALTHZ_S} s) …`,
    );
    const replay = await replayLoad(server, tills);
    log(`  [${engine}] the floor: signatures and syncs on this machine …`);
    const floor = await measureFloor(engine, dataDir, load, replay.load);

    log(`  [${engine}] verifying against the database and journal/verify …`);
    const verification = await verify(server, database, tills, [warmup, measured, replay.first]);

    const exit = await stopServer(server, { timeoutMs: STOP_TIMEOUT_MS });
    if (exit.code !== 0) throw new Error(`the server exited with ${exit.code ?? exit.signal ?? '?'} after SIGTERM`);
    return {
      engine,
      status: 'ok',
      setupMs: round(setupMs, 0),
      warmupCompleted: warmup.completedInWindow + warmup.completedAfterWindow,
      sales: load,
      healthz,
      healthzAutocannon: healthzAc,
      replay: replay.load,
      floor,
      ratio: ratioOf(load.salesPerSecond, healthzAc.requestsPerSecond),
      ratioSameClient: ratioOf(load.salesPerSecond, healthz.requestsPerSecond),
      verification,
      serverLog: serverLog([server]),
      shutdownMs: round(exit.ms, 0),
    };
  } catch (error) {
    await killServers([server]);
    return { engine, status: 'failed', reason: describe(error), serverLog: serverLog([server]) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Output

const latency = (l: LatencySummary) =>
  `p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (avg ${l.average} ms, n ${l.count})`;

const us = (value: number | null) => (value === null ? '?' : `${value} µs`);

function floorLines(f: Floor): string[] {
  const database = f.postgresUsPerSale === null ? '' : `, PostgreSQL ${us(f.postgresUsPerSale)}`;
  const machine = [f.serverUsPerSale, f.postgresUsPerSale, f.clientUsPerSale].reduce<number>((a, b) => a + (b ?? 0), 0);
  return [
    `  CPU per sale               server ${us(f.serverUsPerSale)}${database}, client ${us(f.clientUsPerSale)}; server per replayed completion ${us(f.serverUsPerReplay)}`,
    `  the floor (same run)       ECDSA P-256 signature ${f.signatureUs} µs; 4 KiB append + fdatasync p50 ${f.fsyncP50Us} µs, p99 ${f.fsyncP99Us} µs`,
    f.roundTripUs === null
      ? '                             loopback round trip: not measured'
      : `                             loopback round trip ${f.roundTripUs.wall} µs: CPU ${f.roundTripUs.sender} µs in the sender, ${f.roundTripUs.answerer} µs in the answering process`,
    `                             → 2 requests' HTTP work + 2 signatures: ${us(f.floorUsPerSale)} of the event loop per sale, at most ${f.floorSalesPerSecond ?? '?'} sales/s`,
    ...(f.sqliteWritesUs === null
      ? []
      : [
          `                             a sale's rows alone, written by SQLite in batches of ${WRITE_FLOOR_UNITS_PER_COMMIT} units: ${us(f.sqliteWritesUs)} of CPU`,
          `                             → with them: ${us(f.floorWithWritesUsPerSale)} per sale, at most ${f.floorWithWritesSalesPerSecond ?? '?'} sales/s on one event loop;`,
          `                               with the client's ${us(f.clientUsPerSale)} on all ${f.cores} cores, at most ${f.machineFloorSalesPerSecond ?? '?'} sales/s`,
        ]),
    `                             → ${f.targetSalesPerSecond} sales/s leave the event loop ${f.targetUsPerSale} µs per sale: ${us(f.leftForDatabaseUs)} for all the database work;`,
    `                               the machine's ${f.cores} cores ${f.machineUsPerSaleAtTarget} µs per sale for server, database and client (now ${machine} µs)`,
  ];
}

function printBlock(result: EngineResult): void {
  const s = result.sales;
  const v = result.verification;
  const lines = [
    `=== ${result.engine} ===`,
    `  setup                      ${REGISTERS} registers + software TSEs in ${result.setupMs} ms; warm-up completed ${result.warmupCompleted} sales`,
    `  completed sales            ${s.salesPerSecond} sales/s (${s.completedInWindow} in ${s.seconds} s, ${s.completedAfterWindow} more in the drain)`,
    `  requests                   ${s.requestsPerSecond} req/s`,
    `  start   POST …/sales       ${latency(s.start)}`,
    `  complete POST …/complete   ${latency(s.complete)}`,
    `  overall                    ${latency(s.overall)}`,
    `  non-2xx ${s.non2xx}, errors ${s.errors}, sales left open ${s.startedNotCompleted}, sockets opened ${s.socketsOpened} (of ${CONNECTIONS})`,
    ...Object.entries(s.non2xxByKind).map(([k, e]) => `    non-2xx ${k}: ${e.count}× — ${e.example}`),
    ...Object.entries(s.errorsByKind).map(([k, n]) => `    error ${k}: ${n}×`),
    `  CPU during sales           server ${percent(s.cpu.serverPercentOfCore)} of a core (event loop waited for a CPU ${percent(s.cpu.serverRunqueueWaitPercent)} of the time), client ${percent(s.cpu.clientPercentOfCore)} of a core, postgres processes ${percent(s.cpu.postgresPercentOfCore)} of a core, machine ${percent(s.cpu.machineBusyPercent)} busy`,
    `  GET /healthz (same client) ${result.healthz.requestsPerSecond} req/s, ${latency(result.healthz.latency)}, non-2xx ${result.healthz.non2xx}, errors ${result.healthz.errors}`,
    `                             CPU: server ${percent(result.healthz.cpu.serverPercentOfCore)} of a core (run-queue wait ${percent(result.healthz.cpu.serverRunqueueWaitPercent)}), client ${percent(result.healthz.cpu.clientPercentOfCore)}, machine ${percent(result.healthz.cpu.machineBusyPercent)}`,
    `  GET /healthz (autocannon)  ${result.healthzAutocannon.requestsPerSecond} req/s, p50 ${result.healthzAutocannon.latency.p50} ms, p99 ${result.healthzAutocannon.latency.p99} ms, non-2xx ${result.healthzAutocannon.non2xx}, errors ${result.healthzAutocannon.errors}`,
    `  replayed completions       ${result.replay.requestsPerSecond} req/s, ${latency(result.replay.latency)}, non-2xx ${result.replay.non2xx}, errors ${result.replay.errors}`,
    `                             CPU: server ${percent(result.replay.cpu.serverPercentOfCore)} of a core (run-queue wait ${percent(result.replay.cpu.serverRunqueueWaitPercent)}), client ${percent(result.replay.cpu.clientPercentOfCore)}, machine ${percent(result.replay.cpu.machineBusyPercent)}`,
    `                             → without its fiscal work a sale would cost two such requests: at most ${result.replay.salesCeiling} sales/s`,
    ...floorLines(result.floor),
    `  ratio (2 × sales/s) / healthz req/s   ${result.ratio} against autocannon's /healthz, ${result.ratioSameClient} against the same client's`,
    `  verification               ${v.ok ? 'OK' : 'FAILED'}: completed sales client ${v.completedSalesClient} / stored ${v.completedSalesStored}, open ${v.openSalesStored}, ` +
      `operations ${v.operationsStored}, journal entries ${v.journalEntries}, journal/verify valid ${v.registersJournalValid}/${v.registers}`,
    ...v.problems.map((p) => `    ! ${p}`),
    `  graceful shutdown          ${result.shutdownMs} ms`,
  ];
  log(lines.join('\n'));
  printServerLog(result.serverLog);
}

function printSummary(results: readonly (EngineResult | EngineSkipped)[]): void {
  const header = [
    'engine',
    'sales/s',
    'req/s',
    'start p50',
    'p99',
    'compl p50',
    'p99',
    'all p50',
    'p99',
    'non2xx',
    'err',
    'hz ac/s',
    'ratio',
    'hz same/s',
    'ratio same',
    'replay/s',
    'floor/s',
    '+rows/s',
    'srv cpu%',
    'rq wait%',
    'box busy%',
    'verified',
  ];
  const rows = results.map((r) =>
    r.status === 'ok'
      ? [
          r.engine,
          r.sales.salesPerSecond,
          r.sales.requestsPerSecond,
          r.sales.start.p50,
          r.sales.start.p99,
          r.sales.complete.p50,
          r.sales.complete.p99,
          r.sales.overall.p50,
          r.sales.overall.p99,
          r.sales.non2xx,
          r.sales.errors,
          r.healthzAutocannon.requestsPerSecond,
          r.ratio,
          r.healthz.requestsPerSecond,
          r.ratioSameClient,
          r.replay.requestsPerSecond,
          r.floor.floorSalesPerSecond ?? '?',
          r.floor.floorWithWritesSalesPerSecond ?? '-',
          r.sales.cpu.serverPercentOfCore ?? '?',
          r.sales.cpu.serverRunqueueWaitPercent ?? '?',
          r.sales.cpu.machineBusyPercent ?? '?',
          r.verification.ok ? 'yes' : 'NO',
        ].map(String)
      : [r.engine, `${r.status}: ${r.reason.split('\n')[0] ?? ''}`],
  );
  log(`\n=== sales summary (${REGISTERS} registers × ${PER_REGISTER} connections, ${SALES_S} s, latency in ms) ===`);
  log(table(header, rows));
}

function writeJson(results: readonly (EngineResult | EngineSkipped)[]): string {
  return writeResults('sales.json', {
    settings: {
      sales_s: SALES_S,
      warmup_s: WARMUP_S,
      healthz_s: HEALTHZ_S,
      registers: REGISTERS,
      connections_per_register: PER_REGISTER,
      connections: CONNECTIONS,
      db_pool_size: POOL_SIZE ?? 'server default',
      idempotency_keys: WITH_KEYS,
    },
    results,
  });
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  log(
    `OpenFiskal sales bench: ${REGISTERS} DE registers × ${PER_REGISTER} keep-alive connections, ` +
      `${WARMUP_S} s warm-up + ${SALES_S} s, ${WITH_KEYS ? 'an Idempotency-Key on every sale request' : 'no Idempotency-Keys'}, node ${process.version}`,
  );
  const results = await benchEngines(BENCH_ENGINES, benchEngine, printBlock);
  printSummary(results);
  if (results.some((r) => r.status === 'skipped')) {
    log('note: PostgreSQL was skipped (unreachable), so only SQLite was measured.');
  }
  log(`\nwritten to ${writeJson(results)}`);
  return results.some((r) => r.status === 'failed' || (r.status === 'ok' && !r.verification.ok)) ? 1 : 0;
}

runBench(main, { timeoutMs: GLOBAL_TIMEOUT_MS, graceMs: 5_000 });
