/**
 * Request validation. Bodies are validated strictly: no type coercion (`"5"` is not an amount), no silent removal
 * of unknown fields (a typo is an error, not a no-op). Query strings and path parameters are text, so they are
 * coerced to the declared types.
 * @module
 */
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function createAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = createAjv(false);
const textAjv = createAjv(true);

export function compileValidator({ schema, httpPart }: { schema: object; httpPart?: string }) {
  return (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
}

/** `/line_items/2/tax/rate` → `line_items[2].tax.rate` */
export function toParamPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path === '' ? segment : `${path}.${segment}`),
      '',
    );
}

/** The object key that broke `propertyNames` (Ajv puts it on the error, or in its params). */
function badKeyOf(error: FastifySchemaValidationError | ErrorObject): string | null {
  if ('propertyName' in error && typeof error.propertyName === 'string') return error.propertyName;
  const params = error.params as Record<string, unknown>;
  return error.keyword === 'propertyNames' && typeof params.propertyName === 'string' ? params.propertyName : null;
}

/** Names the offending field of a validation error, as a JSON path. */
export function paramOf(error: FastifySchemaValidationError | ErrorObject): string | null {
  const params = error.params as Record<string, unknown>;
  let child = badKeyOf(error);
  if (child === null && typeof params.missingProperty === 'string') child = params.missingProperty;
  if (child === null && typeof params.additionalProperty === 'string') child = params.additionalProperty;
  const base = toParamPath(error.instancePath);
  if (child === null) return base === '' ? null : base;
  if (child === '') return `${base}[""]`;
  return base === '' ? child : `${base}.${child}`;
}

/** A readable sentence for a validation error, e.g. "`limit` must be <= 200". */
export function describeValidationError(
  error: FastifySchemaValidationError | ErrorObject,
  param: string | null,
): string {
  const params = error.params as Record<string, unknown>;
  if (param === null && error.keyword === 'type' && error.instancePath === '') {
    return 'The request needs a JSON object as its body.';
  }
  const subject = param === null ? 'The body' : `\`${param}\``;
  if (badKeyOf(error) !== null) return `${subject} is not an allowed key (1–40 characters).`;
  switch (error.keyword) {
    case 'required':
      return `${subject} is required.`;
    case 'additionalProperties':
      return `${subject} is not a known field.`;
    case 'enum':
      return `${subject} must be one of ${(Array.isArray(params.allowedValues) ? params.allowedValues : []).map(String).join(', ')}.`;
    default:
      return `${subject} ${error.message ?? 'is invalid'}.`;
  }
}
