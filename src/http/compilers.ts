/**
 * Schema compilers: cached by schema content, and lazy. Every route repeats the same error responses and often the
 * same parameter and query schemas, so each distinct schema is compiled once, not once per route. Compiling them
 * all before the server listens took about half of its start-up, so a compiler hands Fastify a function that
 * compiles its schema when first called; once the server listens, {@link LazyCompilation.compileRest} compiles the
 * others in the background, one per turn of the event loop, so requests are not held up by it either.
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ErrorObject } from 'ajv';
import fastJsonStringify, { type Options as SerializerOptions, type Schema } from 'fast-json-stringify';
import { compileValidator } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's schemas not compiled yet (see {@link LazyCompilation}). */
    readonly schemaCompilation: LazyCompilation;
  }
}

type Serializer = (data: unknown) => string;
/** What Fastify calls to validate: true or false, with Ajv's `errors` on the function after a false. */
type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** The schemas handed out but not compiled yet, shared by the validator and serializer compilers of one app. */
export class LazyCompilation {
  readonly #pending = new Set<() => void>();
  #stopped = false;

  /** `compile` runs at the first call of the returned getter, or in {@link compileRest}, whichever comes first. */
  defer<T>(compile: () => T): () => T {
    let compiled: T | undefined;
    const ensure = () => {
      if (compiled === undefined) {
        compiled = compile();
        this.#pending.delete(ensure);
      }
      return compiled;
    };
    this.#pending.add(ensure);
    return ensure;
  }

  /** How many schemas are still waiting. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Compiles every waiting schema, one per turn of the event loop, until none is left or {@link stop}. A schema
   * that does not compile is left for its first use to report (as a 500); the test suite compiles them all.
   */
  async compileRest(onError: (error: unknown) => void = () => undefined): Promise<void> {
    for (const compile of this.#pending) {
      if (this.#stopped) return;
      try {
        compile();
      } catch (error) {
        this.#pending.delete(compile);
        onError(error);
      }
      await nextTurn();
    }
  }

  stop(): void {
    this.#stopped = true;
  }
}

/** Fastify's `schemaController.compilersFactory.buildSerializer`, memoised per distinct response schema. */
export function createCachedSerializerFactory(compilation: LazyCompilation) {
  return (externalSchemas: unknown, serializerOptions: unknown) => {
    const options: SerializerOptions = {
      ...(serializerOptions as SerializerOptions | undefined),
      schema: (externalSchemas ?? {}) as Record<string, Schema>,
    };
    const cache = new Map<string, Serializer>();
    return ({ schema }: { schema?: unknown }): Serializer => {
      const key = JSON.stringify(schema);
      let serializer = cache.get(key);
      if (serializer === undefined) {
        const compiled = compilation.defer(() => fastJsonStringify(schema as Schema, options));
        serializer = (data) => compiled()(data);
        cache.set(key, serializer);
      }
      return serializer;
    };
  };
}

/** The request validator compiler, memoised per distinct schema and request part. */
export function createCachedValidatorCompiler(compilation: LazyCompilation) {
  const cache = new Map<string, Validator>();
  return (route: { schema: object; httpPart?: string }): Validator => {
    const key = `${route.httpPart === 'body' ? 'body' : 'text'}:${JSON.stringify(route.schema)}`;
    let validator = cache.get(key);
    if (validator === undefined) {
      const compiled = compilation.defer(() => compileValidator(route));
      const validate: Validator = (data) => {
        const ajvValidate = compiled();
        const valid = ajvValidate(data);
        validate.errors = ajvValidate.errors ?? null;
        return valid;
      };
      validator = validate;
      cache.set(key, validator);
    }
    return validator;
  };
}
