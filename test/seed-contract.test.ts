/**
 * The two seed endpoints of api.md must match their field lists exactly: names, nesting, types, enums and
 * nullability. Each object is checked against a transcription of api.md §5/§6 — extra fields are allowed, a
 * missing, renamed or mistyped one fails — both in live responses and in the published OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CashDrawerOpening } from '../src/modules/cash-drawer-openings/cash-drawer-opening.schemas.js';
import type { Closing } from '../src/modules/closings/closing.schemas.js';
import { logOpening, scenarioDay, triggerClosing } from './helpers/closings.js';
import { describeDb } from './helpers/engines.js';
import { createFiscalRegister, simulateFailure, type FiscalRegisterFixture } from './helpers/fiscal.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

type Shape =
  | 'string'
  | 'integer'
  | 'timestamp'
  | { readonly literal: string }
  | { readonly pattern: RegExp }
  | { readonly enum: readonly string[] }
  | { readonly nullable: Shape }
  | { readonly object: Readonly<Record<string, Shape>> }
  | { readonly array: Shape }
  | { readonly map: Shape };

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const nullable = (shape: Shape): Shape => ({ nullable: shape });
const object = (fields: Record<string, Shape>): Shape => ({ object: fields });

/** api.md §6, transcribed. */
const CLOSING: Shape = object({
  id: { pattern: /^cls_[0-7][0-9a-hjkmnp-tv-z]{25}$/ },
  object: { literal: 'closing' },
  register_id: { pattern: /^reg_/ },
  type: { enum: ['daily', 'shift', 'monthly', 'annual'] },
  state: { enum: ['pending', 'completed', 'transmitted', 'failed'] },
  period: object({ from: 'timestamp', to: 'timestamp' }),
  summary: object({
    operation_count: 'integer',
    total_gross: 'integer',
    total_tax: 'integer',
    total_by_payment_method: { map: 'integer' },
    by_operation_type: object({
      sales: object({ count: 'integer', total_gross: 'integer' }),
      refunds: object({ count: 'integer', total_gross: 'integer' }),
      voids: object({ count: 'integer' }),
      cash_movements: object({ cash_in_total: 'integer', cash_out_total: 'integer' }),
    }),
    tax_breakdown: {
      array: object({ rate: 'string', category: 'string', taxable_amount: 'integer', tax_amount: 'integer' }),
    },
  }),
  fiscal: nullable(
    object({
      regime: { literal: 'tse' },
      z_number: 'integer',
      tse_serial: 'string',
      signature: 'string',
      transaction_counter: 'integer',
      dsfinvk_export_id: nullable({ pattern: /^exp_/ }),
    }),
  ),
  created_at: 'timestamp',
  completed_at: nullable('timestamp'),
  links: object({ pdf: 'string' }),
});

/** api.md §5, transcribed. */
const CASH_DRAWER_OPENING: Shape = object({
  occurred_at: 'timestamp',
  id: { pattern: /^cdo_[0-7][0-9a-hjkmnp-tv-z]{25}$/ },
  object: { literal: 'cash_drawer_opening' },
  register_id: { pattern: /^reg_/ },
  received_at: 'timestamp',
  created_at: 'timestamp',
  operation_id: nullable({ pattern: /^op_/ }),
  cashier: nullable(object({ id: 'string', display_name: 'string' })),
  reason: nullable('string'),
  note: nullable('string'),
  fiscal: nullable(
    object({
      sequence_number: 'integer',
      signed_at: 'timestamp',
      signature: 'string',
      jurisdiction_data: { map: 'string' },
    }),
  ),
});

