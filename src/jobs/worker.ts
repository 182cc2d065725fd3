/**
 * Periodic maintenance tasks of the server process (purging expired idempotency records, …). Each task runs at
 * start and then every `intervalMs`; a failing run is logged and retried at the next interval.
 * @module
 */
import type { Logger } from 'pino';

export interface PeriodicTask {
  readonly name: string;
  readonly intervalMs: number;
  run(): Promise<unknown>;
}

export interface Worker {
  /** Stops scheduling and waits for runs in progress. */
  stop(): Promise<void>;
}

export function startWorker(tasks: readonly PeriodicTask[], logger: Logger): Worker {
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

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.all([...running]);
    },
  };
}
