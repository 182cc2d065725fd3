import { describe, expect, it } from 'vitest';
import { createCachedSerializerFactory, createCachedValidatorCompiler, LazyCompilation } from './compilers.js';

describe('LazyCompilation', () => {
  it('compiles a schema at its first use, once', () => {
    const compilation = new LazyCompilation();
    let compiles = 0;
    const get = compilation.defer(() => {
      compiles += 1;
      return { compiled: compiles };
    });
    expect(compiles).toBe(0);
    expect(compilation.pending).toBe(1);
    expect(get()).toEqual({ compiled: 1 });
    expect(get()).toBe(get());
    expect(compiles).toBe(1);
    expect(compilation.pending).toBe(0);
  });

  it('compiles the rest one per turn of the event loop, so other work runs in between', async () => {
    const compilation = new LazyCompilation();
    const order: string[] = [];
    const getters = ['a', 'b', 'c'].map((name) => compilation.defer(() => order.push(`compile ${name}`)));
    getters[1]?.(); // used by a request already
    setImmediate(() => order.push('other work'));
    await compilation.compileRest();
    expect(order).toEqual(['compile b', 'compile a', 'other work', 'compile c']);
    expect(compilation.pending).toBe(0);
  });

  it('reports a schema that does not compile and goes on; its first use throws', async () => {
    const compilation = new LazyCompilation();
    const broken = compilation.defer(() => {
      throw new Error('bad schema');
    });
    const fine = compilation.defer(() => 'ok');
    const errors: unknown[] = [];
    await compilation.compileRest((error) => errors.push(error));
    expect(errors.map(String)).toEqual(['Error: bad schema']);
    expect(fine()).toBe('ok');
    expect(() => broken()).toThrow('bad schema');
  });

  it('stops compiling when stopped (the app closes)', async () => {
    const compilation = new LazyCompilation();
    for (let i = 0; i < 5; i++) compilation.defer(() => i);
    const running = compilation.compileRest();
    compilation.stop();
    await running;
    expect(compilation.pending).toBe(4);
  });
});

describe('the lazy compilers', () => {
  const schema = {
    type: 'object',
    properties: { amount: { type: 'integer' }, label: { type: 'string' } },
    required: ['amount'],
    additionalProperties: false,
  };

  it('validate as Ajv does, with its errors on the function, and share one compilation per schema', () => {
    const compilation = new LazyCompilation();
    const compile = createCachedValidatorCompiler(compilation);
    const validate = compile({ schema, httpPart: 'body' });
    expect(compile({ schema: { ...schema }, httpPart: 'body' })).toBe(validate);
    expect(compilation.pending).toBe(1);
    expect(validate({ amount: '5' })).toBe(false); // bodies are not coerced
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/amount', keyword: 'type' });
    expect(validate({ amount: 5, label: 'x' })).toBe(true);
    expect(validate.errors).toBeNull();
    // Query strings are: the text part has its own compilation.
    const text = compile({ schema, httpPart: 'querystring' });
    expect(text).not.toBe(validate);
    expect(text({ amount: '5' })).toBe(true);
  });

  it('serialize as fast-json-stringify does', () => {
    const compilation = new LazyCompilation();
    const build = createCachedSerializerFactory(compilation)({}, {});
    const serialize = build({ schema });
    expect(compilation.pending).toBe(1);
    expect(serialize({ amount: 5, label: 'ä"', extra: true })).toBe('{"amount":5,"label":"ä\\""}');
    expect(compilation.pending).toBe(0);
  });
});
