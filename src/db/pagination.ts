import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { PageRequest } from '../shared/pagination.js';
import type { DB } from './schema.js';

/**
 * Applies a page request to a query over a table with `created_at` and `id` columns: the `from`/`to` bounds, the
 * keyset condition after the cursor, the order, and `limit + 1` rows (see `toPage`).
 */
export function applyPage<TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  table: TB,
  request: PageRequest,
): SelectQueryBuilder<DB, TB, O> {
  const createdAt = sql.ref(`${table}.created_at`);
  const id = sql.ref(`${table}.id`);
  let paged = query;
  if (request.from !== null) paged = paged.where(sql<SqlBool>`${createdAt} >= ${request.from}`);
  if (request.to !== null) paged = paged.where(sql<SqlBool>`${createdAt} <= ${request.to}`);
  if (request.after !== null) {
    const { createdAt: c, id: i } = request.after;
    paged =
      request.order === 'asc'
        ? paged.where(sql<SqlBool>`(${createdAt} > ${c} or (${createdAt} = ${c} and ${id} > ${i}))`)
        : paged.where(sql<SqlBool>`(${createdAt} < ${c} or (${createdAt} = ${c} and ${id} < ${i}))`);
  }
  const direction = request.order === 'asc' ? sql`asc` : sql`desc`;
  return paged
    .orderBy(sql`${createdAt} ${direction}`)
    .orderBy(sql`${id} ${direction}`)
    .limit(request.limit + 1);
}
