/**
 * Benchmark of the compiled server as an operator runs it (`node dist/src/main.js`), on SQLite and on PostgreSQL:
 * cold start on an empty database, graceful shutdown, start-up on an existing database (target < 1 s), and the
 * throughput and latency of an authenticated `GET /v1/registers/{id}` against `GET /healthz` as the ceiling.
 *
 * Run with `npm run bench` (builds first). Environment:
 * - BENCH_DURATION: seconds of each measured run (default 10; each run has a 2 s warm-up before it);
 * - BENCH_CONNECTIONS: concurrent connections (default 32);
 * - BENCH_DATABASE_URL: PostgreSQL base URL (default: the local socket, else 127.0.0.1:5432, database test).
 *
 * The summary is printed and written to bench/results/latest.json. Spawning, polling /healthz and stopping the
 * server are the helpers of the process tests (test/helpers/process.ts), so both measure the same way.
 * @module
 */
import type autocannon from 'autocannon';
import { httpCall, startServer, stopServer, type ServerProcess } from '../test/helpers/process.js';
import {
  benchEngines,
  call,
  createTenant,
  describe,
  positiveInteger,
  postgresSchema,
  round,
  runBench,
  scratchDir,
  serverEnv,
  setupToken,
  sqlitePath,
  stringField,
  table,
  writeResults,
  type EngineName,
  type EngineSkipped,
} from './common.js';
import { runAutocannon } from './autocannon.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const DURATION_S = positiveInteger(['BENCH_DURATION'], 10);
const CONNECTIONS = positiveInteger(['BENCH_CONNECTIONS'], 32);
const WARMUP_S = 2;

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
/** Hard limit for the whole run, so the bench never hangs: four load runs per engine plus generous slack. */
const GLOBAL_TIMEOUT_MS = (2 * 2 * (WARMUP_S + DURATION_S) + 60) * 1000;

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

async function benchEngine(engine: EngineName): Promise<EngineResult | EngineSkipped> {
  const dataDir = scratchDir(`openfiskal-bench-${engine}-`);
  const database = engine === 'sqlite' ? { url: `sqlite:${sqlitePath(dataDir)}` } : await postgresSchema('b_');
  if ('skip' in database) return { engine, status: 'skipped', reason: database.skip };
  const env = serverEnv(database.url, dataDir);

  // b. Cold start on an empty database.
  const cold = await startServer(env, { timeoutMs: START_TIMEOUT_MS });
  const token = await setupToken(cold, 2_000);

  // c. Bootstrap and create the tenant.
  const port = cold.port;
  const tenant = await createTenant(port, token, { legal_name: 'Bench GmbH', country: 'DE' }, { name: 'Bench store' });
  const orgAuth = tenant.headers;
  const registerId = stringField(
    await call(port, 'POST', `/v1/locations/${tenant.locationId}/registers`, 201, {
      json: { label: 'Kasse 1', jurisdiction: 'DE' },
      headers: orgAuth,
    }),
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
  process.stdout.write(`\n=== summary (${CONNECTIONS} connections, ${DURATION_S} s per run, latency in ms) ===\n`);
  process.stdout.write(`${table(header, rows)}\n`);
}

function writeJson(results: readonly (EngineResult | EngineSkipped)[]): string {
  return writeResults('latest.json', {
    settings: { duration_s: DURATION_S, warmup_s: WARMUP_S, connections: CONNECTIONS },
    results,
  });
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  process.stdout.write(
    `OpenFiskal bench: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, node ${process.version}\n`,
  );
  const results = await benchEngines(
    ['sqlite', 'postgres'],
    benchEngine,
    printBlock,
    (error) => describe(error).split('\n')[0] ?? '',
  );
  printSummary(results);
  process.stdout.write(`\nwritten to ${writeJson(results)}\n`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

runBench(main, { timeoutMs: GLOBAL_TIMEOUT_MS, graceMs: 5_000 });
