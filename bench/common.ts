/**
 * What the benches (register-read, sales, closings) share: settings read from the environment, the run of a bench
 * (SIGINT/SIGTERM and a hard time limit abort it; temporary directories and PostgreSQL schemas are cleaned up on any
 * way out), the loop over the engines, setup requests over HTTP and the provisioning of a tenant and of German
 * registers with a software TSE, the database of one engine (a SQLite file in a temporary directory, or a fresh
 * PostgreSQL schema via `search_path`), the machine's CPU from `/proc`, the server's log, formatting, and the
 * results file under bench/results. autocannon runs are in bench/autocannon.ts.
 *
 * Importing this module has no side effects: the closings bench also loads it in its seeding thread and its export
 * process (so it does not load autocannon, which would add to the export's RSS baseline). Spawning, polling /healthz
 * and stopping the server are the helpers of the process tests (test/helpers/process.ts).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT, SERVER_ENTRY, httpCall, killAllChildren, type ServerProcess } from '../test/helpers/process.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

export type EngineName = 'sqlite' | 'postgres';

/** The engines BENCH_ENGINES names (`sqlite,postgres` by default, or one of them). */
export const BENCH_ENGINES: readonly EngineName[] = (process.env.BENCH_ENGINES ?? 'sqlite,postgres')
  .split(',')
  .map((name) => name.trim())
  .filter((name): name is EngineName => name === 'sqlite' || name === 'postgres');

/** Debian's PostgreSQL socket: on one machine it costs less per round trip than TCP on 127.0.0.1 (docs/performance.md). */
const POSTGRES_SOCKET_DIR = '/var/run/postgresql';
const DEFAULT_POSTGRES_URL = existsSync(join(POSTGRES_SOCKET_DIR, '.s.PGSQL.5432'))
  ? `postgres://postgres@${encodeURIComponent(POSTGRES_SOCKET_DIR)}/test`
  : 'postgres://postgres@127.0.0.1:5432/test';
/** BENCH_DATABASE_URL: the PostgreSQL server the benches work on, each run in a schema of its own. */
const POSTGRES_BASE_URL = process.env.BENCH_DATABASE_URL ?? DEFAULT_POSTGRES_URL;
const RESULTS_DIR = join(ROOT, 'bench', 'results');
/** The line a server on an empty database prints its setup token on. */
const SETUP_TOKEN_LINE = /^Setup token: (ofk_setup_test_\S+)$/;

/**
 * The first of `names` set in the environment, as a whole number ≥ `minimum` (`_` may group its digits), or
 * `fallback` when none is set; anything else ends the process with exit code 2.
 */
export function positiveInteger(names: readonly string[], fallback: number, minimum = 1): number {
  for (const name of names) {
    const raw = process.env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isSafeInteger(value) || value < minimum) {
      const expected = minimum === 1 ? 'a positive whole number' : `a whole number ≥ ${minimum}`;
      process.stderr.write(`${name}=${JSON.stringify(raw)} must be ${expected}\n`);
      process.exit(2);
    }
    return value;
  }
  return fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

// ---------------------------------------------------------------------------------------------------------------
// The run: cleanups (temporary directories, PostgreSQL schemas) run on any way out; the process helpers track every
// spawned child (servers, the closings bench's export process) and kill it when this process exits.

const cleanups: (() => Promise<void>)[] = [];

async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => process.stderr.write(`cleanup failed: ${describe(error)}\n`));
  }
}

/** A fresh temporary directory, `<tmpdir>/<prefix>XXXXXX`, removed by the cleanups. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  });
  return dir;
}

/**
 * Runs a bench's `main` as this process and exits with the code it returns. It fails at once (exit 1) when the
 * server is not built. SIGINT/SIGTERM (exit 130), a throw (exit 1) and `timeoutMs` of running (exit 1) abort the
 * run: every spawned child is killed, then the cleanups run for at most `graceMs`.
 */
export function runBench(
  main: () => Promise<number>,
  { timeoutMs, graceMs }: { timeoutMs: number; graceMs: number },
): void {
  const abort = async (reason: string, code: number): Promise<never> => {
    process.stderr.write(`\n${reason}\n`);
    killAllChildren();
    await Promise.race([runCleanups(), sleep(graceMs)]);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void abort(`bench interrupted by ${signal}`, 130));
  }
  setTimeout(() => void abort(`bench aborted: still running after ${timeoutMs / 1000} s`, 1), timeoutMs).unref();
  if (!existsSync(SERVER_ENTRY)) {
    process.stderr.write(`${SERVER_ENTRY} does not exist: run npm run build first (npm run bench does)\n`);
    process.exit(1);
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) =>
      void abort(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 1),
  );
}

