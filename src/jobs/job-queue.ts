/**
 * The background job queue: jobs are rows of the `jobs` table, so they survive restarts, and `enqueue` joins the
 * caller's ambient transaction, so a job exists exactly when the effect that asked for it committed.
 *
 * A worker *claims* a due job with a lease (a random token and an expiry). Completing, failing or extending a job
 * is guarded by that token: when a worker dies or stalls, its lease expires, another worker takes the job over
 * with a new token, and whatever the old worker reports afterwards matches nothing. Failed attempts are retried
 * with exponential backoff (no jitter, so tests and operators can predict it) until `max_attempts`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { UnitOfWork } from '../db/database.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { toUtcString } from '../shared/time.js';
import type { JobQueueRepository, JobRow } from './job-queue.repository.js';

export interface EnqueueOptions {
  /** Not before this instant (default: now). */
  readonly runAt?: Date;
  readonly maxAttempts?: number;
}

export interface ClaimedJob {
  readonly id: string;
  readonly kind: string;
  readonly payload: unknown;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly leaseToken: string;
}

export type FailOutcome = 'retrying' | 'failed' | 'lease_lost';

export interface JobView {
  readonly id: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly state: JobRow['state'];
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAt: string;
  readonly leaseExpiresAt: string | null;
  readonly lastError: string | null;
  readonly completedAt: string | null;
}

export interface BackoffPolicy {
  /** Delay after the first failed attempt; doubles with every further one. */
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface JobQueueDeps {
  readonly repository: JobQueueRepository;
  readonly unitOfWork: UnitOfWork;
  readonly clock: Clock;
  readonly backoff?: BackoffPolicy;
  readonly defaultMaxAttempts?: number;
  /** Lease length for `heartbeat` when none is given. */
  readonly defaultLeaseMs?: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 10 * 60_000 };
export const DEFAULT_MAX_ATTEMPTS = 10;
export const DEFAULT_JOB_LEASE_MS = 60_000;

/** The delay before attempt `failedAttempts + 1`: 1 s, 2 s, 4 s, … capped. */
export function backoffDelayMs(failedAttempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.baseMs * 2 ** Math.max(0, failedAttempts - 1), policy.maxMs);
}

// Enough to step over a handful of dead jobs at the head of the queue in one claim.
const MAX_ABANDONED_PER_CLAIM = 10;

export function createJobQueue(deps: JobQueueDeps) {
  const { repository, unitOfWork, clock } = deps;
  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  const defaultMaxAttempts = deps.defaultMaxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const defaultLeaseMs = deps.defaultLeaseMs ?? DEFAULT_JOB_LEASE_MS;
  const after = (now: Date, ms: number) => toUtcString(new Date(now.getTime() + ms));

  return {
    /**
     * Adds a job. Inside a transaction it joins it: the job commits or rolls back with the caller's effect.
     * Returns the job id.
     */
    async enqueue(kind: string, payload: unknown, options: EnqueueOptions = {}): Promise<string> {
      const maxAttempts = options.maxAttempts ?? defaultMaxAttempts;
      if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError('maxAttempts must be ≥ 1');
      const now = toUtcString(clock.now());
      const id = newId('job');
      await repository.insert({
        id,
        kind,
        payload: JSON.stringify(payload ?? null),
        state: 'queued',
        attempts: 0,
        max_attempts: maxAttempts,
        run_at: options.runAt === undefined ? now : toUtcString(options.runAt),
        lease_token: null,
        lease_expires_at: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        completed_at: null,
      });
      return id;
    },

    /**
     * Takes the oldest due job of the given kinds (all kinds this worker can run) and starts an attempt on it with a
     * fresh lease, in one short transaction; null if nothing is due. A running job whose lease expired after its
     * last allowed attempt is marked failed instead of being run once more.
     */
    async claim(now: Date, leaseMs: number, kinds: readonly string[]): Promise<ClaimedJob | null> {
      if (kinds.length === 0) return null;
      const nowString = toUtcString(now);
      return unitOfWork.transaction(async () => {
        const abandoned: string[] = [];
        for (;;) {
          const row = await repository.findDue(nowString, kinds, abandoned);
          if (row === undefined) return null;
          const attempts = Number(row.attempts);
          const maxAttempts = Number(row.max_attempts);
          if (row.state === 'running' && attempts >= maxAttempts) {
            await repository.markAbandoned(
              row.id,
              `The worker of attempt ${attempts} stopped reporting (lease expired); no attempts left.`,
              nowString,
            );
            abandoned.push(row.id);
            if (abandoned.length >= MAX_ABANDONED_PER_CLAIM) return null;
            continue;
          }
          const leaseToken = randomBytes(16).toString('hex');
          await repository.lease(row.id, { token: leaseToken, expiresAt: after(now, leaseMs) }, nowString);
          return {
            id: row.id,
            kind: row.kind,
            payload: JSON.parse(row.payload) as unknown,
            attempt: attempts + 1,
            maxAttempts,
            leaseToken,
          };
        }
      });
    },

    /**
     * Marks the attempt's job completed; with `work`, runs it in the same transaction, so the job's effect and its
     * completion commit together. Returns false, without running `work`, when the lease was lost.
     */
    async complete(id: string, leaseToken: string, work?: () => Promise<void>): Promise<boolean> {
      return unitOfWork.transaction(async () => {
        if (!(await repository.complete(id, leaseToken, toUtcString(clock.now())))) return false;
        if (work !== undefined) await work();
        return true;
      });
    },

    /** Records a failed attempt: back to the queue after the backoff delay, or `failed` after the last attempt. */
    async fail(id: string, leaseToken: string, error: string, now: Date): Promise<FailOutcome> {
      return unitOfWork.transaction(async () => {
        const row = await repository.find(id);
        if (row?.state !== 'running' || row.lease_token !== leaseToken) return 'lease_lost';
        const attempts = Number(row.attempts);
        const nowString = toUtcString(now);
        if (attempts >= Number(row.max_attempts)) {
          return (await repository.fail(id, leaseToken, error, nowString)) ? 'failed' : 'lease_lost';
        }
        const runAt = after(now, backoffDelayMs(attempts, backoff));
        return (await repository.retryLater(id, leaseToken, runAt, error, nowString)) ? 'retrying' : 'lease_lost';
      });
    },

    /** Extends the lease of a long attempt; false if it was lost (the job was taken over). */
    async heartbeat(id: string, leaseToken: string, leaseMs = defaultLeaseMs): Promise<boolean> {
      const now = clock.now();
      return repository.extendLease(id, leaseToken, after(now, leaseMs), toUtcString(now));
    },

    async get(id: string): Promise<JobView | undefined> {
      const row = await repository.find(id);
      if (row === undefined) return undefined;
      return {
        id: row.id,
        kind: row.kind,
        payload: JSON.parse(row.payload) as unknown,
        state: row.state,
        attempts: Number(row.attempts),
        maxAttempts: Number(row.max_attempts),
        runAt: row.run_at,
        leaseExpiresAt: row.lease_expires_at,
        lastError: row.last_error,
        completedAt: row.completed_at,
      };
    },

    /** Forgets completed jobs after `completedDays` and failed ones after `failedDays` (kept longer, to diagnose). */
    async purgeFinished(completedDays = 7, failedDays = 30): Promise<number> {
      const now = clock.now().getTime();
      const daysAgo = (days: number) => toUtcString(new Date(now - days * 86_400_000));
      return repository.purgeFinished(daysAgo(completedDays), daysAgo(failedDays));
    },
  };
}

export type JobQueue = ReturnType<typeof createJobQueue>;
