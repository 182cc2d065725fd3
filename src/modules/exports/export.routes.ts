import type { Readable } from 'node:stream';
import Type from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { tenantOf } from '../../http/access.js';
import { errorResponses, IdParam, listOf, listQuery } from '../../http/schemas.js';
import { CreateExportBody, Export, ExportListFilters } from './export.schemas.js';
import type { ExportService } from './export.service.js';

const tags = ['Exports'];
const ExportParams = Type.Object({ exportId: IdParam('`exp_…`') });
const ACCESS_NOTE = 'Register keys may create and read exports of their own register only.';

export function exportRoutes({ exports }: { exports: ExportService }): FastifyPluginAsyncTypebox {
  return (app) => {
    app.post(
      '/v1/exports',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'createExport',
          tags,
          summary: 'Start an export',
          description:
            "Queues a file of the register's fiscal data over `from`–`to` (inclusive, by the time the data was " +
            'recorded); poll the export until `state` is `completed`, then download it. ' +
            ACCESS_NOTE,
          body: CreateExportBody,
          response: { 202: Export, ...errorResponses(403, 404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        reply.code(202);
        return exports.create(tenantOf(request), request.body);
      },
    );

    app.get(
      '/v1/exports',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'listExports',
          tags,
          summary: 'List exports',
          description: ACCESS_NOTE,
          querystring: listQuery(ExportListFilters),
          response: { 200: listOf(Export, 'ExportList'), ...errorResponses(403) },
        },
      },
      (request) => exports.list(tenantOf(request), request.query),
    );

    app.get(
      '/v1/exports/:exportId',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'getExport',
          tags,
          summary: 'Retrieve an export',
          description: ACCESS_NOTE,
          params: ExportParams,
          response: { 200: Export, ...errorResponses(403, 404) },
        },
      },
      (request) => exports.get(tenantOf(request), request.params.exportId),
    );

    app.get(
      '/v1/exports/:exportId/download',
      {
        config: { access: 'register' },
        schema: {
          operationId: 'downloadExport',
          tags,
          summary: "Download an export's file",
          description:
            'Streams the file of a completed export with `Content-Length`, `Content-Disposition: attachment` and ' +
            'its SHA-256 as `X-Content-SHA256` (hex) and `Digest: sha-256=<base64>`. Before completion 409 ' +
            '`export_not_ready`; after `expires_at` 410 `export_expired`. ' +
            ACCESS_NOTE,
          params: ExportParams,
          response: {
            // Streamed as is, never serialised: the schema only documents it (errors stay application/json).
            200: Type.Unsafe<Readable>({
              description: "The file, with the export's `file.content_type` (e.g. application/x-tar).",
              content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
            }),
            ...errorResponses(403, 404, 409, 410),
          },
        },
      },
      async (request, reply) => {
        const file = await exports.openDownload(tenantOf(request), request.params.exportId);
        void reply
          .header('content-type', file.contentType)
          .header('content-length', String(file.size))
          .header('content-disposition', `attachment; filename="${file.name}"`)
          .header('x-content-sha256', file.sha256)
          .header('digest', `sha-256=${Buffer.from(file.sha256, 'hex').toString('base64')}`);
        return reply.send(file.stream);
      },
    );
    return Promise.resolve();
  };
}
