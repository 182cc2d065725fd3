/**
 * The pre-aggregated totals closings are summed from. Every completed operation and drawer opening adds its
 * {@link SummaryTotals} to the bucket of its journal seq (`seq / 1024`) in the transaction that records it, under the
 * register lock every fiscal event holds — so buckets and operations commit together and cannot drift apart.
 *
 * A period `(from, to]` of journal seqs is then the sum of the buckets wholly inside it plus the events of the two
 * partial buckets at its edges, read from the operations themselves: at most about 2 048 rows whatever the period's
 * length, so an annual closing costs what a daily one does. `recompute` sums the period event by event instead,
 * which is how tests and `verify` prove the buckets right.
 * @module
 */
import type { Clock } from '../../shared/clock.js';
import { toUtcString } from '../../shared/time.js';
import type { ClosingRepository, OperationFactsRow } from './closing.repository.js';
import {
  addTotals,
  BUCKET_SIZE,
  bucketOf,
  emptyTotals,
  openingTotals,
  operationTotals,
  type OperationFacts,
  type SummaryTotals,
} from './closing-summary.js';

export interface ClosingTotalsDeps {
  readonly repository: Pick<
    ClosingRepository,
    | 'bucket'
    | 'insertBucket'
    | 'updateBucket'
    | 'replaceBucket'
    | 'bucketRange'
    | 'operationsFinishedBetween'
    | 'openingsBetween'
  >;
  readonly clock: Clock;
  /** Operations read per query when scanning (default 1000). */
  readonly batchSize?: number;
  /** Registers whose last written bucket is remembered (default 10 000). */
  readonly rememberedRegisters?: number;
}

/** What the services that record fiscal events need. */
export interface SummaryRecorder {
  /** Adds `totals` to the bucket of `seq`; call inside the event's transaction. */
  record(registerId: string, seq: bigint, totals: SummaryTotals): Promise<void>;
}

function isEmpty(totals: SummaryTotals): boolean {
  return (
    totals.operation_count === 0 &&
    totals.training_count === 0 &&
    totals.drawer_openings === 0 &&
    Object.keys(totals.payments).length === 0 &&
    Object.keys(totals.tax_groups).length === 0
  );
}

const parseTotals = (text: string) => JSON.parse(text) as SummaryTotals;

function factsOf(row: OperationFactsRow): OperationFacts {
  return { type: row.type, state: row.state, data: JSON.parse(row.data) as OperationFacts['data'] };
}

export function createClosingTotals(deps: ClosingTotalsDeps) {
  const { repository, clock } = deps;
  const batchSize = deps.batchSize ?? 1000;
  const rememberedRegisters = deps.rememberedRegisters ?? 10_000;
  /**
   * Each register's bucket as this process last wrote it. The next event of the register adds to it without reading
   * it back: the update is a compare-and-set on the stored text, so it changes nothing when the bucket is no longer
   * what was written (another process added to it, or the write was rolled back) and the bucket is then read as
   * before. Correct whatever the memory holds: adding to a bucket whose text is unchanged is adding to its value.
   */
  const lastWritten = new Map<string, { readonly bucket: bigint; readonly totals: string }>();

  function remember(registerId: string, bucket: bigint, totals: string): void {
    lastWritten.delete(registerId); // re-inserted last: the first key is the register least recently written
    if (lastWritten.size >= rememberedRegisters) {
      const oldest = lastWritten.keys().next();
      if (oldest.done !== true) lastWritten.delete(oldest.value);
    }
    lastWritten.set(registerId, { bucket, totals });
  }

  /** Event by event over `(from, to]`. */
  async function scan(registerId: string, from: bigint, to: bigint): Promise<SummaryTotals> {
    const totals = emptyTotals();
    let after = from;
    for (;;) {
      const rows = await repository.operationsFinishedBetween(registerId, after, to, batchSize);
      for (const row of rows) addTotals(totals, operationTotals(factsOf(row)));
      const last = rows.at(-1);
      if (last === undefined || rows.length < batchSize || last.final_journal_seq === null) break;
      after = last.final_journal_seq;
    }
    for (const opening of await repository.openingsBetween(registerId, from, to)) {
      addTotals(totals, openingTotals(opening));
    }
    return totals;
  }

  return {
    async record(registerId: string, seq: bigint, totals: SummaryTotals): Promise<void> {
      if (isEmpty(totals)) return;
      const bucket = bucketOf(seq);
      const at = toUtcString(clock.now());
      const known = lastWritten.get(registerId);
      if (known?.bucket === bucket) {
        const next = JSON.stringify(addTotals(parseTotals(known.totals), totals));
        if (await repository.replaceBucket(registerId, bucket, known.totals, next, at)) {
          remember(registerId, bucket, next);
          return;
        }
      }
      const stored = await repository.bucket(registerId, bucket);
      const next = JSON.stringify(stored === undefined ? totals : addTotals(parseTotals(stored), totals));
      if (stored === undefined) await repository.insertBucket(registerId, bucket, next, at);
      else await repository.updateBucket(registerId, bucket, next, at);
      remember(registerId, bucket, next);
    },

    /** The totals of the journal seqs `(from, to]`: whole buckets plus the partial ones at the edges. */
    async sum(registerId: string, from: bigint, to: bigint): Promise<SummaryTotals> {
      if (to <= from) return emptyTotals();
      const firstWhole = (from + BUCKET_SIZE) / BUCKET_SIZE; // the first bucket starting after `from`
      const lastWhole = (to + 1n) / BUCKET_SIZE - 1n; // the last bucket ending at or before `to`
      if (firstWhole > lastWhole) return scan(registerId, from, to);
      const totals = await scan(registerId, from, firstWhole * BUCKET_SIZE - 1n);
      for (const stored of await repository.bucketRange(registerId, firstWhole, lastWhole)) {
        addTotals(totals, parseTotals(stored));
      }
      return addTotals(totals, await scan(registerId, (lastWhole + 1n) * BUCKET_SIZE - 1n, to));
    },

    /** The same totals, recomputed from every operation and opening of the period (slow; for verification). */
    recompute: scan,
  };
}

export type ClosingTotals = ReturnType<typeof createClosingTotals>;
