/**
 * Crash safety of the compiled server, part 3: the campaign — a load killed with SIGKILL a random moment into it,
 * the database checked, a restart on the same data, several times; then the unanswered requests retried with their
 * Idempotency-Key, what was left open completed or cancelled, and the final proof. test/crash-safety.test.ts and
 * `npm run soak` run it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { DatabaseLocation } from '../../src/config/config.js';
import {
  at,
  CrashLedger,
  killServer,
  provisionCrashFixture,
  registerAuth,
  REQUEST_TIMEOUT_MS,
  seededRandom,
  seenOperation,
  sleep,
  startLoad,
  tagDatabaseUrl,
  text,
  waitForDeadBackends,
  type AttemptKind,
  type CrashFixture,
  type LoadCounters,
  type SeenOperation,
} from './crash-load.js';
import { describeAttempt, verifyStoredState, verifyThroughApi, type DatabaseReport } from './crash-verify.js';
import { httpCall, startServer, stopServer, type Exit } from './process.js';

// ---------------------------------------------------------------------------------------------------------------
// After a restart: retries, and resolving what was left open

export interface RetryReport {
  readonly problems: string[];
  /** Lost requests whose effect had committed: the retry replayed it. */
  readonly replayed: number;
  /** Lost requests that had not taken effect: the retry ran them now. */
  readonly executed: number;
  /** Lost requests whose claim a dead server left: 409 until its lease runs out. */
  readonly inProgress: number;
}

/**
 * A till that got no answer retries with the same Idempotency-Key. What the database held before the restart
 * decides what is right: a committed effect is replayed (same operation, same signatures); otherwise the request
 * runs now, or is refused with 409 `idempotency_request_in_progress` while the dead holder's lease lasts — never a
 * second effect. Retries that ran are added to the ledger, so the later checks cover them too.
 */
