import Type, { type TSchema } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import {
  CancelBody,
  CashMovementBody,
  CompleteBody,
  CompleteSaleBody,
  Operation,
  OperationListFilters,
  StartExchangeBody,
  StartRefundBody,
  StartSaleBody,
  UpdateExchangeBody,
  UpdateRefundBody,
  UpdateSaleBody,
  VoidBody,
} from './operation.schemas.js';
import type { OperationKind, OperationService } from './operation.service.js';

const tags = ['Operations'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });
const OperationParams = Type.Object({ operationId: IdParam('`op_…`') });
const OperationList = listOf(Operation, 'OperationList');
const FISCAL_ERRORS = [403, 404, 409, 413, 415, 422, 502] as const;

interface LifecycleSpec {
  readonly kind: 'sale' | 'refund' | 'exchange';
  readonly plural: 'sales' | 'refunds' | 'exchanges';
  readonly name: string;
  readonly startBody: TSchema;
  readonly updateBody: TSchema;
  readonly completeBody: TSchema;
}

const LIFECYCLES: readonly LifecycleSpec[] = [
  {
    kind: 'sale',
    plural: 'sales',
    name: 'Sale',
    startBody: StartSaleBody,
    updateBody: UpdateSaleBody,
    completeBody: CompleteSaleBody,
  },
  {
    kind: 'refund',
    plural: 'refunds',
    name: 'Refund',
    startBody: StartRefundBody,
    updateBody: UpdateRefundBody,
    completeBody: CompleteBody,
  },
  {
    kind: 'exchange',
    plural: 'exchanges',
    name: 'Exchange',
    startBody: StartExchangeBody,
    updateBody: UpdateExchangeBody,
    completeBody: CompleteBody,
  },
];

