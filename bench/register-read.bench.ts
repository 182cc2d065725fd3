/**
 * Benchmark of the compiled server as an operator runs it (`node dist/src/main.js`), on SQLite and on PostgreSQL:
 * cold start on an empty database, graceful shutdown, start-up on an existing database (target < 1 s), and the
 * throughput and latency of an authenticated `GET /v1/registers/{id}` against `GET /healthz` as the ceiling.
 *
 * Run with `npm run bench` (builds first). Environment:
 * - BENCH_DURATION: seconds of each measured run (default 10; each run has a 2 s warm-up before it);
 * - BENCH_CONNECTIONS: concurrent connections (default 32);
 * - BENCH_DATABASE_URL: PostgreSQL base URL (default postgres://postgres@127.0.0.1:5432/test).
 *
 * The summary is printed and written to bench/results/latest.json. Spawning, polling /healthz and stopping the
 * server are the helpers of the process tests (test/helpers/process.ts), so both measure the same way.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import {
  ROOT,
  SERVER_ENTRY,
  httpCall,
  killAllChildren,
  startServer,
  stopServer,
  type ServerProcess,
} from '../test/helpers/process.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const RESULTS_DIR = join(ROOT, 'bench', 'results');
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`${name}=${JSON.stringify(raw)} must be a positive whole number\n`);
    process.exit(2);
  }
  return value;
}

const DURATION_S = positiveInteger('BENCH_DURATION', 10);
const CONNECTIONS = positiveInteger('BENCH_CONNECTIONS', 32);
const WARMUP_S = 2;
const POSTGRES_BASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_POSTGRES_URL;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const SETUP_TOKEN_LINE = /^Setup token: (ofk_setup_test_\S+)$/;
/** Hard limit for the whole run, so the bench never hangs: four load runs per engine plus generous slack. */
const GLOBAL_TIMEOUT_MS = (2 * 2 * (WARMUP_S + DURATION_S) + 60) * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Cleanups (temporary directories, PostgreSQL schemas) run on any way out; the helpers track every spawned server
// and kill it when this process exits.

const cleanups: (() => Promise<void>)[] = [];

async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => process.stderr.write(`cleanup failed: ${describe(error)}\n`));
  }
}

async function abort(reason: string, code: number): Promise<never> {
  process.stderr.write(`\n${reason}\n`);
  killAllChildren();
  await Promise.race([runCleanups(), sleep(5_000)]);
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void abort(`bench interrupted by ${signal}`, 130));
}
setTimeout(
  () => void abort(`bench aborted: still running after ${GLOBAL_TIMEOUT_MS / 1000} s`, 1),
  GLOBAL_TIMEOUT_MS,
).unref();

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** POSTs JSON and returns the parsed body, failing unless the status is `expected`. */
async function postJson(
  port: number,
  path: string,
  json: unknown,
  expected: number,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await httpCall(port, 'POST', path, { json, headers });
  if (response.status !== expected) {
    throw new Error(`POST ${path} answered ${response.status} (expected ${expected}): ${response.text.slice(0, 300)}`);
  }
  const parsed = response.body;
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`POST ${path} did not answer a JSON object`);
  return parsed as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, field: string, what: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new Error(`${what} has no ${field}: ${JSON.stringify(body)}`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// The server process

/** SIGTERM, then waits for the exit (SIGKILL after the timeout); returns ms until exit, failing unless it exits 0. */
async function stop(server: ServerProcess): Promise<number> {
  const exit = await stopServer(server, { timeoutMs: STOP_TIMEOUT_MS });
  if (exit.code !== 0) {
    throw new Error(`the server exited with ${exit.code ?? exit.signal ?? '?'} after SIGTERM:\n${server.output()}`);
  }
  return exit.ms;
}

// ---------------------------------------------------------------------------------------------------------------
// Load

interface LoadResult {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP97_5Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyAverageMs: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

function runAutocannon(options: autocannon.Options, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(
      () => {
        instance.stop();
        reject(new Error(`autocannon did not finish within ${seconds + 15} s`));
      },
      (seconds + 15) * 1000,
    );
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      clearTimeout(guard);
      if (error !== null && error !== undefined) reject(error instanceof Error ? error : new Error(describe(error)));
      else resolve(result);
    });
  });
}

