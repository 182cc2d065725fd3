/** A small HTTP client over Fastify's inject, so tests read like API calls. */
import type { App } from '../../src/app.js';

export interface ApiResponse<T> {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  /** The raw body as sent. */
  readonly text: string;
  /** The parsed JSON body (undefined if it is not JSON). */
  readonly body: T;
  /** The body's bytes (PDFs, archives). */
  readonly raw: Buffer;
}

export interface RequestOptions {
  readonly headers?: Record<string, string>;
  /** Sent as is, instead of JSON-encoding `body`. */
  readonly rawBody?: string | Buffer;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'HEAD' | 'OPTIONS';

export class ApiClient {
  constructor(
    private readonly app: App,
    private readonly key?: string,
    private readonly organization?: string,
  ) {}

  /** The same client authenticated with `key`, optionally acting for `organization`. */
  as(key: string, organization?: string): ApiClient {
    return new ApiClient(this.app, key, organization);
  }

  /** The same key and organization against another app (another server process on the same database). */
  against(app: App): ApiClient {
    return new ApiClient(app, this.key, this.organization);
  }

  /** The same key acting for another organization (or none). */
  forOrganization(organization: string | undefined): ApiClient {
    return new ApiClient(this.app, this.key, organization);
  }

  get<T = Record<string, unknown>>(url: string, options?: RequestOptions): Promise<ApiResponse<T>> {
    return this.request<T>('GET', url, undefined, options);
  }

  post<T = Record<string, unknown>>(url: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>> {
    return this.request<T>('POST', url, body, options);
  }

  patch<T = Record<string, unknown>>(url: string, body?: unknown, options?: RequestOptions): Promise<ApiResponse<T>> {
    return this.request<T>('PATCH', url, body, options);
  }

  delete<T = Record<string, unknown>>(url: string, options?: RequestOptions): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', url, undefined, options);
  }

  async request<T>(method: Method, url: string, body?: unknown, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (this.key !== undefined) headers.authorization = `Bearer ${this.key}`;
    if (this.organization !== undefined) headers['openfiskal-organization'] = this.organization;
    let payload: string | Buffer | undefined;
    if (options.rawBody !== undefined) {
      payload = options.rawBody;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, options.headers);
    const response = await this.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      parsed = undefined;
    }
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: parsed as T,
      raw: response.rawPayload,
    };
  }
}