export async function retryLost(
  port: number,
  fixture: CrashFixture,
  ledger: CrashLedger,
  before: DatabaseReport,
  life: number,
): Promise<RetryReport> {
  const problems: string[] = [];
  let replayed = 0;
  let executed = 0;
  let inProgress = 0;
  const registers = new Map(fixture.registers.map((register) => [register.id, register]));
  for (const attempt of ledger.lost()) {
    const register = registers.get(attempt.registerId);
    if (register === undefined) continue;
    const a = (message: string) => problems.push(`retry of ${describeAttempt(attempt)}: ${message}`);
    let committed: { id: string; endSignature: string | null } | null = null;
    if (attempt.externalId !== null) {
      const id = before.byExternalId.get(attempt.externalId)?.[0];
      const op = id === undefined ? undefined : before.operations.get(id);
      if (id !== undefined && op !== undefined) committed = { id, endSignature: op.endSignature };
    } else if (attempt.targetId !== null) {
      const op = before.operations.get(attempt.targetId);
      const done = attempt.kind === 'complete' ? 'completed' : 'cancelled';
      if (op?.state === done) committed = { id: attempt.targetId, endSignature: op.endSignature };
    }
    const response = await httpCall(port, 'POST', attempt.path, {
      headers: { ...registerAuth(register), 'idempotency-key': attempt.idempotencyKey },
      json: attempt.body,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const operation = seenOperation(response.body);
    const success = response.status === 200 || response.status === 201;
    if (committed !== null) {
      if (!success || operation?.id !== committed.id || operation.endSignature !== committed.endSignature) {
        a(`its effect had committed (${committed.id}), yet the retry answered ${response.status}: ${response.text}`);
      } else replayed += 1;
      continue;
    }
    if (response.status === 409 && at(response.body, 'code') === 'idempotency_request_in_progress') {
      inProgress += 1;
      continue;
    }
    if (!success || operation === null) {
      a(`answered ${response.status}: ${response.text.slice(0, 300)}`);
      continue;
    }
    executed += 1;
    ledger.attempts.push({
      ...attempt,
      life,
      killPending: false,
      result: { answered: true, status: response.status, operation, text: response.text },
    });
  }
  return { problems, replayed, executed, inProgress };
}

export interface ResolveReport {
  readonly problems: string[];
  readonly completed: number;
  readonly cancelled: number;
}

/** Every operation left open (by a kill or by a till) is completed or cancelled, alternately, through the API. */
export async function resolveOpen(
  port: number,
  fixture: CrashFixture,
  ledger: CrashLedger,
  life: number,
): Promise<ResolveReport> {
  const problems: string[] = [];
  let completed = 0;
  let cancelled = 0;
  for (const register of fixture.registers) {
    const open: SeenOperation[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await httpCall(port, 'GET', `/v1/registers/${register.id}/operations?state=open&limit=200${query}`, {
        headers: registerAuth(register),
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      if (page.status !== 200) {
        problems.push(`${register.id}: listing open operations answered ${page.status}: ${page.text}`);
        break;
      }
      const data = at(page.body, 'data');
      for (const item of Array.isArray(data) ? (data as unknown[]) : []) {
        const operation = seenOperation(item);
        if (operation !== null) open.push(operation);
      }
      cursor = at(page.body, 'has_more') === true ? text(at(page.body, 'next_cursor')) : null;
    } while (cursor !== null);

    for (const [index, operation] of open.entries()) {
      const complete = index % 2 === 0;
      const kind: AttemptKind = complete ? 'complete' : 'cancel';
      const path = `/v1/sales/${operation.id}/${complete ? 'complete' : 'cancel'}`;
      const body = complete
        ? { payments: [{ method: 'cash', direction: 'inbound', amount: operation.totalGross }] }
        : { reason: 'Nach Neustart abgebrochen' };
      const idempotencyKey = `resolve-${operation.id}`;
      const response = await httpCall(port, 'POST', path, {
        headers: { ...registerAuth(register), 'idempotency-key': idempotencyKey },
        json: body,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      const seen = seenOperation(response.body);
      ledger.attempts.push({
        kind,
        registerId: register.id,
        path,
        body,
        idempotencyKey,
        externalId: null,
        targetId: operation.id,
        life,
        killPending: false,
        result: { answered: true, status: response.status, operation: seen, text: response.text },
      });
      if (response.status !== 200) {
        problems.push(`${kind} of ${operation.id} after restart answered ${response.status}`);
      } else if (complete) completed += 1;
      else cancelled += 1;
    }
  }
  return { problems, completed, cancelled };
}

// ---------------------------------------------------------------------------------------------------------------
// The whole campaign: load, kill, check, restart — several times — then retries, resolution and the final proof

export interface CrashCampaignOptions {
  readonly location: DatabaseLocation;
  /** The server's environment (DATABASE_URL, OPENFISKAL_DATA_DIR, …); an application name is added here. */
  readonly env: Readonly<Record<string, string>>;
  readonly registers: number;
  readonly clientsPerRegister: number;
  readonly kills: number;
  /**
   * When each life's load is killed: once it completed `killAfterSales` sales (so that every life does work however
   * slow the machine), then after a further delay drawn uniformly from `killAfterMs` (from the seed).
   */
  readonly killAfterSales: number;
  readonly killAfterMs: readonly [number, number];
  /** How long the load runs after the last restart before it stops by itself. */
  readonly finalLoadMs: number;
  readonly seed: number;
  /** Check the database after every kill (always after the last one, and at the end). */
  readonly verifyEveryKill?: boolean;
  readonly opensslSample?: number;
  readonly log?: (line: string) => void;
}

export interface KillReport {
  readonly life: number;
  /** The drawn delay after the first `killAfterSales` sales. */
  readonly killAfterMs: number;
  /** ms from the start of the load to the kill. */
  readonly killedAtMs: number;
  /** ms from the start of the load to its first answer. */
  readonly firstAnswerMs: number | null;
  readonly exit: Exit;
  readonly requests: number;
  readonly completedSales: number;
  readonly lost: number;
  /** ms from spawning the next server to its first /healthz 200 (recovery included). */
  readonly restartMs: number;
  /** Problems of the database check right after this kill (empty when not checked). */
  readonly problems: readonly string[];
  readonly verified: boolean;
}

export interface CrashCampaignResult {
  readonly kills: readonly KillReport[];
  /** The load after the last restart (answers lost there are problems). */
  readonly finalLoad: LoadCounters;
  readonly retries: RetryReport;
  readonly resolved: ResolveReport;
  readonly apiProblems: readonly string[];
  readonly final: DatabaseReport;
  readonly finalExit: Exit;
  readonly ledger: CrashLedger;
  readonly fixture: CrashFixture;
  /** Every problem found anywhere, each prefixed with where. */
  readonly problems: readonly string[];
}

/**
 * Runs the campaign on one database: provision, then `kills` times a load that is killed with SIGKILL a random
 * moment into it (the database checked once the dead server's backends are gone), a restart on the same data; after
 * the last kill the unanswered requests are retried, a final load runs and stops by itself, whatever is open is
 * completed or cancelled, the API is checked, the server stops with SIGTERM, and the database is checked once more.
 */
export async function runCrashCampaign(options: CrashCampaignOptions): Promise<CrashCampaignResult> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed ^ 0x5eed);
  const applicationName = `ofk_crash_${randomBytes(5).toString('hex')}`;
  const env = { ...options.env, DATABASE_URL: tagDatabaseUrl(options.env.DATABASE_URL ?? '', applicationName) };
  const ledger = new CrashLedger();
  const problems: string[] = [];
  const kills: KillReport[] = [];

  let server = await startServer(env, { timeoutMs: 30_000 });
  const fixture = await provisionCrashFixture(server, options.registers);
  let lastReport: DatabaseReport | null = null;
  try {
    for (let life = 0; life < options.kills; life++) {
      const [low, high] = options.killAfterMs;
      const killAfterMs = Math.round(low + random() * (high - low));
      const loadStart = performance.now();
      const load = startLoad(server.port, fixture, ledger, {
        clientsPerRegister: options.clientsPerRegister,
        seed: options.seed + life * 104_729,
        life,
      });
      if (!(await load.completed(options.killAfterSales, 30_000))) {
        problems.push(
          `life ${life}: not ${options.killAfterSales} sales within 30 s (${load.counters.requests} requests)`,
        );
      }
      await sleep(killAfterMs);
      const killedAtMs = Math.round(performance.now() - loadStart);
      load.markKillPending();
      const exit = await killServer(server);
      load.stop();
      await load.done;
      await waitForDeadBackends(options.location, applicationName);
      const lostNow = ledger.lost().filter((attempt) => attempt.life === life).length;
      const last = life === options.kills - 1;
      let report: DatabaseReport | null = null;
      if (options.verifyEveryKill !== false || last) {
        report = await verifyStoredState(options.location, fixture, ledger, { opensslSample: last ? 3 : 1 });
        problems.push(...report.problems.map((problem) => `after kill ${life + 1}: ${problem}`));
        lastReport = report;
      }
      server = await startServer(env, { timeoutMs: 30_000 });
      kills.push({
        life,
        killAfterMs,
        killedAtMs,
        firstAnswerMs: load.counters.firstAnswerMs,
        exit,
        requests: load.counters.requests,
        completedSales: load.counters.completedSales,
        lost: lostNow,
        restartMs: Math.round(server.startMs),
        problems: report?.problems ?? [],
        verified: report !== null,
      });
      problems.push(...load.counters.errorSamples.map((line) => `load of life ${life}: ${line}`));
      log(
        `kill ${life + 1}/${options.kills} ${killedAtMs} ms into the load (first answer after ` +
          `${String(load.counters.firstAnswerMs)} ms): ${load.counters.requests} requests, ` +
          `${load.counters.completedSales} sales completed, ${lostNow} unanswered; restarted in ` +
          `${Math.round(server.startMs)} ms${report === null ? '' : `; ${report.problems.length} problem(s)`}`,
      );
    }

    const life = options.kills;
    const retries =
      lastReport === null
        ? { problems: [], replayed: 0, executed: 0, inProgress: 0 }
        : await retryLost(server.port, fixture, ledger, lastReport, life);
    problems.push(...retries.problems);

    const finalLoad = startLoad(server.port, fixture, ledger, {
      clientsPerRegister: options.clientsPerRegister,
      seed: options.seed + life * 104_729,
      life,
    });
    await sleep(options.finalLoadMs);
    finalLoad.stop();
    await finalLoad.done;
    problems.push(...finalLoad.counters.errorSamples.map((line) => `final load: ${line}`));

    const resolved = await resolveOpen(server.port, fixture, ledger, life);
    problems.push(...resolved.problems);
    const apiProblems = await verifyThroughApi(server.port, fixture, ledger);
    problems.push(...apiProblems.map((problem) => `API: ${problem}`));

    const finalExit = await stopServer(server, { timeoutMs: 15_000 });
    if (finalExit.code !== 0) problems.push(`the last server exited with ${String(finalExit.code)} on SIGTERM`);
    const final = await verifyStoredState(options.location, fixture, ledger, {
      expectNoOpen: true,
      opensslSample: options.opensslSample ?? 3,
    });
    problems.push(...final.problems.map((problem) => `at the end: ${problem}`));
    log(
      `retries: ${retries.replayed} replayed, ${retries.executed} executed, ${retries.inProgress} in progress; ` +
        `final load ${finalLoad.counters.completedSales} sales; resolved ${resolved.completed} completed, ` +
        `${resolved.cancelled} cancelled; ${problems.length} problem(s)`,
    );
    return {
      kills,
      finalLoad: finalLoad.counters,
      retries,
      resolved,
      apiProblems,
      final,
      finalExit,
      ledger,
      fixture,
      problems,
    };
  } finally {
    if (server.exit() === null) await killServer(server);
  }
}
