/**
 * Cursor pagination (api.md §1): keyset over `(created_at, id)`, so pages never skip or repeat a row however
 * many rows are added meanwhile. The cursor is opaque to clients: base64url JSON of the last row's key and the
 * order it was read in.
 * @module
 */
import { AppError } from '../errors/app-error.js';
import { normaliseTimestamp } from './time.js';

export type SortOrder = 'asc' | 'desc';

export interface PageKey {
  readonly createdAt: string;
  readonly id: string;
}

/** A validated list request, as repositories receive it. */
export interface PageRequest {
  readonly limit: number;
  readonly after: PageKey | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly order: SortOrder;
}

/** The query parameters every list endpoint takes (after schema validation). */
export interface ListQuery {
  readonly limit?: number;
  readonly cursor?: string;
  readonly from?: string;
  readonly to?: string;
  readonly order?: SortOrder;
}

export interface Page<T> {
  readonly object: 'list';
  readonly data: T[];
  readonly has_more: boolean;
  readonly next_cursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export function encodeCursor(key: PageKey, order: SortOrder): string {
  return Buffer.from(JSON.stringify({ c: key.createdAt, i: key.id, o: order }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, order: SortOrder): PageKey {
  const invalid = (message: string) => new AppError('invalid_request', { message, param: 'cursor' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('`cursor` is not a cursor returned by this endpoint.');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('c' in parsed) ||
    !('i' in parsed) ||
    !('o' in parsed) ||
    typeof parsed.c !== 'string' ||
    typeof parsed.i !== 'string' ||
    normaliseTimestamp(parsed.c) !== parsed.c
  ) {
    throw invalid('`cursor` is not a cursor returned by this endpoint.');
  }
  if (parsed.o !== order) throw invalid('`cursor` was issued for the other `order`; keep `order` while paging.');
  return { createdAt: parsed.c, id: parsed.i };
}

/** Turns list query parameters into a {@link PageRequest}, rejecting bad bounds and foreign cursors. */
export function toPageRequest(query: ListQuery): PageRequest {
  const order = query.order ?? 'asc';
  const from = query.from === undefined ? null : normaliseTimestamp(query.from);
  const to = query.to === undefined ? null : normaliseTimestamp(query.to);
  if (query.from !== undefined && from === null) {
    throw new AppError('invalid_request', { message: '`from` must be an RFC 3339 timestamp.', param: 'from' });
  }
  if (query.to !== undefined && to === null) {
    throw new AppError('invalid_request', { message: '`to` must be an RFC 3339 timestamp.', param: 'to' });
  }
  if (from !== null && to !== null && from > to) {
    throw new AppError('invalid_request', { message: '`from` is after `to`.', param: 'from' });
  }
  return {
    limit: query.limit ?? DEFAULT_PAGE_SIZE,
    after: query.cursor === undefined ? null : decodeCursor(query.cursor, order),
    from,
    to,
    order,
  };
}

/**
 * Builds the list envelope from up to `limit + 1` rows read in page order: the extra row only tells that there
 * is more.
 */
export function toPage<Row extends { created_at: string; id: string }, T>(
  rows: readonly Row[],
  request: PageRequest,
  present: (row: Row) => T,
): Page<T> {
  const hasMore = rows.length > request.limit;
  const pageRows = hasMore ? rows.slice(0, request.limit) : rows;
  const last = pageRows.at(-1);
  return {
    object: 'list',
    data: pageRows.map(present),
    has_more: hasMore,
    next_cursor:
      hasMore && last !== undefined ? encodeCursor({ createdAt: last.created_at, id: last.id }, request.order) : null,
  };
}
