/**
 * SQLite WAL checkpoints on a thread of their own (db/dialects/wal-checkpointer.ts and the driver in sqlite.ts): no
 * COMMIT checkpoints, the WAL still starts over under a steady write load instead of growing, every row stays, and if
 * the thread fails, SQLite checkpoints inside the COMMITs again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteDialect, openSqlite, SQLITE_BUSY_TIMEOUT_MS } from '../src/db/dialects/sqlite.js';
import { WalCheckpointer, type CheckpointResult } from '../src/db/dialects/wal-checkpointer.js';
import { describeDb, engine } from './helpers/engines.js';

interface Blobs {
  blobs: { id: number; body: Buffer };
}

/** Units of one 4 KiB row each: some 9 000 pages, 36 MiB of WAL if it never started over. */
const UNITS = 8000;
const UNITS_AT_ONCE = 40;
const ROW_BYTES = 4096;
const PAGE_BYTES = 4096;
const FRAME_BYTES = PAGE_BYTES + 24;
/** The thread's policy here: start over at 500 frames (8 000 in the server, too long for a fast test). */
const RESTART_AT_FRAMES = 500;
/** SQLite's own 1 000 frames (inside the COMMITs, after the thread failed), with room for one batch. */
const WAL_BOUND_FRAMES = 2500;
const smallWal = (path: string) =>
  new WalCheckpointer(path, SQLITE_BUSY_TIMEOUT_MS, { restartAtFrames: RESTART_AT_FRAMES });

