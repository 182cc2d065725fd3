/**
 * The long versions of the crash-safety test (test/crash-safety.test.ts), against the compiled server, on one engine
 * at a time:
 *
 * (a) a sales load of SOAK_MINUTES minutes: German registers with software TSEs, a few tills per register each
 *     starting and completing cash sales (with some cancels, cash movements and voids). Reported: the server's RSS
 *     (VmRSS of /proc/<pid>/status) after the warm-up and at the end, and per minute the completed sales per second,
 *     the RSS and the errors. Afterwards the whole database is verified as after a crash (gapless numbers and
 *     counters, the journal, every TSE log message), and the journal through the API.
 * (b) a kill loop: SOAK_KILLS SIGKILLs during a load, each followed by a restart on the same data, with the same
 *     verification as the test after every kill and at the end (test/helpers/crash-*.ts).
 *
 * Run with `npm run soak` (builds first). Environment:
 * - SOAK_MINUTES (default 10), SOAK_WARMUP_SECONDS (default 20): the load of (a);
 * - SOAK_KILLS (default 20): the kills of (b);
 * - SOAK_ENGINES (default `sqlite,postgres`); PostgreSQL is skipped, with the reason, when unreachable;
 * - SOAK_REGISTERS (default 4), SOAK_CLIENTS_PER_REGISTER (default 3);
 * - SOAK_SEED: the seed of the tills' choices and the kill points (default: random, printed);
 * - BENCH_DATABASE_URL: the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test); the soak works in
 *   a fresh schema that it drops afterwards.
 *
 * The summary is printed and written to bench/results/soak.json; the exit status is 1 when anything was wrong.
 * @module
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  benchEngines,
  describe,
  killServers,
  log,
  positiveInteger,
  postgresSchema,
  printServerLog,
  round,
  runBench,
  scratchDir,
  serverEnv,
  serverLog,
  sleep,
  sqlitePath,
  table,
  writeResults,
  type EngineName,
  type EngineSkipped,
} from '../bench/common.js';
import type { DatabaseLocation } from '../src/config/config.js';
import { runCrashCampaign, type CrashCampaignResult } from '../test/helpers/crash-campaign.js';
import { CrashLedger, provisionCrashFixture, startLoad } from '../test/helpers/crash-load.js';
import { verifyStoredState, type RegisterReport } from '../test/helpers/crash-verify.js';
import { httpCall, startServer, stopServer, type ServerProcess } from '../test/helpers/process.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const MINUTES = positiveInteger(['SOAK_MINUTES'], 10);
const WARMUP_S = positiveInteger(['SOAK_WARMUP_SECONDS'], 20);
const KILLS = positiveInteger(['SOAK_KILLS'], 20);
const REGISTERS = positiveInteger(['SOAK_REGISTERS'], 4);
const CLIENTS_PER_REGISTER = positiveInteger(['SOAK_CLIENTS_PER_REGISTER'], 3);
const SEED = positiveInteger(['SOAK_SEED'], randomInt(1, 2 ** 31));
const ENGINES = parseEngines(process.env.SOAK_ENGINES ?? 'sqlite,postgres');
/** Sampling of the RSS for its peak. */
const RSS_SAMPLE_MS = 5_000;
/** Hard limit: the load, the warm-up, about 30 s per kill and generous slack for verification, per engine. */
const GLOBAL_TIMEOUT_MS = ENGINES.length * (MINUTES * 60 + WARMUP_S + KILLS * 30 + 600) * 1000;

function parseEngines(raw: string): EngineName[] {
  const names = raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (name !== 'sqlite' && name !== 'postgres') {
      process.stderr.write(`SOAK_ENGINES=${JSON.stringify(raw)}: ${JSON.stringify(name)} is not sqlite or postgres\n`);
      process.exit(2);
    }
  }
  return names as EngineName[];
}

// ---------------------------------------------------------------------------------------------------------------
// The database of one engine

interface EngineDatabase {
  readonly location: DatabaseLocation;
  readonly url: string;
  readonly dataDir: string;
}

/** A fresh database (SQLite file or PostgreSQL schema, removed by the cleanups), or why the engine is skipped. */
async function freshDatabase(engine: EngineName, purpose: string): Promise<EngineDatabase | { skip: string }> {
  const dataDir = scratchDir(`openfiskal-soak-${purpose}-`);
  if (engine === 'sqlite') {
    const path = sqlitePath(dataDir);
    return { location: { kind: 'sqlite', path }, url: `sqlite:${path}`, dataDir };
  }
  const schema = await postgresSchema(`soak_${purpose}_`);
  if ('skip' in schema) return schema;
  return { location: { kind: 'postgres', url: schema.url }, url: schema.url, dataDir };
}

