/**
 * autocannon for the benches that measure `GET` throughput with it (register-read, and the sales bench's /healthz
 * ceiling). A module of its own so that bench/common.ts stays free of it: loading autocannon costs tens of MB of RSS,
 * which the closings bench's export process must not carry.
 * @module
 */
import autocannon from 'autocannon';
import { describe } from './common.js';

/** autocannon with `options`, failing if it has not finished 15 s after its `seconds`. */
export function runAutocannon(options: autocannon.Options, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(
      () => {
        instance.stop();
        reject(new Error(`autocannon did not finish within ${seconds + 15} s`));
      },
      (seconds + 15) * 1000,
    );
    const instance = autocannon(options, (error: unknown, result: autocannon.Result) => {
      clearTimeout(guard);
      if (error !== null && error !== undefined) reject(error instanceof Error ? error : new Error(describe(error)));
      else resolve(result);
    });
  });
}
