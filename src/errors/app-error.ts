import { ERROR_CATALOGUE, type ErrorCode } from './codes.js';

export interface FiscalErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly jurisdiction: string;
}

export interface AppErrorOptions {
  /** Overrides the catalogue's default message with a more specific one. */
  readonly message?: string;
  /** The offending field as a JSON path (`line_items[2].tax.rate`) or header name. */
  readonly param?: string;
  readonly fiscalErrors?: readonly FiscalErrorDetail[];
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An error the API answers with; services throw it, one error handler renders it. */
export class AppError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  readonly param: string | null;
  readonly fiscalErrors: readonly FiscalErrorDetail[] | null;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly code: ErrorCode,
    options: AppErrorOptions = {},
  ) {
    const definition = ERROR_CATALOGUE[code];
    super(options.message ?? definition.message);
    this.name = 'AppError';
    this.status = definition.status;
    this.retryable = definition.retryable;
    this.param = options.param ?? null;
    this.fiscalErrors = options.fiscalErrors ?? null;
    this.headers = options.headers ?? {};
  }
}

/** The error body of api.md §1.1. */
export interface ErrorBody {
  readonly object: 'error';
  readonly code: ErrorCode;
  readonly message: string;
  readonly param: string | null;
  readonly fiscal_errors: readonly FiscalErrorDetail[] | null;
  readonly request_id: string;
  readonly retryable: boolean;
}

export function toErrorBody(error: AppError, requestId: string): ErrorBody {
  return {
    object: 'error',
    code: error.code,
    message: error.message,
    param: error.param,
    fiscal_errors: error.fiscalErrors,
    request_id: requestId,
    retryable: error.retryable,
  };
}

/** A 404 for an id the caller cannot see, whatever the reason. */
export function notFound(resource: string, id: string): AppError {
  return new AppError('not_found', { message: `No such ${resource}: ${id}` });
}