/** Every mismatch of `value` against `shape`, as `path: problem`. */
function mismatches(value: unknown, shape: Shape, path = '$'): string[] {
  if (shape === 'string') return typeof value === 'string' ? [] : [`${path}: not a string`];
  if (shape === 'integer') return Number.isInteger(value) ? [] : [`${path}: not an integer`];
  if (shape === 'timestamp') {
    return typeof value === 'string' && TIMESTAMP.test(value) ? [] : [`${path}: not a UTC timestamp`];
  }
  if ('literal' in shape) return value === shape.literal ? [] : [`${path}: not ${shape.literal}`];
  if ('pattern' in shape) {
    return typeof value === 'string' && shape.pattern.test(value)
      ? []
      : [`${path}: does not match ${String(shape.pattern)}`];
  }
  if ('enum' in shape) {
    return typeof value === 'string' && shape.enum.includes(value)
      ? []
      : [`${path}: not one of ${shape.enum.join('|')}`];
  }
  if ('nullable' in shape) return value === null ? [] : mismatches(value, shape.nullable, path);
  if ('array' in shape) {
    if (!Array.isArray(value)) return [`${path}: not an array`];
    return value.flatMap((item, index) => mismatches(item, shape.array, `${path}[${String(index)}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
  const record = value as Record<string, unknown>;
  if ('map' in shape) {
    return Object.entries(record).flatMap(([key, item]) => mismatches(item, shape.map, `${path}.${key}`));
  }
  return Object.entries(shape.object).flatMap(([key, field]) =>
    key in record ? mismatches(record[key], field, `${path}.${key}`) : [`${path}.${key}: missing`],
  );
}

describe('the shape checker', () => {
  it('catches a renamed, a missing, a mistyped and a wrongly nullable field', () => {
    const good = {
      occurred_at: '2026-01-01T00:00:00.000Z',
      id: 'cdo_01jd7xq3m9e5rbq0c2kfvx8w4t',
      object: 'cash_drawer_opening',
      register_id: 'reg_01jd7xq3m9e5rbq0c2kfvx8w4t',
      received_at: '2026-01-01T00:00:00.000Z',
      created_at: '2026-01-01T00:00:00.000Z',
      operation_id: null,
      cashier: null,
      reason: null,
      note: null,
      fiscal: null,
    };
    expect(mismatches(good, CASH_DRAWER_OPENING)).toEqual([]);
    const { received_at: receivedAt, ...renamed } = good;
    expect(mismatches({ ...renamed, receivedAt }, CASH_DRAWER_OPENING)).toEqual(['$.received_at: missing']);
    expect(mismatches({ ...good, cashier: 'Anna' }, CASH_DRAWER_OPENING)).toEqual(['$.cashier: not an object']);
    expect(mismatches({ ...good, occurred_at: null }, CASH_DRAWER_OPENING)).toEqual([
      '$.occurred_at: not a UTC timestamp',
    ]);
    expect(mismatches({ ...good, object: 'drawer_opening' }, CASH_DRAWER_OPENING)).toHaveLength(1);
  });
});

describeDb('seed endpoints match api.md field for field', () => {
  let t: TestApp;
  let fx: FiscalRegisterFixture;
  beforeAll(async () => {
    t = await buildTestApp();
    fx = await createFiscalRegister(t);
  });
  afterAll(() => t.close());

  it('POST /v1/registers/{id}/closings and GET /v1/closings/{id}: every state the contract names', async () => {
    await scenarioDay(fx.registerApi, fx.register.id, () => new Date());
    const completed = await triggerClosing(fx.registerApi, fx.register.id, { type: 'daily' });
    expect(mismatches(completed, CLOSING)).toEqual([]);
    expect(completed.fiscal).not.toBeNull();
    const fetched = await fx.orgApi.get<Closing>(`/v1/closings/${completed.id}`);
    expect(fetched.body).toEqual(completed);
    for (const type of ['shift', 'monthly', 'annual']) {
      expect(mismatches(await triggerClosing(fx.registerApi, fx.register.id, { type }), CLOSING)).toEqual([]);
    }
    await simulateFailure(fx.orgApi, fx.unit.id, 'fail');
    const failed = await triggerClosing(fx.registerApi, fx.register.id, {});
    expect(failed.state).toBe('failed');
    expect(mismatches(failed, CLOSING)).toEqual([]);
    await simulateFailure(fx.orgApi, fx.unit.id, 'none');
  });

  it('GET /v1/cash-drawer-openings/{id}: with and without the optional fields', async () => {
    const bare = await logOpening(fx.registerApi, fx.register.id, { occurred_at: new Date().toISOString() });
    expect(mismatches(bare, CASH_DRAWER_OPENING)).toEqual([]);
    const full = await logOpening(fx.registerApi, fx.register.id, {
      occurred_at: new Date().toISOString(),
      cashier: { id: 'c1', display_name: 'Ben' },
      reason: 'Float',
      note: 'internal',
    });
    const fetched = await fx.orgApi.get<CashDrawerOpening>(`/v1/cash-drawer-openings/${full.id}`);
    expect(mismatches(fetched.body, CASH_DRAWER_OPENING)).toEqual([]);
    expect(fetched.body.cashier).toEqual({ id: 'c1', display_name: 'Ben' });
  });

  it('the OpenAPI document declares every contract field of both objects, nested, as required', async () => {
    const doc = await t.api.get<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      '/v1/openapi.json',
    );
    expect(doc.status).toBe(200);
    const responseSchema = (path: string, method: string, status: string): JsonSchema => {
      const response = doc.body.paths[path]?.[method]?.responses[status] as
        { content: { 'application/json': { schema: JsonSchema } } } | undefined;
      expect(response, `${method} ${path} ${status}`).toBeDefined();
      return response?.content['application/json'].schema ?? {};
    };
    for (const [schema, shape] of [
      [responseSchema('/v1/registers/{registerId}/closings', 'post', '201'), CLOSING],
      [responseSchema('/v1/closings/{closingId}', 'get', '200'), CLOSING],
      [responseSchema('/v1/cash-drawer-openings/{cashDrawerOpeningId}', 'get', '200'), CASH_DRAWER_OPENING],
      [responseSchema('/v1/registers/{registerId}/cash-drawer-openings', 'post', '201'), CASH_DRAWER_OPENING],
    ] as const) {
      expect(undeclared(schema, shape)).toEqual([]);
    }
  });
});

interface JsonSchema {
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly anyOf?: readonly JsonSchema[];
  readonly items?: JsonSchema;
}

/** Contract fields the JSON schema does not declare as required (a nullable field's first object branch). */
function undeclared(schema: JsonSchema, shape: Shape, path = '$'): string[] {
  if (typeof shape === 'string' || !('object' in shape || 'nullable' in shape || 'array' in shape)) return [];
  if ('nullable' in shape) {
    const branch = schema.anyOf?.find(
      (candidate) => candidate.properties !== undefined || candidate.items !== undefined,
    );
    return undeclared(branch ?? schema, shape.nullable, path);
  }
  if ('array' in shape) return undeclared(schema.items ?? {}, shape.array, `${path}[]`);
  return Object.entries(shape.object).flatMap(([key, field]) => [
    ...(schema.required?.includes(key) === true ? [] : [`${path}.${key}`]),
    ...undeclared(schema.properties?.[key] ?? {}, field, `${path}.${key}`),
  ]);
}
