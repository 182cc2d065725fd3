/**
 * SQLite WAL checkpoints on a thread of their own. By default SQLite checkpoints inside the COMMIT that takes the WAL
 * past 1 000 pages: it copies the WAL's pages into the database file and syncs both files while the event loop waits
 * (under the sales load, every 10th COMMIT or so took 2–13 ms this way, about 6 % of the loop's time). The writer
 * therefore runs with `wal_autocheckpoint = 0`, and this thread runs PASSIVE checkpoints on a connection of its own:
 * a PASSIVE checkpoint never waits for the writer or the readers and copies only frames that every reader already
 * sees, so it changes nothing any connection can observe. Durability is SQLite's own: the checkpointing connection
 * runs with `synchronous = FULL`, so the WAL is synced before its pages are copied and the database file after.
 *
 * Copying frames does not make the WAL shorter: SQLite starts it over only when a write transaction begins after
 * every frame was copied. Under a steady load that never happens on its own, so the driver pauses its writer now and
 * then for one last checkpoint (see SqliteDriver).
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What `PRAGMA wal_checkpoint` reports: frames in the WAL, and how many of them are now in the database file. */
export interface CheckpointResult {
  /** The checkpoint could not take its lock (another checkpoint ran): nothing was copied. */
  readonly busy: boolean;
  readonly walFrames: number;
  readonly checkpointedFrames: number;
}

type Reply =
  | { readonly id: number; readonly busy: number; readonly log: number; readonly checkpointed: number }
  | { readonly id: number; readonly error: string };

// Plain CommonJS, run with `eval`: the same source works from the compiled server and from the tests' TypeScript.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = ' + String(workerData.busyTimeoutMs));
db.pragma('synchronous = FULL');
const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
parentPort.on('message', (id) => {
  if (id === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const row = checkpoint.get();
    parentPort.postMessage({ id, busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

/** When the driver checkpoints and starts the WAL over. */
export interface CheckpointPolicy {
  /**
   * The WAL is started over once a checkpoint finds it this long. Each start-over holds the writer for a last
   * checkpoint (about 5 ms under the sales load), so not as often as SQLite's 1 000 frames would (10 times a second
   * there); and recovery after a crash reads at most about this much WAL. Default 8 000 frames (32 MiB of 4 KiB).
   */
  readonly restartAtFrames: number;
  /** At most one checkpoint per this many ms (each syncs both files). Default 50. */
  readonly intervalMs: number;
  /** The longest the writer is held for the checkpoint before a start-over. Default 1 000 ms. */
  readonly restartWaitMs: number;
}

const DEFAULT_POLICY: CheckpointPolicy = { restartAtFrames: 8000, intervalMs: 50, restartWaitMs: 1000 };

export class WalCheckpointer {
  readonly policy: CheckpointPolicy;
  readonly #thread: Worker;
  readonly #calls = new Map<number, { resolve: (result: CheckpointResult) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #failure: Error | null = null;
  #closed: Promise<void> | null = null;

  constructor(databasePath: string, busyTimeoutMs: number, policy: Partial<CheckpointPolicy> = {}) {
    this.policy = { ...DEFAULT_POLICY, ...policy };
    this.#thread = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: databasePath,
        busyTimeoutMs,
      },
    });
    // Checkpoints never keep the process alive; the driver closes the thread on destroy.
    this.#thread.unref();
    this.#thread.on('message', (reply: Reply) => {
      const call = this.#calls.get(reply.id);
      this.#calls.delete(reply.id);
      if (call === undefined) return;
      if ('error' in reply) call.reject(new Error(`WAL checkpoint failed: ${reply.error}`));
      else call.resolve({ busy: reply.busy !== 0, walFrames: reply.log, checkpointedFrames: reply.checkpointed });
    });
    this.#thread.on('error', (error) => {
      this.#fail(error);
    });
    this.#thread.on('exit', (code) => {
      this.#fail(new Error(`the WAL checkpoint thread ended (exit code ${String(code)})`));
    });
  }

  /** Set once the thread failed or ended: no checkpoint runs any more. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** One PASSIVE checkpoint; calls queue on the thread and run one after another. */
  checkpoint(): Promise<CheckpointResult> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const id = this.#nextId;
    this.#nextId += 1;
    return new Promise<CheckpointResult>((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#thread.postMessage(id);
    });
  }

  /** Lets a running checkpoint end, closes the thread's connection and ends the thread. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#failure !== null) {
        resolve();
        return;
      }
      this.#thread.once('exit', () => {
        resolve();
      });
      // Kept alive until the thread has closed its connection: an unreferenced thread could not end a process's
      // last await (the CLI's), and the process would exit with that await unsettled.
      this.#thread.ref();
      this.#thread.postMessage('close');
    });
    return this.#closed;
  }

  /** Test hook: ends the thread as a crash would. */
  async crashForTest(): Promise<void> {
    await this.#thread.terminate();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const call of calls) call.reject(this.#failure);
  }
}
