/**
 * The error catalogue: every stable error code the API can answer with, its HTTP status, whether a client should
 * retry, the default message and when it happens. `docs/errors.md` is generated from this table.
 * @module
 */

export interface ErrorDefinition {
  readonly status: number;
  readonly retryable: boolean;
  readonly message: string;
  readonly when: string;
}

const define = (status: number, message: string, when: string, retryable = false): ErrorDefinition => ({
  status,
  retryable,
  message,
  when,
});

export const ERROR_CATALOGUE = {
  invalid_json: define(400, 'The request body is not valid JSON.', 'The body could not be parsed as JSON.'),
  invalid_request: define(
    400,
    'The request is invalid.',
    'A path, query, header or body value breaks the schema; `param` names it.',
  ),
  organization_header_required: define(
    400,
    'This endpoint acts on an organization: send the OpenFiskal-Organization header.',
    'A platform key calls an organization-scoped endpoint without `OpenFiskal-Organization`.',
  ),
  unauthorized: define(
    401,
    'Missing or invalid API key.',
    'The key is missing, malformed, unknown or revoked, or a setup token is consumed or expired. The body is the same in every case.',
  ),
  forbidden: define(
    403,
    'This API key may not perform this request.',
    'A valid key outside its scope: an organization key on a platform endpoint, a register key on another register or endpoint, a test key on a live server.',
  ),
  not_found: define(
    404,
    'No such resource.',
    "Unknown route, unknown id, an id with the wrong prefix, or another tenant's id (existence is never revealed).",
  ),
  register_archived: define(409, 'The register is archived.', 'Changing or using an archived register.'),
  serial_number_immutable: define(
    409,
    'The serial number cannot change once the register has had a fiscal unit.',
    'PATCH of `serial_number` on a register that has been fiscalized.',
  ),
  serial_number_taken: define(
    409,
    'Another register of this organization already uses this serial number.',
    'Register serial numbers are unique per organization (DSFinV-K, RKSV).',
  ),
  operation_not_open: define(
    409,
    'The operation is not open.',
    'Changing an operation that is completed or cancelled.',
  ),
  operation_not_completed: define(
    409,
    'The operation is not completed.',
    'Asking for the receipt of an operation that is not completed.',
  ),
  no_active_fiscal_unit: define(
    409,
    'The register has no active fiscal unit.',
    'A fiscal event on a register without an active fiscal unit.',
  ),
  fiscal_unit_already_active: define(
    409,
    'The register already has an active fiscal unit.',
    'Provisioning a second fiscal unit; use replace.',
  ),
  fiscal_unit_decommissioned: define(
    409,
    'The fiscal unit is decommissioned.',
    'Recovering, decommissioning or switching the failure simulation of a decommissioned fiscal unit.',
  ),
  open_operations_exist: define(
    409,
    'The register has open operations.',
    'A closing, replacement or decommissioning while operations are open.',
  ),
  closing_in_progress: define(
    409,
    'A closing of this register is pending.',
    'A second closing while one is pending or failed (retry the failed one first).',
  ),
  request_timeout: define(
    408,
    'The request did not arrive in time.',
    'A client that did not send its whole request within OPENFISKAL_REQUEST_TIMEOUT_MS; the connection is closed.',
  ),
  too_many_open_operations: define(
    409,
    'The register has too many open operations.',
    'Starting a sale, refund or exchange while the register already has OPENFISKAL_MAX_OPEN_OPERATIONS open.',
  ),
  closing_not_failed: define(409, 'Only a failed closing can be retried.', 'Retrying a pending or completed closing.'),
  already_voided: define(409, 'The operation is already voided.', 'A second void of the same operation.'),
  export_not_ready: define(
    409,
    'The export has no file to download yet.',
    'Downloading an export that is still queued or running, or that failed.',
  ),
  export_expired: define(
    410,
    "The export's file has expired and was deleted; create a new export.",
    'Downloading an export after its `expires_at`.',
  ),
  idempotency_key_conflict: define(
    409,
    'This Idempotency-Key was used with a different request.',
    'Same key, different method, path, organization or body.',
  ),
  idempotency_request_in_progress: define(
    409,
    'A request with this Idempotency-Key is still being processed.',
    'Same key while the first request has not finished; retry shortly.',
    true,
  ),
  payload_too_large: define(413, 'The request body is larger than 1 MiB.', 'Bodies over 1 MiB.'),
  unsupported_media_type: define(
    415,
    'Send the body as application/json.',
    'A body with a content type other than application/json.',
  ),
  validation_error: define(
    422,
    'The request cannot be accepted.',
    'Well-formed but not acceptable; `param` names the field.',
  ),
  payment_total_mismatch: define(
    422,
    'The payments do not add up to the total.',
    'On complete, inbound minus outbound payments differ from the total.',
  ),
  invalid_tax_rate: define(
    422,
    'The tax rate is not valid for this category in this jurisdiction on this date.',
    'A line item with a rate the jurisdiction does not allow.',
  ),
  refund_exceeds_original: define(
    422,
    'The refund exceeds what is left to refund.',
    'Refund quantities beyond the original minus earlier refunds.',
  ),
  currency_mismatch: define(422, "The currency differs from the register's currency.", 'Money in another currency.'),
  occurred_at_in_future: define(
    422,
    '`occurred_at` is more than 5 minutes ahead of the server clock.',
    'A device clock far ahead of the server.',
  ),
  reason_required: define(
    422,
    'A reason is required here.',
    'A void without a reason; NO/SE drawer openings without an operation.',
  ),
  empty_operation: define(422, 'The operation has no line items.', 'Completing a sale without lines.'),
  provider_not_certified: define(
    422,
    'The provider is not certified for this jurisdiction.',
    'A live server refuses uncertified (simulated) fiscal units.',
  ),
  regime_not_supported: define(
    422,
    "The register's fiscal regime has no such receipt.",
    'A null receipt for a register whose regime has none (only AT has Nullbelege).',
  ),
  rate_limited: define(
    429,
    'Too many requests for this API key.',
    'More requests per second than the per-key limit; wait `Retry-After` seconds.',
    true,
  ),
  internal_error: define(
    500,
    'Something went wrong on our side. The request id identifies it in the server log.',
    'An unexpected failure. Internals are logged, never returned.',
    true,
  ),
  fiscalization_failed: define(
    502,
    'The fiscal unit refused to sign. The request had no effect and may be retried.',
    'The signing device answered with an error.',
    true,
  ),
  fiscal_unit_unavailable: define(
    503,
    'The fiscal unit is unavailable. The request had no effect and may be retried.',
    'The signing device is down or timed out.',
    true,
  ),
  service_unavailable: define(
    503,
    'The service is temporarily unavailable. The request had no effect and may be retried.',
    'The database is unreachable or the server is shutting down.',
    true,
  ),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, value);
}
