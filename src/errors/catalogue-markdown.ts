import { ERROR_CATALOGUE } from './codes.js';

/** The error catalogue as Markdown (`docs/errors.md`, written by `npm run docs:errors`). */
export function renderErrorCatalogue(): string {
  const rows = Object.entries(ERROR_CATALOGUE)
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(
      ([code, d]) => `| ${String(d.status)} | \`${code}\` | ${d.retryable ? 'yes' : 'no'} | ${d.when} | ${d.message} |`,
    );
  return [
    '# Error catalogue',
    '',
    '<!-- Generated from src/errors/codes.ts by `npm run docs:errors`; a test fails when it is stale. -->',
    '',
    'Every error answers with this body and an `X-Request-Id` header equal to `request_id`:',
    '',
    '```json',
    '{ "object": "error", "code": "not_found", "message": "No such register: reg_…", "param": null,',
    '  "fiscal_errors": null, "request_id": "req_5f0c2a9d41e3b7a80c11", "retryable": false }',
    '```',
    '',
    'Switch on `code`, never on `message`. `param` names the offending field as a JSON path',
    '(`address.country`, `line_items[2].tax.rate`) or header (`Idempotency-Key`). `retryable` is true exactly',
    'for 429, 5xx and `idempotency_request_in_progress`: the request had no effect and may be sent again,',
    'with the same `Idempotency-Key`.',
    '',
    '| Status | Code | Retryable | When | Default message |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
