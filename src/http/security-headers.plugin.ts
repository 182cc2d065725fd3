/**
 * Browser-facing hardening on every response (docs/security.md): no MIME sniffing, no Referer, no framing, no
 * shared browsing context with other origins; a Content-Security-Policy for the interactive reference under
 * `/docs` that allows its own files and nothing else, a deny-all one for JSON; and `Cache-Control: no-store` on
 * every `/v1` answer, which is per key and may carry a secret shown once (keys, setup exchange, provisioning).
 * @module
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Where @fastify/swagger-ui serves the reference (openapi.plugin.ts). */
const DOCS_PREFIX = '/docs';

/**
 * The one inline style Swagger UI renders: a `<style>` in its own logo SVG, shown until @fastify/swagger-ui swaps
 * in the configured logo. Allowed by hash, so that `style-src` needs no `'unsafe-inline'`; the test checks the
 * text against the installed bundle, so an upgrade that changes it is noticed.
 */
export const SWAGGER_UI_INLINE_STYLE = '.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}';

const inlineStyleHash = `'sha256-${createHash('sha256').update(SWAGGER_UI_INLINE_STYLE).digest('base64')}'`;

/**
 * The reference's page loads its scripts, styles and the OpenAPI document from `/docs` itself; its icons and logo
 * are `data:` images. No inline script, no `'unsafe-eval'`, no other origin, no framing. Not
 * `upgrade-insecure-requests` (the default of @fastify/swagger-ui): a server reached over plain HTTP on a LAN
 * would then fail to load its own assets.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  `style-src 'self' ${inlineStyleHash}`,
].join('; ');

/** JSON is data, never a document: should a browser render it, nothing may load or run, nor frame it. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
} as const;

function isJson(reply: FastifyReply): boolean {
  const type = reply.getHeader('content-type');
  return typeof type === 'string' && type.startsWith('application/json');
}

export const securityHeadersPlugin = fp(
  (app: FastifyInstance) => {
    app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
      void reply.headers(COMMON_HEADERS);
      // Binary answers (receipt PDFs, export archives) get no policy: browsers' PDF viewers run under the
      // document's CSP in some versions, and these are downloads, not pages.
      if (!(request.routeOptions.url ?? '').startsWith(DOCS_PREFIX) && isJson(reply)) {
        void reply.header('content-security-policy', API_CONTENT_SECURITY_POLICY);
      }
      if (request.url.startsWith('/v1/')) void reply.header('cache-control', 'no-store');
      done(null, payload);
    });

    // @fastify/swagger-ui sets its own, looser policy in an onSend hook of its encapsulated context, which runs
    // after ours; a route-level hook runs after both, so the reference's routes get this one.
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith(DOCS_PREFIX)) return;
      const own = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
      route.onSend = [
        ...own,
        (_request, reply, payload, done) => {
          void reply.header('content-security-policy', DOCS_CONTENT_SECURITY_POLICY);
          done(null, payload);
        },
      ];
    });
    return Promise.resolve();
  },
  { name: 'security-headers' },
);
