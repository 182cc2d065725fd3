/**
 * Schemas shared by every resource: the error body, the list envelope, list query parameters, addresses and
 * metadata. Descriptions here become the OpenAPI document.
 * @module
 */
import Type, { type Static, type TSchema, type TProperties } from 'typebox';
import { ERROR_CATALOGUE } from '../errors/codes.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../shared/pagination.js';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Timestamp = Type.String({
  format: 'date-time',
  description: 'UTC, RFC 3339 with milliseconds and `Z`.',
  examples: ['2026-03-01T09:30:00.000Z'],
});

export const ErrorBody = Type.Object(
  {
    object: Type.Literal('error'),
    code: Type.Enum(Object.keys(ERROR_CATALOGUE), {
      type: 'string',
      description: 'Stable machine code; see the error catalogue.',
    }),
    message: Type.String({ description: 'For humans; may change.' }),
    param: Nullable(Type.String({ description: 'The offending field as a JSON path, or a header name.' })),
    fiscal_errors: Nullable(
      Type.Array(Type.Object({ code: Type.String(), message: Type.String(), jurisdiction: Type.String() })),
    ),
    request_id: Type.String({ pattern: '^req_[0-9a-f]{20}$' }),
    retryable: Type.Boolean({ description: 'True exactly for 429, 5xx and idempotency_request_in_progress.' }),
  },
  { $id: 'Error', title: 'Error' },
);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid JSON, schema violation or missing organization header',
  401: 'Missing, malformed, unknown or revoked API key',
  403: 'The key is valid but outside its scope',
  404: "Unknown id, or another tenant's id",
  409: 'State conflict or idempotency conflict',
  410: 'The file has expired and was deleted',
  413: 'Body larger than 1 MiB',
  415: 'Body is not application/json',
  422: 'Well-formed but not acceptable',
  429: 'Per-key rate limit exceeded; see Retry-After',
  500: 'Internal error',
  502: 'The fiscal unit refused to sign; the request had no effect',
  503: 'Database or fiscal unit unavailable; the request had no effect',
};

const ErrorRef = Type.Unsafe<Static<typeof ErrorBody>>({ $ref: 'Error#' });

/** The error response schema for one status. */
export function errorResponse(status: number): TSchema {
  return { ...ErrorRef, description: ERROR_DESCRIPTIONS[status] ?? 'Error' };
}

/**
 * Error responses for an authenticated route's schema: those every such route can give (400, 401, 429, 500, 503)
 * and the statuses named.
 */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  const all = new Set([400, 401, 429, 500, 503, ...statuses]);
  return Object.fromEntries([...all].sort().map((status) => [status, errorResponse(status)]));
}

export const Metadata = Type.Record(Type.String(), Type.String({ maxLength: 500 }), {
  maxProperties: 50,
  propertyNames: { minLength: 1, maxLength: 40 },
  description: 'Your own key/value pairs: up to 50 keys of up to 40 characters, string values up to 500.',
});

export const MetadataPatch = Type.Record(Type.String(), Nullable(Type.String({ maxLength: 500 })), {
  maxProperties: 50,
  propertyNames: { minLength: 1, maxLength: 40 },
  description: 'Merged into the stored metadata; a key set to null is removed.',
});

const CountryCode = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2.', examples: ['DE'] });
export { CountryCode };

export const Address = Type.Object(
  {
    line1: Type.String({ minLength: 1, maxLength: 200 }),
    line2: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    city: Type.String({ minLength: 1, maxLength: 100 }),
    state: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    postal_code: Type.String({ minLength: 1, maxLength: 20 }),
    country: CountryCode,
  },
  { additionalProperties: false },
);

export const AddressResponse = Type.Object({
  line1: Type.String(),
  line2: Nullable(Type.String()),
  city: Type.String(),
  state: Nullable(Type.String()),
  postal_code: Type.String(),
  country: Type.String(),
});

/** Query parameters of every list endpoint, plus the endpoint's own filters. */
export function listQuery<P extends TProperties>(filters: P) {
  return Type.Object(
    {
      limit: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: MAX_PAGE_SIZE,
          default: DEFAULT_PAGE_SIZE,
          description: `Page size, 1–${MAX_PAGE_SIZE}.`,
        }),
      ),
      cursor: Type.Optional(Type.String({ maxLength: 500, description: '`next_cursor` of the previous page.' })),
      from: Type.Optional(Type.String({ format: 'date-time', description: 'Only items created at or after.' })),
      to: Type.Optional(Type.String({ format: 'date-time', description: 'Only items created at or before.' })),
      order: Type.Optional(
        Type.Enum(['asc', 'desc'], { type: 'string', default: 'asc', description: '`asc` = oldest first.' }),
      ),
      ...filters,
    },
    { additionalProperties: false },
  );
}

export function listOf<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      object: Type.Literal('list'),
      data: Type.Array(item),
      has_more: Type.Boolean(),
      next_cursor: Nullable(Type.String()),
    },
    { title },
  );
}

/** Path parameter holding an id. Deliberately unconstrained: an id of the wrong shape is a 404, not a 400. */
export const IdParam = (description: string) => Type.String({ description, maxLength: 200 });
