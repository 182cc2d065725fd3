/**
 * Schema compilers with a cache by schema content. Every route repeats the same error responses and often the
 * same parameter and query schemas; compiling each distinct schema once instead of once per route roughly halves
 * the time from start to first answer.
 * @module
 */
import fastJsonStringify, { type Options as SerializerOptions, type Schema } from 'fast-json-stringify';
import { compileValidator } from './validation.js';

type Serializer = (data: unknown) => string;

/** Fastify's `schemaController.compilersFactory.buildSerializer`, memoised per distinct response schema. */
export function buildCachedSerializer(externalSchemas: unknown, serializerOptions: unknown) {
  const options: SerializerOptions = {
    ...(serializerOptions as SerializerOptions | undefined),
    schema: (externalSchemas ?? {}) as Record<string, Schema>,
  };
  const cache = new Map<string, Serializer>();
  return ({ schema }: { schema?: unknown }): Serializer => {
    const key = JSON.stringify(schema);
    let serializer = cache.get(key);
    if (serializer === undefined) {
      serializer = fastJsonStringify(schema as Schema, options);
      cache.set(key, serializer);
    }
    return serializer;
  };
}

/** The request validator compiler, memoised per distinct schema and request part. */
export function createCachedValidatorCompiler() {
  const cache = new Map<string, ReturnType<typeof compileValidator>>();
  return (route: { schema: object; httpPart?: string }) => {
    const key = `${route.httpPart === 'body' ? 'body' : 'text'}:${JSON.stringify(route.schema)}`;
    let validator = cache.get(key);
    if (validator === undefined) {
      validator = compileValidator(route);
      cache.set(key, validator);
    }
    return validator;
  };
}