/** An engine that was not measured: PostgreSQL unreachable, or the run failed (with the server's log, if any). */
export interface EngineSkipped {
  readonly engine: EngineName;
  readonly status: 'skipped' | 'failed';
  readonly reason: string;
  readonly serverLog?: readonly string[];
}

/**
 * Benches the engines one after the other and prints each one's block, or why it was skipped or failed (with the
 * server's log); after each, kills what it spawned and runs the cleanups. A throw counts as a failure, with
 * `reason(error)` in the results.
 */
export async function benchEngines<R extends { readonly engine: EngineName; readonly status: 'ok' }>(
  engines: readonly EngineName[],
  bench: (engine: EngineName) => Promise<R | EngineSkipped>,
  printBlock: (result: R) => void,
  reason: (error: unknown) => string = describe,
): Promise<(R | EngineSkipped)[]> {
  const results: (R | EngineSkipped)[] = [];
  for (const engine of engines) {
    try {
      const result = await bench(engine);
      results.push(result);
      if (!isSkipped(result)) printBlock(result);
      else {
        log(`=== ${engine} ===\n  ${result.status === 'skipped' ? 'skipped' : 'FAILED'}: ${result.reason}`);
        printServerLog(result.serverLog ?? []);
      }
    } catch (error) {
      results.push({ engine, status: 'failed', reason: reason(error) });
      log(`=== ${engine} ===\n  FAILED: ${describe(error)}`);
    } finally {
      killAllChildren();
      await runCleanups();
    }
  }
  return results;
}

function isSkipped(result: { readonly status: string }): result is EngineSkipped {
  return result.status !== 'ok';
}

// ---------------------------------------------------------------------------------------------------------------
// Setup over HTTP

