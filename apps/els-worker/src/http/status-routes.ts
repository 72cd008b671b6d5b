import { ERROR_CODES } from '@els/coordination';
import { ID_MAX_BYTES, idSchema } from '@els/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BatchStatus, EssayStatus, StatusQueries } from '../coordination-port';
import type { HttpErrorBody } from './http-server';

/**
 * Path parameters accept exactly the ids the contract accepts (URL-encoded: spaces, non-ASCII), so every
 * stored batch and essay can be looked up, and reject what it rejects.
 */
const batchParams = z.object({ batch_id: idSchema });
const essayParams = z.object({ essay_id: idSchema });

const badRequest = (message: string): HttpErrorBody => ({ error: { code: ERROR_CODES.badRequest, message } });
const notFound = (message: string): HttpErrorBody => ({ error: { code: ERROR_CODES.notFound, message } });

/**
 * Fastify options for the status routes' parameters. The router refuses a decoded parameter longer than
 * ID_MAX_BYTES characters (an id that long has more than ID_MAX_BYTES bytes, so the contract refuses it
 * too), and a path that is not valid percent-encoded UTF-8 (an unpaired surrogate cannot be encoded);
 * both answer 400 ELS_ERR_BAD_REQUEST in the API's error shape, like the id schema's own refusals.
 */
export const statusRouteServerOptions = {
  routerOptions: { maxParamLength: ID_MAX_BYTES },
  frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
    const message =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? `id must be at most ${ID_MAX_BYTES} bytes in UTF-8`
        : 'path is not valid percent-encoded UTF-8';
    void reply.code(400).send(badRequest(message));
  },
};

function essayBody(essay: EssayStatus) {
  return {
    essay_id: essay.essayId,
    batch_id: essay.batchId,
    status: essay.status,
    text_storage_id: essay.textStorageId,
    file_upload_id: essay.fileUploadId,
    updated_at: essay.updatedAt,
  };
}

function batchBody(batch: BatchStatus) {
  return {
    batch_id: batch.batchId,
    course_code: batch.courseCode,
    expected_count: batch.expectedCount,
    assigned_count: batch.assignedCount,
    failed_count: batch.failedCount,
    free_count: batch.freeCount,
    resolved_count: batch.resolvedCount,
    excess_count: batch.excessCount,
    completed: batch.completedAt !== null,
    completed_at: batch.completedAt,
    created_at: batch.createdAt,
    essays: batch.essays.map(essayBody),
  };
}

/** GET /v1/batches/:batch_id/status and GET /v1/essays/:essay_id/status (read-only, no locks). */
export function registerStatusRoutes(app: FastifyInstance, queries: StatusQueries): void {
  app.get('/v1/batches/:batch_id/status', async (request, reply) => {
    const params = batchParams.safeParse(request.params);
    if (!params.success)
      return reply.code(400).send(badRequest(`batch_id ${params.error.issues[0]?.message}`));
    const batch = await queries.batchStatus(params.data.batch_id);
    if (!batch) return reply.code(404).send(notFound(`batch ${params.data.batch_id} is not registered`));
    return batchBody(batch);
  });

  app.get('/v1/essays/:essay_id/status', async (request, reply) => {
    const params = essayParams.safeParse(request.params);
    if (!params.success)
      return reply.code(400).send(badRequest(`essay_id ${params.error.issues[0]?.message}`));
    const essay = await queries.essayStatus(params.data.essay_id);
    if (!essay) return reply.code(404).send(notFound(`essay ${params.data.essay_id} is not registered`));
    return essayBody(essay);
  });
}
