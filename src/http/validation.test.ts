import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { compileValidator, describeValidationError, paramOf, toParamPath } from './validation.js';

const error = (keyword: string, instancePath: string, params: Record<string, unknown>): ErrorObject => ({
  keyword,
  instancePath,
  schemaPath: `#/${keyword}`,
  params,
});

/** The first error a real body validator reports for `body`, as the error handler receives it. */
function firstBodyError(schema: object, body: unknown): ErrorObject {
  const validate = compileValidator({ schema, httpPart: 'body' });
  if (validate(body)) throw new Error('expected the body to be invalid');
  const [first] = validate.errors ?? [];
  if (first === undefined) throw new Error('expected a validation error');
  return first;
}

const BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    metadata: { type: 'object', propertyNames: { minLength: 1, maxLength: 40 } },
    line_items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string' }, tax: { type: 'object', properties: { rate: { type: 'string' } } } },
      },
    },
  },
};

describe(toParamPath.name, () => {
  it.each([
    ['/line_items/2/tax/rate', 'line_items[2].tax.rate'],
    ['', ''],
    ['/name', 'name'],
    ['/address/city', 'address.city'],
    ['/line_items/0', 'line_items[0]'],
    ['/matrix/1/2', 'matrix[1][2]'],
    ['/0/name', '[0].name'],
    ['/a~1b/c~0d', 'a/b.c~d'],
    ['/~01', '~1'],
  ])('turns %j into %j', (pointer, path) => {
    expect(toParamPath(pointer)).toBe(path);
  });
});

describe(paramOf.name, () => {
  it('names a missing top-level property', () => {
    expect(paramOf(error('required', '', { missingProperty: 'name' }))).toBe('name');
  });

  it('names a missing nested property with its path', () => {
    expect(paramOf(error('required', '/line_items/2', { missingProperty: 'quantity' }))).toBe('line_items[2].quantity');
  });

  it('names an unknown field', () => {
    expect(paramOf(error('additionalProperties', '/address', { additionalProperty: 'colour' }))).toBe('address.colour');
    expect(paramOf(error('additionalProperties', '', { additionalProperty: 'colour' }))).toBe('colour');
  });

  it('names a disallowed key', () => {
    const key = 'k'.repeat(41);
    expect(paramOf(error('propertyNames', '/metadata', { propertyName: key }))).toBe(`metadata.${key}`);
  });

  it('names the value itself for other keywords', () => {
    expect(paramOf(error('maximum', '/limit', { comparison: '<=', limit: 200 }))).toBe('limit');
    expect(paramOf(error('type', '/line_items/0/tax/rate', { type: 'string' }))).toBe('line_items[0].tax.rate');
  });

  it('is null for an error about the whole body', () => {
    expect(paramOf(error('type', '', { type: 'object' }))).toBeNull();
  });

  describe('with errors from the real body validator', () => {
    it('names a missing property inside an array item', () => {
      const first = firstBodyError(BODY_SCHEMA, { line_items: [{ name: 'a' }, {}] });
      expect(paramOf(first)).toBe('line_items[1].name');
    });

    it('names an unknown field inside an array item', () => {
      const first = firstBodyError(BODY_SCHEMA, { line_items: [{ name: 'a', colour: 'red' }] });
      expect(paramOf(first)).toBe('line_items[0].colour');
    });

    it('names a wrongly typed nested value', () => {
      const first = firstBodyError(BODY_SCHEMA, { line_items: [{ name: 'a', tax: { rate: 19 } }] });
      expect(paramOf(first)).toBe('line_items[0].tax.rate');
    });

    it('names a metadata key that is too long (ajv reports the inner maxLength error first)', () => {
      const key = 'k'.repeat(41);
      const first = firstBodyError(BODY_SCHEMA, { metadata: { [key]: 'v' } });
      expect([first.keyword, paramOf(first)]).toEqual(['maxLength', `metadata.${key}`]);
    });

    it('names a field with no schema problem in its keys only by its path', () => {
      const first = firstBodyError(BODY_SCHEMA, { metadata: 'not an object' });
      expect(paramOf(first)).toBe('metadata');
    });
  });
});

describe(describeValidationError.name, () => {
  it('says a missing field is required', () => {
    expect(describeValidationError(error('required', '', { missingProperty: 'name' }), 'name')).toBe(
      '`name` is required.',
    );
  });

  it('says an unknown field is not known', () => {
    const e = error('additionalProperties', '', { additionalProperty: 'colour' });
    expect(describeValidationError(e, 'colour')).toBe('`colour` is not a known field.');
  });

  it('lists the allowed values of an enum', () => {
    const e = error('enum', '/order', { allowedValues: ['asc', 'desc'] });
    expect(describeValidationError(e, 'order')).toBe('`order` must be one of asc, desc.');
  });

  it('says a bad metadata key from the real validator is not an allowed key', () => {
    const key = 'k'.repeat(41);
    const first = firstBodyError(BODY_SCHEMA, { metadata: { [key]: 'v' } });
    expect(describeValidationError(first, paramOf(first))).toBe(
      `\`metadata.${key}\` is not an allowed key (1–40 characters).`,
    );
  });

  it('asks for a JSON object when the body has the wrong type', () => {
    const first = firstBodyError(BODY_SCHEMA, []);
    expect(describeValidationError(first, paramOf(first))).toBe('The request needs a JSON object as its body.');
  });

  it("uses ajv's message for other keywords", () => {
    const first = firstBodyError(BODY_SCHEMA, { line_items: [{ name: 3 }] });
    expect(describeValidationError(first, paramOf(first))).toBe('`line_items[0].name` must be string.');
  });
});
