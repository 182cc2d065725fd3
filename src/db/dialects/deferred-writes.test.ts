import { describe, expect, it } from 'vitest';
import {
  canCarry,
  canHoldWith,
  carryHeldWrites,
  heldWrite,
  heldWritesAlone,
  renumberParameters,
} from './deferred-writes.js';

const MARK = '/* prepared */ ';

const held = (sql: string, parameters: unknown[]) => {
  const write = heldWrite({ sql, parameters }, MARK);
  if (write === null) throw new Error(`not holdable: ${sql}`);
  return write;
};

describe('deferred writes: the statement that carries them', () => {
  it('holds plain INSERTs, UPDATEs and DELETEs, and knows their table and whether they may change existing rows', () => {
    expect(held(`${MARK}insert into "tse_log_messages" ("a") values ($1)`, [1])).toMatchObject({
      table: '"tse_log_messages"',
      kind: 'insert',
    });
    expect(held(`insert into "odd""name" ("a") values ($1)`, [1]).table).toBe('"odd""name"');
    expect(held(`${MARK}update "operations" set "a" = $1 where "id" = $2`, [1, 2])).toMatchObject({
      table: '"operations"',
      kind: 'change',
    });
    expect(held(`${MARK}delete from "t" where "id" = $1`, [1])).toMatchObject({ table: '"t"', kind: 'change' });
    // An upsert may change a row that exists.
    expect(held(`${MARK}insert into "t" ("a") values ($1) on conflict ("a") do update set "a" = $2`, [1, 2]).kind).toBe(
      'change',
    );
    // A write with a WITH of its own cannot sit inside another WITH; reads are never held.
    expect(heldWrite({ sql: `${MARK}with "x" as (select 1) insert into "t" select 1`, parameters: [] }, MARK)).toBe(
      null,
    );
    expect(heldWrite({ sql: `${MARK}select * from "t"`, parameters: [] }, MARK)).toBe(null);
  });

  it('holds writes together only when none names a table another changes, or all insert into one', () => {
    const insertA = held(`${MARK}insert into "a" ("x") values ($1)`, [1]);
    const updateA = held(`${MARK}update "a" set "x" = $1`, [1]);
    const updateB = held(`${MARK}update "b" set "x" = $1`, [1]);
    expect(canHoldWith([insertA], held(`${MARK}insert into "a" ("x") values ($1)`, [2]))).toBe(true);
    expect(canHoldWith([insertA, updateB], updateA)).toBe(false);
    expect(canHoldWith([updateA], insertA)).toBe(false);
    expect(canHoldWith([updateA], held(`${MARK}update "a" set "x" = $1`, [2]))).toBe(false);
    expect(canHoldWith([insertA, updateA], updateB)).toBe(true);
    expect(canHoldWith([], updateA)).toBe(true);
    // A write that reads another's table would not see that write in the same statement, in either order.
    const readsA = held(`${MARK}update "b" set "x" = (select count(*) from "a")`, []);
    expect(canHoldWith([insertA], readsA)).toBe(false);
    expect(canHoldWith([readsA], insertA)).toBe(false);
    expect(canHoldWith([readsA], held(`${MARK}insert into "c" ("x") values ($1)`, [1]))).toBe(true);
  });

  it('puts the held writes in front, renumbering every placeholder after one another', () => {
    const writes = [
      held(`${MARK}insert into "a" ("x", "y") values ($1, $2)`, ['x1', 'y1']),
      held(`${MARK}insert into "b" ("z") values ($1)`, ['z1']),
    ];
    const carried = carryHeldWrites(
      writes,
      { sql: `${MARK}update "c" set "n" = $1 where "id" = $2`, parameters: [7, 'c1'] },
      MARK,
    );
    expect(carried.sql).toBe(
      `${MARK}with "deferred_1" as (insert into "a" ("x", "y") values ($1, $2)), "deferred_2" as (insert into "b" ("z") values ($3)) update "c" set "n" = $4 where "id" = $5`,
    );
    expect(carried.parameters).toEqual(['x1', 'y1', 'z1', 7, 'c1']);
  });

  it('builds the same SQL from cache, keyed by every text and parameter count, also past the cache bound', () => {
    const carrier = { sql: `${MARK}update "c" set "n" = $1`, parameters: [7] };
    const write = (parameters: unknown[]) => held(`${MARK}insert into "a" ("x") values ($1)`, parameters);
    const first = carryHeldWrites([write([1])], carrier, MARK);
    const again = carryHeldWrites([write([2])], carrier, MARK);
    expect(again.sql).toBe(first.sql);
    expect(again.parameters).toEqual([2, 7]);
    // The parameter counts are part of the key: two parameters before it move the carrier’s placeholder to $3.
    const longer = carryHeldWrites([write([1, 2])], carrier, MARK);
    expect(longer.sql).toBe(`${MARK}with "deferred_1" as (insert into "a" ("x") values ($1)) update "c" set "n" = $3`);
    // Thousands of distinct texts (past the bound, which drops the cache): each answer still its own.
    for (let i = 0; i < 2500; i += 1) {
      const text = `${MARK}insert into "t${String(i)}" ("x") values ($1)`;
      expect(carryHeldWrites([held(text, [i])], carrier, MARK).sql).toBe(
        `${MARK}with "deferred_1" as (insert into "t${String(i)}" ("x") values ($1)) update "c" set "n" = $2`,
      );
    }
    expect(carryHeldWrites([write([3])], carrier, MARK)).toEqual({ sql: first.sql, parameters: [3, 7] });
    // The shape of a write is kept by text too; the parameters are each call's own.
    const text = `${MARK}update "b" set "y" = $1`;
    expect(heldWrite({ sql: text, parameters: [1] }, MARK)).toEqual({
      sql: text,
      parameters: [1],
      table: '"b"',
      kind: 'change',
    });
    expect(heldWrite({ sql: text, parameters: [2] }, MARK)?.parameters).toEqual([2]);
    expect(heldWrite({ sql: text, parameters: [2] }, '/* other */ ')).toBeNull();
  });

  it('joins a carrier’s own WITH list (also WITH RECURSIVE) instead of nesting it', () => {
    const writes = [held(`${MARK}insert into "a" ("x") values ($1)`, ['x1'])];
    expect(
      carryHeldWrites(
        writes,
        {
          sql: `${MARK}with "taken" as (update "r" set "n" = $1 returning "n") select * from "taken"`,
          parameters: [2],
        },
        MARK,
      ).sql,
    ).toBe(
      `${MARK}with "deferred_1" as (insert into "a" ("x") values ($1)), "taken" as (update "r" set "n" = $2 returning "n") select * from "taken"`,
    );
    expect(
      carryHeldWrites(writes, { sql: 'with recursive "t"(n) as (select $1) select n from "t"', parameters: [1] }, MARK)
        .sql,
    ).toBe(
      'with recursive "deferred_1" as (insert into "a" ("x") values ($1)), "t"(n) as (select $2) select n from "t"',
    );
  });

  it('keeps the prepared marker only where the carrier has it', () => {
    const writes = [held(`${MARK}insert into "a" ("x") values ($1)`, ['x1'])];
    expect(carryHeldWrites(writes, { sql: 'select $1', parameters: [1] }, MARK).sql).toBe(
      'with "deferred_1" as (insert into "a" ("x") values ($1)) select $2',
    );
  });

  it('lets only queries and DML that do not name a held table carry them', () => {
    const writes = [held(`${MARK}insert into "operations" ("x") values ($1)`, ['x1'])];
    const carries = (sql: string) => canCarry({ sql, parameters: [] }, writes, MARK);
    expect(carries(`${MARK}insert into "journal_entries" ("a") values ($1)`)).toBe(true);
    expect(carries(`${MARK}with "t" as (update "registers" set "n" = 1) select 1`)).toBe(true);
    expect(carries('select 1')).toBe(true);
    // It would not see the held row: the write goes out first, alone.
    expect(carries(`${MARK}update "operations" set "state" = $1`)).toBe(false);
    expect(carries(`${MARK}select count(*) from "registers" join "operations" on true`)).toBe(false);
    // Transaction control and the like cannot take a WITH.
    for (const sql of ['commit', 'begin', 'savepoint "s"', 'rollback to savepoint "s"', 'release savepoint "s"']) {
      expect(carries(sql)).toBe(false);
    }
  });

  it('sends held writes alone as one statement: the last carries the others', () => {
    const one = held(`${MARK}insert into "a" ("x") values ($1)`, ['x1']);
    expect(heldWritesAlone([one], MARK)).toBe(one);
    const two = held(`${MARK}insert into "b" ("y") values ($1)`, ['y1']);
    expect(heldWritesAlone([one, two], MARK)).toEqual({
      sql: `${MARK}with "deferred_1" as (insert into "a" ("x") values ($1)) insert into "b" ("y") values ($2)`,
      parameters: ['x1', 'y1'],
    });
    expect(() => heldWritesAlone([], MARK)).toThrow('no held writes');
  });

  it('renumbers placeholders only outside literals, quoted names and comments', () => {
    expect(renumberParameters(`select $1, '$1 it''s', "$2""q", $10 /* $3 */ -- $4\n, $2`, 5)).toBe(
      `select $6, '$1 it''s', "$2""q", $15 /* $3 */ -- $4\n, $7`,
    );
    expect(renumberParameters('select $1', 0)).toBe('select $1');
    // A literal that never closes is left as it is.
    expect(renumberParameters("select $1, 'open", 1)).toBe("select $2, 'open");
  });
});
