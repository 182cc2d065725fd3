/**
 * Crash safety of the compiled server, part 1: provisioning German registers through the API, the tills of a
 * signing load (every request and its answer, or the lack of one, recorded in a ledger), and killing the server.
 * The checks are in crash-verify.ts, the whole kill-and-restart campaign in crash-campaign.ts; test/crash-safety.test.ts
 * runs a few kills per engine, `npm run soak` (scripts/soak.ts) many.
 *
 * tsc compiles these files to dist/test/helpers/ for the soak script, so they must not import vitest: every check
 * returns the problems it found as sentences, and the callers assert that there are none.
 * @module
 */
import { Agent, request as httpRequest } from 'node:http';
import pg from 'pg';
import type { DatabaseLocation } from '../../src/config/config.js';
import { httpCall, type Exit, type ServerProcess } from './process.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const SETUP_TOKEN_LINE = /^Setup token: (ofk_setup_test_\S+)$/;
export const REQUEST_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Small readers of untyped JSON (response bodies, stored documents)

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` inside nested objects, or undefined. */
export function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

export const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
export const integer = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) ? value : typeof value === 'bigint' ? Number(value) : null;

export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** A deterministic PRNG (mulberry32): the same seed gives the same tills' choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Provisioning through the API

export interface CrashRegister {
  readonly id: string;
  /** The register's own key (`ofk_reg_…`), issued at provisioning. */
  readonly key: string;
  readonly fiscalUnitId: string;
  readonly clientId: string;
  /** Base64 of the uncompressed P-256 point, as the API publishes it. */
  readonly publicKey: string;
}

export interface CrashFixture {
  readonly platformKey: string;
  readonly organizationId: string;
  readonly locationId: string;
  readonly registers: readonly CrashRegister[];
}

async function expectJson(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  expected: number,
  options: { json?: unknown; headers?: Record<string, string> } = {},
): Promise<unknown> {
  const response = await httpCall(port, method, path, { timeoutMs: 30_000, ...options });
  if (response.status !== expected) {
    throw new Error(`${method} ${path} answered ${response.status}, expected ${expected}: ${response.text}`);
  }
  return response.body;
}

function required(value: string | null, what: string): string {
  if (value === null || value === '') throw new Error(`no ${what}`);
  return value;
}

/**
 * On a fresh server: the platform (with the setup token it printed), a German organization with its fiscal
 * identity, one location, and `registers` German registers, each with a software TSE and its own key.
 */
export async function provisionCrashFixture(server: ServerProcess, registers: number): Promise<CrashFixture> {
  const token = SETUP_TOKEN_LINE.exec(await server.waitForLine(SETUP_TOKEN_LINE, 10_000))?.[1] ?? '';
  const port = server.port;
  const bootstrap = await expectJson(port, 'POST', '/v1/auth/bootstrap', 201, { json: { setup_token: token } });
  const platformKey = required(text(at(bootstrap, 'api_key')), 'platform key');
  const auth = { authorization: `Bearer ${platformKey}` };
  const organization = await expectJson(port, 'POST', '/v1/organizations', 201, {
    headers: auth,
    json: {
      legal_name: 'Absturz & Wiederanlauf Bäckerei GmbH',
      country: 'DE',
      fiscal_identity: { tax_number: '21/815/08150', vat_id: 'DE143454214' },
      address: { line1: 'Hauptstraße 1', city: 'Berlin', postal_code: '10115', country: 'DE' },
    },
  });
  const organizationId = required(text(at(organization, 'id')), 'organization id');
  const headers = { ...auth, 'openfiskal-organization': organizationId };
  const location = await expectJson(port, 'POST', `/v1/organizations/${organizationId}/locations`, 201, {
    headers,
    json: { name: 'Filiale Mitte' },
  });
  const locationId = required(text(at(location, 'id')), 'location id');
  const created: CrashRegister[] = [];
  for (let i = 1; i <= registers; i++) {
    const register = await expectJson(port, 'POST', `/v1/locations/${locationId}/registers`, 201, {
      headers,
      json: { label: `Kasse ${i}`, jurisdiction: 'DE' },
    });
    const registerId = required(text(at(register, 'id')), 'register id');
    const provisioned = await expectJson(port, 'POST', `/v1/registers/${registerId}/fiscal-units`, 201, {
      headers,
      json: { issue_register_credential: true },
    });
    created.push({
      id: registerId,
      key: required(text(at(provisioned, 'register_api_key')), 'register key'),
      fiscalUnitId: required(text(at(provisioned, 'fiscal_unit', 'id')), 'fiscal unit id'),
      clientId: required(text(at(provisioned, 'fiscal_unit', 'fiscal_registration', 'client_id')), 'client id'),
      publicKey: required(text(at(provisioned, 'fiscal_unit', 'fiscal_registration', 'public_key')), 'public key'),
    });
  }
  return { platformKey, organizationId, locationId, registers: created };
}

// ---------------------------------------------------------------------------------------------------------------
// What the clients were told

export type AttemptKind = 'start' | 'complete' | 'cancel' | 'void' | 'cash_movement';

/** The fields of an answered operation the checks compare. */
export interface SeenOperation {
  readonly id: string;
  readonly state: string;
  readonly sequenceNumber: number | null;
  readonly transactionNumber: number | null;
  readonly startSignature: string | null;
  readonly endSignature: string | null;
  readonly totalGross: number;
}

export function seenOperation(body: unknown): SeenOperation | null {
  if (at(body, 'object') !== 'operation') return null;
  const id = text(at(body, 'id'));
  if (id === null) return null;
  return {
    id,
    state: text(at(body, 'state')) ?? '',
    sequenceNumber: integer(at(body, 'sequence_number')),
    transactionNumber: integer(at(body, 'fiscal', 'transaction_number')),
    startSignature: text(at(body, 'fiscal', 'start_event', 'signature')),
    endSignature: text(at(body, 'fiscal', 'end_event', 'signature')),
    totalGross: integer(at(body, 'data', 'totals', 'total_gross')) ?? 0,
  };
}

export type AttemptResult =
  | {
      readonly answered: true;
      readonly status: number;
      readonly operation: SeenOperation | null;
      readonly text: string;
    }
  | { readonly answered: false; readonly error: string };

/** One request a till sent, and what it got: an answer, or nothing (the server died under it). */
export interface Attempt {
  readonly kind: AttemptKind;
  readonly registerId: string;
  readonly path: string;
  readonly body: unknown;
  readonly idempotencyKey: string;
  /** The till's own reference (starts, voids, cash movements): how an unanswered request is found afterwards. */
  readonly externalId: string | null;
  /** The operation a complete or cancel acted on; a void's original. */
  readonly targetId: string | null;
  /** Which life of the server it was sent to (0 = first start). */
  readonly life: number;
  /** True when the harness had already decided to kill the server: a lost answer is then expected. */
  killPending: boolean;
  result: AttemptResult | null;
}

/** Every attempt of every till, in the order they were sent. */
export class CrashLedger {
  readonly attempts: Attempt[] = [];

  /** The attempts of one kind answered with `status`. */
  answered(kind: AttemptKind, status: number): Attempt[] {
    return this.attempts.filter((a) => a.kind === kind && a.result?.answered === true && a.result.status === status);
  }

  /** The attempts that got no answer. */
  lost(): Attempt[] {
    return this.attempts.filter((a) => a.result !== null && !a.result.answered);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The load: tills on keep-alive connections, each sending one request at a time

/** One till: a keep-alive connection of its own, like a POS terminal. */
class Till {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly port: number,
    private readonly key: string,
  ) {}

  send(path: string, body: unknown, idempotencyKey: string): Promise<{ status: number; text: string }> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.key}`,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
            'idempotency-key': idempotencyKey,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`timed out after ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadOptions {
  readonly clientsPerRegister: number;
  readonly seed: number;
  /** Which life of the server this load runs against (recorded with each attempt). */
  readonly life: number;
  /** False for long runs: only counters are kept, not every attempt (memory stays flat). */
  readonly record?: boolean;
  /** Share of sales a till starts and leaves open (default 0.03); long runs use 0, or the open limit is reached. */
  readonly abandonRate?: number;
}

export interface LoadCounters {
  completedSales: number;
  requests: number;
  /** ms from the start of the load to its first answer (null before one). */
  firstAnswerMs: number | null;
  /** Answers other than the expected 2xx, and requests lost while the server was meant to be up. */
  errors: number;
  readonly errorSamples: string[];
}

export interface RunningLoad {
  readonly counters: LoadCounters;
  /** The harness is about to kill the server: answers lost from now on are expected. */
  markKillPending(): void;
  /** Tills finish their current request and send no more. */
  stop(): void;
  /** Resolves once `sales` sales of this load were completed, or after `timeoutMs` (false then). */
  completed(sales: number, timeoutMs: number): Promise<boolean>;
  /** Resolves when every till has stopped. */
  readonly done: Promise<void>;
}

const LINE_CHOICES = [
  { description: 'Brötchen', unit_price_gross: 45, rate: '0.07', category: 'reduced' },
  { description: 'Kaffee', unit_price_gross: 250, rate: '0.19', category: 'standard' },
  { description: 'Croissant', unit_price_gross: 135, rate: '0.07', category: 'reduced' },
  { description: 'Orangensaft', unit_price_gross: 320, rate: '0.19', category: 'standard' },
] as const;

/**
 * Starts `clientsPerRegister` tills per register. Each repeats, with its own seeded choices: a sale (start, then
 * mostly complete in cash, sometimes cancel, rarely leave open), now and then a cash movement, or a void of one of
 * its own completed sales. A till stops at its first lost answer (its server is gone) or when told to.
 */
export function startLoad(port: number, fixture: CrashFixture, ledger: CrashLedger, options: LoadOptions): RunningLoad {
  const record = options.record ?? true;
  const abandonRate = options.abandonRate ?? 0.03;
  const counters: LoadCounters = { completedSales: 0, requests: 0, firstAnswerMs: null, errors: 0, errorSamples: [] };
  const startedAt = performance.now();
  let stopped = false;
  let killPending = false;
  const tills: Till[] = [];
  const noteError = (line: string) => {
    counters.errors += 1;
    if (counters.errorSamples.length < 20) counters.errorSamples.push(line.slice(0, 500));
  };

  const runTill = async (register: CrashRegister, index: number): Promise<void> => {
    const random = seededRandom(options.seed + index * 7919);
    const till = new Till(port, register.key);
    tills.push(till);
    const tag = `${options.seed.toString(36)}-${options.life}-${index}`;
    let counter = 0;
    const completedByMe: string[] = [];

    /** Sends one request; returns the answer, or null when none came (and the till must stop). */
    const attempt = async (
      kind: AttemptKind,
      path: string,
      body: unknown,
      ids: { externalId?: string; targetId?: string },
    ): Promise<{ status: number; operation: SeenOperation | null; text: string } | null> => {
      counter += 1;
      const entry: Attempt = {
        kind,
        registerId: register.id,
        path,
        body,
        idempotencyKey: `crash-${tag}-${counter}`,
        externalId: ids.externalId ?? null,
        targetId: ids.targetId ?? null,
        life: options.life,
        killPending,
        result: null,
      };
      if (record) ledger.attempts.push(entry);
      counters.requests += 1;
      try {
        const response = await till.send(path, body, entry.idempotencyKey);
        counters.firstAnswerMs ??= Math.round(performance.now() - startedAt);
        const operation = seenOperation(parseJson(response.text));
        entry.result = { answered: true, status: response.status, operation, text: response.text };
        return { status: response.status, operation, text: response.text };
      } catch (error) {
        entry.killPending = killPending;
        entry.result = { answered: false, error: error instanceof Error ? error.message : String(error) };
        if (!killPending) noteError(`${kind} ${path}: no answer while the server was up: ${entry.result.error}`);
        return null;
      }
    };
    const expectStatus = (
      kind: AttemptKind,
      answer: { status: number; operation: SeenOperation | null; text: string },
      status: number,
    ): SeenOperation | null => {
      if (answer.status === status && answer.operation !== null) return answer.operation;
      noteError(
        `${kind} on ${register.id} answered ${answer.status} (expected ${status}): ${answer.text.slice(0, 300)}`,
      );
      return null;
    };

    while (!stopped) {
      const roll = random();
      if (roll < 0.06 && completedByMe.length > 0) {
        const original = completedByMe.shift() ?? '';
        const externalId = `void-${tag}-${counter + 1}`;
        const answer = await attempt(
          'void',
          `/v1/registers/${register.id}/voids`,
          { original_operation_id: original, reason: 'Falsch gebucht', external_id: externalId },
          { externalId, targetId: original },
        );
        if (answer === null) return;
        expectStatus('void', answer, 201);
        continue;
      }
      if (roll < 0.12) {
        const externalId = `cash-${tag}-${counter + 1}`;
        const answer = await attempt(
          'cash_movement',
          `/v1/registers/${register.id}/cash-movements`,
          { direction: 'in', kind: 'pay_in', amount: 100 + Math.floor(random() * 4900), external_id: externalId },
          { externalId },
        );
        if (answer === null) return;
        expectStatus('cash_movement', answer, 201);
        continue;
      }
      const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
        const choice = LINE_CHOICES[Math.floor(random() * LINE_CHOICES.length)] ?? LINE_CHOICES[0];
        return {
          description: choice.description,
          quantity: 1 + Math.floor(random() * 3),
          unit_price_gross: choice.unit_price_gross,
          tax: { rate: choice.rate, category: choice.category },
        };
      });
      const externalId = `sale-${tag}-${counter + 1}`;
      const started = await attempt(
        'start',
        `/v1/registers/${register.id}/sales`,
        { external_id: externalId, line_items: lines },
        { externalId },
      );
      if (started === null) return;
      const sale = expectStatus('start', started, 201);
      if (sale === null) continue;
      const fate = random();
      if (fate < abandonRate) continue; // left open, like a till that lost power
      if (fate < abandonRate + 0.09) {
        const cancelled = await attempt(
          'cancel',
          `/v1/sales/${sale.id}/cancel`,
          { reason: 'Kunde gegangen' },
          { targetId: sale.id },
        );
        if (cancelled === null) return;
        expectStatus('cancel', cancelled, 200);
        continue;
      }
      const completed = await attempt(
        'complete',
        `/v1/sales/${sale.id}/complete`,
        { payments: [{ method: 'cash', direction: 'inbound', amount: sale.totalGross }] },
        { targetId: sale.id },
      );
      if (completed === null) return;
      if (expectStatus('complete', completed, 200) !== null) {
        counters.completedSales += 1;
        completedByMe.push(sale.id);
        if (completedByMe.length > 50) completedByMe.shift();
      }
    }
  };

  const runs: Promise<void>[] = [];
  fixture.registers.forEach((register, r) => {
    for (let c = 0; c < options.clientsPerRegister; c++) {
      runs.push(runTill(register, r * options.clientsPerRegister + c));
    }
  });
  const done = Promise.all(runs).then(() => {
    for (const till of tills) till.close();
  });
  return {
    counters,
    markKillPending: () => {
      killPending = true;
    },
    stop: () => {
      stopped = true;
    },
    completed: async (sales, timeoutMs) => {
      const deadline = performance.now() + timeoutMs;
      while (counters.completedSales < sales) {
        if (performance.now() > deadline) return false;
        await sleep(5);
      }
      return true;
    },
    done,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Killing and restarting

/** DATABASE_URL with an application_name, so the dead server's PostgreSQL backends can be waited for. */
export function tagDatabaseUrl(url: string, applicationName: string): string {
  if (!url.startsWith('postgres')) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  return parsed.toString();
}

/**
 * After a SIGKILL, PostgreSQL backends of the dead server may still be finishing a COMMIT the server had sent: wait
 * until none of them is left, so what the checks read is final. Nothing to wait for on SQLite (the process held
 * the file; WAL recovery happens at the next open).
 */
export async function waitForDeadBackends(
  location: DatabaseLocation,
  applicationName: string,
  timeoutMs = 15_000,
): Promise<void> {
  if (location.kind !== 'postgres') return;
  const client = new pg.Client({ connectionString: location.url });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await client.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      if ((result.rows[0]?.n ?? 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`PostgreSQL backends of ${applicationName} still alive`);
      await sleep(20);
    }
  } finally {
    await client.end();
  }
}

/** SIGKILL, and the exit. */
export async function killServer(server: ServerProcess): Promise<Exit> {
  server.child.kill('SIGKILL');
  return server.exited;
}

/** The authorization header of a register's own key. */
export const registerAuth = (register: CrashRegister) => ({ authorization: `Bearer ${register.key}` });