/** Sends one request (its own connection) and returns the parsed body, failing unless the status is `expected`. */
export async function call(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  expected: number,
  options: { json?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const response = await httpCall(port, method, path, { timeoutMs: 30_000, ...options });
  if (response.status !== expected) {
    throw new Error(
      `${method} ${path} answered ${response.status} (expected ${expected}): ${response.text.slice(0, 400)}`,
    );
  }
  if (!isRecord(response.body)) throw new Error(`${method} ${path} did not answer a JSON object`);
  return response.body;
}

export function stringField(body: Record<string, unknown>, field: string, what: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new Error(`${what} has no ${field}: ${JSON.stringify(body)}`);
  return value;
}

/** The authorization header of an API key (a platform's or a register's). */
export const bearer = ({ key }: { readonly key: string }) => ({ authorization: `Bearer ${key}` });

/** The setup token a server on an empty database printed (waiting up to `waitMs` for the line), or ''. */
export async function setupToken(server: ServerProcess, waitMs: number): Promise<string> {
  return SETUP_TOKEN_LINE.exec(await server.waitForLine(SETUP_TOKEN_LINE, waitMs))?.[1] ?? '';
}

export const GERMAN_ADDRESS = { line1: 'Hauptstraße 1', city: 'Berlin', postal_code: '10115', country: 'DE' };
/** A German organization with the tax number and VAT id a German register's TSE and receipts need. */
export const GERMAN_ORGANIZATION = {
  legal_name: 'Bench Bäckerei GmbH',
  country: 'DE',
  fiscal_identity: { tax_number: '21/815/08150', vat_id: 'DE143454214' },
  address: GERMAN_ADDRESS,
};

export interface Tenant {
  readonly organizationId: string;
  readonly locationId: string;
  /** The platform key's authorization and the organization header. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Bootstraps the platform with the setup token, then creates `organization` with one location, `location`. */
export async function createTenant(
  port: number,
  token: string,
  organization: Record<string, unknown>,
  location: Record<string, unknown>,
): Promise<Tenant> {
  const key = stringField(
    await call(port, 'POST', '/v1/auth/bootstrap', 201, { json: { setup_token: token } }),
    'api_key',
    'bootstrap',
  );
  const auth = bearer({ key });
  const organizationId = stringField(
    await call(port, 'POST', '/v1/organizations', 201, { json: organization, headers: auth }),
    'id',
    'organization',
  );
  const headers = { ...auth, 'openfiskal-organization': organizationId };
  const locationId = stringField(
    await call(port, 'POST', `/v1/organizations/${organizationId}/locations`, 201, { json: location, headers }),
    'id',
    'location',
  );
  return { organizationId, locationId, headers };
}

export interface GermanRegister {
  readonly registerId: string;
  readonly serialNumber: string;
  /** The register's own API key. */
  readonly key: string;
}

/** A German register in the tenant's location, with an active software TSE (its fiscal unit) and its own key. */
export async function createGermanRegister(port: number, tenant: Tenant, label: string): Promise<GermanRegister> {
  const register = await call(port, 'POST', `/v1/locations/${tenant.locationId}/registers`, 201, {
    json: { label, jurisdiction: 'DE' },
    headers: tenant.headers,
  });
  const registerId = stringField(register, 'id', 'register');
  const provisioned = await call(port, 'POST', `/v1/registers/${registerId}/fiscal-units`, 201, {
    json: { issue_register_credential: true },
    headers: tenant.headers,
  });
  return {
    registerId,
    serialNumber: stringField(register, 'serial_number', 'register'),
    key: stringField(provisioned, 'register_api_key', 'fiscal unit provisioning'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The database and the server of one engine

/** The server's SQLite database in its data directory. */
export const sqlitePath = (dataDir: string) => join(dataDir, 'openfiskal.db');

function withSearchPath(url: string, schema: string): string {
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/**
 * Creates a fresh schema `<prefix><12 hex digits>` on BENCH_DATABASE_URL, dropped by the cleanups; returns the URL
 * that works in it (via `search_path`), or why PostgreSQL is skipped (unreachable).
 */
export async function postgresSchema(prefix: string): Promise<{ url: string } | { skip: string }> {
  const schema = `${prefix}${randomBytes(6).toString('hex')}`;
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
  return { url: withSearchPath(POSTGRES_BASE_URL, schema) };
}

/** The server's environment: its database and data directory, no rate limit, logs at warn and above; and `extra`. */
export function serverEnv(
  databaseUrl: string,
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    OPENFISKAL_DATA_DIR: dataDir,
    OPENFISKAL_RATE_LIMIT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Kills the servers still running (after a failure) and waits for their exit. */
export async function killServers(servers: readonly ServerProcess[]): Promise<void> {
  for (const server of servers) {
    if (server.exit() === null) server.child.kill('SIGKILL');
    await server.exited;
  }
}

/** The servers' log lines at warn or above (pino levels ≥ 40), and anything on their stderr. */
export function serverLog(servers: readonly ServerProcess[]): string[] {
  return servers.flatMap((server) => {
    const lines = server.stdout.filter((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return isRecord(parsed) && typeof parsed.level === 'number' && parsed.level >= 40;
      } catch {
        return false;
      }
    });
    return [...lines, ...server.stderr.map((line) => `stderr| ${line}`)];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// CPU

/** Busy and total jiffies of all cores. */
export interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

/** The machine's jiffies so far (/proc/stat; null elsewhere). */
export function machineTicks(): MachineTicks | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = first.trim().split(/\s+/).slice(1).map(Number);
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Percent of all cores busy between two marks (anything on the machine: the bench, the server, PostgreSQL, other
 * processes), or null. Other load on the machine slows every figure; this says how much there was.
 */
export function busyPercent(from: MachineTicks | null, to: MachineTicks | null): number | null {
  if (from === null || to === null || to.total === from.total) return null;
  return round(((to.busy - from.busy) / (to.total - from.total)) * 100, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export const percent = (value: number | null) => (value === null ? '?' : `${value} %`);

/** The server's log lines, the first 20 of them, each cut at 400 characters. */
export function printServerLog(lines: readonly string[]): void {
  if (lines.length === 0) return;
  log(`  server log (warn and above, stderr): ${lines.length} line(s)${lines.length > 20 ? ', first 20:' : ':'}`);
  for (const line of lines.slice(0, 20)) log(`    ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
}

/**
 * A summary table: the header and the rows with right-aligned columns; a row with another number of cells (a
 * skipped engine's) is joined as it is and does not widen the columns.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((row) => row.length > 2).map((row) => (row[i] ?? '').length)),
  );
  const format = (row: readonly string[]) =>
    row.length === header.length ? row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ') : row.join('  ');
  return `${format(header)}\n${rows.map(format).join('\n')}`;
}

/**
 * Writes `bench/results/<fileName>` (a folder git ignores): `generated_at`, `node`, then `fields`; returns its path.
 */
export function writeResults(fileName: string, fields: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const gitignore = join(RESULTS_DIR, '.gitignore');
  if (!existsSync(gitignore)) writeFileSync(gitignore, '*\n!.gitignore\n');
  const path = join(RESULTS_DIR, fileName);
  const document = { generated_at: new Date().toISOString(), node: process.version, ...fields };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}