async function load(port: number, path: string, headers: Record<string, string>): Promise<LoadResult> {
  const base: autocannon.Options = {
    url: `http://127.0.0.1:${port}${path}`,
    method: 'GET',
    headers,
    connections: CONNECTIONS,
    timeout: 5,
  };
  await runAutocannon({ ...base, duration: WARMUP_S }, WARMUP_S);
  const result = await runAutocannon({ ...base, duration: DURATION_S }, DURATION_S);
  return {
    requestsPerSecond: round(result.requests.average, 0),
    latencyP50Ms: result.latency.p50,
    latencyP97_5Ms: result.latency.p97_5,
    latencyP99Ms: result.latency.p99,
    latencyAverageMs: round(result.latency.average, 2),
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One engine

type EngineName = 'sqlite' | 'postgres';

interface EngineResult {
  readonly engine: EngineName;
  readonly status: 'ok';
  readonly coldStartMs: number;
  readonly warmStartMs: number;
  readonly shutdownMs: number;
  readonly shutdownAfterLoadMs: number;
  readonly register: LoadResult;
  readonly healthz: LoadResult;
  readonly registerToHealthzRatio: number;
}

interface EngineSkipped {
  readonly engine: EngineName;
  readonly status: 'skipped' | 'failed';
  readonly reason: string;
}

/** Prepares the database of one engine; returns the server's DATABASE_URL or a reason to skip. */
async function prepareDatabase(engine: EngineName, dataDir: string): Promise<{ url: string } | { skip: string }> {
  if (engine === 'sqlite') return { url: `sqlite:${join(dataDir, 'openfiskal.db')}` };
  const schema = `b_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_BASE_URL, connectionTimeoutMillis: 3_000 });
  try {
    await withTimeout(admin.connect(), 5_000, 'connection timed out');
    await admin.query(`create schema ${schema}`);
  } catch (error) {
    const host = URL.canParse(POSTGRES_BASE_URL) ? new URL(POSTGRES_BASE_URL).host : 'BENCH_DATABASE_URL';
    return { skip: `PostgreSQL at ${host} is unreachable (${describe(error)})` };
  } finally {
    await admin.end().catch(() => undefined);
  }
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_BASE_URL, connectionTimeoutMillis: 3_000 });
    await client.connect();
    try {
      await client.query(`drop schema if exists ${schema} cascade`);
    } finally {
      await client.end();
    }
  });
  const separator = POSTGRES_BASE_URL.includes('?') ? '&' : '?';
  return { url: `${POSTGRES_BASE_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}` };
}

async function benchEngine(engine: EngineName): Promise<EngineResult | EngineSkipped> {
  const dataDir = mkdtempSync(join(tmpdir(), `openfiskal-bench-${engine}-`));
  cleanups.push(() => {
    rmSync(dataDir, { recursive: true, force: true });
    return Promise.resolve();
  });
  const database = await prepareDatabase(engine, dataDir);
  if ('skip' in database) return { engine, status: 'skipped', reason: database.skip };
  const env = {
    DATABASE_URL: database.url,
    OPENFISKAL_DATA_DIR: dataDir,
    OPENFISKAL_RATE_LIMIT: '0',
    LOG_LEVEL: 'warn',
  };

  // b. Cold start on an empty database.
  const cold = await startServer(env, { timeoutMs: START_TIMEOUT_MS });
  const setupToken = SETUP_TOKEN_LINE.exec(await cold.waitForLine(SETUP_TOKEN_LINE, 2_000))?.[1] ?? '';

  // c. Bootstrap and create the tenant.
  const port = cold.port;
  const key = stringField(
    await postJson(port, '/v1/auth/bootstrap', { setup_token: setupToken }, 201),
    'api_key',
    'bootstrap',
  );
  const auth = { authorization: `Bearer ${key}` };
  const organizationId = stringField(
    await postJson(port, '/v1/organizations', { legal_name: 'Bench GmbH', country: 'DE' }, 201, auth),
    'id',
    'organization',
  );
  const orgAuth = { ...auth, 'openfiskal-organization': organizationId };
  const locationId = stringField(
    await postJson(port, `/v1/organizations/${organizationId}/locations`, { name: 'Bench store' }, 201, orgAuth),
    'id',
    'location',
  );
  const registerId = stringField(
    await postJson(
      port,
      `/v1/locations/${locationId}/registers`,
      { label: 'Kasse 1', jurisdiction: 'DE' },
      201,
      orgAuth,
    ),
    'id',
    'register',
  );

  // d. Graceful shutdown, then start-up on the existing database.
  const shutdownMs = await stop(cold);
  const server = await startServer(env, { timeoutMs: START_TIMEOUT_MS });
  const check = await httpCall(server.port, 'GET', `/v1/registers/${registerId}`, { headers: orgAuth });
  if (check.status !== 200) throw new Error(`GET /v1/registers/${registerId} answered ${check.status}: ${check.text}`);

  // e. Load: the authenticated register read, then /healthz as the ceiling.
  process.stdout.write(`  [${engine}] load: GET /v1/registers/{id} (${WARMUP_S} s warm-up + ${DURATION_S} s) …\n`);
  const register = await load(server.port, `/v1/registers/${registerId}`, orgAuth);
  process.stdout.write(`  [${engine}] load: GET /healthz (${WARMUP_S} s warm-up + ${DURATION_S} s) …\n`);
  const healthz = await load(server.port, '/healthz', {});

  // g. Stop (measured again, after load) — the temp dir and schema are removed by the cleanups.
  const shutdownAfterLoadMs = await stop(server);
  if (server.stderr.length > 0) {
    process.stdout.write(`  [${engine}] server stderr:\n${server.stderr.map((l) => `    ${l}`).join('\n')}\n`);
  }
  return {
    engine,
    status: 'ok',
    coldStartMs: round(cold.startMs),
    warmStartMs: round(server.startMs),
    shutdownMs: round(shutdownMs),
    shutdownAfterLoadMs: round(shutdownAfterLoadMs),
    register,
    healthz,
    registerToHealthzRatio:
      healthz.requestsPerSecond === 0 ? 0 : round(register.requestsPerSecond / healthz.requestsPerSecond, 3),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Output

function printBlock(result: EngineResult): void {
  const r = result.register;
  const lines = [
    `=== ${result.engine} ===`,
    `  cold start (empty DB)      ${result.coldStartMs} ms`,
    `  warm start (existing DB)   ${result.warmStartMs} ms${result.warmStartMs < 1000 ? '' : '   (over the 1 s target!)'}`,
    `  graceful shutdown          ${result.shutdownMs} ms (after load: ${result.shutdownAfterLoadMs} ms)`,
    `  GET /v1/registers/{id}     ${r.requestsPerSecond} req/s   latency p50 ${r.latencyP50Ms} ms, p97.5 ${r.latencyP97_5Ms} ms, p99 ${r.latencyP99Ms} ms (avg ${r.latencyAverageMs} ms)`,
    `                             ${r.requests} requests, non-2xx ${r.non2xx}, errors ${r.errors} (timeouts ${r.timeouts})`,
    `  GET /healthz (ceiling)     ${result.healthz.requestsPerSecond} req/s   latency p50 ${result.healthz.latencyP50Ms} ms, p99 ${result.healthz.latencyP99Ms} ms, non-2xx ${result.healthz.non2xx}, errors ${result.healthz.errors}`,
    `  ratio register/healthz     ${result.registerToHealthzRatio}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printSummary(results: readonly (EngineResult | EngineSkipped)[]): void {
  const header = [
    'engine',
    'cold ms',
    'warm ms',
    'stop ms',
    'reg req/s',
    'p50',
    'p97.5',
    'p99',
    'non2xx',
    'err',
    'hz req/s',
    'ratio',
  ];
  const rows = results.map((r) =>
    r.status === 'ok'
      ? [
          r.engine,
          r.coldStartMs,
          r.warmStartMs,
          r.shutdownMs,
          r.register.requestsPerSecond,
          r.register.latencyP50Ms,
          r.register.latencyP97_5Ms,
          r.register.latencyP99Ms,
          r.register.non2xx,
          r.register.errors,
          r.healthz.requestsPerSecond,
          r.registerToHealthzRatio,
        ].map(String)
      : [r.engine, `${r.status}: ${r.reason}`],
  );
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((row) => row.length > 2).map((row) => (row[i] ?? '').length)),
  );
  const format = (row: readonly string[]) =>
    row.length === header.length ? row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ') : row.join('  ');
  process.stdout.write(`\n=== summary (${CONNECTIONS} connections, ${DURATION_S} s per run, latency in ms) ===\n`);
  process.stdout.write(`${format(header)}\n${rows.map(format).join('\n')}\n`);
}

function writeJson(results: readonly (EngineResult | EngineSkipped)[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const gitignore = join(RESULTS_DIR, '.gitignore');
  if (!existsSync(gitignore)) writeFileSync(gitignore, '*\n!.gitignore\n');
  const path = join(RESULTS_DIR, 'latest.json');
  const document = {
    generated_at: new Date().toISOString(),
    node: process.version,
    settings: { duration_s: DURATION_S, warmup_s: WARMUP_S, connections: CONNECTIONS },
    results,
  };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (!existsSync(SERVER_ENTRY)) {
    process.stderr.write(`${SERVER_ENTRY} does not exist: run npm run build first (npm run bench does)\n`);
    return 1;
  }
  process.stdout.write(
    `OpenFiskal bench: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, node ${process.version}\n`,
  );
  const results: (EngineResult | EngineSkipped)[] = [];
  for (const engine of ['sqlite', 'postgres'] as const) {
    try {
      const result = await benchEngine(engine);
      results.push(result);
      if (result.status === 'ok') printBlock(result);
      else process.stdout.write(`=== ${engine} ===\n  skipped: ${result.reason}\n`);
    } catch (error) {
      results.push({ engine, status: 'failed', reason: describe(error).split('\n')[0] ?? '' });
      process.stdout.write(`=== ${engine} ===\n  FAILED: ${describe(error)}\n`);
    } finally {
      killAllChildren();
      await runCleanups();
    }
  }
  printSummary(results);
  process.stdout.write(`\nwritten to ${writeJson(results)}\n`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) =>
    void abort(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 1),
);