function walCheckpointSuite(): void {
  let dir: string;
  let kysely: Kysely<Blobs> | null = null;

  /** A new file; `checkpoints` as createSqliteDialect takes it (undefined: the default thread). */
  const open = (checkpoints?: (path: string) => WalCheckpointer | null) => {
    dir = mkdtempSync(join(tmpdir(), 'wal-checkpoints-'));
    const path = join(dir, 'test.db');
    const writer = openSqlite(path);
    writer.exec('create table blobs (id integer primary key, body blob not null)');
    kysely = new Kysely<Blobs>({ dialect: createSqliteDialect(writer, checkpoints?.(path)) });
    return { path, writer, db: kysely };
  };

  afterEach(async () => {
    await kysely?.destroy();
    kysely = null;
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Writes UNITS rows, UNITS_AT_ONCE units of work at a time (so they share COMMITs); the WAL's largest size and the
   * slowest round of units.
   */
  const writeLoad = async (db: Kysely<Blobs>, walPath: string): Promise<{ largestWal: number; slowestMs: number }> => {
    let largestWal = 0;
    let slowestMs = 0;
    for (let at = 0; at < UNITS; at += UNITS_AT_ONCE) {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: UNITS_AT_ONCE }, (_, i) =>
          db.transaction().execute(async (trx) => {
            await trx
              .insertInto('blobs')
              .values({ id: at + i + 1, body: randomBytes(ROW_BYTES) })
              .execute();
          }),
        ),
      );
      slowestMs = Math.max(slowestMs, performance.now() - started);
      largestWal = Math.max(largestWal, statSync(walPath).size);
    }
    return { largestWal, slowestMs };
  };

  const rowsIn = (path: string): { rows: number; integrity: string; pages: number } => {
    const reader = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      const rows = Number((reader.prepare('select count(*) as n from blobs').get() as { n: number | bigint }).n);
      const integrity = reader.pragma('integrity_check', { simple: true }) as string;
      const pages = Number(reader.pragma('page_count', { simple: true }));
      return { rows, integrity, pages };
    } finally {
      reader.close();
    }
  };

  it('a file gets the thread: its COMMITs do not checkpoint', () => {
    const { writer } = open();
    expect(Number(writer.pragma('wal_autocheckpoint', { simple: true }))).toBe(0);
  });

  it('the thread keeps the WAL short under a steady load, and every row stays', async () => {
    const { path, writer, db } = open(smallWal);
    expect(Number(writer.pragma('wal_autocheckpoint', { simple: true }))).toBe(0);

    const { largestWal } = await writeLoad(db, `${path}-wal`);

    const stored = rowsIn(path);
    expect(stored).toMatchObject({ rows: UNITS, integrity: 'ok' });
    // Never started over, the WAL would hold a frame for every page written (38.8 MB when the driver did not start
    // it over). How soon it starts over depends on the thread's pace, so the bound is a share of what was written.
    expect(stored.pages).toBeGreaterThan(WAL_BOUND_FRAMES * 3);
    expect(largestWal).toBeGreaterThan(RESTART_AT_FRAMES * FRAME_BYTES);
    expect(largestWal).toBeLessThan((stored.pages * FRAME_BYTES) / 3);
    await db.destroy();
    kysely = null;
    expect(rowsIn(path)).toMatchObject({ rows: UNITS, integrity: 'ok' });
  });

  it('a failed thread hands checkpoints back to SQLite (with a warning); the WAL stays short', async () => {
    const threads: WalCheckpointer[] = [];
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const { writer, db, path } = open((file) => {
        const thread = smallWal(file);
        threads.push(thread);
        return thread;
      });
      const [checkpoints] = threads;
      if (checkpoints === undefined) throw new Error('no checkpoint thread');
      await checkpoints.crashForTest();
      expect(checkpoints.failure).not.toBeNull();

      const { largestWal } = await writeLoad(db, `${path}-wal`);

      expect(Number(writer.pragma('wal_autocheckpoint', { simple: true }))).toBe(1000);
      expect(warnings.some((message) => message.includes('checkpoints run inside COMMITs'))).toBe(true);
      expect(largestWal).toBeLessThan(WAL_BOUND_FRAMES * FRAME_BYTES);
      expect(rowsIn(path)).toMatchObject({ rows: UNITS, integrity: 'ok' });
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a start-over whose checkpoint stalls holds the writes at most restartWaitMs', async () => {
    const RESTART_WAIT_MS = 300;
    /** Its first checkpoint for a start-over never ends (as on a disk that hangs); every other one is real. */
    class StallingOnce extends WalCheckpointer {
      stalled = 0;
      #armed = false;
      override async checkpoint(): Promise<CheckpointResult> {
        if (this.#armed) {
          this.#armed = false;
          this.stalled += 1;
          return new Promise<never>(() => undefined);
        }
        const result = await super.checkpoint();
        if (this.stalled === 0 && result.walFrames >= this.policy.restartAtFrames) this.#armed = true;
        return result;
      }
    }
    const threads: StallingOnce[] = [];
    const { path, db } = open((file) => {
      const thread = new StallingOnce(file, SQLITE_BUSY_TIMEOUT_MS, {
        restartAtFrames: RESTART_AT_FRAMES,
        restartWaitMs: RESTART_WAIT_MS,
      });
      threads.push(thread);
      return thread;
    });

    const { largestWal, slowestMs } = await writeLoad(db, `${path}-wal`);

    expect(threads[0]?.stalled).toBe(1);
    // The round of units that waited for the stalled start-over went on once restartWaitMs had passed.
    expect(slowestMs).toBeGreaterThanOrEqual(RESTART_WAIT_MS - 50);
    expect(slowestMs).toBeLessThan(RESTART_WAIT_MS + 3000);
    const stored = rowsIn(path);
    expect(stored).toMatchObject({ rows: UNITS, integrity: 'ok' });
    // Later start-overs worked: the WAL never held more than half of what was written.
    expect(largestWal).toBeLessThan((stored.pages * FRAME_BYTES) / 2);
  });

  it('the thread reports what it copied; after close it refuses', async () => {
    const { path, db } = open(() => null);
    await db
      .insertInto('blobs')
      .values({ id: 1, body: randomBytes(ROW_BYTES) })
      .execute();
    const checkpoints = new WalCheckpointer(path, SQLITE_BUSY_TIMEOUT_MS);
    const result = await checkpoints.checkpoint();
    expect(result.busy).toBe(false);
    expect(result.walFrames).toBeGreaterThan(0);
    expect(result.checkpointedFrames).toBe(result.walFrames);
    await checkpoints.close();
    await expect(checkpoints.checkpoint()).rejects.toThrow(/thread ended/);
    // The file is still the writer's: a write after the thread is gone goes through.
    await sql`insert into blobs (id, body) values (2, x'00')`.execute(db);
    expect(rowsIn(path).rows).toBe(2);
  });
}

const NAME = 'SQLite WAL checkpoints';
if (engine === 'sqlite') {
  describeDb(NAME, walCheckpointSuite);
} else {
  // Skipped on the PostgreSQL project, on purpose: WAL checkpoints are SQLite's driver's (db/dialects/sqlite.ts);
  // PostgreSQL checkpoints in its own processes.
  describe.skip(`${NAME} [postgres skipped: WAL checkpoints are SQLite's driver]`, walCheckpointSuite);
}
