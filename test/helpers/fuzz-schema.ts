/**
 * Fuzzing support: the routes of the published OpenAPI document, and a walk over a request body schema that finds
 * every field of a valid body (present or optional) with the JSON types the schema allows there, so that mutations
 * can be aimed at text, date, numeric, required and closed-object fields of any endpoint, old or new.
 */

export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly additionalProperties?: boolean | JsonSchema;
  readonly $ref?: string;
}

interface OpenApiParameter {
  readonly in: string;
  readonly name: string;
  readonly required?: boolean;
  readonly schema?: JsonSchema;
}

interface OpenApiOperation {
  readonly parameters?: readonly OpenApiParameter[];
  readonly security?: readonly unknown[];
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema?: JsonSchema }>> };
}

export interface OpenApiDocument {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, JsonSchema>> };
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

export interface RouteSpec {
  readonly method: HttpMethod;
  /** The OpenAPI path template, e.g. `/v1/registers/{registerId}/sales`. */
  readonly path: string;
  /** `POST /v1/registers/{registerId}/sales` */
  readonly key: string;
  readonly pathParams: readonly string[];
  /** The `pattern` a path parameter's schema declares (most are ids, which declare none: any text, else 404). */
  readonly pathPatterns: ReadonlyMap<string, RegExp>;
  /** Query parameters with their schemas. */
  readonly query: ReadonlyMap<string, JsonSchema>;
  /** A list endpoint: it takes `limit`, `cursor`, `from`, `to`, `order`. */
  readonly isList: boolean;
  readonly bodySchema: JsonSchema | undefined;
  /** False for the public system routes and bootstrap (`security: []`). */
  readonly authenticated: boolean;
}

/** Every operation of the document, in document order. */
export function routesOf(doc: OpenApiDocument): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const upper = method.toUpperCase() as HttpMethod;
      const parameters = operation.parameters ?? [];
      const query = new Map(
        parameters.filter((p) => p.in === 'query').map((p): [string, JsonSchema] => [p.name, p.schema ?? {}]),
      );
      const templateParams = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? '');
      const pathPatterns = new Map(
        parameters.flatMap((p): [string, RegExp][] =>
          p.in === 'path' && p.schema?.pattern !== undefined ? [[p.name, new RegExp(p.schema.pattern, 'u')]] : [],
        ),
      );
      routes.push({
        method: upper,
        path,
        key: `${upper} ${path}`,
        pathParams: templateParams,
        pathPatterns,
        query,
        isList: query.has('limit') && query.has('cursor'),
        bodySchema: operation.requestBody?.content?.['application/json']?.schema,
        authenticated: operation.security === undefined || operation.security.length > 0,
      });
    }
  }
  return routes;
}

/** Fills a path template: `{name}` → the (already encoded) value. */
export function fillPath(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => values[name] ?? 'missing');
}

export type PathSegment = string | number;

/** A field of a body: where it is, what the schema says of it, whether the valid body has it. */
export interface Field {
  readonly path: readonly PathSegment[];
  /** The alternatives the schema allows (`anyOf` branches, `$ref`s resolved). */
  readonly branches: readonly JsonSchema[];
  /** JSON types allowed here: `string`, `number`, `integer`, `boolean`, `null`, `array`, `object`. */
  readonly types: ReadonlySet<string>;
  readonly present: boolean;
  /** Required by its parent object. */
  readonly required: boolean;
}

export class SchemaWalker {
  constructor(private readonly doc: OpenApiDocument) {}

