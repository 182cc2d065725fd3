/**
 * Builds the Fastify application from a container: cross-cutting plugins first (their hooks apply to every route
 * registered after them), then one route plugin per resource.
 * @module
 */
import { createServer } from 'node:http';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Container } from './container.js';
import { authPlugin } from './http/auth.plugin.js';
import { drainPlugin } from './http/drain.plugin.js';
import { errorHandlerPlugin } from './http/error-handler.plugin.js';
import { idempotencyPlugin } from './http/idempotency.plugin.js';
import { jsonBodyPlugin, MAX_BODY_BYTES } from './http/json-body.plugin.js';
import { metricsPlugin } from './http/metrics.plugin.js';
import { openApiPlugin } from './http/openapi.plugin.js';
import { rateLimitPlugin } from './http/rate-limit.plugin.js';
import { clientErrorHandler, frameworkErrors } from './http/framework-errors.js';
import { newRequestId } from './http/request-id.js';
import { RequestLogController } from './http/request-log.js';
import { securityHeadersPlugin } from './http/security-headers.plugin.js';
import { createCachedSerializerFactory, createCachedValidatorCompiler, LazyCompilation } from './http/compilers.js';
import { apiKeyRoutes } from './modules/api-keys/api-key.routes.js';
import { cashDrawerOpeningRoutes } from './modules/cash-drawer-openings/cash-drawer-opening.routes.js';
import { closingRoutes } from './modules/closings/closing.routes.js';
import { exportRoutes } from './modules/exports/export.routes.js';
import { fiscalUnitRoutes } from './modules/fiscal-units/fiscal-unit.routes.js';
import { nullReceiptRoutes } from './modules/null-receipts/null-receipt.routes.js';
import { outageRoutes } from './modules/outages/outage.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { journalRoutes } from './modules/journal/journal.routes.js';
import { locationRoutes } from './modules/locations/location.routes.js';
import { operationRoutes } from './modules/operations/operation.routes.js';
import { organizationRoutes } from './modules/organizations/organization.routes.js';
import { receiptRoutes } from './modules/receipts/receipt.routes.js';
import { registerRoutes } from './modules/registers/register.routes.js';
import { rksvReceiptRoutes } from './modules/rksv-receipts/rksv-receipt.routes.js';

export async function buildApp(container: Container) {
  const compilation = new LazyCompilation();
  const app = Fastify({
    loggerInstance: container.logger,
    genReqId: newRequestId,
    requestIdHeader: false,
    logController: new RequestLogController(),
    bodyLimit: MAX_BODY_BYTES,
    // Slow clients (slowloris) cannot hold a connection: the whole request must arrive within the timeout. Node
    // checks it every `connectionsCheckingInterval` (30 s by default), so check often enough to keep it.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: container.config.requestTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, Math.ceil(container.config.requestTimeoutMs / 2)),
        },
        handler,
      ),
    // While draining on shutdown, requests already on open connections are still served normally.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler,
    schemaController: { compilersFactory: { buildSerializer: createCachedSerializerFactory(compilation) } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createCachedValidatorCompiler(compilation));
  app.decorate('schemaCompilation', compilation);
  // Schemas compile when first used; once the server listens, the rest compile in the background.
  app.addHook('onListen', (done) => {
    void compilation.compileRest((error) => container.logger.error({ err: error }, 'a schema does not compile'));
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    compilation.stop();
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });

  // Plugins that watch route registration (onRoute) come first, so that they see every route: default-deny
  // access rules, the idempotency wrapper of POST/PATCH handlers, and the OpenAPI collector.
  await app.register(securityHeadersPlugin);
  await app.register(errorHandlerPlugin);
  await app.register(drainPlugin);
  await app.register(jsonBodyPlugin);
  await app.register(authPlugin, { apiKeys: container.apiKeys, organizations: container.organizations });
  await app.register(rateLimitPlugin, { perSecond: container.config.rateLimitPerSecond, clock: container.clock });
  await app.register(idempotencyPlugin, { idempotency: container.idempotency, unitOfWork: container.database });
  await app.register(openApiPlugin);
  await app.register(metricsPlugin);

  await app.register(healthRoutes({ database: container.database }));
  await app.register(apiKeyRoutes({ apiKeys: container.apiKeys }));
  await app.register(organizationRoutes({ organizations: container.organizations }));
  await app.register(locationRoutes({ locations: container.locations }));
  await app.register(registerRoutes({ registers: container.registers }));
  await app.register(journalRoutes({ journal: container.journal }));
  await app.register(fiscalUnitRoutes({ fiscalUnits: container.fiscalUnits }));
  await app.register(outageRoutes({ outages: container.outages }));
  await app.register(nullReceiptRoutes({ nullReceipts: container.nullReceipts }));
  await app.register(operationRoutes({ operations: container.operations }));
  await app.register(receiptRoutes({ receipts: container.receipts }));
  await app.register(rksvReceiptRoutes({ rksvReceipts: container.rksvReceipts }));
  await app.register(cashDrawerOpeningRoutes({ cashDrawerOpenings: container.cashDrawerOpenings }));
  await app.register(closingRoutes({ closings: container.closings }));
  await app.register(exportRoutes({ exports: container.exports }));

  await app.ready();
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