export function operationRoutes({ operations }: { operations: OperationService }): FastifyPluginAsyncTypebox {
  return (app) => {
    type Tenant = ReturnType<typeof tenantOf>;
    // The request bodies were validated against each kind's schema by the route.
    type Handler = (tenant: Tenant, id: string, body: never) => Promise<Operation>;
    const handlers: Record<LifecycleSpec['kind'], { start: Handler; update: Handler; complete: Handler }> = {
      sale: {
        start: (tenant, id, body) => operations.startSale(tenant, id, body),
        update: (tenant, id, body) => operations.updateSale(tenant, id, body),
        complete: (tenant, id, body) => operations.completeSale(tenant, id, body),
      },
      refund: {
        start: (tenant, id, body) => operations.startRefund(tenant, id, body),
        update: (tenant, id, body) => operations.updateRefund(tenant, id, body),
        complete: (tenant, id, body) => operations.completeRefund(tenant, id, body),
      },
      exchange: {
        start: (tenant, id, body) => operations.startExchange(tenant, id, body),
        update: (tenant, id, body) => operations.updateExchange(tenant, id, body),
        complete: (tenant, id, body) => operations.completeExchange(tenant, id, body),
      },
    };
    const cancels = {
      sale: (tenant: Tenant, id: string, reason: string) => operations.cancelSale(tenant, id, reason),
      refund: (tenant: Tenant, id: string, reason: string) => operations.cancelRefund(tenant, id, reason),
      exchange: (tenant: Tenant, id: string, reason: string) => operations.cancelExchange(tenant, id, reason),
    };

    for (const spec of LIFECYCLES) {
      const { kind, plural, name } = spec;
      app.post(
        `/v1/registers/:registerId/${plural}`,
        {
          config: { access: 'register', registerParam: 'registerId' },
          schema: {
            operationId: `start${name}`,
            tags,
            summary: `Start a ${kind}`,
            description:
              'Takes the next sequence number; in DE the TSE signs the start (`fiscal.start_event`). ' +
              (kind === 'sale'
                ? '`training: true` makes a training operation.'
                : 'Lines of the original are given back at what was actually paid for them.'),
            params: RegisterParams,
            body: spec.startBody,
            response: { 201: Operation, ...errorResponses(...FISCAL_ERRORS) },
          },
        },
        async (request, reply) => {
          reply.code(201);
          return handlers[kind].start(tenantOf(request), request.params.registerId, request.body as never);
        },
      );

      app.get(
        `/v1/registers/:registerId/${plural}`,
        {
          config: { access: 'register', registerParam: 'registerId' },
          schema: {
            operationId: `list${name}s`,
            tags,
            summary: `List a register's ${plural}`,
            params: RegisterParams,
            querystring: listQuery({ state: OperationListFilters.state }),
            response: { 200: OperationList, ...errorResponses(403, 404) },
          },
        },
        (request) => operations.list(tenantOf(request), request.params.registerId, kind, request.query),
      );

      app.get(
        `/v1/${plural}/:operationId`,
        {
          config: { access: 'register' },
          schema: {
            operationId: `get${name}`,
            tags,
            summary: `Retrieve a ${kind}`,
            params: OperationParams,
            response: { 200: Operation, ...errorResponses(403, 404) },
          },
        },
        (request) => operations.get(tenantOf(request), request.params.operationId, kind),
      );

      app.patch(
        `/v1/${plural}/:operationId`,
        {
          config: { access: 'register' },
          schema: {
            operationId: `update${name}`,
            tags,
            summary: `Update an open ${kind}`,
            description: 'Replaces the lists given while the operation is `open`. Not a fiscal event.',
            params: OperationParams,
            body: spec.updateBody,
            response: { 200: Operation, ...errorResponses(403, 404, 409, 413, 415, 422) },
          },
        },
        (request) => {
          return handlers[kind].update(tenantOf(request), request.params.operationId, request.body as never);
        },
      );

      app.post(
        `/v1/${plural}/:operationId/complete`,
        {
          config: { access: 'register' },
          schema: {
            operationId: `complete${name}`,
            tags,
            summary: `Complete a ${kind}`,
            description:
              'Σ inbound − Σ outbound payments must equal `total_gross` (refunds: its negative). The fiscal unit ' +
              'signs the receipt; on a device failure the operation stays `open` with `fiscal_state: failed`.',
            params: OperationParams,
            body: spec.completeBody,
            response: { 200: Operation, ...errorResponses(...FISCAL_ERRORS) },
          },
        },
        (request) => {
          return handlers[kind].complete(tenantOf(request), request.params.operationId, request.body as never);
        },
      );

      app.post(
        `/v1/${plural}/:operationId/cancel`,
        {
          config: { access: 'register' },
          schema: {
            operationId: `cancel${name}`,
            tags,
            summary: `Cancel an open ${kind}`,
            description: 'DE: the TSE transaction is closed as an aborted receipt (AVBelegabbruch).',
            params: OperationParams,
            body: CancelBody,
            response: { 200: Operation, ...errorResponses(...FISCAL_ERRORS) },
          },
        },
        (request) => cancels[kind](tenantOf(request), request.params.operationId, request.body.reason),
      );
    }

    app.post(
      '/v1/registers/:registerId/voids',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'createVoid',
          tags,
          summary: 'Void a completed operation',
          description: 'Reverses a completed sale, refund or exchange in full (DE: Belegstorno). Answers completed.',
          params: RegisterParams,
          body: VoidBody,
          response: { 201: Operation, ...errorResponses(...FISCAL_ERRORS) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return operations.voidOperation(tenantOf(request), request.params.registerId, request.body);
      },
    );

    app.post(
      '/v1/registers/:registerId/cash-movements',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'createCashMovement',
          tags,
          summary: 'Record a cash movement',
          description: 'Opening float, pay-ins and -outs, drops, private deposits and withdrawals; signed.',
          params: RegisterParams,
          body: CashMovementBody,
          response: { 201: Operation, ...errorResponses(...FISCAL_ERRORS) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return operations.cashMovement(tenantOf(request), request.params.registerId, request.body);
      },
    );

    const single: ReadonlyArray<[string, OperationKind, string]> = [
      ['voids', 'void', 'Void'],
      ['cash-movements', 'cash_movement', 'CashMovement'],
      ['operations', 'any', 'Operation'],
    ];
    for (const [path, kind, name] of single) {
      app.get(
        `/v1/${path}/:operationId`,
        {
          config: { access: 'register' },
          schema: {
            operationId: `get${name}`,
            tags,
            summary: `Retrieve a ${kind === 'any' ? 'operation of any type' : kind.replace('_', ' ')}`,
            params: OperationParams,
            response: { 200: Operation, ...errorResponses(403, 404) },
          },
        },
        (request) => operations.get(tenantOf(request), request.params.operationId, kind),
      );
    }

    app.get(
      '/v1/registers/:registerId/operations',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'listOperations',
          tags,
          summary: "List a register's operations of every type",
          params: RegisterParams,
          querystring: listQuery(OperationListFilters),
          response: { 200: OperationList, ...errorResponses(403, 404) },
        },
      },
      (request) => operations.list(tenantOf(request), request.params.registerId, 'any', request.query),
    );
    return Promise.resolve();
  };
}
