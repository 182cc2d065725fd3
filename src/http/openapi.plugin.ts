/**
 * The OpenAPI 3.1 document, generated from the route schemas (`GET /v1/openapi.json`), and an interactive
 * reference (`GET /docs`).
 * @module
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ErrorBody } from './schemas.js';

export const API_VERSION = '1.0.0';

const DESCRIPTION = `Self-hosted implementation of the OpenFiskal v1 fiscalization API.

**Authentication.** \`Authorization: Bearer <key>\`. Platform keys (\`ofk_platform_…\`) act for an organization with
the \`OpenFiskal-Organization: org_…\` header; organization keys (\`ofk_org_…\`) are bound to one organization; register
keys (\`ofk_reg_…\`, also accepted as \`X-Register-Api-Key\`) to one register.

**Idempotency.** Every POST and PATCH accepts \`Idempotency-Key\` (1–255 printable ASCII). A retry with the same key
and request gets the stored response byte for byte with \`Idempotent-Replayed: true\`; the same key with another
request gets 409 \`idempotency_key_conflict\`; while the first is running, 409 \`idempotency_request_in_progress\`.

**Errors** have the body \`{object:"error", code, message, param, fiscal_errors, request_id, retryable}\`; every
response carries \`X-Request-Id\`.`;

export const openApiPlugin = fp(
  async (app: FastifyInstance) => {
    app.addSchema(ErrorBody);
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'OpenFiskal server API', version: API_VERSION, description: DESCRIPTION },
        servers: [{ url: '/' }],
        components: {
          securitySchemes: {
            apiKey: { type: 'http', scheme: 'bearer', description: 'ofk_platform_…, ofk_org_… or ofk_reg_…' },
            registerKey: { type: 'apiKey', in: 'header', name: 'X-Register-Api-Key' },
          },
        },
        security: [{ apiKey: [] }],
        tags: [
          { name: 'Auth', description: 'Bootstrap and API keys' },
          { name: 'Organizations' },
          { name: 'Locations' },
          { name: 'Registers' },
          { name: 'Fiscal units', description: 'The signing device of a register (DE: a TSE)' },
          { name: 'Operations', description: 'Sales, refunds, exchanges, voids, cash movements, training' },
          { name: 'Receipts', description: 'Canonical JSON and 80 mm PDF receipts of completed operations' },
          { name: 'Journal', description: "The registers' hash-chained, append-only event logs" },
          { name: 'Exports', description: "Files of a register's fiscal data for auditors, made in the background" },
          { name: 'System', description: 'Health, readiness, metrics and this document' },
        ],
      },
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) =>
          typeof json.$id === 'string' ? json.$id : `def-${String(i)}`,
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

    app.get(
      '/v1/openapi.json',
      {
        config: { access: 'public' },
        schema: {
          operationId: 'getOpenApiDocument',
          tags: ['System'],
          summary: 'This API as OpenAPI 3.1',
          security: [],
          response: { 200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' } },
        },
      },
      (_request, reply) => reply.send(app.swagger()),
    );
  },
  { name: 'openapi' },
);
