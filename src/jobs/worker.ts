/**
 * The background work of the server process:
 *
 * - periodic maintenance tasks (purging expired idempotency records, …). Each runs at start and then every
 *   `intervalMs`; a failing run is logged and retried at the next interval;
 * - the job runner: it claims due jobs from the queue (`job-queue.ts`) and runs them with the handler registered for
 *   their kind, a few at a time. While a job runs its lease is extended periodically, so only a dead or stalled
 *   process loses it. On stop, running jobs get a grace period to finish; those still running are then abandoned
 *   (their signal aborts) and, their lease expiring, are taken over by the next worker.
 * @module
 */
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { DEFAULT_JOB_LEASE_MS, type ClaimedJob, type JobQueue } from './job-queue.js';

export interface PeriodicTask {
  readonly name: string;
  readonly intervalMs: number;
  run(): Promise<unknown>;
}

export interface Worker {
  /** Stops scheduling and waits for runs in progress (running jobs up to their grace period). */
  stop(): Promise<void>;
}

/** What a job handler gets besides its payload. */
export interface JobContext {
  readonly jobId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborts when the lease was lost or the worker shuts down; the handler should stop soon after. */
  readonly signal: AbortSignal;
  /** Extends the lease now (the runner also does it periodically); throws if the lease was lost. */
  heartbeat(): Promise<void>;
  /** Reports progress; throws if the job was abandoned. */
  progress(done: number, total: number): Promise<void>;
  /**
   * Runs `work` in one transaction with the job's completion, so the job's effect commits exactly once; throws
   * {@link JobLeaseLostError} (and runs nothing) if the lease was lost. Without it, the runner completes the job
   * after the handler returns.
   */
  complete(work: () => Promise<void>): Promise<void>;
}

/** Runs one attempt of a job. Throwing fails the attempt (retried with backoff until the last). */
export type JobHandler = (payload: unknown, context: JobContext) => Promise<void>;

/** The job handlers of the process, by job kind. */
export type JobHandlers = Readonly<Record<string, JobHandler>>;

export class JobLeaseLostError extends Error {
  constructor(jobId: string) {
    super(`The lease of job ${jobId} was lost; another worker has taken it over.`);
    this.name = 'JobLeaseLostError';
  }
}

export class WorkerStoppingError extends Error {
  constructor() {
    super('The worker is shutting down.');
    this.name = 'WorkerStoppingError';
  }
}

export interface JobRunnerOptions {
  readonly queue: Pick<JobQueue, 'claim' | 'complete' | 'fail' | 'heartbeat'>;
  readonly handlers: JobHandlers;
  readonly clock: Clock;
  /** How often an idle runner looks for due jobs (default 250 ms). */
  readonly pollMs?: number;
  /** Jobs run at the same time (default 1). */
  readonly concurrency?: number;
  readonly leaseMs?: number;
  /** How long `stop` waits for running jobs before abandoning them (default 5 s). */
  readonly stopGraceMs?: number;
}

const MAX_ERROR_LENGTH = 2000;

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

const delay = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/** Starts the job runner; see the module comment. */
export function startJobRunner(options: JobRunnerOptions, logger: Logger): Worker {
  const { queue, handlers, clock } = options;
  const pollMs = options.pollMs ?? 250;
  const leaseMs = options.leaseMs ?? DEFAULT_JOB_LEASE_MS;
  const stopGraceMs = options.stopGraceMs ?? 5000;
  const kinds = Object.keys(handlers);
  let stopped = false;
  const wakers = new Set<() => void>();
  const running = new Set<AbortController>();

  /** Waits `ms`, or less if the runner stops meanwhile. */
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      wakers.add(wake);
    });

  async function runJob(job: ClaimedJob): Promise<void> {
    const log = logger.child({ job_id: job.id, job_kind: job.kind, attempt: job.attempt });
    const handler = handlers[job.kind];
    const controller = new AbortController();
    // Set from inside `complete`; the cast keeps TypeScript from narrowing it to `false` for good.
    let completed = false as boolean;
    const abortedReason = () => controller.signal.reason as Error;
    const heartbeat = async () => {
      if (controller.signal.aborted) throw abortedReason();
      if (!(await queue.heartbeat(job.id, job.leaseToken, leaseMs))) {
        controller.abort(new JobLeaseLostError(job.id));
        throw abortedReason();
      }
    };
    const timer = setInterval(
      () => {
        heartbeat().catch((error: unknown) => {
          if (!controller.signal.aborted) log.warn({ err: error }, 'extending the job lease failed');
        });
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    running.add(controller);
    try {
      if (handler === undefined) throw new Error(`No handler for job kind ${job.kind}`);
      await handler(job.payload, {
        jobId: job.id,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        signal: controller.signal,
        heartbeat,
        progress(done, total) {
          if (controller.signal.aborted) return Promise.reject(abortedReason());
          log.trace({ done, total }, 'job progress');
          return Promise.resolve();
        },
        async complete(work) {
          if (controller.signal.aborted) throw abortedReason();
          if (!(await queue.complete(job.id, job.leaseToken, work))) {
            controller.abort(new JobLeaseLostError(job.id));
            throw abortedReason();
          }
          completed = true;
        },
      });
      if (!completed && !(await queue.complete(job.id, job.leaseToken))) {
        log.warn('job finished after its lease was lost; another worker owns it now');
      } else {
        log.info('job completed');
      }
    } catch (error) {
      if (controller.signal.aborted) {
        // Lease lost or shutting down: the job belongs to whoever claims it next; reporting would be wrong.
        log.warn({ reason: describeError(controller.signal.reason) }, 'job abandoned');
        return;
      }
      try {
        const outcome = await queue.fail(job.id, job.leaseToken, describeError(error), clock.now());
        const level = outcome === 'retrying' ? 'warn' : 'error';
        log[level]({ err: error, outcome }, 'job attempt failed');
      } catch (failError) {
        log.error({ err: failError, cause: error }, 'recording a failed job attempt failed');
      }
    } finally {
      clearInterval(timer);
      running.delete(controller);
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let job: ClaimedJob | null = null;
      try {
        job = await queue.claim(clock.now(), leaseMs, kinds);
      } catch (error) {
        logger.error({ err: error }, 'claiming a job failed');
      }
      if (job === null) await idle(pollMs);
      else await runJob(job);
    }
  }

  const loops = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => loop());
  const all = Promise.all(loops);

  return {
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.race([all, delay(stopGraceMs)]);
      if (running.size === 0) return;
      for (const controller of running) controller.abort(new WorkerStoppingError());
      // A handler that ignores its signal is not waited for long: its lease will simply expire.
      await Promise.race([all, delay(1000)]);
    },
  };
}

export function startWorker(tasks: readonly PeriodicTask[], logger: Logger, jobs?: JobRunnerOptions): Worker {
  const running = new Set<Promise<void>>();
  let stopped = false;

  const runTask = (task: PeriodicTask) => {
    if (stopped) return;
    const run = task
      .run()
      .then((result) => logger.debug({ task: task.name, result }, 'task finished'))
      .catch((error: unknown) => logger.error({ err: error, task: task.name }, 'task failed'))
      .finally(() => running.delete(run));
    running.add(run);
  };

  const timers = tasks.map((task) => {
    runTask(task);
    const timer = setInterval(() => runTask(task), task.intervalMs);
    timer.unref();
    return timer;
  });
  const jobRunner = jobs === undefined ? null : startJobRunner(jobs, logger);

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.all([...running, jobRunner?.stop()]);
    },
  };
}
