/**
 * Crash safety (issue "Speed and resilience" → Resilience): the compiled server is killed with SIGKILL in the middle
 * of a signing load, three times, and restarted on the same data each time. Afterwards every sale a till was told
 * is completed is there with the signature and number it was told; nothing is half-written; sequence numbers, TSE
 * transaction numbers, signature counters and the journal are gapless; every log message verifies; unanswered
 * requests retried with their Idempotency-Key never take effect twice; and what a kill left open can still be
 * completed or cancelled. The database is checked directly after every kill and at the end, and through the API.
 *
 * Where each kill lands varies from run to run (a seeded choice; CRASH_SEED=<n> repeats a run's choices), what is
 * asserted does not. The load, the checks and the campaign are test/helpers/crash-*.ts, which `npm run soak` runs at length.
 */
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase } from '../src/db/database.js';
import type { DB } from '../src/db/schema.js';
import { runCrashCampaign, type CrashCampaignResult } from './helpers/crash-campaign.js';
import { verifyDatabase } from './helpers/crash-verify.js';
import { createScratchDatabase, describeDb, type ScratchDatabase } from './helpers/engines.js';
import { ensureBuilt, killAllChildren } from './helpers/process.js';

const KILLS = 3;
const REGISTERS = 3;

describeDb('crash safety: SIGKILL during a signing load', () => {
  let scratch: ScratchDatabase | undefined;
  let campaign: CrashCampaignResult | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    scratch = await createScratchDatabase();
  }, 150_000);

  afterAll(async () => {
    killAllChildren();
    await scratch?.drop();
  });

  it(`keeps every answer and every counter whole across ${KILLS} kills and restarts`, async () => {
    if (scratch === undefined) throw new Error('no scratch database');
    const seed = process.env.CRASH_SEED === undefined ? randomInt(1, 2 ** 31) : Number(process.env.CRASH_SEED);
    const result = await runCrashCampaign({
      location: scratch.location,
      env: {
        DATABASE_URL: scratch.url,
        OPENFISKAL_DATA_DIR: scratch.dataDir,
        OPENFISKAL_RATE_LIMIT: '0',
        LOG_LEVEL: 'warn',
      },
      registers: REGISTERS,
      clientsPerRegister: 3,
      kills: KILLS,
      killAfterSales: 3,
      killAfterMs: [0, 450],
      finalLoadMs: 300,
      seed,
    });
    campaign = result;
    const context =
      `CRASH_SEED=${seed}; kills ` +
      result.kills
        .map(
          (k) =>
            `${k.killedAtMs} ms in (first answer ${String(k.firstAnswerMs)} ms; ${k.requests} requests, ` +
            `${k.completedSales} sales, ${k.lost} lost)`,
        )
        .join(', ');

    expect(result.kills, context).toHaveLength(KILLS);
    for (const kill of result.kills) {
      expect(kill.exit.signal, context).toBe('SIGKILL');
      expect(kill.verified, context).toBe(true);
    }
    // Nothing anywhere: not after any kill, not in the retries, the API's view or the final state.
    expect(result.problems, context).toEqual([]);

    // The kills hit a live load: sales were completed in every life, and requests were cut off unanswered.
    for (const kill of result.kills) expect(kill.completedSales, context).toBeGreaterThan(0);
    expect(
      result.kills.reduce((sum, kill) => sum + kill.lost, 0),
      context,
    ).toBeGreaterThan(0);
    expect(result.ledger.answered('complete', 200).length, context).toBeGreaterThan(KILLS);

    // At the end nothing is open, and every log of every unit verified (the newest also with openssl).
    expect(result.final.registers, context).toHaveLength(REGISTERS);
    for (const register of result.final.registers) {
      expect(register.open, context).toBe(0);
      expect(register.operations, context).toBe(register.completed + register.cancelled);
      expect(register.transactions, context).toBe(register.operations);
      expect(register.logsVerified, context).toBe(register.signatureCounter);
      expect(register.opensslVerified, context).toBe(3);
    }
    expect(result.finalExit.code, context).toBe(0);
  }, 120_000);

  it('the checks are not vacuous: damage of each kind they look for is found', async () => {
    if (scratch === undefined || campaign === undefined) throw new Error('the campaign did not run');
    const { fixture, ledger } = campaign;
    const unit = fixture.registers[0]?.fiscalUnitId ?? '';
    const registerId = fixture.registers[0]?.id ?? '';
    const db = createDatabase(scratch.location, { poolSize: 1 });
    const rollback = new Error('rollback');
    /** The problems the checks find with `damage` applied, inside a transaction that is then rolled back. */
    const problemsAfter = async (damage: (executor: Kysely<DB>) => Promise<unknown>): Promise<string[]> => {
      let problems: string[] = [];
      await db
        .transaction(async () => {
          await damage(db.executor());
          problems = (await verifyDatabase(db, fixture, ledger)).problems;
          throw rollback;
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error;
        });
      return problems;
    };
    try {
      expect(await problemsAfter(() => Promise.resolve())).toEqual([]);

      // One bit of the newest log's signature flipped.
      expect(
        await problemsAfter(async (executor) => {
          const newest = await executor
            .selectFrom('tse_log_messages')
            .select(['signature_counter', 'message'])
            .where('fiscal_unit_id', '=', unit)
            .orderBy('signature_counter', 'desc')
            .executeTakeFirstOrThrow();
          const bytes = Buffer.from(newest.message, 'base64');
          bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
          await executor
            .updateTable('tse_log_messages')
            .set({ message: bytes.toString('base64') })
            .where('fiscal_unit_id', '=', unit)
            .where('signature_counter', '=', newest.signature_counter)
            .execute();
        }),
      ).toEqual(expect.arrayContaining([expect.stringMatching(/its signature does not verify/)]));

      // The newest finish log lost.
      expect(
        await problemsAfter(async (executor) => {
          const finish = await executor
            .selectFrom('tse_log_messages')
            .select('signature_counter')
            .where('fiscal_unit_id', '=', unit)
            .where('operation_type', '=', 'FinishTransaction')
            .orderBy('signature_counter', 'desc')
            .executeTakeFirstOrThrow();
          await executor
            .deleteFrom('tse_log_messages')
            .where('fiscal_unit_id', '=', unit)
            .where('signature_counter', '=', finish.signature_counter)
            .execute();
        }),
      ).toEqual(expect.arrayContaining([expect.stringMatching(/FinishTransaction logs for/)]));

      // A sequence number taken without an operation.
      expect(
        await problemsAfter(async (executor) => {
          const register = await executor
            .selectFrom('registers')
            .select('last_sequence_number')
            .where('id', '=', registerId)
            .executeTakeFirstOrThrow();
          await executor
            .updateTable('registers')
            .set({ last_sequence_number: register.last_sequence_number + 1n })
            .where('id', '=', registerId)
            .execute();
        }),
      ).toEqual(expect.arrayContaining([expect.stringMatching(/last_sequence_number \d+ but \d+ operations/)]));

      // An open operation counted that is not there.
      expect(
        await problemsAfter(async (executor) => {
          await executor
            .updateTable('registers')
            .set((eb) => ({ open_operations: eb('open_operations', '+', 1n) }))
            .where('id', '=', registerId)
            .execute();
        }),
      ).toEqual(expect.arrayContaining([expect.stringMatching(/open_operations \d+ but \d+ open operations/)]));

      // A completed sale back to open, as a half-written completion would leave it.
      expect(
        await problemsAfter(async (executor) => {
          const sale = await executor
            .selectFrom('operations')
            .select('id')
            .where('register_id', '=', registerId)
            .where('state', '=', 'completed')
            .where('type', '=', 'sale')
            .executeTakeFirstOrThrow();
          await executor.updateTable('operations').set({ state: 'open' }).where('id', '=', sale.id).execute();
        }),
      ).toEqual(expect.arrayContaining([expect.stringMatching(/open, yet with an end event/)]));
    } finally {
      await db.destroy();
    }
  });
});
