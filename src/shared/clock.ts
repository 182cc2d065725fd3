/** The source of "now". Injected everywhere so that fiscal time is controllable in tests. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
