import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery, Nullable } from '../../http/schemas.js';
import { Register } from '../registers/register.schemas.js';
import {
  DecommissionFiscalUnitBody,
  FiscalUnit,
  ProvisionFiscalUnitBody,
  RecoverFiscalUnitBody,
  ReplaceFiscalUnitBody,
  SimulateFailureBody,
} from './fiscal-unit.schemas.js';
import type { FiscalUnitService } from './fiscal-unit.service.js';

const tags = ['Fiscal units'];
const RegisterParams = Type.Object({ registerId: IdParam('`reg_…`') });
const FiscalUnitParams = Type.Object({ fiscalUnitId: IdParam('`fu_…`') });
const RegisterApiKey = Nullable(
  Type.String({ description: 'The register key (`ofk_reg_…`), shown once; null unless requested.' }),
);

const FiscalUnitResponse = Type.Object(
  {
    object: Type.Literal('fiscal_unit_response'),
    fiscal_unit: FiscalUnit,
    register: Register,
    register_api_key: RegisterApiKey,
    registration_secrets: Nullable(
      Type.Record(Type.String(), Type.String(), {
        description:
          'Secrets of the registration, shown once and never again (AT: `aes_key`, the Base64 AES-256 key of the ' +
          'turnover counter, to register in FinanzOnline); null where the regime has none.',
      }),
    ),
  },
  { title: 'FiscalUnitResponse' },
);

const FiscalUnitReplacement = Type.Object(
  {
    object: Type.Literal('fiscal_unit_replacement'),
    old_binding: FiscalUnit,
    new_binding: FiscalUnit,
    register: Register,
    register_api_key: RegisterApiKey,
  },
  { title: 'FiscalUnitReplacement' },
);

export function fiscalUnitRoutes({ fiscalUnits }: { fiscalUnits: FiscalUnitService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/registers/:registerId/fiscal-units',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'provisionFiscalUnit',
          tags,
          summary: 'Provision a fiscal unit',
          description:
            "Generates the device's keys on the server (never returned), signs its initialisation and activates it. " +
            "Needs the organization's fiscal_identity for the jurisdiction. A live server refuses uncertified providers.",
          params: RegisterParams,
          body: ProvisionFiscalUnitBody,
          response: { 201: FiscalUnitResponse, ...errorResponses(403, 404, 409, 413, 415, 422, 502) },
        },
      },
      async (request, reply) => {
        reply.code(201);
        return fiscalUnits.provision(tenantOf(request), request.params.registerId, request.body);
      },
    );

    app.get(
      '/v1/registers/:registerId/fiscal-units',
      {
        config: { access: 'register', registerParam: 'registerId' },
        schema: {
          operationId: 'listFiscalUnits',
          tags,
          summary: "A register's fiscal units (history)",
          params: RegisterParams,
          querystring: listQuery({}),
          response: { 200: listOf(FiscalUnit, 'FiscalUnitList'), ...errorResponses(403, 404) },
        },
      },
      (request) => fiscalUnits.list(tenantOf(request), request.params.registerId, request.query),
    );

    app.post(
      '/v1/registers/:registerId/fiscal-units/replace',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'replaceFiscalUnit',
          tags,
          summary: 'Replace the fiscal unit',
          description:
            'Atomically decommissions the current unit and provisions a new one. Refused while operations are open.',
          params: RegisterParams,
          body: ReplaceFiscalUnitBody,
          response: { 200: FiscalUnitReplacement, ...errorResponses(403, 404, 409, 413, 415, 422, 502) },
        },
      },
      (request) => fiscalUnits.replace(tenantOf(request), request.params.registerId, request.body),
    );

    app.get(
      '/v1/fiscal-units/:fiscalUnitId',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getFiscalUnit',
          tags,
          summary: 'Retrieve a fiscal unit',
          params: FiscalUnitParams,
          response: { 200: FiscalUnit, ...errorResponses(403, 404) },
        },
      },
      (request) => fiscalUnits.get(tenantOf(request), request.params.fiscalUnitId),
    );

    app.post(
      '/v1/fiscal-units/:fiscalUnitId/recover',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'recoverFiscalUnit',
          tags,
          summary: 'Recover a fiscal unit from `error`',
          description: 'Checks the device; if it can sign again the unit becomes `active`, otherwise 503.',
          params: FiscalUnitParams,
          body: RecoverFiscalUnitBody,
          response: { 200: FiscalUnit, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      (request) => fiscalUnits.recover(tenantOf(request), request.params.fiscalUnitId),
    );

    app.post(
      '/v1/fiscal-units/:fiscalUnitId/decommission',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'decommissionFiscalUnit',
          tags,
          summary: 'Decommission a fiscal unit (terminal)',
          description: 'Refused while operations are open. The register then has no active fiscal unit.',
          params: FiscalUnitParams,
          body: DecommissionFiscalUnitBody,
          response: { 200: FiscalUnit, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      (request) => fiscalUnits.decommission(tenantOf(request), request.params.fiscalUnitId, request.body.reason),
    );

    app.post(
      '/v1/fiscal-units/:fiscalUnitId/simulate-failure',
      {
        config: { access: 'organization' },
        schema: {
          operationId: 'simulateFiscalUnitFailure',
          tags,
          summary: 'Test mode: make the software device fail or stall',
          description:
            'Only on a server running with OPENFISKAL_ENV=test (404 in live). `fail` refuses every signing call ' +
            '(502), `stall` makes it hang until the signing timeout (503); `none` resets.',
          params: FiscalUnitParams,
          body: SimulateFailureBody,
          response: { 200: FiscalUnit, ...errorResponses(403, 404, 409, 413, 415) },
        },
      },
      (request) => fiscalUnits.simulateFailure(tenantOf(request), request.params.fiscalUnitId, request.body),
    );
    return Promise.resolve();
  };
}