/** VmRSS of a process in kB (Linux), or null. */
function rssKb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]);
  } catch {
    return null;
  }
}

const mb = (kb: number | null) => (kb === null ? '?' : `${round(kb / 1024, 1)} MB`);

// ---------------------------------------------------------------------------------------------------------------
// (a) The long load

interface Minute {
  readonly minute: number;
  readonly salesPerSecond: number;
  readonly requests: number;
  readonly errors: number;
  readonly rssKb: number | null;
}

interface LoadResult {
  readonly minutes: readonly Minute[];
  readonly warmupSales: number;
  readonly sales: number;
  readonly salesPerSecond: number;
  readonly rssStartKb: number | null;
  readonly rssEndKb: number | null;
  readonly rssPeakKb: number | null;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly journalVerifyMs: number;
  readonly verifyProblems: readonly string[];
  readonly registers: readonly RegisterReport[];
  readonly verifyMs: number;
}

async function longLoad(database: EngineDatabase, servers: ServerProcess[]): Promise<LoadResult> {
  const server = await startServer(serverEnv(database.url, database.dataDir), { timeoutMs: 30_000 });
  servers.push(server);
  const pid = server.child.pid;
  const fixture = await provisionCrashFixture(server, REGISTERS);
  const load = startLoad(server.port, fixture, new CrashLedger(), {
    clientsPerRegister: CLIENTS_PER_REGISTER,
    seed: SEED,
    life: 0,
    record: false,
    abandonRate: 0,
  });
  let rssPeakKb: number | null = null;
  const samplePeak = () => {
    const rss = rssKb(pid);
    if (rss !== null) rssPeakKb = Math.max(rssPeakKb ?? 0, rss);
  };
  const sampler = setInterval(samplePeak, RSS_SAMPLE_MS);
  try {
    await sleep(WARMUP_S * 1000);
    const warmupSales = load.counters.completedSales;
    const rssStartKb = rssKb(pid);
    log(`  warm-up ${WARMUP_S} s: ${warmupSales} sales; RSS ${mb(rssStartKb)}`);
    const minutes: Minute[] = [];
    const measuredFrom = performance.now();
    let mark = { at: measuredFrom, sales: warmupSales, requests: load.counters.requests, errors: load.counters.errors };
    for (let minute = 1; minute <= MINUTES; minute++) {
      await sleep(mark.at + 60_000 - performance.now());
      const now = {
        at: performance.now(),
        sales: load.counters.completedSales,
        requests: load.counters.requests,
        errors: load.counters.errors,
      };
      const entry: Minute = {
        minute,
        salesPerSecond: round((now.sales - mark.sales) / ((now.at - mark.at) / 1000), 1),
        requests: now.requests - mark.requests,
        errors: now.errors - mark.errors,
        rssKb: rssKb(pid),
      };
      samplePeak();
      minutes.push(entry);
      log(
        `  minute ${minute}/${MINUTES}: ${entry.salesPerSecond} sales/s, ${entry.requests} requests, ` +
          `${entry.errors} errors, RSS ${mb(entry.rssKb)}`,
      );
      mark = now;
    }
    const rssEndKb = rssKb(pid);
    const sales = load.counters.completedSales - warmupSales;
    const salesPerSecond = round(sales / ((performance.now() - measuredFrom) / 1000), 1);
    load.stop();
    await load.done;

    // The journal through the API, then the whole database with the server stopped.
    const journalFrom = performance.now();
    const verifyProblems: string[] = [];
    for (const register of fixture.registers) {
      const verify = await httpCall(server.port, 'GET', `/v1/registers/${register.id}/journal/verify`, {
        headers: { authorization: `Bearer ${register.key}` },
        timeoutMs: 120_000,
      });
      const body = verify.body as { valid?: unknown } | undefined;
      if (verify.status !== 200 || body?.valid !== true) {
        verifyProblems.push(`${register.id}: journal/verify answered ${verify.status}: ${verify.text.slice(0, 300)}`);
      }
    }
    const journalVerifyMs = Math.round(performance.now() - journalFrom);
    const exit = await stopServer(server, { timeoutMs: 15_000 });
    if (exit.code !== 0) verifyProblems.push(`the server exited with ${String(exit.code)} on SIGTERM`);
    const verifyFrom = performance.now();
    const report = await verifyStoredState(database.location, fixture, null, { opensslSample: 3 });
    verifyProblems.push(...report.problems);
    return {
      minutes,
      warmupSales,
      sales,
      salesPerSecond,
      rssStartKb,
      rssEndKb,
      rssPeakKb,
      errors: load.counters.errors,
      errorSamples: load.counters.errorSamples,
      journalVerifyMs,
      verifyProblems,
      registers: report.registers,
      verifyMs: Math.round(performance.now() - verifyFrom),
    };
  } finally {
    clearInterval(sampler);
    load.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (b) The kill loop

interface KillLoopResult {
  readonly kills: number;
  readonly requests: number;
  readonly completedSales: number;
  readonly unanswered: number;
  readonly killedAtMs: { readonly min: number; readonly max: number };
  readonly restartMs: { readonly min: number; readonly median: number; readonly max: number };
  readonly retries: CrashCampaignResult['retries'];
  readonly resolved: { readonly completed: number; readonly cancelled: number };
  readonly operations: number;
  readonly logMessages: number;
  readonly problems: readonly string[];
  readonly ms: number;
}

async function killLoop(database: EngineDatabase): Promise<KillLoopResult> {
  const from = performance.now();
  const result = await runCrashCampaign({
    location: database.location,
    env: serverEnv(database.url, database.dataDir),
    registers: REGISTERS,
    clientsPerRegister: CLIENTS_PER_REGISTER,
    kills: KILLS,
    killAfterSales: 3,
    killAfterMs: [0, 1500],
    finalLoadMs: 2000,
    seed: SEED,
    log: (line) => log(`  ${line}`),
  });
  const restarts = result.kills.map((kill) => kill.restartMs).sort((a, b) => a - b);
  const killedAt = result.kills.map((kill) => kill.killedAtMs);
  return {
    kills: result.kills.length,
    requests: result.kills.reduce((sum, kill) => sum + kill.requests, 0),
    completedSales: result.ledger.answered('complete', 200).length,
    unanswered: result.kills.reduce((sum, kill) => sum + kill.lost, 0),
    killedAtMs: { min: Math.min(...killedAt), max: Math.max(...killedAt) },
    restartMs: {
      min: restarts[0] ?? 0,
      median: restarts[Math.floor(restarts.length / 2)] ?? 0,
      max: restarts.at(-1) ?? 0,
    },
    retries: result.retries,
    resolved: { completed: result.resolved.completed, cancelled: result.resolved.cancelled },
    operations: result.final.registers.reduce((sum, register) => sum + register.operations, 0),
    logMessages: result.final.registers.reduce((sum, register) => sum + register.signatureCounter, 0),
    problems: result.problems,
    ms: Math.round(performance.now() - from),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One engine, the summary

interface EngineResult {
  readonly engine: EngineName;
  readonly status: 'ok';
  readonly load: LoadResult | { readonly failed: string; readonly serverLog: readonly string[] };
  readonly killLoop: KillLoopResult | { readonly failed: string };
}

/** Problems of an engine's run, for the exit status. */
function problemsOf(result: EngineResult): string[] {
  const problems: string[] = [];
  if ('failed' in result.load) problems.push(`load: ${result.load.failed}`);
  else {
    problems.push(...result.load.verifyProblems.map((p) => `load: ${p}`));
    problems.push(...result.load.errorSamples.map((p) => `load error: ${p}`));
  }
  if ('failed' in result.killLoop) problems.push(`kill loop: ${result.killLoop.failed}`);
  else problems.push(...result.killLoop.problems.map((p) => `kill loop: ${p}`));
  return problems;
}

async function soakEngine(engine: EngineName): Promise<EngineResult | EngineSkipped> {
  log(`=== ${engine}: ${MINUTES} min load, then ${KILLS} kills (seed ${SEED}) ===`);
  const loadDatabase = await freshDatabase(engine, 'load');
  if ('skip' in loadDatabase) return { engine, status: 'skipped', reason: loadDatabase.skip };
  const servers: ServerProcess[] = [];
  let load: EngineResult['load'];
  try {
    load = await longLoad(loadDatabase, servers);
  } catch (error) {
    load = { failed: describe(error), serverLog: serverLog(servers) };
    await killServers(servers);
  }
  const killDatabase = await freshDatabase(engine, 'kill');
  let kills: EngineResult['killLoop'];
  if ('skip' in killDatabase) kills = { failed: killDatabase.skip };
  else {
    try {
      kills = await killLoop(killDatabase);
    } catch (error) {
      kills = { failed: describe(error) };
    }
  }
  return { engine, status: 'ok', load, killLoop: kills };
}

function printEngine(result: EngineResult): void {
  log(`=== ${result.engine} ===`);
  const load = result.load;
  if ('failed' in load) {
    log(`  load FAILED: ${load.failed}`);
    printServerLog(load.serverLog);
  } else {
    log(
      `  load: ${load.sales} sales in ${MINUTES} min, ${load.salesPerSecond} sales/s; RSS ${mb(load.rssStartKb)} ` +
        `after warm-up, ${mb(load.rssEndKb)} at the end, peak ${mb(load.rssPeakKb)}; ${load.errors} errors`,
    );
    log(
      table(
        ['minute', 'sales/s', 'requests', 'errors', 'RSS'],
        load.minutes.map((m) => [
          String(m.minute),
          String(m.salesPerSecond),
          String(m.requests),
          String(m.errors),
          mb(m.rssKb),
        ]),
      )
        .split('\n')
        .map((line) => `    ${line}`)
        .join('\n'),
    );
    const operations = load.registers.reduce((sum, register) => sum + register.operations, 0);
    const logs = load.registers.reduce((sum, register) => sum + register.logsVerified, 0);
    log(
      `  verified: ${operations} operations, ${logs} log messages (journal/verify ${load.journalVerifyMs} ms, ` +
        `database ${load.verifyMs} ms): ${load.verifyProblems.length === 0 ? 'intact' : `${load.verifyProblems.length} problem(s)`}`,
    );
    for (const problem of [...load.verifyProblems, ...load.errorSamples].slice(0, 20)) log(`    ${problem}`);
  }
  const kills = result.killLoop;
  if ('failed' in kills) log(`  kill loop FAILED: ${kills.failed}`);
  else {
    log(
      `  kill loop: ${kills.kills} kills ${kills.killedAtMs.min}–${kills.killedAtMs.max} ms into each load, ` +
        `${kills.requests} requests, ${kills.completedSales} sales answered completed, ${kills.unanswered} unanswered; ` +
        `restart ${kills.restartMs.min}/${kills.restartMs.median}/${kills.restartMs.max} ms (min/median/max)`,
    );
    log(
      `  retries: ${kills.retries.replayed} replayed, ${kills.retries.executed} executed, ${kills.retries.inProgress} ` +
        `in progress; resolved ${kills.resolved.completed} completed, ${kills.resolved.cancelled} cancelled; ` +
        `${kills.operations} operations, ${kills.logMessages} log messages in ${round(kills.ms / 1000, 1)} s: ` +
        (kills.problems.length === 0 ? 'intact' : `${kills.problems.length} problem(s)`),
    );
    for (const problem of kills.problems.slice(0, 20)) log(`    ${problem}`);
  }
}

async function main(): Promise<number> {
  log(
    `soak: ${ENGINES.join(', ')}; ${MINUTES} min load (${WARMUP_S} s warm-up), ${KILLS} kills; ` +
      `${REGISTERS} registers × ${CLIENTS_PER_REGISTER} tills; SOAK_SEED=${SEED}`,
  );
  const results = await benchEngines<EngineResult>(ENGINES, soakEngine, printEngine);
  let problems = 0;
  for (const result of results) {
    if (result.status === 'ok') problems += problemsOf(result).length;
    else if (result.status === 'failed') problems += 1;
  }
  const path = writeResults('soak.json', {
    settings: {
      minutes: MINUTES,
      warmup_seconds: WARMUP_S,
      kills: KILLS,
      registers: REGISTERS,
      clients_per_register: CLIENTS_PER_REGISTER,
      seed: SEED,
    },
    engines: results,
    problems,
  });
  const skipped = results.filter((result) => result.status === 'skipped').map((result) => result.engine);
  const note = skipped.length === 0 ? '' : ` (${skipped.join(', ')} skipped)`;
  log(`\n${problems === 0 ? 'soak passed' : `soak FAILED: ${problems} problem(s)`}${note}; results in ${path}`);
  return problems === 0 ? 0 : 1;
}

runBench(main, { timeoutMs: GLOBAL_TIMEOUT_MS, graceMs: 10_000 });