  resolve(schema: JsonSchema): JsonSchema {
    let current = schema;
    for (let hops = 0; current.$ref !== undefined && hops < 10; hops++) {
      const name = /([^/#]+)#?$/.exec(current.$ref)?.[1] ?? '';
      current = this.doc.components?.schemas?.[name] ?? {};
    }
    return current;
  }

  branchesOf(schema: JsonSchema): JsonSchema[] {
    const resolved = this.resolve(schema);
    const alternatives = resolved.anyOf ?? resolved.oneOf;
    if (alternatives === undefined) return [resolved];
    return alternatives.flatMap((branch) => this.branchesOf(branch));
  }

  static typesOf(branches: readonly JsonSchema[]): Set<string> {
    const types = new Set<string>();
    for (const branch of branches) {
      const declared = branch.type === undefined ? [] : typeof branch.type === 'string' ? [branch.type] : branch.type;
      for (const type of declared) types.add(type);
      for (const value of [...(branch.enum ?? []), ...(branch.const === undefined ? [] : [branch.const])]) {
        types.add(value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
      }
    }
    return types;
  }

  /** Every field of `body` under `schema`, depth first; absent optional properties of present objects included. */
  fieldsOf(schema: JsonSchema, body: unknown): Field[] {
    const fields: Field[] = [];
    const walk = (node: JsonSchema, value: unknown, path: PathSegment[], present: boolean, required: boolean) => {
      const branches = this.branchesOf(node);
      fields.push({ path, branches, types: SchemaWalker.typesOf(branches), present, required });
      if (!present) return;
      if (isPlainObject(value)) {
        const objectBranch = branches.find((branch) => branch.properties !== undefined);
        const requiredKeys = new Set(objectBranch?.required ?? []);
        for (const [key, property] of Object.entries(objectBranch?.properties ?? {})) {
          walk(property, value[key], [...path, key], Object.hasOwn(value, key), requiredKeys.has(key));
        }
        // Maps (`metadata`, card details): the present keys, under the schema of their values.
        const values = branches.find((branch) => typeof branch.additionalProperties === 'object')?.additionalProperties;
        if (objectBranch === undefined && typeof values === 'object') {
          for (const key of Object.keys(value)) walk(values, value[key], [...path, key], true, false);
        }
      } else if (Array.isArray(value)) {
        const items = branches.find((branch) => branch.items !== undefined)?.items;
        // An element is never required on its own (only `minItems` could say so).
        if (items !== undefined) value.forEach((item, index) => walk(items, item, [...path, index], true, false));
      }
    };
    walk(schema, body, [], body !== undefined, true);
    return fields;
  }

  /** A minimal body the schema accepts (for endpoints without a hand-written valid body). */
  synthesize(schema: JsonSchema, depth = 0): unknown {
    const [branch] = this.branchesOf(schema).filter((candidate) => candidate.type !== 'null');
    if (branch === undefined || depth > 8) return null;
    if (branch.const !== undefined) return branch.const;
    if (branch.enum !== undefined) return branch.enum[0];
    const type = (typeof branch.type === 'string' ? branch.type : branch.type?.[0]) ?? 'null';
    switch (type) {
      case 'object': {
        const result: Record<string, unknown> = {};
        for (const key of branch.required ?? []) {
          const property = branch.properties?.[key];
          if (property !== undefined) result[key] = this.synthesize(property, depth + 1);
        }
        return result;
      }
      case 'array':
        return branch.items === undefined ? [] : [this.synthesize(branch.items, depth + 1)];
      case 'integer':
      case 'number':
        return Math.max(branch.minimum ?? 1, 1);
      case 'boolean':
        return false;
      case 'string':
        return branch.format === 'date-time'
          ? new Date().toISOString()
          : 'x'.repeat(Math.max(branch.minLength ?? 1, 1));
      default:
        return null;
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON type of a value, `integer` for whole numbers. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Whether a value of JSON type `type` may appear where `allowed` types are allowed. */
export function typeAllowed(type: string, allowed: ReadonlySet<string>): boolean {
  return allowed.has(type) || (type === 'integer' && allowed.has('number'));
}

/** A string field without pattern, enum or format: free text. */
export function isTextField(field: Field): boolean {
  return field.branches.some(
    (branch) =>
      branch.type === 'string' &&
      branch.pattern === undefined &&
      branch.enum === undefined &&
      branch.format === undefined,
  );
}

export function isDateField(field: Field): boolean {
  return field.branches.some((branch) => branch.type === 'string' && branch.format === 'date-time');
}

export function isNumericField(field: Field): boolean {
  return field.types.has('number') || field.types.has('integer');
}

/** The numeric branch of a field (bounds), if any. */
export function numericBranch(field: Field): JsonSchema | undefined {
  return field.branches.find((branch) => branch.type === 'number' || branch.type === 'integer');
}

/** The object branch of a present object field, if every object branch is closed (`additionalProperties: false`). */
export function closedObjectBranch(field: Field): JsonSchema | undefined {
  const objects = field.branches.filter((branch) => branch.type === 'object');
  if (objects.length === 0 || objects.some((branch) => branch.additionalProperties !== false)) return undefined;
  return objects[0];
}

export function pathLabel(path: readonly PathSegment[]): string {
  return path.reduce<string>(
    (label, segment) =>
      typeof segment === 'number' ? `${label}[${segment}]` : label === '' ? segment : `${label}.${segment}`,
    '',
  );
}

/** A deep copy of a JSON value. */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** A copy of `body` with the value at `path` replaced (or removed when `value` is `REMOVE`). */
export const REMOVE: unique symbol = Symbol('remove');
export function withValueAt(body: unknown, path: readonly PathSegment[], value: unknown): unknown {
  if (path.length === 0) return value === REMOVE ? undefined : value;
  const copy = cloneJson(body);
  let parent: unknown = copy;
  for (const segment of path.slice(0, -1)) {
    parent = (parent as Record<PathSegment, unknown>)[segment];
  }
  const last = path[path.length - 1] as PathSegment;
  if (Array.isArray(parent) && typeof last === 'number') {
    if (value === REMOVE) parent.splice(last, 1);
    else parent[last] = value;
  } else if (isPlainObject(parent)) {
    if (value === REMOVE) Reflect.deleteProperty(parent, last);
    // defineProperty: an own `__proto__` key, not a prototype change.
    else Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}
